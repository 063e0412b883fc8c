// String matchers for paths, hosts and header values (no regular expressions): exact, prefix,
// suffix, contains and glob (`*` matches any run of characters, including none; `?` exactly one
// character; everything else is literal). Case-insensitive variants fold ASCII letters only,
// which is what HTTP header names, hosts and schemes need.
// Also header-list helpers over `Array<string[]>` pairs (see headers.ts).

/** ASCII lowercase (other characters unchanged). */
export function lowercaseAscii(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length && !needs; i++) {
    const c = s.charCodeAt(i);
    needs = c >= 0x41 && c <= 0x5a;
  }
  if (!needs) return s;
  const parts = new Array<string>(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    parts[i] = String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return parts.join("");
}

/** A header name as Envoy keeps it (HTTP/2 and Envoy's maps use lowercase names). */
export function lowercaseHeaderName(name: string): string {
  return lowercaseAscii(name);
}

function foldAscii(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function regionEquals(s: string, start: i32, p: string, ignoreCase: bool): bool {
  if (start < 0 || start + p.length > s.length) return false;
  for (let i = 0; i < p.length; i++) {
    let a = s.charCodeAt(start + i);
    let b = p.charCodeAt(i);
    if (ignoreCase) { a = foldAscii(a); b = foldAscii(b); }
    if (a != b) return false;
  }
  return true;
}

export function matchExact(pattern: string, s: string, ignoreCase: bool = false): bool {
  return s.length == pattern.length && regionEquals(s, 0, pattern, ignoreCase);
}

export function matchPrefix(prefix: string, s: string, ignoreCase: bool = false): bool {
  return regionEquals(s, 0, prefix, ignoreCase);
}

export function matchSuffix(suffix: string, s: string, ignoreCase: bool = false): bool {
  return regionEquals(s, s.length - suffix.length, suffix, ignoreCase);
}

export function matchContains(needle: string, s: string, ignoreCase: bool = false): bool {
  for (let i = 0; i + needle.length <= s.length; i++) {
    if (regionEquals(s, i, needle, ignoreCase)) return true;
  }
  return false;
}

/** Code points of `s` (a surrogate pair is one character for `?`). */
function codePoints(s: string): Array<i32> {
  const out = new Array<i32>();
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i);
    out.push(c);
    if (c > 0xffff) i++;
  }
  return out;
}

/**
 * Glob match of the whole string: `*` any run (possibly empty), `?` one character. Runs in
 * O(pattern × subject) worst case with no recursion (safe on hostile input).
 */
export function matchGlob(pattern: string, s: string, ignoreCase: bool = false): bool {
  const p = codePoints(pattern);
  const t = codePoints(s);
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length) {
      const pc = p[pi];
      if (pc == 0x2a) { // '*'
        starP = pi;
        starT = ti;
        pi++;
        continue;
      }
      let a = pc;
      let b = t[ti];
      if (ignoreCase) { a = foldAscii(a); b = foldAscii(b); }
      if (pc == 0x3f || a == b) { // '?' or literal
        pi++;
        ti++;
        continue;
      }
    }
    if (starP < 0) return false;
    // Let the last '*' swallow one more character and retry.
    pi = starP + 1;
    starT++;
    ti = starT;
  }
  while (pi < p.length && p[pi] == 0x2a) pi++;
  return pi == p.length;
}

export enum MatchKind { Exact, Prefix, Suffix, Contains, Glob }

/** A configured matcher, e.g. from `{ "prefix": "/api/" }` in a filter's config. */
export class Matcher {
  constructor(public kind: MatchKind, public pattern: string, public ignoreCase: bool = false) {}

  /** "exact" | "prefix" | "suffix" | "contains" | "glob" → a matcher; null for any other kind. */
  static parse(kind: string, pattern: string, ignoreCase: bool = false): Matcher | null {
    if (kind == "exact") return new Matcher(MatchKind.Exact, pattern, ignoreCase);
    if (kind == "prefix") return new Matcher(MatchKind.Prefix, pattern, ignoreCase);
    if (kind == "suffix") return new Matcher(MatchKind.Suffix, pattern, ignoreCase);
    if (kind == "contains") return new Matcher(MatchKind.Contains, pattern, ignoreCase);
    if (kind == "glob") return new Matcher(MatchKind.Glob, pattern, ignoreCase);
    return null;
  }

  matches(s: string): bool {
    switch (this.kind) {
      case MatchKind.Exact: return matchExact(this.pattern, s, this.ignoreCase);
      case MatchKind.Prefix: return matchPrefix(this.pattern, s, this.ignoreCase);
      case MatchKind.Suffix: return matchSuffix(this.pattern, s, this.ignoreCase);
      case MatchKind.Contains: return matchContains(this.pattern, s, this.ignoreCase);
      default: return matchGlob(this.pattern, s, this.ignoreCase);
    }
  }
}

/** The first value of header `name` (compared case-insensitively) in `pairs`; null when absent. */
export function headerFirst(pairs: Array<string[]>, name: string): string | null {
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (p.length >= 2 && matchExact(name, p[0], true)) return p[1];
  }
  return null;
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerAll(pairs: Array<string[]>, name: string): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (p.length >= 2 && matchExact(name, p[0], true)) out.push(p[1]);
  }
  return out;
}

/** The pairs with every name lowercased (ASCII). */
export function lowercaseHeaderNames(pairs: Array<string[]>): Array<string[]> {
  const out = new Array<string[]>();
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (p.length >= 2) out.push([lowercaseAscii(p[0]), p[1]]);
  }
  return out;
}
