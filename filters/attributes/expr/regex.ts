// A small regular-expression engine for `matches`: patterns compile once (at configure time) to
// a program that a Pike VM runs over the subject in time linear in its length (O(text × program)),
// with no backtracking, so no pattern and no request can make it slow. Search semantics as RE2
// (and CEL's `matches`): the pattern may match anywhere unless anchored with ^ / $.
//
// Supported: literals; `.` (any character but newline); classes `[a-z0-9_]`, `[^...]`; escapes
// `\d \D \w \W \s \S \n \r \t \xHH` and `\` before any punctuation; anchors `^` `$` (whole text);
// groups `( )` and `(?: )`; alternation `|`; repetition `* + ?` `{n}` `{n,}` `{n,m}` (a trailing
// `?` for lazy forms is accepted: it does not change whether something matches); a leading `(?i)`
// for ASCII case-insensitive matching. Not supported (an error at configure time): backreferences,
// lookaround, word boundaries, named classes `[[:alpha:]]`, other flags.
// Characters are UTF-16 code units.

const OP_CHAR: i32 = 0;
const OP_ANY: i32 = 1;      // any but '\n'
const OP_CLASS: i32 = 2;
const OP_SPLIT: i32 = 3;
const OP_JMP: i32 = 4;
const OP_BEGIN: i32 = 5;
const OP_END: i32 = 6;
const OP_MATCH: i32 = 7;

export const MAX_PATTERN_LENGTH = 1024;
export const MAX_PROGRAM = 4096;
const MAX_REPEAT = 100;
const MAX_GROUP_DEPTH = 32;

/** Sorted, inclusive code-unit ranges; `negated` flips membership. */
class CharClass {
  lo: Array<i32> = new Array<i32>();
  hi: Array<i32> = new Array<i32>();
  negated: bool = false;

  add(lo: i32, hi: i32): void { this.lo.push(lo); this.hi.push(hi); }

  has(c: i32): bool {
    let inside = false;
    for (let i = 0; i < this.lo.length; i++) {
      if (c >= unchecked(this.lo[i]) && c <= unchecked(this.hi[i])) { inside = true; break; }
    }
    return inside != this.negated;
  }
}

enum RKind { Empty, Char, Any, Class, Begin, End, Concat, Alt, Repeat }

class RNode {
  kind: RKind;
  c: i32 = 0;
  cls: CharClass | null = null;
  kids: Array<RNode> = new Array<RNode>();
  min: i32 = 0;
  max: i32 = -1; // -1: unbounded
  constructor(kind: RKind) { this.kind = kind; }
}

function foldAscii(c: i32): i32 { return c >= 0x41 && c <= 0x5a ? c + 0x20 : c; }

class RegexParser {
  pos: i32 = 0;
  error: string = "";
  depth: i32 = 0;
  constructor(public src: string, public ignoreCase: bool) {}

  fail(what: string): RNode | null {
    if (this.error.length == 0) this.error = what + " at pattern position " + this.pos.toString();
    return null;
  }

  more(): bool { return this.pos < this.src.length; }
  peek(): i32 { return this.src.charCodeAt(this.pos); }

  alternation(): RNode | null {
    const first = this.concat();
    if (first === null) return null;
    if (!this.more() || this.peek() != 0x7c) return first;
    const alt = new RNode(RKind.Alt);
    alt.kids.push(first);
    while (this.more() && this.peek() == 0x7c) {
      this.pos++;
      const next = this.concat();
      if (next === null) return null;
      alt.kids.push(next);
    }
    return alt;
  }

  concat(): RNode | null {
    const cat = new RNode(RKind.Concat);
    while (this.more()) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break;
      const atom = this.atom();
      if (atom === null) return null;
      const rep = this.repeat(atom);
      if (rep === null) return null;
      cat.kids.push(rep);
    }
    return cat;
  }

  repeat(atom: RNode): RNode | null {
    while (this.more()) {
      const c = this.peek();
      let min = 0;
      let max = -1;
      if (c == 0x2a) { this.pos++; }
      else if (c == 0x2b) { min = 1; this.pos++; }
      else if (c == 0x3f) { max = 1; this.pos++; }
      else if (c == 0x7b) {
        const save = this.pos;
        this.pos++;
        min = this.integer();
        if (min < 0) { this.pos = save; return this.fail("expected a number in '{n,m}'"); }
        max = min;
        if (this.more() && this.peek() == 0x2c) {
          this.pos++;
          max = this.more() && this.peek() == 0x7d ? -1 : this.integer();
          if (max == -2) return this.fail("expected a number or '}' in '{n,m}'");
        }
        if (!this.more() || this.peek() != 0x7d) return this.fail("expected '}'");
        this.pos++;
        if (min > MAX_REPEAT || max > MAX_REPEAT) return this.fail("repetition count above " + MAX_REPEAT.toString());
        if (max >= 0 && max < min) return this.fail("repetition '{n,m}' with m < n");
      } else break;
      if (atom.kind == RKind.Begin || atom.kind == RKind.End) return this.fail("nothing to repeat");
      if (atom.kind == RKind.Repeat) return this.fail("repeated repetition (write a group)");
      // A lazy marker does not change whether the text matches.
      if (this.more() && this.peek() == 0x3f) this.pos++;
      const r = new RNode(RKind.Repeat);
      r.kids.push(atom);
      r.min = min;
      r.max = max;
      atom = r;
    }
    return atom;
  }

  /** A decimal number (up to 4 digits); -1 when there is none, -2 when malformed. */
  integer(): i32 {
    let v = 0;
    let n = 0;
    while (this.more() && this.peek() >= 0x30 && this.peek() <= 0x39 && n < 5) { v = v * 10 + this.peek() - 0x30; this.pos++; n++; }
    if (n == 0) return -1;
    return v;
  }

  atom(): RNode | null {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x2e: return new RNode(RKind.Any);
      case 0x5e: return new RNode(RKind.Begin);
      case 0x24: return new RNode(RKind.End);
      case 0x28: {
        if (++this.depth > MAX_GROUP_DEPTH) return this.fail("groups nested deeper than " + MAX_GROUP_DEPTH.toString());
        if (this.more() && this.peek() == 0x3f) {
          if (this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) == 0x3a) this.pos += 2;
          else return this.fail("unsupported group syntax '(?' (only '(?:' and a leading '(?i)')");
        }
        const inner = this.alternation();
        if (inner === null) return null;
        if (!this.more() || this.peek() != 0x29) return this.fail("expected ')'");
        this.pos++;
        this.depth--;
        return inner;
      }
      case 0x29: this.pos--; return this.fail("unmatched ')'");
      case 0x5b: return this.charClass();
      case 0x5c: return this.escape(false);
      case 0x2a: case 0x2b: case 0x3f: this.pos--; return this.fail("nothing to repeat");
      case 0x7b: this.pos--; return this.fail("nothing to repeat");
    }
    return this.literal(c);
  }

  literal(c: i32): RNode {
    if (this.ignoreCase && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
      const cls = new CharClass();
      const lower = foldAscii(c);
      cls.add(lower, lower);
      cls.add(lower - 0x20, lower - 0x20);
      const n = new RNode(RKind.Class);
      n.cls = cls;
      return n;
    }
    const n = new RNode(RKind.Char);
    n.c = c;
    return n;
  }

  /** After a backslash: a class node for \d \w \s (and negations) or a literal. */
  escape(inClass: bool): RNode | null {
    if (!this.more()) return this.fail("pattern ends with '\\'");
    const e = this.peek();
    this.pos++;
    const cls = new CharClass();
    switch (e) {
      case 0x64: cls.add(0x30, 0x39); break; // \d
      case 0x44: cls.add(0x30, 0x39); cls.negated = true; break;
      case 0x77: addWord(cls); break; // \w
      case 0x57: addWord(cls); cls.negated = true; break;
      case 0x73: addSpace(cls); break; // \s
      case 0x53: addSpace(cls); cls.negated = true; break;
      case 0x6e: return this.literal(0x0a);
      case 0x72: return this.literal(0x0d);
      case 0x74: return this.literal(0x09);
      case 0x78: {
        let v = 0;
        for (let k = 0; k < 2; k++) {
          const h = this.more() ? hexDigit(this.peek()) : -1;
          if (h < 0) return this.fail("expected two hex digits after '\\x'");
          v = (v << 4) | h;
          this.pos++;
        }
        return this.literal(v);
      }
      default: {
        const isAlnum = (e >= 0x30 && e <= 0x39) || (e >= 0x41 && e <= 0x5a) || (e >= 0x61 && e <= 0x7a);
        if (isAlnum) {
          this.pos--;
          if (e >= 0x31 && e <= 0x39) return this.fail("backreferences are not supported");
          if (e == 0x62 || e == 0x42) return this.fail("word boundaries are not supported");
          return this.fail("unknown escape '\\" + String.fromCharCode(e) + "'");
        }
        return this.literal(e);
      }
    }
    const n = new RNode(RKind.Class);
    n.cls = cls;
    return n;
  }

  charClass(): RNode | null {
    const cls = new CharClass();
    if (this.more() && this.peek() == 0x5e) { cls.negated = true; this.pos++; }
    let first = true;
    while (true) {
      if (!this.more()) return this.fail("unterminated '['");
      let c = this.peek();
      if (c == 0x5d && !first) { this.pos++; break; }
      first = false;
      if (c == 0x5b && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) == 0x3a) return this.fail("named classes like [[:alpha:]] are not supported");
      this.pos++;
      let lo = c;
      if (c == 0x5c) {
        const before = this.pos;
        const e = this.escape(true);
        if (e === null) return null;
        if (e.kind == RKind.Class) {
          const inner = e.cls!;
          if (inner.negated) { this.pos = before; return this.fail("negated escapes (\\D \\W \\S) are not supported inside '[...]'"); }
          // A case-folded literal comes back as a class of its two cases.
          for (let i = 0; i < inner.lo.length; i++) cls.add(inner.lo[i], inner.hi[i]);
          continue;
        }
        lo = e.c;
      }
      let hi = lo;
      if (this.more() && this.peek() == 0x2d && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) != 0x5d) {
        this.pos++;
        c = this.peek();
        this.pos++;
        hi = c;
        if (c == 0x5c) {
          const e = this.escape(true);
          if (e === null) return null;
          if (e.kind != RKind.Char) return this.fail("a class escape cannot end a range");
          hi = e.c;
        }
        if (hi < lo) return this.fail("range out of order in '[...]'");
      }
      cls.add(lo, hi);
      if (this.ignoreCase) addFolded(cls, lo, hi);
    }
    const n = new RNode(RKind.Class);
    n.cls = cls;
    return n;
  }
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function addWord(cls: CharClass): void {
  cls.add(0x30, 0x39); cls.add(0x41, 0x5a); cls.add(0x5f, 0x5f); cls.add(0x61, 0x7a);
}

function addSpace(cls: CharClass): void {
  cls.add(0x09, 0x0d); cls.add(0x20, 0x20);
}

/** The other ASCII case of the letters in [lo, hi]. */
function addFolded(cls: CharClass, lo: i32, hi: i32): void {
  const ulo = max(lo, 0x41), uhi = min(hi, 0x5a);
  if (ulo <= uhi) cls.add(ulo + 0x20, uhi + 0x20);
  const llo = max(lo, 0x61), lhi = min(hi, 0x7a);
  if (llo <= lhi) cls.add(llo - 0x20, lhi - 0x20);
}

/** A compiled pattern. */
export class Regex {
  op: Array<i32> = new Array<i32>();
  x: Array<i32> = new Array<i32>();
  y: Array<i32> = new Array<i32>();
  classes: Array<CharClass> = new Array<CharClass>();
  tooBig: bool = false;

  emit(op: i32, x: i32 = 0, y: i32 = 0): i32 {
    if (this.op.length >= MAX_PROGRAM) { this.tooBig = true; return this.op.length - 1; }
    this.op.push(op); this.x.push(x); this.y.push(y);
    return this.op.length - 1;
  }

  compile(n: RNode): void {
    if (this.tooBig) return;
    switch (n.kind) {
      case RKind.Char: this.emit(OP_CHAR, n.c); break;
      case RKind.Any: this.emit(OP_ANY); break;
      case RKind.Class: this.classes.push(n.cls!); this.emit(OP_CLASS, this.classes.length - 1); break;
      case RKind.Begin: this.emit(OP_BEGIN); break;
      case RKind.End: this.emit(OP_END); break;
      case RKind.Concat: for (let i = 0; i < n.kids.length; i++) this.compile(n.kids[i]); break;
      case RKind.Alt: {
        // split L1, next; L1: a; jmp end; next: split L2, ... ; last alternative falls through.
        const jumps = new Array<i32>();
        for (let i = 0; i < n.kids.length - 1; i++) {
          const split = this.emit(OP_SPLIT);
          this.x[split] = this.op.length;
          this.compile(n.kids[i]);
          jumps.push(this.emit(OP_JMP));
          this.y[split] = this.op.length;
        }
        this.compile(n.kids[n.kids.length - 1]);
        for (let i = 0; i < jumps.length; i++) this.x[jumps[i]] = this.op.length;
        break;
      }
      case RKind.Repeat: {
        const kid = n.kids[0];
        for (let i = 0; i < n.min; i++) this.compile(kid);
        if (n.max < 0) {
          // L: split body, out; body; jmp L
          const split = this.emit(OP_SPLIT);
          this.x[split] = this.op.length;
          this.compile(kid);
          const j = this.emit(OP_JMP, split);
          this.y[split] = this.op.length;
          if (this.tooBig) return;
          this.x[j] = split;
        } else {
          // (max - min) optional copies, each skipping to the end.
          const splits = new Array<i32>();
          for (let i = n.min; i < n.max; i++) {
            const split = this.emit(OP_SPLIT);
            this.x[split] = this.op.length;
            splits.push(split);
            this.compile(kid);
            if (this.tooBig) return;
          }
          for (let i = 0; i < splits.length; i++) this.y[splits[i]] = this.op.length;
        }
        break;
      }
      default: break;
    }
  }

  /** True when the pattern matches somewhere in `text`. */
  // Work lists, made once per pattern and reused (a VM runs one request at a time).
  private listA: Int32Array = new Int32Array(0);
  private listB: Int32Array = new Int32Array(0);
  private onList: Int32Array = new Int32Array(0); // generation mark per pc
  private stack: Int32Array = new Int32Array(0);
  private generation: i32 = 0;
  /** The literal text every match starts with (the program's leading characters), or "". */
  prefix: string = "";

  test(text: string): bool {
    const n = this.op.length;
    if (this.listA.length != n) {
      this.listA = new Int32Array(n);
      this.listB = new Int32Array(n);
      this.onList = new Int32Array(n);
      this.stack = new Int32Array(2 * n + 2); // each visited pc pushes at most two
    }
    // Generations only grow; restart the marks before they could wrap.
    if (this.generation > 0x3fffffff - text.length - 2) { this.onList.fill(0); this.generation = 0; }
    let clist = this.listA;
    let nlist = this.listB;
    const onList = this.onList;
    const stack = this.stack;
    const len = text.length;
    const prefix = this.prefix;
    const skip = prefix.length > 0;
    let generation = ++this.generation;
    // With no live thread, a match can only start where the pattern's literal prefix occurs.
    let pos = skip ? text.indexOf(prefix, 0) : 0;
    if (pos < 0) return false;
    let ccount = this.addThread(clist, 0, onList, generation, stack, 0, pos, len);
    while (true) {
      const c = pos < len ? <i32>text.charCodeAt(pos) : -1;
      generation++;
      let ncount = 0;
      for (let t = 0; t < ccount; t++) {
        const pc = unchecked(clist[t]);
        const op = unchecked(this.op[pc]);
        if (op == OP_MATCH) { this.generation = generation; return true; }
        if (c < 0) continue;
        let ok = false;
        if (op == OP_CHAR) ok = c == unchecked(this.x[pc]);
        else if (op == OP_ANY) ok = c != 0x0a;
        else if (op == OP_CLASS) ok = unchecked(this.classes[unchecked(this.x[pc])]).has(c);
        if (ok) ncount = this.addThread(nlist, ncount, onList, generation, stack, pc + 1, pos + 1, len);
      }
      if (pos >= len) break;
      pos++;
      if (ncount == 0 && skip) {
        pos = text.indexOf(prefix, pos);
        if (pos < 0) break;
      }
      // Unanchored search: a new thread starts at every position.
      ncount = this.addThread(nlist, ncount, onList, generation, stack, 0, pos, len);
      const tmp = clist; clist = nlist; nlist = tmp;
      ccount = ncount;
    }
    this.generation = generation;
    return false;
  }

  /** Follows jumps, splits and anchors from `start` (iteratively), adding the threads they reach. */
  private addThread(list: Int32Array, count: i32, onList: Int32Array, generation: i32, stack: Int32Array,
                    start: i32, pos: i32, len: i32): i32 {
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      if (pc >= this.op.length) continue;
      if (unchecked(onList[pc]) == generation) continue;
      unchecked(onList[pc] = generation);
      const op = unchecked(this.op[pc]);
      if (op == OP_JMP) { stack[sp++] = unchecked(this.x[pc]); continue; }
      if (op == OP_SPLIT) {
        // Push y first so x is explored first (priority does not matter for a yes/no answer).
        stack[sp++] = unchecked(this.y[pc]);
        stack[sp++] = unchecked(this.x[pc]);
        continue;
      }
      if (op == OP_BEGIN) { if (pos == 0) stack[sp++] = pc + 1; continue; }
      if (op == OP_END) { if (pos == len) stack[sp++] = pc + 1; continue; }
      unchecked(list[count++] = pc);
    }
    return count;
  }
}

export class RegexResult {
  regex: Regex | null = null;
  error: string = "";
}

/** Compiles `pattern`; on failure `error` says what and where. */
export function compileRegex(pattern: string): RegexResult {
  const r = new RegexResult();
  if (pattern.length > MAX_PATTERN_LENGTH) { r.error = "pattern longer than " + MAX_PATTERN_LENGTH.toString() + " characters"; return r; }
  let src = pattern;
  let ignoreCase = false;
  if (src.startsWith("(?i)")) { ignoreCase = true; src = src.substring(4); }
  const p = new RegexParser(src, ignoreCase);
  const tree = p.alternation();
  if (tree !== null && p.more()) p.fail(p.peek() == 0x29 ? "unmatched ')'" : "unexpected character");
  if (tree === null || p.error.length > 0) { r.error = p.error; return r; }
  const re = new Regex();
  re.compile(tree);
  re.emit(OP_MATCH);
  // The leading literal characters (no split or class before them): a search can jump to them.
  let k = 0;
  while (k < re.op.length && re.op[k] == OP_CHAR && k < 64) k++;
  if (k > 0) {
    const units = new Array<string>(k);
    for (let i = 0; i < k; i++) units[i] = String.fromCharCode(re.x[i]);
    re.prefix = units.join("");
  }
  if (re.tooBig) { r.error = "pattern too large (program above " + MAX_PROGRAM.toString() + " instructions)"; return r; }
  r.regex = re;
  return r;
}
