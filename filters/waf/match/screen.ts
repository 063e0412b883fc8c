// A literal screen: the required literals of many rules (see seclang/literals.ts) in one
// Aho-Corasick automaton. One pass over a value gives the set of rules (slots) one of whose
// literals occurs in it, as a bit set; a rule whose bit is clear cannot match the value and is
// not run on it. ASCII letters match case-insensitively (literals are given lowercase); other
// code units exactly. Built once at configure time; dense table, one load per code unit.

import { CodeUnitClasses } from "./alphabet";

export class LiteralScreen {
  /** Rules (slots) screened: bit `slot` of a result. */
  slots: i32 = 0;
  /** 32-bit words per result. */
  words: i32 = 0;
  private literals: string[] = [];
  private owners: i32[] = [];
  private classes: CodeUnitClasses = new CodeUnitClasses([], true);
  private delta: Int32Array = new Int32Array(0);
  /** Per state: whether some literal ends there (then its slot bits are in `bits`). */
  private ends: Uint8Array = new Uint8Array(0);
  /** Per state, `words` words: the slots of every literal ending in it (suffix links followed). */
  private bits: Uint32Array = new Uint32Array(0);
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

  /** Builds the automaton (after every add). */
  build(): void {
    this.words = (this.slots + 31) >> 5;
    const words = this.words;
    const classes = new CodeUnitClasses(this.literals, true);
    this.classes = classes;
    const k = classes.count;
    // Trie.
    let total = 1;
    for (let p = 0; p < this.literals.length; p++) total += this.literals[p].length;
    const goto = new Int32Array(total * k).fill(-1);
    const bits = new Uint32Array(total * words);
    let states = 1;
    for (let p = 0; p < this.literals.length; p++) {
      const s = this.literals[p];
      let st = 0;
      for (let i = 0; i < s.length; i++) {
        const cls = classes.classOf(s.charCodeAt(i));
        let next = goto[st * k + cls];
        if (next < 0) { next = states++; goto[st * k + cls] = next; }
        st = next;
      }
      const slot = this.owners[p];
      bits[st * words + (slot >> 5)] |= (<u32>1) << (<u32>(slot & 31));
    }
    // Breadth-first: failure links folded into a complete table; a state inherits its failure state's slots.
    const delta = new Int32Array(states * k);
    const fail = new Int32Array(states);
    const queue = new Int32Array(states);
    let qh = 0, qt = 0;
    for (let c = 0; c < k; c++) {
      const next = goto[c];
      if (next > 0) { delta[c] = next; fail[next] = 0; queue[qt++] = next; }
    }
    while (qh < qt) {
      const st = queue[qh++];
      const f = fail[st];
      for (let w = 0; w < words; w++) bits[st * words + w] |= bits[f * words + w];
      for (let c = 0; c < k; c++) {
        const next = goto[st * k + c];
        if (next >= 0) {
          fail[next] = delta[f * k + c];
          delta[st * k + c] = next;
          queue[qt++] = next;
        } else {
          delta[st * k + c] = delta[f * k + c];
        }
      }
    }
    const ends = new Uint8Array(states);
    for (let s = 0; s < states; s++) for (let w = 0; w < words; w++) if (bits[s * words + w] != 0) ends[s] = 1;
    this.delta = delta;
    this.ends = ends;
    this.seenIn = new Int32Array(states);
    this.bits = bits.slice(0, states * words);
  }

  /**
   * ORs into out[at .. at + words) the slots of every literal occurring in input; true when any.
   * Stops early once every slot is set.
   */
  scan(input: string, out: Uint32Array, at: i32): bool {
    const classes = this.classes;
    const k = classes.count;
    const words = this.words;
    const delta = this.delta.dataStart, ends = this.ends.dataStart, ascii = classes.ascii.dataStart;
    const bits = this.bits.dataStart;
    const dst = out.dataStart + (<usize>at << 2);
    const base = changetype<usize>(input);
    let any = false;
    let st = 0;
    // A new mark for this scan (wrapping around clears the marks).
    let scan = ++this.scans;
    if (scan == i32.MAX_VALUE) { this.seenIn.fill(0); this.scans = scan = 1; }
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
      st = load<i32>(delta + (<usize>(st * k + cls) << 2));
      if (load<u8>(ends + <usize>st) != 0 && load<i32>(seen + (<usize>st << 2)) != scan) {
        store<i32>(seen + (<usize>st << 2), scan);
        any = true;
        const src = bits + (<usize>(st * words) << 2);
        for (let w = 0; w < words; w++) {
          const p = dst + (<usize>w << 2);
          store<u32>(p, load<u32>(p) | load<u32>(src + (<usize>w << 2)));
        }
      }
    }
    return any;
  }

  /** Bytes held (for memory accounting). */
  get memoryBytes(): i32 {
    return (this.delta.length << 2) + this.ends.length + (this.bits.length << 2);
  }
}
