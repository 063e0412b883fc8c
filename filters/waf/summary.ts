// Per-value character summaries: the set of ASCII code units a value holds (letters folded to
// lowercase), plus whether it has an upper-case ASCII letter or a code unit >= 0x80, in two
// 64-bit words. Computed once per value (kept in the engine's value table), a summary proves
// cheaply that some work cannot change anything:
//  - a transformation whose trigger units are all absent returns its input unchanged (lowercase
//    without upper-case letters, urlDecode without '%' or '+', ...), so a whole transformation
//    list can be skipped when the value has none of the list's triggers;
//  - a literal (of the required literals every match of a rule contains) can only occur in a value
//    holding every unit of it, so a rule none of whose literals can occur is not run.
// Pure: no host calls.
import { Transform } from "./transforms";
import { isSpace } from "./bytes";

/** Bit (in the high word, units 64..127) set when the value has an ASCII upper-case letter (folded into the lower-case bits otherwise). */
export const HI_UPPER: u64 = 1 << (0x41 - 64);
/** Bit set when the value has a code unit >= 0x80. */
const HI_HIGH: u64 = 1 << (0x42 - 64);
/** Bit set in every computed summary (so a summary is never all zero, and NEVER below always intersects it). */
export const HI_DONE: u64 = 1 << (0x43 - 64);
/**
 * Bit set when the value has a space (0x20) that compressWhitespace, trim or cmdLine may change:
 * the first or last unit, next to another whitespace unit, or before '/' or '('. Most values
 * with spaces (words in a sentence) have none, and those transformations leave them alone.
 */
export const HI_SPACING: u64 = 1 << (0x44 - 64);

/** A set of summary bits, as two words (units 0..63, 64..127 and the flags). */
export class UnitMask {
  constructor(public lo: u64 = 0, public hi: u64 = 0) {}

  addUnit(c: i32): UnitMask {
    if (c >= 0x80) this.hi |= HI_HIGH;
    else {
      if (c >= 0x41 && c <= 0x5a) c += 32;
      if (c < 64) this.lo |= (<u64>1) << (<u64>c); else this.hi |= (<u64>1) << (<u64>(c - 64));
    }
    return this;
  }

  addUnits(s: string): UnitMask {
    for (let i = 0; i < s.length; i++) this.addUnit(s.charCodeAt(i));
    return this;
  }

  or(m: UnitMask): UnitMask { this.lo |= m.lo; this.hi |= m.hi; return this; }
}

/** By code unit below 256, two words: its summary bits (as summarize sets them). */
const UNIT_SUMMARIES = unitSummaries();

function unitSummaries(): StaticArray<u64> {
  const out = new StaticArray<u64>(512);
  for (let c = 0; c < 256; c++) {
    const m = new UnitMask().addUnit(c);
    if (c >= 0x41 && c <= 0x5a) m.hi |= HI_UPPER;
    out[c << 1] = m.lo;
    out[(c << 1) + 1] = m.hi;
  }
  return out;
}

/** Per code unit below 256, whether a long value holds it (summarize; cleared after each use). */
const unitSeen = new StaticArray<u8>(256);
/** From this length on, summarize marks the units seen and folds them once at the end. */
const LONG_VALUE = 1024;

/** Writes the summary of `s` at out[at], out[at + 1]. */
export function summarize(s: string, out: Uint64Array, at: i32): void {
  if (s.length >= LONG_VALUE) { summarizeLong(s, out, at); return; }
  let lo: u64 = 0, hi: u64 = HI_DONE;
  // One table load per word and unit (a test per unit class cost three times as much).
  const table = changetype<usize>(UNIT_SUMMARIES);
  let p = changetype<usize>(s);
  const end = p + (<usize>s.length << 1);
  while (p < end) {
    const c = <usize>load<u16>(p);
    p += 2;
    if (c < 256) {
      lo |= load<u64>(table + (c << 4));
      hi |= load<u64>(table + (c << 4), 8);
    } else {
      hi |= HI_HIGH;
    }
  }
  if ((lo & SPACE_BIT) != 0 && hasSpacing(s)) hi |= HI_SPACING;
  unchecked(out[at] = lo);
  unchecked(out[at + 1] = hi);
}

/** The summary bit of the space (0x20). */
const SPACE_BIT: u64 = (<u64>1) << 0x20;

/** Whether a space in `s` is one HI_SPACING stands for. */
function hasSpacing(s: string): bool {
  const p = changetype<usize>(s);
  const n = s.length;
  if (load<u16>(p) == 0x20 || load<u16>(p + (<usize>(n - 1) << 1)) == 0x20) return true;
  for (let i = 1; i < n - 1; i++) {
    if (load<u16>(p + (<usize>i << 1)) != 0x20) continue;
    const next = <i32>load<u16>(p + (<usize>(i + 1) << 1));
    if (next == 0x2f || next == 0x28 || next == 0xa0 || isSpace(next)) return true;
  }
  return false;
}

/** summarize for a long value (a body): one store per unit, then one fold of the units seen. */
function summarizeLong(s: string, out: Uint64Array, at: i32): void {
  const seen = changetype<usize>(unitSeen);
  let high = false;
  let p = changetype<usize>(s);
  const end = p + (<usize>s.length << 1);
  while (p < end) {
    const c = <usize>load<u16>(p);
    p += 2;
    if (c < 256) store<u8>(seen + c, 1);
    else high = true;
  }
  let lo: u64 = 0, hi: u64 = HI_DONE;
  if (high) hi |= HI_HIGH;
  // Not worth a second pass over a body: any space may be one.
  if (load<u8>(seen + 0x20) != 0) hi |= HI_SPACING;
  const table = changetype<usize>(UNIT_SUMMARIES);
  for (let c: usize = 0; c < 256; c++) {
    if (load<u8>(seen + c) == 0) continue;
    store<u8>(seen + c, 0);
    lo |= load<u64>(table + (c << 4));
    hi |= load<u64>(table + (c << 4), 8);
  }
  unchecked(out[at] = lo);
  unchecked(out[at + 1] = hi);
}

/** ASCII whitespace as bytes.ts isSpace but the space (0x20): \t, \n, \v, \f, \r. */
function controlSpaces(): UnitMask {
  return new UnitMask().addUnit(0x09).addUnit(0x0a).addUnit(0x0b).addUnit(0x0c).addUnit(0x0d);
}

/** ASCII whitespace as bytes.ts isSpace (space, \t, \n, \v, \f, \r). */
function spaces(): UnitMask {
  return controlSpaces().addUnit(0x20);
}

/** Whitespace other than the space (0x20), whose part HI_SPACING tells, and U+00A0 (isWideSpace). */
function spacing(): UnitMask {
  return controlSpaces().addUnit(0xa0).or(new UnitMask(0, HI_SPACING));
}

/** Matches every summary: the transformation may change any value. */
function never(): UnitMask { return new UnitMask(u64.MAX_VALUE, u64.MAX_VALUE); }

/**
 * The units whose presence a transformation needs to change a value: when a value has none of
 * them, the transformation returns it unchanged (derived from transforms.ts, conservatively).
 */
export function transformTrigger(t: i32): UnitMask {
  switch (t) {
    case Transform.Lowercase: return new UnitMask(0, HI_UPPER);
    case Transform.Uppercase: return new UnitMask().addUnits("abcdefghijklmnopqrstuvwxyz");
    case Transform.UrlDecode:
    case Transform.UrlDecodeUni: return new UnitMask().addUnits("%+");
    case Transform.HtmlEntityDecode: return new UnitMask().addUnits("&");
    case Transform.JsDecode:
    case Transform.CssDecode: return new UnitMask().addUnits("\\");
    case Transform.RemoveNulls:
    case Transform.ReplaceNulls: return new UnitMask().addUnit(0);
    // Whitespace as isWideSpace: ASCII spaces and U+00A0 (a unit >= 0x80). Lone spaces between
    // other units are the only ones the others below leave alone.
    case Transform.RemoveWhitespace: return spaces().addUnit(0xa0);
    case Transform.CompressWhitespace:
    case Transform.Trim:
    case Transform.TrimLeft:
    case Transform.TrimRight: return spacing();
    case Transform.ReplaceComments: return new UnitMask().addUnits("/");
    case Transform.RemoveCommentsChar: return new UnitMask().addUnits("/*-#");
    case Transform.RemoveComments: return new UnitMask().addUnits("/-#");
    case Transform.CmdLine: return spacing().addUnits("\\\"'^,;").or(new UnitMask(0, HI_UPPER));
    case Transform.CmdLineKeepCase: return spacing().addUnits("\\\"'^,;");
    // Without a slash a value is one segment, unchanged unless it is "." (hence the dot).
    case Transform.NormalizePath: return new UnitMask().addUnits("/.");
    case Transform.NormalizePathWin: return new UnitMask().addUnits("/.\\");
    case Transform.Utf8ToUnicode: return new UnitMask(0, HI_HIGH);
  }
  // base64Decode, hexDecode, length: change (nearly) every value.
  return never();
}

/**
 * The units transformation `t` may put into a value that its input lacked (letters count as
 * their lowercase unit, as in a summary): a value's form after it holds no unit outside its
 * input's and these. Every unit for the decodings, whose output can be anything.
 */
export function addedUnits(t: i32): UnitMask {
  switch (t) {
    case Transform.Lowercase:
    case Transform.RemoveNulls:
    case Transform.RemoveWhitespace:
    case Transform.Trim:
    case Transform.TrimLeft:
    case Transform.TrimRight:
    case Transform.RemoveCommentsChar:
    case Transform.RemoveComments: return new UnitMask();
    case Transform.Uppercase: return new UnitMask(0, HI_UPPER);
    // A space in place of nulls, whitespace runs, comments or cmdLine's separators.
    case Transform.ReplaceNulls:
    case Transform.CompressWhitespace:
    case Transform.ReplaceComments:
    case Transform.CmdLine:
    case Transform.CmdLineKeepCase: return new UnitMask().addUnit(0x20);
    case Transform.Length: return new UnitMask().addUnits("0123456789");
  }
  return never();
}

/**
 * The units one of which a value needs for transformation `t` to change more than the case of
 * its ASCII letters: a value holding none of them comes out of the transformation equal to it
 * but for case (lowercase, and cmdLine on a plain value, only fold letters), which the
 * case-insensitive literal screen cannot tell apart.
 */
export function caseTrigger(t: i32): UnitMask {
  if (t == Transform.Uppercase) return never();
  const m = transformTrigger(t);
  m.hi &= ~HI_UPPER;
  return m;
}

/** Whether a value with summary (lo, hi) holds none of the units of `m`. */
@inline export function disjoint(lo: u64, hi: u64, mLo: u64, mHi: u64): bool {
  return (lo & mLo) == 0 && (hi & mHi) == 0;
}

/**
 * The summary bits of the units one of which a value must hold for @validateByteRange with
 * `allowed` (per byte) to match: each disallowed ASCII byte (a letter as its folded bit, which
 * either case sets), and HI_HIGH when any byte is disallowed (the operator reads a unit's low
 * byte, so any unit from 0x80 on may stand for one). (0, 0) when every byte is allowed.
 */
export function byteRangeUnits(allowed: StaticArray<bool>): UnitMask {
  const m = new UnitMask();
  for (let b = 0; b < 256; b++) {
    if (allowed[b]) continue;
    if (b < 0x80) m.addUnit(b);
    m.hi |= HI_HIGH;
  }
  return m;
}

/** Most distinct literal masks kept for a rule (beyond it, the test keeps what all of them share). */
const MAX_LITERAL_MASKS = 32;

/**
 * The unit sets of a rule's required literals (lowercase-folded; the space, tab and feeds left
 * out, as a literal's space stands for any of them): a value can hold one of the literals only
 * if it covers one of the sets. Null when the test could exclude nothing. Beyond
 * `maxMasks` (at most 64) distinct sets, one set of the units all of them share. Laid out for
 * mayHoldLiteral, in u64 words: a key, one unit of each set (its least common in ordinary text),
 * as a (lo, hi) pair, so a value holding none of the key's units is rejected in one test; the
 * sets' bit when all are excluded (bit i for set i); the union of the sets as a pair; then by
 * unit (the 64 units of lo, then the 64 of hi), the sets holding it, as bits. A set is excluded
 * by any of its units the value lacks, so a walk over the union's missing units decides.
 */
export function literalMasks(literals: string[], maxMasks: i32 = MAX_LITERAL_MASKS): Uint64Array | null {
  const out = new Array<u64>();
  for (let i = 0; i < literals.length; i++) {
    // A space stands for a tab, vertical tab or form feed too (seclang/literals.ts): no one of them is required.
    const lit = literals[i];
    const m = new UnitMask();
    for (let k = 0; k < lit.length; k++) {
      const c = lit.charCodeAt(k);
      if (c != 0x20 && c != 0x09 && c != 0x0b && c != 0x0c) m.addUnit(c);
    }
    if (m.lo == 0 && m.hi == 0) return null; // an empty literal (or spaces only): anything may match
    let dup = false;
    for (let k = 0; k < out.length; k += 2) if (out[k] == m.lo && out[k + 1] == m.hi) { dup = true; break; }
    if (!dup) { out.push(m.lo); out.push(m.hi); }
  }
  if (out.length == 0) return null;
  if (out.length > 2 * min(maxMasks, 64)) {
    let lo = u64.MAX_VALUE, hi = u64.MAX_VALUE;
    for (let k = 0; k < out.length; k += 2) { lo &= out[k]; hi &= out[k + 1]; }
    if (lo == 0 && hi == 0) return null;
    out.length = 0;
    out.push(lo);
    out.push(hi);
  }
  const arr = new Uint64Array(MASKS_BY_UNIT + 128);
  const sets = out.length >> 1;
  arr[2] = sets == 64 ? u64.MAX_VALUE : ((<u64>1) << (<u64>sets)) - 1;
  for (let i = 0; i < sets; i++) {
    const lo = out[i << 1], hi = out[(i << 1) + 1];
    const key = rarestUnit(lo, hi);
    arr[0] |= key.lo;
    arr[1] |= key.hi;
    arr[3] |= lo;
    arr[4] |= hi;
    const bit = (<u64>1) << (<u64>i);
    for (let u = 0; u < 64; u++) {
      if ((lo >> (<u64>u)) & 1) arr[MASKS_BY_UNIT + u] |= bit;
      if ((hi >> (<u64>u)) & 1) arr[MASKS_BY_UNIT + 64 + u] |= bit;
    }
  }
  return arr;
}

/** Where literalMasks' sets by unit start. */
const MASKS_BY_UNIT = 5;

/** Letters from the most to the least common in English text, and their share of letters (%): rarestUnit, and the screen's literal choice (seclang/literals.ts). */
export const LETTERS_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz";
export const LETTER_PERCENT: StaticArray<f64> = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07];

/**
 * One unit of the set (lo, hi) (not empty) as a set of its own: a punctuation, control or
 * non-ASCII unit when it has one, else its rarest letter, else a digit, else the space.
 */
function rarestUnit(lo: u64, hi: u64): UnitMask {
  const one = new UnitMask();
  // Units other than letters, digits and the space (and the summary's flags but HI_HIGH).
  const letters = new UnitMask().addUnits("abcdefghijklmnopqrstuvwxyz");
  const digitsAndSpace = new UnitMask().addUnits("0123456789 ");
  const otherLo = lo & ~letters.lo & ~digitsAndSpace.lo;
  const otherHi = hi & ~letters.hi & ~digitsAndSpace.hi & ~HI_UPPER & ~HI_DONE;
  if (otherLo != 0) { one.lo = otherLo & (~otherLo + 1); return one; }
  if (otherHi != 0) { one.hi = otherHi & (~otherHi + 1); return one; }
  for (let i = LETTERS_BY_FREQUENCY.length - 1; i >= 0; i--) {
    const m = new UnitMask().addUnit(LETTERS_BY_FREQUENCY.charCodeAt(i));
    if ((m.lo & lo) != 0 || (m.hi & hi) != 0) return m;
  }
  for (let c = 0x30; c <= 0x39; c++) {
    const m = new UnitMask().addUnit(c);
    if ((m.lo & lo) != 0 || (m.hi & hi) != 0) return m;
  }
  one.lo = lo;
  one.hi = hi;
  return one;
}

/** Whether a value with summary (lo, hi) may hold one of the literals of `masks` (see literalMasks). */
export function mayHoldLiteral(lo: u64, hi: u64, masks: Uint64Array): bool {
  if (disjoint(lo, hi, unchecked(masks[0]), unchecked(masks[1]))) return false;
  const all = unchecked(masks[2]);
  let excluded: u64 = 0;
  let missing = unchecked(masks[3]) & ~lo;
  while (missing != 0) {
    excluded |= unchecked(masks[MASKS_BY_UNIT + <i32>ctz(missing)]);
    missing &= missing - 1;
  }
  if (excluded == all) return false;
  missing = unchecked(masks[4]) & ~hi;
  while (missing != 0) {
    excluded |= unchecked(masks[MASKS_BY_UNIT + 64 + <i32>ctz(missing)]);
    missing &= missing - 1;
  }
  return excluded != all;
}
