// Lazy DFA for the yes/no question (Regex.test, which is what @rx asks first): each DFA state is
// the set of NFA threads alive at a position plus what the previous code unit was (start of text,
// newline, word character), which is all the assertions need. States and transitions are built on
// first use and cached, so matching costs one table lookup per code unit once warm; building a
// state is one pass over the program, so even a cold or flushed cache stays linear in the input.
//
// Code units are mapped to equivalence classes first (units no instruction or assertion can tell
// apart share a class), which keeps the transition tables small.
//
// The cache is bounded: when it would exceed its budget it is dropped and rebuilt from the
// current state (as RE2 does), so memory stays flat however hostile the input.

import { Program, Op } from "./program";
import { assertHolds } from "./assert";
import { isWordChar } from "./charclass";

const UNKNOWN: i32 = -1;
const MATCH: i32 = -2;
const NOMATCH: i32 = -3; // at the end of the text: no match; mid-text: no thread left (anchored)

const PREV_BEGIN: i32 = 1;
const PREV_NL: i32 = 2;
const PREV_WORD: i32 = 4;

/**
 * 32-bit words one regex's DFA cache may hold (transition rows, state sets, their keys) before it
 * is dropped: 64 KiB by default, so a ruleset of a few hundred patterns stays within a few MiB
 * even when hostile input pushes every cache to its limit.
 */
let cacheBudget: i32 = 16384;

/** Sets the per-regex DFA cache budget in bytes (default 64 KiB; at least 4 KiB). */
export function setDfaCacheBytes(bytes: i32): void {
  cacheBudget = max(bytes, 4096) >> 2;
}

// Scratch for building states, shared by every regex (matching is single-threaded; one step
// runs to completion before another starts), sized for the largest program.
let scratchMark = new Int32Array(0); // scratchMark[pc] == scratchGen: pc visited in this step
let scratchGen: i32 = 0;
let scratchTmark = new Int32Array(0); // scratchTmark[pc] == scratchTgen: pc already a target
let scratchTgen: i32 = 0;
// The closure stack holds the state's threads plus at most one entry per split: 2n + 2.
let scratchStack = new Int32Array(0);
let scratchTargets = new Int32Array(0);

function ensureScratch(n: i32): void {
  if (scratchMark.length >= n) return;
  scratchMark = new Int32Array(n);
  scratchTmark = new Int32Array(n);
  scratchStack = new Int32Array(2 * n + 2);
  scratchTargets = new Int32Array(n + 1);
  scratchGen = 0;
  scratchTgen = 0;
}

/** Bytes of the scratch shared by all regexes' DFAs. */
export function dfaScratchBytes(): i32 {
  return (scratchMark.length << 2) * 2 + (scratchStack.length << 2) + (scratchTargets.length << 2);
}

class DState {
  constructor(public pcs: Int32Array, public flags: i32) {}
}

export class LazyDFA {
  prog: Program;
  /** Class of each code unit below 256. */
  lowClass: Uint16Array = new Uint16Array(256);
  /** Class boundaries at or above 256 (a unit's class is 256's class + boundaries <= it). */
  highBounds: Int32Array = new Int32Array(0);
  highBase: i32 = 0;
  classCount: i32 = 0; // classes of code units; class classCount is the end of the text
  states: Array<DState> = new Array<DState>();
  /** Transitions, one row of `width` entries per state: next state, or UNKNOWN / MATCH / NOMATCH. */
  table: Int32Array = new Int32Array(0);
  width: i32 = 0;
  index: Map<string, i32> = new Map<string, i32>();
  cached: i32 = 0;
  initId: i32 = -1;
  /** How many times the cache was dropped (exposed for tests and metrics). */
  flushes: i32 = 0;
  /**
   * Prefilter: the code units that can begin a match (units >= 256: firstHigh). While the DFA is
   * idle (no thread in progress, only the start one) it skips units that cannot begin one with a
   * tight scan instead of a transition each. Off for patterns that can match empty or begin with
   * many different units.
   */
  firstSet: StaticArray<u32> = new StaticArray<u32>(8);
  firstHigh: bool = false;
  prefilter: bool = false;
  /** The idle state (threads = just the start) for each previous-unit flag combination, or -1. */
  idleIds: StaticArray<i32> = new StaticArray<i32>(8);

  constructor(prog: Program) {
    this.prog = prog;
    const n = prog.length;
    ensureScratch(n);
    // Boundaries: every point where some instruction's answer may change.
    const bounds = new Set<i32>();
    bounds.add(0x0a);
    bounds.add(0x0b);
    bounds.add(0x30);
    bounds.add(0x3a);
    bounds.add(0x41);
    bounds.add(0x5b);
    bounds.add(0x5f);
    bounds.add(0x60);
    bounds.add(0x61);
    bounds.add(0x7b);
    bounds.add(256);
    for (let pc = 0; pc < n; pc++) {
      const op = prog.op[pc];
      if (op == Op.Char) {
        bounds.add(prog.a[pc]);
        bounds.add(prog.a[pc] + 1);
      } else if (op == Op.Char2) {
        bounds.add(prog.a[pc]);
        bounds.add(prog.a[pc] + 1);
        bounds.add(prog.b[pc]);
        bounds.add(prog.b[pc] + 1);
      } else if (op == Op.Class) {
        const r = prog.classes[prog.a[pc]].ranges;
        for (let i = 0; i < r.length; i += 2) {
          bounds.add(r[i]);
          bounds.add(r[i + 1] + 1);
        }
      }
    }
    const sorted = bounds.values();
    sorted.sort((a: i32, b: i32): i32 => a - b);
    let cls = 0, bi = 0;
    for (let c = 0; c < 256; c++) {
      while (bi < sorted.length && sorted[bi] <= c) {
        if (sorted[bi] > 0) cls++;
        bi++;
      }
      this.lowClass[c] = <u16>cls;
    }
    // Units >= 256: 256's class, then one more per boundary above 256.
    this.highBase = cls;
    const high = new Array<i32>();
    for (let i = 0; i < sorted.length; i++) if (sorted[i] > 256 && sorted[i] <= 0xffff) high.push(sorted[i]);
    this.highBounds = new Int32Array(high.length);
    for (let i = 0; i < high.length; i++) this.highBounds[i] = high[i];
    this.classCount = cls + high.length + 1;
    this.width = this.classCount + 1;
    for (let f = 0; f < 8; f++) unchecked((this.idleIds[f] = -1));
    this.computeFirstSet();
  }

  /** The units a match can begin with (assertions taken as passable: a superset). */
  computeFirstSet(): void {
    const prog = this.prog;
    const n = prog.length;
    const seen = new Uint8Array(n);
    const stack = new Array<i32>();
    stack.push(prog.start);
    while (stack.length > 0) {
      const pc = stack.pop();
      if (seen[pc] != 0) continue;
      seen[pc] = 1;
      const op = prog.op[pc];
      if (op == Op.Jmp) stack.push(prog.a[pc]);
      else if (op == Op.Split) {
        stack.push(prog.a[pc]);
        stack.push(prog.b[pc]);
      } else if (op == Op.Save || op == Op.Assert) stack.push(pc + 1);
      else if (op == Op.Char) this.addFirst(prog.a[pc], prog.a[pc]);
      else if (op == Op.Char2) {
        this.addFirst(prog.a[pc], prog.a[pc]);
        this.addFirst(prog.b[pc], prog.b[pc]);
      } else if (op == Op.Class) {
        const r = prog.classes[prog.a[pc]].ranges;
        for (let i = 0; i < r.length; i += 2) this.addFirst(r[i], r[i + 1]);
      } else {
        return; // Match (the pattern can match empty) or any character: no prefilter
      }
    }
    let count = 0;
    for (let w = 0; w < 8; w++) count += <i32>popcnt(this.firstSet[w]);
    this.prefilter = count <= 24;
  }

  addFirst(lo: i32, hi: i32): void {
    if (hi >= 256) this.firstHigh = true;
    const top = min(hi, 255);
    for (let c = lo; c <= top; c++) this.firstSet[c >> 5] |= (<u32>1) << (<u32>(c & 31));
  }

  @inline
  isIdle(sid: i32): bool {
    const ids = this.idleIds;
    return sid == unchecked(ids[0]) || sid == unchecked(ids[PREV_NL]) || sid == unchecked(ids[PREV_WORD]) || sid == unchecked(ids[PREV_BEGIN | PREV_NL]);
  }

  /** The idle state for these previous-unit flags (created when new). */
  idleFor(flags: i32): i32 {
    const id = unchecked(this.idleIds[flags]);
    if (id >= 0) return id;
    const pcs = new Int32Array(1);
    pcs[0] = this.prog.start;
    return this.stateFor(pcs, 1, flags);
  }

  @inline
  classOf(c: i32): i32 {
    if (c < 256) return <i32>unchecked(this.lowClass[c]);
    // Binary search: how many high boundaries are <= c.
    let lo = 0, hi = this.highBounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (unchecked(this.highBounds[mid]) <= c) lo = mid + 1;
      else hi = mid;
    }
    return this.highBase + lo;
  }

  /** Bytes held now: tables, cached states and their keys, scratch. */
  get memoryBytes(): i32 {
    let bytes = (this.table.length << 2) + (this.cached << 2) + 512;
    return bytes;
  }

  flush(): void {
    this.initId = -1;
    for (let f = 0; f < 8; f++) unchecked((this.idleIds[f] = -1));
    this.states = new Array<DState>();
    this.table.fill(UNKNOWN);
    this.index = new Map<string, i32>();
    this.cached = 0;
    this.flushes++;
  }

  /** The state for a sorted set of pcs and flags (created when new). */
  stateFor(pcs: Int32Array, count: i32, flags: i32): i32 {
    const key = stateKey(pcs, count, flags);
    if (this.index.has(key)) return this.index.get(key);
    const width = this.width;
    // A state costs its transition row, its thread set and (about the same again) its key.
    const cost = width + 2 * count + 8;
    if (this.cached + cost > cacheBudget && this.states.length > 0) this.flush();
    const own = new Int32Array(count);
    for (let i = 0; i < count; i++) unchecked((own[i] = pcs[i]));
    const id = this.states.length;
    if ((id + 1) * width > this.table.length) {
      // Double the rows, but never beyond what the budget allows (rows of at least width words).
      const rows = min(max(4, 2 * (id + 1)), max(id + 1, cacheBudget / width + 1));
      const grown = new Int32Array(rows * width);
      grown.fill(UNKNOWN);
      memory.copy(grown.dataStart, this.table.dataStart, <usize>this.table.length << 2);
      this.table = grown;
    }
    this.states.push(new DState(own, flags));
    this.index.set(key, id);
    if (count == 1 && own[0] == this.prog.start) unchecked((this.idleIds[flags & 7] = id));
    this.cached += cost;
    return id;
  }

  /**
   * Follows state sid over code unit c (-1: the end of the text): MATCH when a match ends before
   * c, else the next state (NOMATCH at the end). Caches the answer in the state's table.
   */
  step(sid: i32, cls: i32, c: i32): i32 {
    const prog = this.prog;
    const st = unchecked(this.states[sid]);
    const prev = (st.flags & PREV_BEGIN) != 0 ? -1 : (st.flags & PREV_NL) != 0 ? 0x0a : (st.flags & PREV_WORD) != 0 ? 0x61 : 0x20;
    scratchGen++;
    scratchTgen++;
    if (scratchGen == 0x7fffffff) {
      scratchMark.fill(0);
      scratchGen = 1;
    }
    if (scratchTgen == 0x7fffffff) {
      scratchTmark.fill(0);
      scratchTgen = 1;
    }
    let sp = 0;
    for (let i = st.pcs.length - 1; i >= 0; i--) unchecked((scratchStack[sp++] = st.pcs[i]));
    let nt = 0;
    let result = UNKNOWN;
    while (sp > 0) {
      let pc = unchecked(scratchStack[--sp]);
      while (true) {
        if (unchecked(scratchMark[pc]) == scratchGen) break;
        unchecked((scratchMark[pc] = scratchGen));
        const op = unchecked(prog.op[pc]);
        if (op == Op.Jmp) {
          pc = unchecked(prog.a[pc]);
          continue;
        }
        if (op == Op.Split) {
          unchecked((scratchStack[sp++] = prog.b[pc]));
          pc = unchecked(prog.a[pc]);
          continue;
        }
        if (op == Op.Save) {
          pc++;
          continue;
        }
        if (op == Op.Assert) {
          if (!assertHolds(unchecked(prog.a[pc]), prev, c)) break;
          pc++;
          continue;
        }
        if (op == Op.Match) {
          result = MATCH;
          break;
        }
        let ok = false;
        if (c < 0) ok = false;
        else if (op == Op.Char) ok = c == unchecked(prog.a[pc]);
        else if (op == Op.Char2) ok = c == unchecked(prog.a[pc]) || c == unchecked(prog.b[pc]);
        else if (op == Op.Class) ok = unchecked(prog.classes[unchecked(prog.a[pc])]).has(c);
        else if (op == Op.AnyChar) ok = true;
        else if (op == Op.AnyNotNL) ok = c != 0x0a;
        if (ok) {
          const t = pc + 1;
          if (unchecked(scratchTmark[t]) != scratchTgen) {
            unchecked((scratchTmark[t] = scratchTgen));
            unchecked((scratchTargets[nt++] = t));
          }
        }
        break;
      }
      if (result == MATCH) break;
    }
    if (result != MATCH) {
      if (c < 0) {
        result = NOMATCH;
      } else {
        // An unanchored search starts a new thread at every position.
        if (!prog.anchoredStart && unchecked(scratchTmark[prog.start]) != scratchTgen) {
          unchecked((scratchTmark[prog.start] = scratchTgen));
          unchecked((scratchTargets[nt++] = prog.start));
        }
        if (nt == 0) {
          // No thread left (only when anchored at the start): nothing can match from here.
          unchecked((this.table[sid * this.width + cls] = NOMATCH));
          return NOMATCH;
        }
        sortPrefix(scratchTargets, nt);
        const flags = c == 0x0a ? PREV_NL : isWordChar(c) ? PREV_WORD : 0;
        const before = this.flushes;
        result = this.stateFor(scratchTargets, nt, flags);
        if (this.flushes != before) return result; // the source state is gone: do not cache
      }
    }
    unchecked((this.table[sid * this.width + cls] = result));
    return result;
  }

  /** Whether the program matches anywhere in input. */
  test(input: string): bool {
    let sid = this.initId;
    if (sid < 0) {
      const pcs = new Int32Array(1);
      pcs[0] = this.prog.start;
      sid = this.initId = this.stateFor(pcs, 1, PREV_BEGIN | PREV_NL);
    }
    const n = input.length;
    const width = this.width;
    const base = changetype<usize>(input);
    // Raw pointers into the tables: the hot loop is two loads per code unit, with no calls and
    // nothing for the garbage collector's shadow stack (the tables stay reachable from this).
    const lowPtr = this.lowClass.dataStart;
    let table = this.table.dataStart;
    let row = sid * width;
    const pre = this.prefilter;
    const first = changetype<usize>(this.firstSet);
    const firstHigh = this.firstHigh;
    let i = 0;
    while (i < n) {
      if (pre && this.isIdle(sid)) {
        // Skip the units that cannot begin a match.
        let j = i;
        while (j < n) {
          const u = <i32>load<u16>(base + (<usize>j << 1));
          if (u < 256 ? (load<u32>(first + (<usize>(u >> 5) << 2)) & ((<u32>1) << (<u32>(u & 31)))) != 0 : firstHigh) break;
          j++;
        }
        if (j > i) {
          // Nothing in progress and nothing can begin before the end: no match (the pattern
          // cannot match empty, or the prefilter would be off).
          if (j == n) return false;
          const last = <i32>load<u16>(base + (<usize>(j - 1) << 1));
          sid = this.idleFor(last == 0x0a ? PREV_NL : isWordChar(last) ? PREV_WORD : 0);
          table = this.table.dataStart;
          row = sid * width;
          i = j;
        }
      }
      const c = <i32>load<u16>(base + (<usize>i << 1));
      const cls = c < 256 ? <i32>load<u16>(lowPtr + (<usize>c << 1)) : this.classOf(c);
      let t = load<i32>(table + (<usize>(row + cls) << 2));
      if (t < 0) {
        if (t == UNKNOWN) {
          t = this.step(sid, cls, c);
          table = this.table.dataStart; // may have grown or been flushed
        }
        if (t == MATCH) return true;
        if (t == NOMATCH) return false;
      }
      sid = t;
      row = t * width;
      i++;
    }
    sid = row / width;
    let t = unchecked(this.table[row + this.classCount]);
    if (t == UNKNOWN) t = this.step(sid, this.classCount, -1);
    return t == MATCH;
  }
}

/** The cache key of a state: its flags and pcs, two code units per pc. */
function stateKey(pcs: Int32Array, count: i32, flags: i32): string {
  const len = 1 + 2 * count;
  const s = changetype<string>(__new(<usize>len << 1, idof<string>()));
  const base = changetype<usize>(s);
  store<u16>(base, <u16>flags);
  for (let i = 0; i < count; i++) {
    const pc = unchecked(pcs[i]);
    store<u16>(base + ((<usize>(1 + 2 * i)) << 1), <u16>(pc & 0xffff));
    store<u16>(base + ((<usize>(2 + 2 * i)) << 1), <u16>(pc >>> 16));
  }
  return s;
}

function sortPrefix(a: Int32Array, n: i32): void {
  if (n > 24) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = unchecked(a[i]);
    let j = i - 1;
    while (j >= 0 && unchecked(a[j]) > v) {
      unchecked((a[j + 1] = a[j]));
      j--;
    }
    unchecked((a[j + 1] = v));
  }
}
