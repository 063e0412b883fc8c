// Regex parser: pattern text -> syntax tree, RE2 syntax (the subset the OWASP CRS and ModSecurity
// rules use). Constructs that need backtracking (backreferences, lookaround, atomic groups,
// possessive quantifiers, recursion, conditionals) are rejected with the position of the offending
// text, so a rule set never silently runs with different semantics.
//
// The pattern and the input are sequences of UTF-16 code units (AssemblyScript strings); see
// docs/waf-matching.md for what that means for non-ASCII text.

import { CharClass, digitClass, wordClass, spaceClass, posixClass, otherCase } from "./charclass";

export const enum NodeKind {
  Empty,
  Char, // one code unit (c)
  Class, // cls
  AnyChar, // . with (?s)
  AnyNotNL, // .
  Concat, // subs
  Alt, // subs
  Repeat, // subs[0], min, max (-1 = unbounded), greedy
  Capture, // subs[0], cap
  Assert, // c = AssertKind
}

export const enum AssertKind {
  BeginText, // \A, ^ without (?m)
  EndText, // \z, $ without (?m)
  BeginLine, // ^ with (?m)
  EndLine, // $ with (?m)
  WordBoundary, // \b
  NotWordBoundary, // \B
}

export class Node {
  kind: NodeKind;
  c: i32 = 0;
  cls: CharClass | null = null;
  subs: Array<Node> = new Array<Node>();
  min: i32 = 0;
  max: i32 = 0;
  greedy: bool = true;
  cap: i32 = 0;
  constructor(kind: NodeKind) {
    this.kind = kind;
  }
}

/** The largest count allowed in {n}, {n,} and {n,m}. */
export const MAX_REPEAT: i32 = 1000;
/** The deepest nesting of groups allowed (keeps the recursive compiler's stack bounded). */
export const MAX_NESTING: i32 = 100;

const FLAG_I: i32 = 1;
const FLAG_M: i32 = 2;
const FLAG_S: i32 = 4;
const FLAG_U: i32 = 8; // (?U): swap greedy and lazy

export class ParseResult {
  root: Node | null = null;
  captures: i32 = 0;
  error: string = "";
  position: i32 = -1;
}

class Parser {
  pos: i32 = 0;
  flags: i32;
  captures: i32 = 0;
  depth: i32 = 0;
  error: string = "";
  errorPos: i32 = -1;

  constructor(public src: string, caseInsensitive: bool) {
    this.flags = caseInsensitive ? FLAG_I : 0;
  }

  fail(message: string, at: i32): Node | null {
    if (this.error.length == 0) {
      this.error = message;
      this.errorPos = at;
    }
    return null;
  }

  get failed(): bool {
    return this.error.length > 0;
  }

  @inline
  peek(): i32 {
    return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : -1;
  }

  @inline
  peekAt(off: i32): i32 {
    const p = this.pos + off;
    return p < this.src.length ? this.src.charCodeAt(p) : -1;
  }

  /** alternation := concat ('|' concat)* */
  parseAlt(): Node | null {
    const first = this.parseConcat();
    if (first === null) return null;
    if (this.peek() != 0x7c /* | */) return first;
    const alt = new Node(NodeKind.Alt);
    alt.subs.push(first);
    while (this.peek() == 0x7c) {
      this.pos++;
      const next = this.parseConcat();
      if (next === null) return null;
      alt.subs.push(next);
    }
    return alt;
  }

  /** concat := repeat*, up to '|' or ')' or the end. Inline flags (?i) apply to the rest of the group. */
  parseConcat(): Node | null {
    const cat = new Node(NodeKind.Concat);
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29 /* ) */) break;
      let atom = this.parseAtom();
      if (atom === null) {
        if (this.failed) return null;
        continue; // a flag group such as (?i) produces no node
      }
      if (atom.kind == NodeKind.Concat && atom.cap < 0) {
        // \Q...\E: a following quantifier applies to the last literal only.
        if (atom.subs.length == 0) continue;
        for (let i = 0; i < atom.subs.length - 1; i++) cat.subs.push(atom.subs[i]);
        atom = atom.subs[atom.subs.length - 1];
      }
      const rep = this.parseRepeat(atom);
      if (rep === null) return null;
      cat.subs.push(rep);
    }
    if (cat.subs.length == 0) return new Node(NodeKind.Empty);
    if (cat.subs.length == 1) return cat.subs[0];
    return cat;
  }

  parseRepeat(atom: Node): Node | null {
    let node = atom;
    let count = 0;
    while (this.pos < this.src.length) {
      const start = this.pos;
      const c = this.peek();
      let min = 0, max = 0;
      if (c == 0x2a /* * */) {
        min = 0;
        max = -1;
        this.pos++;
      } else if (c == 0x2b /* + */) {
        min = 1;
        max = -1;
        this.pos++;
      } else if (c == 0x3f /* ? */) {
        min = 0;
        max = 1;
        this.pos++;
      } else if (c == 0x7b /* { */) {
        const r = this.parseCounts();
        if (this.failed) return null;
        if (r === null) break; // a literal '{'
        min = r[0];
        max = r[1];
      } else {
        break;
      }
      if (count > 0) return this.fail("repetition of a repetition (" + this.src.substring(start, this.pos) + "); possessive and stacked quantifiers are not supported", start);
      if (atom.kind == NodeKind.Empty || atom.kind == NodeKind.Assert) {
        if (atom.kind == NodeKind.Empty) return this.fail("missing argument to repetition operator", start);
      }
      let greedy = true;
      if (this.peek() == 0x3f) {
        greedy = false;
        this.pos++;
      }
      if ((this.flags & FLAG_U) != 0) greedy = !greedy;
      const rep = new Node(NodeKind.Repeat);
      rep.subs.push(node);
      rep.min = min;
      rep.max = max;
      rep.greedy = greedy;
      node = rep;
      count++;
    }
    return node;
  }

  /**
   * {n}, {n,}, {n,m} at pos: [min, max] (max -1 = unbounded) and pos moved past it; null (pos
   * unchanged, no error) when the text is not a repetition, so '{' is a literal as in RE2.
   */
  parseCounts(): Array<i32> | null {
    const start = this.pos;
    let p = this.pos + 1;
    const s = this.src;
    let min = 0, digits = 0;
    while (p < s.length && s.charCodeAt(p) >= 0x30 && s.charCodeAt(p) <= 0x39) {
      if (min <= 100000) min = min * 10 + (s.charCodeAt(p) - 0x30);
      p++;
      digits++;
    }
    if (digits == 0) return null;
    let max = min;
    if (p < s.length && s.charCodeAt(p) == 0x2c /* , */) {
      p++;
      let md = 0;
      max = 0;
      while (p < s.length && s.charCodeAt(p) >= 0x30 && s.charCodeAt(p) <= 0x39) {
        if (max <= 100000) max = max * 10 + (s.charCodeAt(p) - 0x30);
        p++;
        md++;
      }
      if (md == 0) max = -1;
    }
    if (p >= s.length || s.charCodeAt(p) != 0x7d /* } */) return null;
    p++;
    const text = s.substring(start, p);
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      this.fail("repetition count too large in " + text + " (the limit is " + MAX_REPEAT.toString() + ")", start);
      return null;
    }
    if (max >= 0 && max < min) {
      this.fail("invalid repetition " + text + ": the maximum is below the minimum", start);
      return null;
    }
    this.pos = p;
    const out = new Array<i32>(2);
    out[0] = min;
    out[1] = max;
    return out;
  }

  charNode(c: i32): Node {
    if ((this.flags & FLAG_I) != 0) {
      const o = otherCase(c);
      if (o != c) {
        const cls = new CharClass();
        cls.addChar(c);
        cls.addChar(o);
        return this.classNode(cls, false);
      }
    }
    const n = new Node(NodeKind.Char);
    n.c = c;
    return n;
  }

  classNode(cls: CharClass, negated: bool): Node {
    if ((this.flags & FLAG_I) != 0) cls.addCaseFolds();
    if (negated) cls.negate();
    cls.freeze();
    const single = cls.single();
    if (single >= 0) {
      const n = new Node(NodeKind.Char);
      n.c = single;
      return n;
    }
    const n = new Node(NodeKind.Class);
    n.cls = cls;
    return n;
  }

  assertNode(kind: AssertKind): Node {
    const n = new Node(NodeKind.Assert);
    n.c = <i32>kind;
    return n;
  }

  /** One atom; null with no error for a bare flag group. */
  parseAtom(): Node | null {
    const start = this.pos;
    const c = this.peek();
    if (c == 0x28 /* ( */) return this.parseGroup();
    if (c == 0x5b /* [ */) return this.parseClass();
    if (c == 0x2e /* . */) {
      this.pos++;
      return new Node((this.flags & FLAG_S) != 0 ? NodeKind.AnyChar : NodeKind.AnyNotNL);
    }
    if (c == 0x5e /* ^ */) {
      this.pos++;
      return this.assertNode((this.flags & FLAG_M) != 0 ? AssertKind.BeginLine : AssertKind.BeginText);
    }
    if (c == 0x24 /* $ */) {
      this.pos++;
      return this.assertNode((this.flags & FLAG_M) != 0 ? AssertKind.EndLine : AssertKind.EndText);
    }
    if (c == 0x2a || c == 0x2b || c == 0x3f) return this.fail("missing argument to repetition operator " + String.fromCharCode(c), start);
    if (c == 0x7b) {
      const r = this.parseCounts();
      if (this.failed) return null;
      if (r !== null) return this.fail("missing argument to repetition operator " + this.src.substring(start, this.pos), start);
      this.pos++;
      return this.charNode(c);
    }
    if (c == 0x5c /* \ */) return this.parseEscape(false, null);
    this.pos++;
    return this.charNode(c);
  }

  parseGroup(): Node | null {
    const start = this.pos;
    this.pos++; // (
    let capture = true;
    const savedFlags = this.flags;
    if (this.peek() == 0x3f /* ? */) {
      const k = this.peekAt(1);
      if (k == 0x3d /* = */ || k == 0x21 /* ! */) return this.fail("lookahead (?" + String.fromCharCode(k) + " is not supported (RE2 semantics: no lookaround)", start);
      if (k == 0x3c /* < */ && (this.peekAt(2) == 0x3d || this.peekAt(2) == 0x21)) return this.fail("lookbehind (?<" + String.fromCharCode(this.peekAt(2)) + " is not supported (RE2 semantics: no lookaround)", start);
      if (k == 0x3e /* > */) return this.fail("atomic group (?> is not supported (RE2 semantics)", start);
      if (k == 0x23 /* # */) return this.fail("comment group (?# is not supported (RE2 semantics)", start);
      if (k == 0x28 /* ( */) return this.fail("conditional group (?( is not supported (RE2 semantics)", start);
      if (k == 0x52 /* R */ || (k >= 0x30 && k <= 0x39) || k == 0x26 /* & */) return this.fail("recursion (?" + String.fromCharCode(k) + " is not supported (RE2 semantics)", start);
      if (k == 0x50 /* P */ || k == 0x3c /* < */ || k == 0x27 /* ' */) {
        // Named capture: (?P<name>...), (?<name>...) or (?'name'...). (?P=name) is a backreference.
        let p = this.pos + (k == 0x50 ? 2 : 1);
        if (k == 0x50 && (p >= this.src.length || this.src.charCodeAt(p) != 0x3c)) {
          if (p < this.src.length && (this.src.charCodeAt(p) == 0x3d || this.src.charCodeAt(p) == 0x3e)) return this.fail("named backreference or recursion (?P" + String.fromCharCode(this.src.charCodeAt(p)) + " is not supported (RE2 semantics: no backreferences)", start);
          return this.fail("invalid named group", start);
        }
        const close = k == 0x27 ? 0x27 : 0x3e;
        p++;
        const nameStart = p;
        while (p < this.src.length && this.src.charCodeAt(p) != close) {
          const ch = this.src.charCodeAt(p);
          if (!((ch >= 0x30 && ch <= 0x39) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || ch == 0x5f)) return this.fail("invalid character in group name", p);
          p++;
        }
        if (p >= this.src.length || p == nameStart) return this.fail("invalid named group", start);
        this.pos = p + 1;
      } else {
        // Flags: (?flags) or (?flags:...), flags from imsU with an optional '-'.
        let p = this.pos + 1;
        let on = true;
        let sawFlag = false;
        let newFlags = this.flags;
        while (true) {
          if (p >= this.src.length) return this.fail("missing closing ) for (?", start);
          const ch = this.src.charCodeAt(p);
          let bit = 0;
          if (ch == 0x69) bit = FLAG_I;
          else if (ch == 0x6d) bit = FLAG_M;
          else if (ch == 0x73) bit = FLAG_S;
          else if (ch == 0x55) bit = FLAG_U;
          if (bit != 0) {
            if (on) newFlags |= bit;
            else newFlags &= ~bit;
            sawFlag = true;
            p++;
            continue;
          }
          if (ch == 0x2d /* - */ && on) {
            on = false;
            sawFlag = false;
            p++;
            continue;
          }
          if (ch == 0x29 /* ) */) {
            if (!sawFlag && !(on && p == this.pos + 1)) return this.fail("invalid flag group", start);
            if (p == this.pos + 1) return this.fail("empty flag group (?)", start);
            // (?i): the flags apply until the end of the enclosing group.
            this.flags = newFlags;
            this.pos = p + 1;
            return null;
          }
          if (ch == 0x3a /* : */) {
            if (!on && !sawFlag) return this.fail("invalid flag group", start);
            this.flags = newFlags;
            this.pos = p + 1;
            capture = false;
            break;
          }
          return this.fail("unsupported group or flag (?" + String.fromCharCode(ch) + " (RE2 supports the flags i, m, s, U)", start);
        }
      }
    }
    if (this.depth >= MAX_NESTING) return this.fail("groups nested too deeply (the limit is " + MAX_NESTING.toString() + ")", start);
    let cap = 0;
    if (capture) cap = ++this.captures;
    this.depth++;
    const inner = this.parseAlt();
    this.depth--;
    this.flags = savedFlags;
    if (inner === null) return null;
    if (this.peek() != 0x29) return this.fail("missing closing )", start);
    this.pos++;
    if (!capture) return inner.kind == NodeKind.Empty ? new Node(NodeKind.Concat) : inner;
    const n = new Node(NodeKind.Capture);
    n.cap = cap;
    n.subs.push(inner);
    return n;
  }

  hexDigits(p: i32, count: i32): i32 {
    let v = 0;
    for (let i = 0; i < count; i++) {
      if (p + i >= this.src.length) return -1;
      const h = hexValue(this.src.charCodeAt(p + i));
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  /**
   * An escape at pos (the backslash). Outside a class: a node. Inside a class (inClass), the
   * code unit or class is added to `into` and the return is a Char node for a single code unit
   * (so the caller can form a range) or an Empty node for a class escape.
   */
  parseEscape(inClass: bool, into: CharClass | null): Node | null {
    const start = this.pos;
    this.pos++;
    if (this.pos >= this.src.length) return this.fail("trailing backslash at the end of the pattern", start);
    const c = this.src.charCodeAt(this.pos);
    this.pos++;
    // Class escapes.
    let cls: CharClass | null = null;
    let neg = false;
    if (c == 0x64 || c == 0x44) {
      cls = digitClass();
      neg = c == 0x44;
    } else if (c == 0x77 || c == 0x57) {
      cls = wordClass();
      neg = c == 0x57;
    } else if (c == 0x73 || c == 0x53) {
      cls = spaceClass();
      neg = c == 0x53;
    }
    if (cls !== null) {
      if (neg) cls.negate();
      if (inClass) {
        into!.addClass(cls);
        return new Node(NodeKind.Empty);
      }
      // \D etc. are not case-folded further: fold before negating is what RE2 does; for these
      // ASCII classes folding changes nothing except \W/\S/\D, which already contain both cases.
      cls.freeze();
      const n = new Node(NodeKind.Class);
      n.cls = cls;
      return n;
    }
    if (!inClass) {
      if (c == 0x62 /* b */) return this.assertNode(AssertKind.WordBoundary);
      if (c == 0x42 /* B */) return this.assertNode(AssertKind.NotWordBoundary);
      if (c == 0x41 /* A */) return this.assertNode(AssertKind.BeginText);
      if (c == 0x7a /* z */) return this.assertNode(AssertKind.EndText);
      if (c == 0x5a /* Z */) return this.fail("\\Z is not supported (RE2 semantics); use \\z or $", start);
      if (c == 0x47 /* G */) return this.fail("\\G is not supported (RE2 semantics)", start);
      if (c == 0x51 /* Q */) {
        // \Q...\E: literal text.
        const cat = new Node(NodeKind.Concat);
        cat.cap = -1; // marks quoted text for parseConcat
        while (this.pos < this.src.length) {
          if (this.src.charCodeAt(this.pos) == 0x5c && this.peekAt(1) == 0x45) {
            this.pos += 2;
            break;
          }
          cat.subs.push(this.charNode(this.src.charCodeAt(this.pos)));
          this.pos++;
        }
        return cat;
      }
      if (c == 0x45 /* E */) return new Node(NodeKind.Empty); // a stray \E is ignored, as RE2 does
    }
    if (c >= 0x31 && c <= 0x39) {
      if (inClass) return this.fail("octal escape \\" + String.fromCharCode(c) + " in a class is not supported", start);
      return this.fail("backreference \\" + String.fromCharCode(c) + " is not supported (RE2 semantics: no backreferences)", start);
    }
    if (c == 0x6b /* k */ && !inClass) return this.fail("named backreference \\k is not supported (RE2 semantics: no backreferences)", start);
    if (c == 0x67 /* g */ && !inClass) return this.fail("backreference \\g is not supported (RE2 semantics: no backreferences)", start);
    if (c == 0x70 || c == 0x50) return this.fail("Unicode classes \\p / \\P are not supported", start);
    if (c == 0x58 || c == 0x43 || c == 0x52 || c == 0x4b || c == 0x4e || c == 0x48 || c == 0x56 || c == 0x68) {
      return this.fail("escape \\" + String.fromCharCode(c) + " is not supported (RE2 semantics)", start);
    }
    let code = -1;
    if (c == 0x30 /* \0 octal, up to 3 digits in all */) {
      code = 0;
      for (let i = 0; i < 2; i++) {
        const d = this.peek();
        if (d < 0x30 || d > 0x37) break;
        code = code * 8 + (d - 0x30);
        this.pos++;
      }
    } else if (c == 0x78 /* x */) {
      if (this.peek() == 0x7b /* { */) {
        let p = this.pos + 1;
        let v = 0, n = 0;
        while (p < this.src.length && hexValue(this.src.charCodeAt(p)) >= 0) {
          v = v * 16 + hexValue(this.src.charCodeAt(p));
          p++;
          n++;
          if (v > 0x10ffff) return this.fail("\\x{...} code point out of range", start);
        }
        if (n == 0 || p >= this.src.length || this.src.charCodeAt(p) != 0x7d) return this.fail("invalid \\x{...} escape", start);
        if (v > 0xffff) return this.fail("\\x{...} above U+FFFF is not supported (the engine matches UTF-16 code units)", start);
        this.pos = p + 1;
        code = v;
      } else {
        code = this.hexDigits(this.pos, 2);
        if (code < 0) return this.fail("invalid \\x escape (two hex digits expected)", start);
        this.pos += 2;
      }
    } else if (c == 0x75 /* u */) {
      code = this.hexDigits(this.pos, 4);
      if (code < 0) return this.fail("invalid \\u escape (four hex digits expected)", start);
      this.pos += 4;
    } else if (c == 0x74) code = 0x09;
    else if (c == 0x6e) code = 0x0a;
    else if (c == 0x72) code = 0x0d;
    else if (c == 0x66) code = 0x0c;
    else if (c == 0x76) code = 0x0b;
    else if (c == 0x61) code = 0x07;
    else if (c == 0x65) code = 0x1b;
    else if (c == 0x62 && inClass) code = 0x08; // [\b] is backspace
    else if (c < 0x80 && !isAlnum(c)) code = c; // escaped punctuation: the character itself
    else if (c >= 0x80) code = c;
    if (code < 0) return this.fail("unknown escape \\" + String.fromCharCode(c), start);
    if (inClass) {
      const n = new Node(NodeKind.Char);
      n.c = code;
      return n;
    }
    return this.charNode(code);
  }

  parseClass(): Node | null {
    const start = this.pos;
    this.pos++; // [
    let negated = false;
    if (this.peek() == 0x5e) {
      negated = true;
      this.pos++;
    }
    const cls = new CharClass();
    let first = true;
    while (true) {
      if (this.pos >= this.src.length) return this.fail("missing closing ] for the class", start);
      let c = this.peek();
      if (c == 0x5d /* ] */ && !first) {
        this.pos++;
        break;
      }
      first = false;
      // POSIX [:name:] / [:^name:]
      if (c == 0x5b && this.peekAt(1) == 0x3a) {
        const end = this.src.indexOf(":]", this.pos + 2);
        if (end > 0) {
          let name = this.src.substring(this.pos + 2, end);
          let pneg = false;
          if (name.startsWith("^")) {
            pneg = true;
            name = name.substring(1);
          }
          const pc = posixClass(name);
          if (pc === null) return this.fail("unknown POSIX class [:" + name + ":]", this.pos);
          if (pneg) pc.negate();
          cls.addClass(pc);
          this.pos = end + 2;
          continue;
        }
      }
      let lo: i32;
      const itemStart = this.pos;
      if (c == 0x5c) {
        const e = this.parseEscape(true, cls);
        if (e === null) return null;
        if (e.kind == NodeKind.Empty) {
          // A class escape cannot start a range; "\d-x" keeps '-' literal (RE2 rejects; PCRE accepts).
          continue;
        }
        lo = e.c;
      } else {
        lo = c;
        this.pos++;
      }
      // A range lo-hi (a '-' before ']' is literal).
      if (this.peek() == 0x2d && this.peekAt(1) != 0x5d && this.peekAt(1) >= 0) {
        this.pos++;
        let hi: i32;
        if (this.peek() == 0x5c) {
          const probe = new CharClass();
          const e = this.parseEscape(true, probe);
          if (e === null) return null;
          if (e.kind == NodeKind.Empty) return this.fail("invalid class range: a class escape cannot end a range", itemStart);
          hi = e.c;
        } else {
          hi = this.peek();
          this.pos++;
        }
        if (hi < lo) return this.fail("invalid class range " + this.src.substring(itemStart, this.pos) + " (the end is below the start)", itemStart);
        cls.addRange(lo, hi);
      } else {
        cls.addChar(lo);
      }
    }
    return this.classNode(cls, negated);
  }
}

function isAlnum(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export function parse(pattern: string, caseInsensitive: bool): ParseResult {
  const p = new Parser(pattern, caseInsensitive);
  const out = new ParseResult();
  const root = p.parseAlt();
  if (!p.failed && p.pos < pattern.length) {
    // Only an unmatched ')' stops the top-level alternation early.
    p.fail("unmatched )", p.pos);
  }
  if (p.failed || root === null) {
    out.error = p.error.length > 0 ? p.error : "invalid pattern";
    out.position = p.errorPos;
    return out;
  }
  out.root = root;
  out.captures = p.captures;
  return out;
}
