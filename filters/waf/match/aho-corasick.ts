// Aho-Corasick phrase matching for @pm / @pmFromFile: every phrase is looked for in one pass over
// the input, whatever the number of phrases. Built once (at configure time) into a dense
// automaton (automaton.ts): states x byte classes, with the failure links folded into the table,
// so matching is one table load per code unit.
//
// Case-insensitive matching (the default, as ModSecurity's @pm) folds ASCII letters only.
// Code units >= 128 are matched exactly (each one a class of its own when a phrase uses it).
import { CodeUnitClasses } from "./alphabet";
import { DenseAutomaton, buildAutomaton } from "./automaton";

export class PhraseMatcher {
  /** The phrases, as given (empty ones dropped). */
  readonly phrases: Array<string>;
  private readonly classes: CodeUnitClasses;
  private automaton: DenseAutomaton = new DenseAutomaton();
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
    const a = buildAutomaton(this.phrases, this.classes);
    this.automaton = a;
    // The shortest phrase ending in each state (duplicates resolve to the first given), then
    // breadth-first what its failure state ends, when shorter.
    const out = new Int32Array(a.states).fill(-1);
    for (let p = 0; p < this.phrases.length; p++) {
      const st = a.ends[p];
      if (out[st] < 0 || this.phrases[out[st]].length > this.phrases[p].length) out[st] = p;
    }
    for (let i = 0; i < a.order.length; i++) {
      const st = a.order[i];
      const inherited = out[a.fail[st]];
      if (inherited >= 0 && (out[st] < 0 || this.phrases[inherited].length < this.phrases[out[st]].length)) out[st] = inherited;
    }
    this.output = out;
  }

  /** Index (into phrases) of the first phrase to end in input, or -1. */
  findFirstIndex(input: string): i32 {
    if (this.phrases.length == 0) return -1;
    const classes = this.classes;
    const k = classes.count;
    // Raw pointers: the loop is a few loads per code unit with no calls (the arrays stay
    // reachable from this).
    const narrow = this.automaton.narrow;
    const delta = this.automaton.table, output = this.output.dataStart, ascii = classes.ascii.dataStart;
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
      st = narrow ? <i32>load<u16>(delta + (<usize>(st * k + cls) << 1)) : load<i32>(delta + (<usize>(st * k + cls) << 2));
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
