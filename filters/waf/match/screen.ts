// A literal screen: the required literals of many rules (see seclang/literals.ts) in one
// Aho-Corasick automaton. One pass over a value gives the set of rules (slots) one of whose
// literals occurs in it, as a bit set; a rule whose bit is clear cannot match the value and is
// not run on it. ASCII letters match case-insensitively (literals are given lowercase), a space
// matches a tab, vertical tab or form feed too (seclang/literals.ts folds them to it); other code
// units exactly. Built once at configure time; dense table, one load per code unit
// (16-bit entries while the automaton has fewer than 65,536 states, as the bundled ruleset's).

import { CodeUnitClasses } from "./alphabet";
import { DenseAutomaton, buildAutomaton } from "./automaton";

/** The flag of a 16-bit transition into a state where some literal ends (below it: the state). */
const SCREEN_OUTPUT_FLAG: i32 = 0x8000;

/** The most states a flagged table can name. */
const SCREEN_FLAGGED_STATES: i32 = SCREEN_OUTPUT_FLAG;

/**
 * ORs the slots of output `row` (1-based) into the words at `dst`: its non-zero words only, as
 * (word index, bits) pairs from `pairs`, the row's between rowStarts[row - 1] and rowStarts[row]
 * (most rows have a word or two of the ~20 a result has).
 */
@inline function orSlots(dst: usize, pairs: usize, rowStarts: usize, row: i32): void {
  const from = load<i32>(rowStarts + (<usize>(row - 1) << 2));
  const to = load<i32>(rowStarts + (<usize>row << 2));
  for (let k = from; k < to; k++) {
    const q = pairs + (<usize>k << 3);
    const p = dst + (<usize>load<u32>(q) << 2);
    store<u32>(p, load<u32>(p) | load<u32>(q, 4));
  }
}

export class LiteralScreen {
  /** Rules (slots) screened: bit `slot` of a result. */
  slots: i32 = 0;
  /** 32-bit words per result. */
  words: i32 = 0;
  private literals: string[] = [];
  private owners: i32[] = [];
  private classes: CodeUnitClasses = new CodeUnitClasses([], true, true);
  private automaton: DenseAutomaton = new DenseAutomaton();
  /** Per state: 0 when no literal ends there, else 1 + its output row (see pairs). */
  private ends: Int32Array = new Int32Array(0);
  /**
   * Per output row, the slots of every literal ending in its state (suffix links followed): its
   * non-zero words as (word index, bits) pairs, row r's from rowStarts[r - 1] to rowStarts[r] (orSlots).
   */
  private pairs: Uint32Array = new Uint32Array(0);
  private rowStarts: Int32Array = new Int32Array(1);
  /** Per state: the scan that last added its slots (a state reached again adds nothing new). */
  private seenIn: Int32Array = new Int32Array(0);
  private scans: i32 = 0;

  /** Adds the literals of a rule; returns its slot. Literals must be ASCII-lowercase folded. */
  add(literals: string[]): i32 {
    const slot = this.slots++;
    for (let i = 0; i < literals.length; i++) {
      if (literals[i].length == 0) continue;
      this.literals.push(literals[i]);
      this.owners.push(slot);
    }
    return slot;
  }

  /**
   * Adds a rule matched only by values holding one of some units, given as summary bits
   * (summary.ts): its slot is set from a value's summary (orUnitSlots), not by the automaton.
   */
  addUnitSlot(lo: u64, hi: u64): i32 {
    const slot = this.slots++;
    this.unitSlots.push(slot);
    this.unitLo.push(lo);
    this.unitHi.push(hi);
    return slot;
  }

  private unitSlots: i32[] = [];
  private unitLo: u64[] = [];
  private unitHi: u64[] = [];

  /** Whether some slot is a unit slot (addUnitSlot). */
  @inline get hasUnitSlots(): bool {
    return this.unitSlots.length > 0;
  }

  /**
   * ORs into out[at ..) the unit slots whose units a value with summary (lo, hi) may hold; true
   * when any.
   */
  orUnitSlots(lo: u64, hi: u64, out: Uint32Array, at: i32): bool {
    let any = false;
    const slots = this.unitSlots;
    for (let i = 0, n = slots.length; i < n; i++) {
      if ((lo & unchecked(this.unitLo[i])) == 0 && (hi & unchecked(this.unitHi[i])) == 0) continue;
      const slot = unchecked(slots[i]);
      const w = at + (slot >> 5);
      unchecked(out[w] = unchecked(out[w]) | ((<u32>1) << (<u32>(slot & 31))));
      any = true;
    }
    return any;
  }

  /** Builds the automaton (after every add). */
  build(): void {
    this.words = (this.slots + 31) >> 5;
    const words = this.words;
    const classes = new CodeUnitClasses(this.literals, true, true);
    this.classes = classes;
    const a = buildAutomaton(this.literals, classes);
    this.automaton = a;
    const states = a.states;
    // Slots per state: those of the literals ending there, then (breadth-first) its failure state's.
    const bits = new Uint32Array(states * words);
    for (let p = 0; p < this.literals.length; p++) {
      const slot = this.owners[p];
      bits[a.ends[p] * words + (slot >> 5)] |= (<u32>1) << (<u32>(slot & 31));
    }
    for (let i = 0; i < a.order.length; i++) {
      const st = a.order[i], f = a.fail[st];
      for (let w = 0; w < words; w++) bits[st * words + w] |= bits[f * words + w];
    }
    // Output rows for the states where some literal ends only (most states have none).
    const ends = new Int32Array(states);
    let rows = 0;
    for (let s = 0; s < states; s++) {
      let any = false;
      for (let w = 0; w < words; w++) if (bits[s * words + w] != 0) any = true;
      if (any) ends[s] = ++rows;
    }
    const out = new Uint32Array(rows * words);
    for (let s = 0; s < states; s++) {
      const row = ends[s] - 1;
      if (row >= 0) for (let w = 0; w < words; w++) out[row * words + w] = bits[s * words + w];
    }
    this.ends = ends;
    this.seenIn = new Int32Array(states);
    const rowStarts = new Int32Array(rows + 1);
    let nonZero = 0;
    for (let i = 0; i < out.length; i++) if (out[i] != 0) nonZero++;
    const pairs = new Uint32Array(nonZero << 1);
    let k = 0;
    for (let r = 0; r < rows; r++) {
      for (let w = 0; w < words; w++) {
        const b = out[r * words + w];
        if (b == 0) continue;
        pairs[k << 1] = <u32>w;
        pairs[(k << 1) + 1] = b;
        k++;
      }
      rowStarts[r + 1] = k;
    }
    this.pairs = pairs;
    this.rowStarts = rowStarts;
    // The scan reads, per code unit, one class and one transition: ASCII classes with the case
    // folded in, and (16-bit tables) the "some literal ends here" flag in each entry's top bit,
    // so no per-unit test of `ends` or of the case.
    const folded = new Uint8Array(256);
    for (let c = 0; c < 256; c++) folded[c] = <u8>classes.classOf(c);
    this.foldedBytes = folded;
    this.flagged = a.narrow && states <= SCREEN_FLAGGED_STATES;
    if (this.flagged) {
      const t = a.delta16;
      for (let i = 0, n = t.length; i < n; i++) if (ends[t[i]] != 0) t[i] |= <u16>SCREEN_OUTPUT_FLAG;
    }
  }

  /** Code unit (< 256: a byte string's) -> class, ASCII letters folded (classes.classOf without the folding test). */
  private foldedBytes: Uint8Array = new Uint8Array(256);
  /** Whether the 16-bit table's entries carry SCREEN_OUTPUT_FLAG (fewer states than it leaves room for). */
  private flagged: bool = false;

  /**
   * ORs into out[at .. at + words) the slots of every literal occurring in input; true when any.
   */
  scan(input: string, out: Uint32Array, at: i32): bool {
    if (this.flagged) return this.scanFlagged(input, out, at);
    const classes = this.classes;
    const k = classes.count;
    const narrow = this.automaton.narrow;
    const delta = this.automaton.table, ends = this.ends.dataStart, ascii = classes.ascii.dataStart;
    const pairs = this.pairs.dataStart, rowStarts = this.rowStarts.dataStart;
    const dst = out.dataStart + (<usize>at << 2);
    const base = changetype<usize>(input);
    let any = false;
    let st = 0;
    const scan = this.nextScanMark();
    const seen = this.seenIn.dataStart;
    for (let i = 0, n = input.length; i < n; i++) {
      let c = <i32>load<u16>(base + (<usize>i << 1));
      let cls: i32;
      if (c < 128) {
        if (c >= 0x41 && c <= 0x5a) c += 32;
        cls = <i32>load<u8>(ascii + <usize>c);
      } else {
        cls = classes.classOf(c);
      }
      st = narrow ? <i32>load<u16>(delta + (<usize>(st * k + cls) << 1)) : load<i32>(delta + (<usize>(st * k + cls) << 2));
      const row = load<i32>(ends + (<usize>st << 2));
      if (row != 0 && load<i32>(seen + (<usize>st << 2)) != scan) {
        store<i32>(seen + (<usize>st << 2), scan);
        any = true;
        orSlots(dst, pairs, rowStarts, row);
      }
    }
    return any;
  }

  /** A new mark for a scan (wrapping around clears the marks). */
  @inline private nextScanMark(): i32 {
    let scan = ++this.scans;
    if (scan == i32.MAX_VALUE) { this.seenIn.fill(0); this.hitScan = 0; this.scans = scan = 1; }
    return scan;
  }

  /**
   * scan over a flagged 16-bit table (see build): the same outcome. The loop over units below
   * 256 (every unit of a byte string) calls nothing, so V8 keeps its locals in registers (a call
   * anywhere in it, even on a rare path, had them all spilled and reloaded per unit); a hit reads
   * what it needs through `this`. A unit above 0xff continues in scanFlaggedFrom.
   */
  private scanFlagged(input: string, out: Uint32Array, at: i32): bool {
    const k = this.classes.count;
    const delta = this.automaton.table, bytes = this.foldedBytes.dataStart;
    this.hitDst = out.dataStart + (<usize>at << 2);
    const scan = this.nextScanMark();
    let st = 0;
    let p = changetype<usize>(input);
    const end = p + (<usize>input.length << 1);
    // Two units per step while both are below 256 (one load, one test, one loop check for both).
    while (p + 4 <= end) {
      const w = load<u32>(p);
      if ((w & 0xff00ff00) != 0) break;
      p += 4;
      let e = <i32>load<u16>(delta + (<usize>(st * k + <i32>load<u8>(bytes + <usize>(w & 0xff))) << 1));
      st = e & (SCREEN_OUTPUT_FLAG - 1);
      if ((e & SCREEN_OUTPUT_FLAG) != 0) this.addSlotsOnce(st);
      e = <i32>load<u16>(delta + (<usize>(st * k + <i32>load<u8>(bytes + <usize>(w >> 16))) << 1));
      st = e & (SCREEN_OUTPUT_FLAG - 1);
      if ((e & SCREEN_OUTPUT_FLAG) != 0) this.addSlotsOnce(st);
    }
    while (p < end) {
      const c = <i32>load<u16>(p);
      if (c > 0xff) break;
      p += 2;
      const e = <i32>load<u16>(delta + (<usize>(st * k + <i32>load<u8>(bytes + <usize>c)) << 1));
      st = e & (SCREEN_OUTPUT_FLAG - 1);
      if ((e & SCREEN_OUTPUT_FLAG) != 0) this.addSlotsOnce(st);
    }
    if (p < end) this.scanFlaggedFrom(p, end, st);
    return this.hitScan == scan;
  }

  /** scanFlagged's loop for units of any value, from `p` in state `st`. */
  private scanFlaggedFrom(p: usize, end: usize, st: i32): void {
    const classes = this.classes;
    const k = classes.count;
    const delta = this.automaton.table, bytes = this.foldedBytes.dataStart;
    while (p < end) {
      const c = <i32>load<u16>(p);
      p += 2;
      const cls = c <= 0xff ? <i32>load<u8>(bytes + <usize>c) : classes.classOf(c);
      const e = <i32>load<u16>(delta + (<usize>(st * k + cls) << 1));
      st = e & (SCREEN_OUTPUT_FLAG - 1);
      if ((e & SCREEN_OUTPUT_FLAG) != 0) this.addSlotsOnce(st);
    }
  }

  /** Where the scan in progress writes its slots. */
  private hitDst: usize = 0;
  /** The last scan that added slots. */
  private hitScan: i32 = 0;

  /** ORs state `st`'s slots into the scan's words unless this scan added them already. */
  @inline private addSlotsOnce(st: i32): void {
    const scan = this.scans;
    const seen = this.seenIn.dataStart + (<usize>st << 2);
    if (load<i32>(seen) != scan) {
      store<i32>(seen, scan);
      this.hitScan = scan;
      orSlots(this.hitDst, this.pairs.dataStart, this.rowStarts.dataStart, load<i32>(this.ends.dataStart + (<usize>st << 2)));
    }
  }

  /** Bytes held (for memory accounting). */
  get memoryBytes(): i32 {
    return this.automaton.memoryBytes + (this.ends.length << 2) + (this.pairs.length << 2) + (this.rowStarts.length << 2);
  }
}
