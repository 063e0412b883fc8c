// Regex program: the syntax tree compiled to a Thompson NFA (Pike's instruction form). Every
// instruction either consumes one code unit, or is an epsilon step (split, jump, save, assert).
// Both matchers (dfa.ts for yes/no, pike.ts for captures) simulate all threads at once, so the
// time is O(input length x program size) whatever the pattern.

import { CharClass } from "./charclass";
import { Node, NodeKind } from "./parser";

export const enum Op {
  Char, // a = code unit
  Class, // a = index into classes
  AnyChar,
  AnyNotNL,
  Split, // try a first, then b
  Jmp, // a
  Save, // a = capture slot (2*group, 2*group+1)
  Assert, // a = AssertKind
  Match,
  Char2, // a or b: a letter under (?i)
}

/** The largest program (instructions) a pattern may compile to. */
export const MAX_PROGRAM: i32 = 100000;

export class Program {
  op: Array<i32> = new Array<i32>();
  a: Array<i32> = new Array<i32>();
  b: Array<i32> = new Array<i32>();
  classes: Array<CharClass> = new Array<CharClass>();
  /** Class index by its ranges, so repeated classes are stored once (while compiling; then null: one object fewer to mark per program). */
  classIndex: Map<string, i32> | null = new Map<string, i32>();
  /** Capture groups, not counting group 0. */
  captures: i32 = 0;
  /** The first instruction of the unanchored program body. */
  start: i32 = 0;
  /** The pattern can only match at the start of the text (every branch begins with \A / ^). */
  anchoredStart: bool = false;

  get length(): i32 {
    return this.op.length;
  }

  emit(op: Op, a: i32 = 0, b: i32 = 0): i32 {
    this.op.push(<i32>op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }
}

/** Instructions a node compiles to (to refuse oversized patterns before emitting them). */
export function programSize(n: Node): i64 {
  switch (n.kind) {
    case NodeKind.Empty:
      return 0;
    case NodeKind.Concat: {
      let s: i64 = 0;
      for (let i = 0; i < n.subs.length; i++) s = min(s + programSize(n.subs[i]), <i64>(1 << 40));
      return s;
    }
    case NodeKind.Alt: {
      let s: i64 = 0;
      for (let i = 0; i < n.subs.length; i++) s = min(s + programSize(n.subs[i]) + 2, <i64>(1 << 40));
      return s;
    }
    case NodeKind.Capture:
      return programSize(n.subs[0]) + 2;
    case NodeKind.Repeat: {
      // min copies, then a loop (one more copy, a split and a jump) or max - min optional
      // copies (each with a split). Nested repetitions multiply, so cap the value early.
      const inner = programSize(n.subs[0]);
      const size = n.max < 0 ? inner * <i64>(n.min + 1) + 2 : inner * <i64>n.max + <i64>(n.max - n.min);
      return size > <i64>(1 << 40) ? <i64>(1 << 40) : size;
    }
    default:
      return 1;
  }
}

class Compiler {
  constructor(public prog: Program) {}

  node(n: Node): void {
    const p = this.prog;
    switch (n.kind) {
      case NodeKind.Empty:
        return;
      case NodeKind.Char:
        p.emit(Op.Char, n.c);
        return;
      case NodeKind.Class: {
        const cls = n.cls!;
        const r = cls.ranges;
        // Two single units (a letter and its other case under (?i)): no class object needed.
        if (r.length == 4 && r[0] == r[1] && r[2] == r[3]) {
          p.emit(Op.Char2, r[0], r[2]);
          return;
        }
        let key = "";
        for (let i = 0; i < r.length; i++) key += String.fromCharCode(r[i] & 0xffff) + String.fromCharCode(r[i] >>> 16);
        const index = p.classIndex!;
        if (!index.has(key)) {
          p.classes.push(cls);
          index.set(key, p.classes.length - 1);
        }
        p.emit(Op.Class, index.get(key));
        return;
      }
      case NodeKind.AnyChar:
        p.emit(Op.AnyChar);
        return;
      case NodeKind.AnyNotNL:
        p.emit(Op.AnyNotNL);
        return;
      case NodeKind.Assert:
        p.emit(Op.Assert, n.c);
        return;
      case NodeKind.Concat:
        for (let i = 0; i < n.subs.length; i++) this.node(n.subs[i]);
        return;
      case NodeKind.Capture:
        p.emit(Op.Save, 2 * n.cap);
        this.node(n.subs[0]);
        p.emit(Op.Save, 2 * n.cap + 1);
        return;
      case NodeKind.Alt: {
        // split L1, next; L1: e1; jmp end; next: split L2, next2; ... last: en; end:
        const jumps = new Array<i32>();
        for (let i = 0; i < n.subs.length; i++) {
          if (i < n.subs.length - 1) {
            const split = p.emit(Op.Split);
            p.a[split] = split + 1;
            this.node(n.subs[i]);
            jumps.push(p.emit(Op.Jmp));
            p.b[split] = p.length;
          } else {
            this.node(n.subs[i]);
          }
        }
        for (let i = 0; i < jumps.length; i++) p.a[jumps[i]] = p.length;
        return;
      }
      case NodeKind.Repeat:
        this.repeat(n.subs[0], n.min, n.max, n.greedy);
        return;
    }
  }

  /** A split preferring `first` when greedy, the other branch when lazy. */
  split(greedy: bool, body: i32, skip: i32): i32 {
    return greedy ? this.prog.emit(Op.Split, body, skip) : this.prog.emit(Op.Split, skip, body);
  }

  repeat(sub: Node, min: i32, max: i32, greedy: bool): void {
    const p = this.prog;
    for (let i = 0; i < min; i++) this.node(sub);
    if (max < 0) {
      // x*: L: split body, end; body; jmp L; end:
      // (for min >= 1 the loop is x* after the copies; RE2 builds x+ the same way)
      const l = p.emit(Op.Split);
      this.node(sub);
      p.emit(Op.Jmp, l);
      const end = p.length;
      if (greedy) {
        p.a[l] = l + 1;
        p.b[l] = end;
      } else {
        p.a[l] = end;
        p.b[l] = l + 1;
      }
      return;
    }
    // (x(x(x)?)?)? for the max - min optional copies.
    const splits = new Array<i32>();
    for (let i = min; i < max; i++) {
      const s = p.emit(Op.Split);
      splits.push(s);
      this.node(sub);
    }
    const end = p.length;
    for (let i = 0; i < splits.length; i++) {
      const s = splits[i];
      if (greedy) {
        p.a[s] = s + 1;
        p.b[s] = end;
      } else {
        p.a[s] = end;
        p.b[s] = s + 1;
      }
    }
  }
}

function startsAnchored(n: Node): bool {
  if (n.kind == NodeKind.Assert) return n.c == 0; // AssertKind.BeginText
  if (n.kind == NodeKind.Concat) return n.subs.length > 0 && startsAnchored(n.subs[0]);
  if (n.kind == NodeKind.Capture) return startsAnchored(n.subs[0]);
  if (n.kind == NodeKind.Alt) {
    for (let i = 0; i < n.subs.length; i++) if (!startsAnchored(n.subs[i])) return false;
    return true;
  }
  return false;
}

/** Compiles the tree (already size-checked) to a program: save 0; body; save 1; match. */
export function compileProgram(root: Node, captures: i32): Program {
  const prog = new Program();
  prog.captures = captures;
  prog.start = 0;
  prog.emit(Op.Save, 0);
  new Compiler(prog).node(root);
  prog.emit(Op.Save, 1);
  prog.emit(Op.Match);
  prog.anchoredStart = startsAnchored(root);
  prog.classIndex = null; // only needed while compiling
  // Exact-size copies: the growing arrays keep up to twice the room they use.
  prog.op = exactCopy(prog.op);
  prog.a = exactCopy(prog.a);
  prog.b = exactCopy(prog.b);
  return prog;
}

function exactCopy(src: Array<i32>): Array<i32> {
  const out = new Array<i32>(src.length);
  for (let i = 0; i < src.length; i++) unchecked((out[i] = src[i]));
  return out;
}
