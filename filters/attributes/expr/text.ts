// Allocation-light ASCII case mapping and substring sets for per-request code paths (one copy
// into a flat buffer instead of a string per character).

function mapAscii(s: string, from: i32, to: i32, delta: i32): string {
  let first = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= from && c <= to) { first = i; break; }
  }
  if (first < 0) return s;
  const n = s.length;
  const buf = new StaticArray<u16>(n);
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    unchecked(buf[i] = <u16>(c >= from && c <= to ? c + delta : c));
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(buf), <usize>n << 1);
}

/** ASCII lowercase; other characters unchanged. */
export function lowerAscii(s: string): string { return mapAscii(s, 0x41, 0x5a, 0x20); }

/** ASCII uppercase; other characters unchanged. */
export function upperAscii(s: string): string { return mapAscii(s, 0x61, 0x7a, -0x20); }

/**
 * A set of substrings to look for in a text, indexed by first character so a search checks only
 * the tokens that can start at each position (not every token at every position).
 */
export class SubstringSet {
  private byFirst: StaticArray<Array<string> | null> = new StaticArray<Array<string> | null>(128);
  private other: Array<string> = new Array<string>();

  constructor(tokens: Array<string>) {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t.length == 0) continue;
      const c = t.charCodeAt(0);
      if (c >= 128) { this.other.push(t); continue; }
      let list = this.byFirst[c];
      if (list === null) { list = new Array<string>(); this.byFirst[c] = list; }
      list.push(t);
    }
  }

  /** True when any token occurs in `s`. */
  foundIn(s: string): bool {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) continue;
      const list = unchecked(this.byFirst[c]);
      if (list === null) continue;
      const next = i + 1 < n ? <i32>s.charCodeAt(i + 1) : -1;
      for (let k = 0; k < list.length; k++) {
        const t = unchecked(list[k]);
        const tl = t.length;
        // The second character rules out most candidates before a full comparison.
        if (i + tl > n || (tl > 1 && <i32>t.charCodeAt(1) != next)) continue;
        if (tl == 1 || s.startsWith(t, i)) return true;
      }
    }
    for (let k = 0; k < this.other.length; k++) if (s.includes(this.other[k])) return true;
    return false;
  }
}
