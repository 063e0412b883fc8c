// Aho-Corasick phrase matching for @pm / @pmFromFile: every phrase is looked for in one pass over
// the input, whatever the number of phrases. Built once (at configure time) into a dense
// automaton: states x byte classes, with the failure links folded into the table, so matching is
// one table load per code unit.
//
// Case-insensitive matching (the default, as ModSecurity's @pm) folds ASCII letters only.
// Code units >= 128 are matched exactly (each one a class of its own when a phrase uses it).
import { CodeUnitClasses } from "./alphabet";

export class PhraseMatcher {
  /** The phrases, as given (empty ones dropped). */
  readonly phrases: Array<string>;
  private readonly classes: CodeUnitClasses;
  /** delta[state * classes.count + class] -> next state. */
  private delta: Int32Array = new Int32Array(0);
  /** The shortest phrase ending in each state (index into phrases, -1 none), following suffix links. */
  private output: Int32Array = new Int32Array(0);

  constructor(phrases: string[], caseInsensitive: bool = true) {
    const kept = new Array<string>();
    for (let i = 0; i < phrases.length; i++) if (phrases[i].length > 0) kept.push(phrases[i]);
    this.phrases = kept;
    this.classes = new CodeUnitClasses(kept, caseInsensitive);
    this.build();
  }

  private build(): void {
    const classes = this.classes;
    const k = classes.count;
    // Trie, as a growable table (-1: no edge yet).
    let cap = 64;
    let goto = new Int32Array(cap * k).fill(-1);
    let out = new Int32Array(cap).fill(-1);
    let states = 1;
    for (let p = 0; p < this.phrases.length; p++) {
      const s = this.phrases[p];
      let st = 0;
      for (let i = 0; i < s.length; i++) {
        const cls = classes.classOf(s.charCodeAt(i));
        let next = goto[st * k + cls];
        if (next < 0) {
          if (states == cap) {
            const g2 = new Int32Array(cap * 2 * k).fill(-1);
            g2.set(goto);
            const o2 = new Int32Array(cap * 2).fill(-1);
            o2.set(out);
            goto = g2;
            out = o2;
            cap *= 2;
          }
          next = states++;
          goto[st * k + cls] = next;
        }
        st = next;
      }
      // Keep the shortest phrase for a state (duplicates resolve to the first given).
      if (out[st] < 0 || this.phrases[out[st]].length > s.length) out[st] = p;
    }
    // Breadth-first: failure links, folded into a complete transition table.
    const delta = new Int32Array(states * k);
    const fail = new Int32Array(states);
    const queue = new Int32Array(states);
    let qh = 0, qt = 0;
    for (let c = 0; c < k; c++) {
      const next = goto[c];
      if (next > 0) {
        delta[c] = next;
        fail[next] = 0;
        queue[qt++] = next;
      } else {
        delta[c] = 0;
      }
    }
    while (qh < qt) {
      const st = queue[qh++];
      // A state also ends every phrase its failure state ends; keep the shortest.
      const inherited = out[fail[st]];
      if (inherited >= 0 && (out[st] < 0 || this.phrases[inherited].length < this.phrases[out[st]].length)) out[st] = inherited;
      for (let c = 0; c < k; c++) {
        const next = goto[st * k + c];
        if (next >= 0) {
          fail[next] = delta[fail[st] * k + c];
          delta[st * k + c] = next;
          queue[qt++] = next;
        } else {
          delta[st * k + c] = delta[fail[st] * k + c];
        }
      }
    }
    this.delta = delta;
    this.output = out.subarray(0, states);
  }

  /** Index (into phrases) of the first phrase to end in input, or -1. */
  findFirstIndex(input: string): i32 {
    if (this.phrases.length == 0) return -1;
    const classes = this.classes;
    const k = classes.count;
    // Raw pointers: the loop is a few loads per code unit with no calls (the arrays stay
    // reachable from this).
    const delta = this.delta.dataStart, output = this.output.dataStart, ascii = classes.ascii.dataStart;
    const ci = classes.caseInsensitive;
    const base = changetype<usize>(input);
    let st = 0;
    for (let i = 0, n = input.length; i < n; i++) {
      let c = <i32>load<u16>(base + (<usize>i << 1));
      let cls: i32;
      if (c < 128) {
        if (ci && c >= 0x41 && c <= 0x5a) c += 32;
        cls = <i32>load<u8>(ascii + <usize>c);
      } else {
        cls = classes.classOf(c);
      }
      st = load<i32>(delta + (<usize>(st * k + cls) << 2));
      const o = load<i32>(output + (<usize>st << 2));
      if (o >= 0) return o;
    }
    return -1;
  }

  /** The phrase that ends first in input (the shortest of those ending there), or null. */
  findFirst(input: string): string | null {
    const i = this.findFirstIndex(input);
    return i < 0 ? null : this.phrases[i];
  }

  /** Whether any phrase occurs in input. */
  matches(input: string): bool {
    return this.findFirstIndex(input) >= 0;
  }
}
