// The dense Aho-Corasick automaton shared by the @pm phrase matcher and the literal screens: a
// trie of the patterns over code-unit classes (alphabet.ts) with the failure links folded into a
// complete transition table, so matching is one table load per code unit. Entries are 16-bit
// while there are fewer than 65,536 states (every automaton of the bundled ruleset), else 32-bit.
// The trie is built with child lists and the table filled breadth-first, so building needs no
// table larger than the final one (configure-time memory stays near the final size).
import { CodeUnitClasses } from "./alphabet";

export class DenseAutomaton {
  /** States, the root (0) included. */
  states: i32 = 1;
  /** Classes: the width of a row. */
  k: i32 = 1;
  /** 16-bit transitions (when narrow) or 32-bit ones. */
  narrow: bool = true;
  delta16: Uint16Array = new Uint16Array(0);
  delta32: Int32Array = new Int32Array(0);
  /** By pattern: the state its last unit leads to. */
  ends: Int32Array = new Int32Array(0);
  /** By state: its failure state (the longest proper suffix that is a trie state). */
  fail: Int32Array = new Int32Array(0);
  /** Every state but the root, breadth-first: a state's failure state comes before it. */
  order: Int32Array = new Int32Array(0);

  /** The state after reading class `cls` in state `st`. */
  @inline next(st: i32, cls: i32): i32 {
    const i = st * this.k + cls;
    return this.narrow ? <i32>unchecked(this.delta16[i]) : unchecked(this.delta32[i]);
  }

  /** Address of the transition table (for scanning loops that read it directly). */
  get table(): usize {
    return this.narrow ? this.delta16.dataStart : this.delta32.dataStart;
  }

  /** Bytes held by the table. */
  get memoryBytes(): i32 {
    return (this.delta16.length << 1) + (this.delta32.length << 2);
  }
}

/** Builds the automaton of `patterns` (each read through `classes`). */
export function buildAutomaton(patterns: string[], classes: CodeUnitClasses): DenseAutomaton {
  const a = new DenseAutomaton();
  const k = classes.count;
  a.k = k;
  // Trie with child lists: first child, next sibling, and the class of the edge into a state.
  let total = 1;
  for (let p = 0; p < patterns.length; p++) total += patterns[p].length;
  const firstChild = new Int32Array(total).fill(-1);
  const sibling = new Int32Array(total).fill(-1);
  const edge = new Int32Array(total);
  const ends = new Int32Array(patterns.length);
  let states = 1;
  for (let p = 0; p < patterns.length; p++) {
    const s = patterns[p];
    let st = 0;
    for (let i = 0; i < s.length; i++) {
      const cls = classes.classOf(s.charCodeAt(i));
      let c = firstChild[st];
      while (c >= 0 && edge[c] != cls) c = sibling[c];
      if (c < 0) {
        c = states++;
        edge[c] = cls;
        sibling[c] = firstChild[st];
        firstChild[st] = c;
      }
      st = c;
    }
    ends[p] = st;
  }
  a.states = states;
  a.ends = ends;
  const narrow = states <= 0xffff;
  a.narrow = narrow;
  const d16 = narrow ? new Uint16Array(states * k) : new Uint16Array(0);
  const d32 = narrow ? new Int32Array(0) : new Int32Array(states * k);
  const fail = new Int32Array(states);
  const order = new Int32Array(states > 0 ? states - 1 : 0);
  // Breadth-first: a state's row is its failure state's row with its own children written over.
  let qh = 0, qt = 0;
  for (let c = firstChild[0]; c >= 0; c = sibling[c]) {
    if (narrow) d16[edge[c]] = <u16>c; else d32[edge[c]] = c;
    fail[c] = 0;
    order[qt++] = c;
  }
  while (qh < qt) {
    const st = order[qh++];
    const f = fail[st];
    const row = st * k, frow = f * k;
    if (narrow) { for (let c = 0; c < k; c++) d16[row + c] = d16[frow + c]; }
    else { for (let c = 0; c < k; c++) d32[row + c] = d32[frow + c]; }
    for (let ch = firstChild[st]; ch >= 0; ch = sibling[ch]) {
      const cls = edge[ch];
      fail[ch] = narrow ? <i32>d16[frow + cls] : d32[frow + cls];
      if (narrow) d16[row + cls] = <u16>ch; else d32[row + cls] = ch;
      order[qt++] = ch;
    }
  }
  a.delta16 = d16;
  a.delta32 = d32;
  a.fail = fail;
  a.order = order;
  return a;
}
