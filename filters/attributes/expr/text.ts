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
  // Written straight into the new string (one allocation, one pass).
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const src = changetype<usize>(s);
  const dst = changetype<usize>(out);
  memory.copy(dst, src, <usize>first << 1);
  for (let i = first; i < n; i++) {
    const c = <i32>load<u16>(src + (<usize>i << 1));
    store<u16>(dst + (<usize>i << 1), <u16>(c >= from && c <= to ? c + delta : c));
  }
  return out;
}

/** ASCII lowercase; other characters unchanged. */
export function lowerAscii(s: string): string { return mapAscii(s, 0x41, 0x5a, 0x20); }

/** ASCII uppercase; other characters unchanged. */
export function upperAscii(s: string): string { return mapAscii(s, 0x61, 0x7a, -0x20); }

/** The first index of code unit `c` in `s`, or -1: String#indexOf compares a whole substring at every position. */
export function indexOfUnit(s: string, c: u16): i32 {
  const base = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) if (load<u16>(base + (<usize>i << 1)) == c) return i;
  return -1;
}

/**
 * Substrings to look for in a text, each with a rank, indexed by first character so a search
 * checks only the tokens that can start at each position (not every token at every position).
 * `bestIn` makes one pass and reports the lowest rank found. Call `freeze()` after the last
 * `add` (at configure time; else the first search does it).
 */
export class SubstringSet {
  private tokens: Array<string> = new Array<string>();
  private ranks: Array<i32> = new Array<i32>();
  private other: Array<i32> = new Array<i32>();
  /**
   * Per ASCII first character, one bit per second character (folded to 6 bits) that starts a
   * token: most positions of a text are ruled out by one lookup in 1 KiB, without touching the
   * token data (few cache lines: per request this table is usually out of the CPU caches). A
   * first character with a token of one character, or a non-ASCII second one, has every bit set
   * (checked at every occurrence). Folding only lets more candidates through to the exact
   * comparison.
   */
  private seconds: StaticArray<u64> = new StaticArray<u64>(128);
  /**
   * The tokens with an ASCII first character, made by `freeze()`: grouped by first character,
   * each as [rank, length, UTF-16 code units...], in one block, so checking a candidate position
   * reads a few adjacent cache lines (before: a list, its backing buffer, the rank and token
   * arrays and one string object per token with that first character, all apart).
   * `starts[c]`..`starts[c + 1]` is the group of first character `c`.
   */
  private flat: StaticArray<u16> = new StaticArray<u16>(0);
  private starts: StaticArray<i32> = new StaticArray<i32>(129);
  /** Whether `flat` holds every token added (else `bestIn` lays them out first). */
  private frozen: bool = false;

  add(token: string, rank: i32): void {
    if (token.length == 0) return;
    this.frozen = false;
    const id = this.tokens.length;
    this.tokens.push(token);
    this.ranks.push(rank);
    const c = token.charCodeAt(0);
    // Non-ASCII first characters, and tokens too long for a u16 length, take the plain search.
    if (c >= 128 || token.length > 0xffff || rank < 0 || rank > 0xffff) { this.other.push(id); return; }
    const second = token.length > 1 ? token.charCodeAt(1) : -1;
    if (second < 0 || second >= 128) this.seconds[c] = u64.MAX_VALUE;
    else this.seconds[c] |= (<u64>1) << <u64>(second & 63);
  }

  addAll(tokens: Array<string>, rank: i32): void {
    for (let i = 0; i < tokens.length; i++) this.add(tokens[i], rank);
  }

  /** Lays the ASCII-first tokens out in `flat` (see there); call after the last `add`. */
  freeze(): void {
    const tokens = this.tokens;
    const inFlat = new Array<bool>(tokens.length);
    let size = 0;
    for (let id = 0; id < tokens.length; id++) {
      inFlat[id] = !this.other.includes(id);
      if (inFlat[id]) size += 2 + tokens[id].length;
    }
    const flat = new StaticArray<u16>(size);
    const starts = new StaticArray<i32>(129);
    let at = 0;
    for (let c = 0; c < 128; c++) {
      starts[c] = at;
      for (let id = 0; id < tokens.length; id++) {
        if (!inFlat[id]) continue;
        const t = tokens[id];
        if (t.charCodeAt(0) != c) continue;
        flat[at++] = <u16>this.ranks[id];
        flat[at++] = <u16>t.length;
        for (let k = 0; k < t.length; k++) flat[at++] = <u16>t.charCodeAt(k);
      }
    }
    starts[128] = at;
    this.flat = flat;
    this.starts = starts;
    this.frozen = true;
  }

  /**
   * The lowest rank of a token occurring in `s` compared with ASCII letters folded to lowercase
   * (stopping early at rank 0); -1 when none does. The tokens themselves must hold no ASCII
   * uppercase letter (the configuration refuses them). Folding while scanning finds what a search
   * of `lowerAscii(s)` finds, without making that copy per request.
   */
  bestIn(s: string): i32 {
    if (!this.frozen) this.freeze();
    let best = -1;
    const n = s.length;
    const flat = this.flat;
    const src = changetype<usize>(s);
    for (let i = 0; i < n; i++) {
      const c = foldAscii(<i32>load<u16>(src + (<usize>i << 1)));
      if (c >= 128) continue;
      const mask = unchecked(this.seconds[c]);
      if (mask == 0) continue;
      const next = i + 1 < n ? foldAscii(<i32>load<u16>(src + (<usize>(i + 1) << 1))) : -1;
      if (mask != u64.MAX_VALUE) {
        if (next < 0 || next >= 128) continue;
        if (((mask >> <u64>(next & 63)) & 1) == 0) continue;
      }
      let p = unchecked(this.starts[c]);
      const end = unchecked(this.starts[c + 1]);
      while (p < end) {
        const rank = <i32>unchecked(flat[p]);
        const tl = <i32>unchecked(flat[p + 1]);
        const t = p + 2;
        p = t + tl;
        if (best >= 0 && rank >= best) continue;
        // The second character rules out most candidates before a full comparison.
        if (i + tl > n || (tl > 1 && <i32>unchecked(flat[t + 1]) != next)) continue;
        let k = 2;
        while (k < tl && foldAscii(<i32>load<u16>(src + (<usize>(i + k) << 1))) == <i32>unchecked(flat[t + k])) k++;
        if (k >= tl) {
          best = rank;
          if (best == 0) return 0;
        }
      }
    }
    for (let k = 0; k < this.other.length; k++) {
      const id = this.other[k];
      const rank = this.ranks[id];
      if ((best < 0 || rank < best) && includesFolded(s, this.tokens[id])) best = rank;
    }
    return best;
  }
}

/** An ASCII uppercase letter's lowercase form; any other UTF-16 code unit unchanged. */
// @ts-ignore: decorator
@inline function foldAscii(c: i32): i32 { return <u32>(c - 0x41) < 26 ? c | 0x20 : c; }

/** Whether `t` (no ASCII uppercase letters) occurs in `s` at `at`, ASCII letters of `s` folded. */
export function startsWithFolded(s: string, t: string, at: i32): bool {
  const n = t.length;
  if (at < 0 || at + n > s.length) return false;
  for (let k = 0; k < n; k++) if (foldAscii(s.charCodeAt(at + k)) != <i32>t.charCodeAt(k)) return false;
  return true;
}

/** Whether `t` (no ASCII uppercase letters) occurs anywhere in `s`, ASCII letters of `s` folded. */
export function includesFolded(s: string, t: string): bool {
  for (let i = 0; i + t.length <= s.length; i++) if (startsWithFolded(s, t, i)) return true;
  return false;
}
