// Character classes for the regex engine: sorted, merged ranges of UTF-16 code units, with a
// 256-bit bitmap so the common (ASCII / Latin-1) case is one load and a bit test.

export const MAX_CHAR: i32 = 0xffff;

export class CharClass {
  /** Flat pairs [lo0, hi0, lo1, hi1, ...], sorted and non-overlapping once normalized. */
  ranges: Array<i32> = new Array<i32>();
  /** Membership of the code units 0..255 (built by freeze()). */
  low: StaticArray<u32> = new StaticArray<u32>(8);

  addRange(lo: i32, hi: i32): void {
    if (lo > hi) return;
    this.ranges.push(lo);
    this.ranges.push(hi);
  }

  addChar(c: i32): void {
    this.addRange(c, c);
  }

  addClass(other: CharClass): void {
    for (let i = 0; i < other.ranges.length; i += 2) this.addRange(other.ranges[i], other.ranges[i + 1]);
  }

  /** Sorts and merges the ranges. */
  normalize(): void {
    const n = this.ranges.length >> 1;
    if (n <= 1) return;
    // Insertion sort on pairs: classes are small and mostly added in order.
    const r = this.ranges;
    for (let i = 1; i < n; i++) {
      const lo = r[2 * i], hi = r[2 * i + 1];
      let j = i - 1;
      while (j >= 0 && r[2 * j] > lo) {
        r[2 * j + 2] = r[2 * j];
        r[2 * j + 3] = r[2 * j + 1];
        j--;
      }
      r[2 * j + 2] = lo;
      r[2 * j + 3] = hi;
    }
    const out = new Array<i32>();
    let curLo = r[0], curHi = r[1];
    for (let i = 1; i < n; i++) {
      const lo = r[2 * i], hi = r[2 * i + 1];
      if (lo <= curHi + 1) {
        if (hi > curHi) curHi = hi;
      } else {
        out.push(curLo);
        out.push(curHi);
        curLo = lo;
        curHi = hi;
      }
    }
    out.push(curLo);
    out.push(curHi);
    this.ranges = out;
  }

  /** The complement over 0..MAX_CHAR (normalizes first). */
  negate(): void {
    this.normalize();
    const out = new Array<i32>();
    let next = 0;
    for (let i = 0; i < this.ranges.length; i += 2) {
      if (this.ranges[i] > next) {
        out.push(next);
        out.push(this.ranges[i] - 1);
      }
      next = this.ranges[i + 1] + 1;
    }
    if (next <= MAX_CHAR) {
      out.push(next);
      out.push(MAX_CHAR);
    }
    this.ranges = out;
  }

  /** Adds the other case of every letter in the class (ASCII and Latin-1, as JS RegExp /i does there). */
  addCaseFolds(): void {
    const n = this.ranges.length;
    for (let i = 0; i < n; i += 2) {
      const lo = this.ranges[i], hi = this.ranges[i + 1];
      foldRange(this, lo, hi, 0x41, 0x5a, 32); // A-Z -> a-z
      foldRange(this, lo, hi, 0x61, 0x7a, -32); // a-z -> A-Z
      foldRange(this, lo, hi, 0xc0, 0xd6, 32); // À-Ö -> à-ö
      foldRange(this, lo, hi, 0xd8, 0xde, 32); // Ø-Þ -> ø-þ
      foldRange(this, lo, hi, 0xe0, 0xf6, -32);
      foldRange(this, lo, hi, 0xf8, 0xfe, -32);
    }
  }

  /** Normalizes and builds the bitmap; call once before matching. */
  freeze(): void {
    this.normalize();
    for (let i = 0; i < 8; i++) unchecked((this.low[i] = 0));
    for (let i = 0; i < this.ranges.length; i += 2) {
      const lo = this.ranges[i];
      let hi = this.ranges[i + 1];
      if (lo > 255) break;
      if (hi > 255) hi = 255;
      for (let c = lo; c <= hi; c++) unchecked((this.low[c >> 5] |= (<u32>1) << (<u32>(c & 31))));
    }
  }

  @inline
  has(c: i32): bool {
    if (c < 256) return (unchecked(this.low[c >> 5]) & ((<u32>1) << (<u32>(c & 31)))) != 0;
    return this.hasSlow(c);
  }

  hasSlow(c: i32): bool {
    // Binary search over the ranges.
    let lo = 0, hi = (this.ranges.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (c < unchecked(this.ranges[2 * mid])) hi = mid - 1;
      else if (c > unchecked(this.ranges[2 * mid + 1])) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** A single code unit when the class is exactly one, else -1. */
  single(): i32 {
    if (this.ranges.length == 2 && this.ranges[0] == this.ranges[1]) return this.ranges[0];
    return -1;
  }
}

function foldRange(cls: CharClass, lo: i32, hi: i32, fromLo: i32, fromHi: i32, delta: i32): void {
  const a = lo > fromLo ? lo : fromLo;
  const b = hi < fromHi ? hi : fromHi;
  if (a <= b) cls.addRange(a + delta, b + delta);
}

/** The other case of c (ASCII and Latin-1 letters), or c itself. */
export function otherCase(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c + 32;
  if (c >= 0x61 && c <= 0x7a) return c - 32;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) return c - 32;
  return c;
}

/** \w: [0-9A-Za-z_] (ASCII only, as RE2 and JS). */
@inline
export function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

export function digitClass(): CharClass {
  const c = new CharClass();
  c.addRange(0x30, 0x39);
  return c;
}

export function wordClass(): CharClass {
  const c = new CharClass();
  c.addRange(0x30, 0x39);
  c.addRange(0x41, 0x5a);
  c.addChar(0x5f);
  c.addRange(0x61, 0x7a);
  return c;
}

/** \s: [\t\n\v\f\r ] (RE2's Perl class; \v included as in PCRE and JS). */
export function spaceClass(): CharClass {
  const c = new CharClass();
  c.addRange(0x09, 0x0d);
  c.addChar(0x20);
  return c;
}

/** POSIX [:name:] classes (ASCII); null for an unknown name. */
export function posixClass(name: string): CharClass | null {
  const c = new CharClass();
  if (name == "alnum") {
    c.addRange(0x30, 0x39);
    c.addRange(0x41, 0x5a);
    c.addRange(0x61, 0x7a);
  } else if (name == "alpha") {
    c.addRange(0x41, 0x5a);
    c.addRange(0x61, 0x7a);
  } else if (name == "ascii") {
    c.addRange(0, 0x7f);
  } else if (name == "blank") {
    c.addChar(0x09);
    c.addChar(0x20);
  } else if (name == "cntrl") {
    c.addRange(0, 0x1f);
    c.addChar(0x7f);
  } else if (name == "digit") {
    c.addRange(0x30, 0x39);
  } else if (name == "graph") {
    c.addRange(0x21, 0x7e);
  } else if (name == "lower") {
    c.addRange(0x61, 0x7a);
  } else if (name == "print") {
    c.addRange(0x20, 0x7e);
  } else if (name == "punct") {
    c.addRange(0x21, 0x2f);
    c.addRange(0x3a, 0x40);
    c.addRange(0x5b, 0x60);
    c.addRange(0x7b, 0x7e);
  } else if (name == "space") {
    c.addRange(0x09, 0x0d);
    c.addChar(0x20);
  } else if (name == "upper") {
    c.addRange(0x41, 0x5a);
  } else if (name == "word") {
    c.addClass(wordClass());
  } else if (name == "xdigit") {
    c.addRange(0x30, 0x39);
    c.addRange(0x41, 0x46);
    c.addRange(0x61, 0x66);
  } else {
    return null;
  }
  return c;
}
