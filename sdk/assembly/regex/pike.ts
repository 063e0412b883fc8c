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

// Thread lists and the closure stack, shared by every regex (matching is single-threaded and a
// run completes before another starts), sized for the largest program.
let sharedA = new ThreadList(0);
let sharedB = new ThreadList(0);
let sharedStackPc = new Int32Array(0);
let sharedStackCaps = new Array<StaticArray<i32>>(0);

function ensureShared(n: i32): void {
  if (sharedStackPc.length >= n + 1) return;
  sharedA = new ThreadList(n);
  sharedB = new ThreadList(n);
  sharedStackPc = new Int32Array(n + 1); // one entry per split at most, plus the first
  sharedStackCaps = new Array<StaticArray<i32>>(n + 1);
}

/** Bytes of the scratch shared by all regexes' capture runs. */
export function pikeScratchBytes(): i32 {
  return sharedStackPc.length * 36;
}

export class PikeVM {
  prog: Program;
  slots: i32;

  constructor(prog: Program) {
    this.prog = prog;
    ensureShared(prog.length);
    this.slots = 2 * (prog.captures + 1);
  }

  /** Bytes this VM holds of its own (the scratch is shared; capture arrays are freed after each run). */
  get memoryBytes(): i32 {
    return 32;
  }

  /** Adds pc (and everything reachable by epsilon steps) to list at position pos. */
  addThread(list: ThreadList, pc0: i32, caps0: StaticArray<i32>, pos: i32, prev: i32, next: i32): void {
    const prog = this.prog;
    let sp = 0;
    sharedStackPc[sp] = pc0;
    unchecked((sharedStackCaps[sp] = caps0));
    sp++;
    while (sp > 0) {
      sp--;
      let pc = sharedStackPc[sp];
      let caps = unchecked(sharedStackCaps[sp]);
      while (true) {
        if (unchecked(list.mark[pc]) == list.gen) break;
        unchecked((list.mark[pc] = list.gen));
        const op = unchecked(prog.op[pc]);
        if (op == Op.Jmp) {
          pc = unchecked(prog.a[pc]);
        } else if (op == Op.Split) {
          sharedStackPc[sp] = unchecked(prog.b[pc]);
          unchecked((sharedStackCaps[sp] = caps));
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
    ensureShared(prog.length);
    const n = input.length;
    let clist = sharedA, nlist = sharedB;
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
        } else if (op == Op.Char2) {
          ok = c == unchecked(prog.a[pc]) || c == unchecked(prog.b[pc]);
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
    for (let i = 0; i < sharedA.count; i++) unchecked((sharedA.caps[i] = empty));
    for (let i = 0; i < sharedB.count; i++) unchecked((sharedB.caps[i] = empty));
    return matched;
  }
}
