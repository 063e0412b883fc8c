// Pike VM: runs every NFA thread in lock step over the input, one step per code unit, keeping
// the capture positions of each thread. Threads are kept in priority order and at most one
// thread per instruction survives a step, so the result is the leftmost-first match (as Perl,
// PCRE, RE2 and JS report it) in O(input x program) time with no backtracking.

import { Program, Op } from "./program";
import { assertHolds } from "./assert";

class ThreadList {
  pcs: Int32Array;
  caps: Array<StaticArray<i32>>;
  mark: Int32Array; // mark[pc] == gen: pc already visited in this step
  gen: i32 = 0;
  count: i32 = 0;

  constructor(size: i32) {
    this.pcs = new Int32Array(size);
    this.caps = new Array<StaticArray<i32>>(size);
    this.mark = new Int32Array(size);
  }

  clear(): void {
    this.count = 0;
    this.gen++;
    if (this.gen == 0x7fffffff) {
      this.mark.fill(0);
      this.gen = 1;
    }
  }
}

export class PikeVM {
  prog: Program;
  clist: ThreadList;
  nlist: ThreadList;
  slots: i32;
  // Explicit stack for the epsilon closure (deep alternations would overflow a recursive one).
  stackPc: Int32Array;
  stackCaps: Array<StaticArray<i32>>;

  constructor(prog: Program) {
    this.prog = prog;
    const n = prog.length;
    this.clist = new ThreadList(n);
    this.nlist = new ThreadList(n);
    this.slots = 2 * (prog.captures + 1);
    this.stackPc = new Int32Array(n + 1);
    this.stackCaps = new Array<StaticArray<i32>>(n + 1);
  }

  /** Bytes of scratch held (thread lists and stack; capture arrays are freed after each run). */
  get memoryBytes(): i32 {
    return this.prog.length * 40;
  }

  /** Adds pc (and everything reachable by epsilon steps) to list at position pos. */
  addThread(list: ThreadList, pc0: i32, caps0: StaticArray<i32>, pos: i32, prev: i32, next: i32): void {
    const prog = this.prog;
    let sp = 0;
    this.stackPc[sp] = pc0;
    unchecked((this.stackCaps[sp] = caps0));
    sp++;
    while (sp > 0) {
      sp--;
      let pc = this.stackPc[sp];
      let caps = unchecked(this.stackCaps[sp]);
      while (true) {
        if (unchecked(list.mark[pc]) == list.gen) break;
        unchecked((list.mark[pc] = list.gen));
        const op = unchecked(prog.op[pc]);
        if (op == Op.Jmp) {
          pc = unchecked(prog.a[pc]);
        } else if (op == Op.Split) {
          this.stackPc[sp] = unchecked(prog.b[pc]);
          unchecked((this.stackCaps[sp] = caps));
          sp++;
          pc = unchecked(prog.a[pc]);
        } else if (op == Op.Save) {
          const slot = unchecked(prog.a[pc]);
          const copy = new StaticArray<i32>(this.slots);
          memory.copy(changetype<usize>(copy), changetype<usize>(caps), <usize>this.slots << 2);
          unchecked((copy[slot] = pos));
          caps = copy;
          pc++;
        } else if (op == Op.Assert) {
          if (!assertHolds(unchecked(prog.a[pc]), prev, next)) break;
          pc++;
        } else {
          unchecked((list.pcs[list.count] = pc));
          unchecked((list.caps[list.count] = caps));
          list.count++;
          break;
        }
      }
    }
  }

  /** Capture positions [start0, end0, start1, end1, ...] of the leftmost-first match, -1 unset; null when none. */
  run(input: string): StaticArray<i32> | null {
    const prog = this.prog;
    const n = input.length;
    let clist = this.clist, nlist = this.nlist;
    clist.clear();
    let matched: StaticArray<i32> | null = null;
    const empty = new StaticArray<i32>(this.slots);
    for (let i = 0; i < this.slots; i++) unchecked((empty[i] = -1));
    let prev = -1;
    for (let pos = 0; pos <= n; pos++) {
      const c = pos < n ? input.charCodeAt(pos) : -1;
      // A thread starting here has the lowest priority: every earlier start is to its left.
      if (matched === null && (pos == 0 || !prog.anchoredStart)) this.addThread(clist, prog.start, empty, pos, prev, c);
      if (clist.count == 0) {
        if (matched !== null || prog.anchoredStart) break;
        clist.clear(); // the start thread died on an assertion here: try the next position
        prev = c;
        continue;
      }
      nlist.clear();
      const next = pos + 1 < n ? input.charCodeAt(pos + 1) : -1;
      for (let t = 0; t < clist.count; t++) {
        const pc = unchecked(clist.pcs[t]);
        const op = unchecked(prog.op[pc]);
        let ok = false;
        if (op == Op.Match) {
          matched = unchecked(clist.caps[t]);
          break; // lower-priority threads are cut off
        } else if (c < 0) {
          ok = false;
        } else if (op == Op.Char) {
          ok = c == unchecked(prog.a[pc]);
        } else if (op == Op.Class) {
          ok = unchecked(prog.classes[unchecked(prog.a[pc])]).has(c);
        } else if (op == Op.AnyChar) {
          ok = true;
        } else if (op == Op.AnyNotNL) {
          ok = c != 0x0a;
        }
        if (ok) this.addThread(nlist, pc + 1, unchecked(clist.caps[t]), pos + 1, c, next);
      }
      const tmp = clist;
      clist = nlist;
      nlist = tmp;
      prev = c;
    }
    // Drop references so captured arrays can be collected.
    for (let i = 0; i < this.clist.count; i++) unchecked((this.clist.caps[i] = empty));
    for (let i = 0; i < this.nlist.count; i++) unchecked((this.nlist.caps[i] = empty));
    return matched;
  }
}
