// Byte strings: the WAF inspects bytes, as ModSecurity does, so every value it matches is a
// string whose char codes are bytes (0..255). Headers come from the SDK as byte strings
// (getHeaderPairsFlat's `bytes`), bodies through byteStringOf; `toByteString` turns UTF-8 text
// (the configuration's) into its bytes, one char per byte. ASCII text is unchanged.
import { byteStringAt } from "@meshward/sdk/assembly";

/** One char per byte of `buf`. */
export function byteStringOf(buf: ArrayBuffer): string {
  return byteStringAt(changetype<usize>(buf), <usize>buf.byteLength);
}

/** The UTF-8 bytes of `s` as a byte string (ASCII-only strings are returned as they are). */
export function toByteString(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return s;
  return byteStringOf(String.UTF8.encode(s));
}

/** The bytes of a byte string (chars above 0xff keep their low byte). */
export function bytesOf(s: string): ArrayBuffer {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = <u8>(s.charCodeAt(i) & 0xff);
  return out.buffer;
}

/** A byte string read back as UTF-8 text (lenient), for logs and headers. */
export function textOf(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return String.UTF8.decode(bytesOf(s));
  }
  return s;
}

/**
 * `a.push(v)`, inline while `a` has room: Array#push calls ensureCapacity on every push, and a
 * large body makes tens of thousands of entries (names, values, value ids).
 */
@inline export function append<T>(a: Array<T>, v: T): void {
  const n = a.length;
  if ((<usize>(n + 1) << alignof<T>()) <= <usize>changetype<ArrayBufferView>(a).byteLength) {
    store<T>(a.dataStart + (<usize>n << alignof<T>()), v);
    if (isManaged<T>()) __link(changetype<usize>(a), changetype<usize>(v), true);
    store<i32>(changetype<usize>(a), n + 1, offsetof<Array<T>>("length_"));
  } else {
    a.push(v);
  }
}

/** Empties `a`, keeping its buffer (the `length` setter is a call that checks the capacity first). */
@inline export function emptied<T>(a: Array<T>): void {
  store<i32>(changetype<usize>(a), 0, offsetof<Array<T>>("length_"));
}

/** An empty array with room for `n` elements (pushes up to n do not regrow it). */
export function reserved<T>(n: i32): Array<T> {
  const a = new Array<T>(n);
  a.length = 0;
  return a;
}

/** The largest buffer (code units) a reused builder keeps between uses. */
export const REUSED_MAX = 16384;

/** Builds strings from char codes without quadratic concatenation. */
export class ByteBuilder {
  private buf: Uint16Array;
  length: i32 = 0;
  constructor(capacity: i32 = 16) {
    this.buf = new Uint16Array(capacity < 4 ? 4 : capacity);
  }
  push(c: i32): void {
    const n = this.length;
    if (n == this.buf.length) {
      const bigger = new Uint16Array(n * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    // In bounds (checked above): a plain store, no second bounds check per character.
    store<u16>(this.buf.dataStart + (<usize>n << 1), <u16>c);
    this.length = n + 1;
  }
  /** Empties the builder for reuse, with room for `capacity` (a buffer grown far beyond what is usual is let go). */
  reset(capacity: i32): void {
    this.length = 0;
    if (this.buf.length < capacity || this.buf.length > REUSED_MAX) this.buf = new Uint16Array(capacity < 256 ? 256 : capacity);
  }
  /**
   * Where to write up to `capacity` units (the capacity given to the constructor or reset) with
   * plain stores, for a result no longer than its input; then `length` = how many were written.
   */
  get data(): usize { return this.buf.dataStart; }
  pushString(s: string): void {
    for (let i = 0; i < s.length; i++) this.push(s.charCodeAt(i));
  }
  last(): i32 { return this.length == 0 ? -1 : <i32>this.buf[this.length - 1]; }
  pop(): void { if (this.length > 0) this.length--; }
  toString(): string {
    const bytes = <usize>this.length << 1;
    const out = changetype<string>(__new(bytes, idof<string>()));
    memory.copy(changetype<usize>(out), this.buf.dataStart, bytes);
    return out;
  }
}

export function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** ASCII whitespace: space, \t, \n, \v, \f, \r (two tests: the last five are 0x09 to 0x0d). */
export function isSpace(c: i32): bool {
  return c == 0x20 || <u32>(c - 0x09) <= 4;
}

/** Whether `s` holds code unit `c`. */
@inline export function hasUnit(s: string, c: u32): bool {
  return unitIndex(s, c) >= 0;
}

/** The first index of code unit `c` in `s`, or -1 (`indexOf` with a one-unit string compares a substring per position). */
export function unitIndex(s: string, c: u32): i32 {
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) if (<u32>load<u16>(p + (<usize>i << 1)) == c) return i;
  return -1;
}

/** The last index of code unit `c` in `s`, or -1. */
export function lastUnitIndex(s: string, c: u32): i32 {
  const p = changetype<usize>(s);
  for (let i = s.length - 1; i >= 0; i--) if (<u32>load<u16>(p + (<usize>i << 1)) == c) return i;
  return -1;
}

/** Whether the `n` units at `p` and at `q` are equal (eight bytes per step: memory.compare goes byte by byte). */
@inline export function unitsEqual(p: usize, q: usize, n: i32): bool {
  const end = p + (<usize>n << 1);
  while (p + 8 <= end) {
    if (load<u64>(p) != load<u64>(q)) return false;
    p += 8;
    q += 8;
  }
  while (p < end) {
    if (load<u16>(p) != load<u16>(q)) return false;
    p += 2;
    q += 2;
  }
  return true;
}

export function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

/** ASCII lowercase of a byte string. */
export function lowerBytes(s: string): string {
  let i = 0;
  for (; i < s.length; i++) { const c = s.charCodeAt(i); if (c >= 0x41 && c <= 0x5a) break; }
  if (i == s.length) return s;
  // One allocation, written in place (ASCII only, as ModSecurity's lowercase).
  const n = s.length;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const src = changetype<usize>(s), dst = changetype<usize>(out);
  for (let j = 0; j < n; j++) {
    const c = load<u16>(src + (<usize>j << 1));
    store<u16>(dst + (<usize>j << 1), c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return out;
}

export function upperBytes(s: string): string {
  const b = new ByteBuilder(s.length);
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    b.push(c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  return b.toString();
}

/** Parses a decimal integer (optional sign, surrounding spaces); `fallback` when it is not one. ModSecurity reads non-numbers as 0. */
export function parseIntOr(s: string, fallback: i64): i64 {
  // One digit, what TX counters and levels nearly always hold.
  if (s.length == 1) {
    const d = <u32>load<u16>(changetype<usize>(s)) - 0x30;
    return d <= 9 ? <i64>d : fallback;
  }
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (i < s.length && (s.charCodeAt(i) == 0x2d || s.charCodeAt(i) == 0x2b)) { neg = s.charCodeAt(i) == 0x2d; i++; }
  const start = i;
  let v: i64 = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) {
    if (v < 100000000000000000) v = v * 10 + (s.charCodeAt(i) - 0x30);
    i++;
  }
  if (i == start) return fallback;
  return neg ? -v : v;
}

/** JSON string escaping for audit lines. */
export function jsonString(s: string): string {
  const b = new ByteBuilder(s.length + 2);
  b.push(0x22);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22 || c == 0x5c) { b.push(0x5c); b.push(c); }
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      b.pushString("\\u00");
      b.push("0123456789abcdef".charCodeAt(c >> 4));
      b.push("0123456789abcdef".charCodeAt(c & 15));
    } else b.push(c);
  }
  b.push(0x22);
  return b.toString();
}
