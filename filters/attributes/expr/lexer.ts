// Tokens of the expression language. Positions are 0-based character offsets into the
// expression, reported in errors as "at <pos>". The lexer never traps: bad input becomes an
// Error token carrying what was expected.

/** Marks the integer literal 2^63 (valid only negated). */
export const TWO_TO_63 = "2^63";

export enum Tok {
  End, Error, Ident, Int, Double, String,
  True, False, Null, In,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Dot, Comma, Colon, Question,
  Or, And, Not, Eq, Ne, Lt, Le, Gt, Ge, Plus, Minus, Star, Slash, Percent,
}

export class Token {
  constructor(
    public kind: Tok,
    public pos: i32,
    /** Identifier name, decoded string literal, or the error message. */
    public text: string = "",
    public intValue: i64 = 0,
    public doubleValue: f64 = 0,
  ) {}
}

export function tokenName(t: Tok): string {
  switch (t) {
    case Tok.End: return "end of expression";
    case Tok.Error: return "invalid token";
    case Tok.Ident: return "identifier";
    case Tok.Int: return "integer";
    case Tok.Double: return "number";
    case Tok.String: return "string";
    case Tok.True: return "'true'";
    case Tok.False: return "'false'";
    case Tok.Null: return "'null'";
    case Tok.In: return "'in'";
    case Tok.LParen: return "'('";
    case Tok.RParen: return "')'";
    case Tok.LBracket: return "'['";
    case Tok.RBracket: return "']'";
    case Tok.LBrace: return "'{'";
    case Tok.RBrace: return "'}'";
    case Tok.Dot: return "'.'";
    case Tok.Comma: return "','";
    case Tok.Colon: return "':'";
    case Tok.Question: return "'?'";
    case Tok.Or: return "'||'";
    case Tok.And: return "'&&'";
    case Tok.Not: return "'!'";
    case Tok.Eq: return "'=='";
    case Tok.Ne: return "'!='";
    case Tok.Lt: return "'<'";
    case Tok.Le: return "'<='";
    case Tok.Gt: return "'>'";
    case Tok.Ge: return "'>='";
    case Tok.Plus: return "'+'";
    case Tok.Minus: return "'-'";
    case Tok.Star: return "'*'";
    case Tok.Slash: return "'/'";
    default: return "'%'";
  }
}

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }
function isIdentStart(c: i32): bool { return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f; }
function isIdentPart(c: i32): bool { return isIdentStart(c) || isDigit(c); }
function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

export class Lexer {
  pos: i32 = 0;
  constructor(public src: string) {}

  private err(pos: i32, what: string): Token { return new Token(Tok.Error, pos, what); }

  next(): Token {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
    const start = this.pos;
    if (start >= s.length) return new Token(Tok.End, start);
    const c = s.charCodeAt(start);
    const d = start + 1 < s.length ? s.charCodeAt(start + 1) : 0;
    if (isIdentStart(c)) {
      // r'...' and R"..." are raw strings (no escapes), handy for regular expressions.
      if ((c == 0x72 || c == 0x52) && (d == 0x27 || d == 0x22)) { this.pos++; return this.string(start, true); }
      let e = start + 1;
      while (e < s.length && isIdentPart(s.charCodeAt(e))) e++;
      this.pos = e;
      const word = s.substring(start, e);
      if (word == "true") return new Token(Tok.True, start);
      if (word == "false") return new Token(Tok.False, start);
      if (word == "null") return new Token(Tok.Null, start);
      if (word == "in") return new Token(Tok.In, start);
      return new Token(Tok.Ident, start, word);
    }
    if (isDigit(c) || (c == 0x2e && isDigit(d))) return this.number(start);
    if (c == 0x27 || c == 0x22) return this.string(start, false);
    this.pos = start + 1;
    switch (c) {
      case 0x28: return new Token(Tok.LParen, start);
      case 0x29: return new Token(Tok.RParen, start);
      case 0x5b: return new Token(Tok.LBracket, start);
      case 0x5d: return new Token(Tok.RBracket, start);
      case 0x7b: return new Token(Tok.LBrace, start);
      case 0x7d: return new Token(Tok.RBrace, start);
      case 0x2e: return new Token(Tok.Dot, start);
      case 0x2c: return new Token(Tok.Comma, start);
      case 0x3a: return new Token(Tok.Colon, start);
      case 0x3f: return new Token(Tok.Question, start);
      case 0x2b: return new Token(Tok.Plus, start);
      case 0x2d: return new Token(Tok.Minus, start);
      case 0x2a: return new Token(Tok.Star, start);
      case 0x2f: return new Token(Tok.Slash, start);
      case 0x25: return new Token(Tok.Percent, start);
      case 0x7c: if (d == 0x7c) { this.pos++; return new Token(Tok.Or, start); } break;
      case 0x26: if (d == 0x26) { this.pos++; return new Token(Tok.And, start); } break;
      case 0x3d: if (d == 0x3d) { this.pos++; return new Token(Tok.Eq, start); } return this.err(start, "expected '==' (assignment is not part of the language)");
      case 0x21: if (d == 0x3d) { this.pos++; return new Token(Tok.Ne, start); } return new Token(Tok.Not, start);
      case 0x3c: if (d == 0x3d) { this.pos++; return new Token(Tok.Le, start); } return new Token(Tok.Lt, start);
      case 0x3e: if (d == 0x3d) { this.pos++; return new Token(Tok.Ge, start); } return new Token(Tok.Gt, start);
    }
    if (c == 0x7c) return this.err(start, "expected '||'");
    if (c == 0x26) return this.err(start, "expected '&&'");
    return this.err(start, "unexpected character '" + String.fromCharCode(c) + "'");
  }

  private number(start: i32): Token {
    const s = this.src;
    let e = start;
    if (s.charCodeAt(e) == 0x30 && e + 1 < s.length && (s.charCodeAt(e + 1) | 0x20) == 0x78) {
      // Hexadecimal integer.
      e += 2;
      let v: u64 = 0;
      const digitsAt = e;
      while (e < s.length && hexValue(s.charCodeAt(e)) >= 0) {
        if (v > 0x7ffffffffffffff) { this.pos = e; return this.err(start, "integer out of range"); }
        v = (v << 4) | <u64>hexValue(s.charCodeAt(e));
        e++;
      }
      this.pos = e;
      if (e == digitsAt) return this.err(start, "expected hexadecimal digits after '0x'");
      if (e < s.length && isIdentPart(s.charCodeAt(e))) return this.err(e, "unexpected character in number");
      return new Token(Tok.Int, start, "", <i64>v);
    }
    while (e < s.length && isDigit(s.charCodeAt(e))) e++;
    let isDouble = false;
    if (e < s.length && s.charCodeAt(e) == 0x2e && e + 1 < s.length && isDigit(s.charCodeAt(e + 1))) {
      isDouble = true;
      e++;
      while (e < s.length && isDigit(s.charCodeAt(e))) e++;
    }
    if (e < s.length && (s.charCodeAt(e) | 0x20) == 0x65) {
      let x = e + 1;
      if (x < s.length && (s.charCodeAt(x) == 0x2b || s.charCodeAt(x) == 0x2d)) x++;
      if (x >= s.length || !isDigit(s.charCodeAt(x))) { this.pos = x; return this.err(x, "expected digits in exponent"); }
      while (x < s.length && isDigit(s.charCodeAt(x))) x++;
      e = x;
      isDouble = true;
    }
    this.pos = e;
    if (e < s.length && isIdentPart(s.charCodeAt(e))) return this.err(e, "unexpected character in number");
    const text = s.substring(start, e);
    if (isDouble) {
      const d = F64.parseFloat(text);
      if (!isFinite(d)) return this.err(start, "number out of range");
      return new Token(Tok.Double, start, "", 0, d);
    }
    // Decimal integers up to 2^63-1 (19 digits checked digit by digit).
    // 2^63 itself is allowed here so that "-9223372036854775808" can be written; the parser
    // refuses it unless negated.
    let v: u64 = 0;
    for (let i = 0; i < text.length; i++) {
      const digit = <u64>(text.charCodeAt(i) - 0x30);
      if (v > (<u64>0x8000000000000000 - digit) / 10) return this.err(start, "integer out of range");
      v = v * 10 + digit;
    }
    return new Token(Tok.Int, start, v == <u64>0x8000000000000000 ? TWO_TO_63 : "", <i64>v);
  }

  private string(start: i32, raw: bool): Token {
    const s = this.src;
    const quote = s.charCodeAt(this.pos);
    let p = this.pos + 1;
    const parts = new Array<string>();
    let runStart = p;
    while (true) {
      if (p >= s.length) { this.pos = p; return this.err(start, "unterminated string"); }
      const c = s.charCodeAt(p);
      if (c == quote) break;
      if (c == 0x0a || c == 0x0d) { this.pos = p; return this.err(p, "newline in string"); }
      if (c != 0x5c || raw) { p++; continue; }
      parts.push(s.substring(runStart, p));
      if (p + 1 >= s.length) { this.pos = p; return this.err(p, "unterminated string"); }
      const e = s.charCodeAt(p + 1);
      p += 2;
      let u = -1;
      if (e == 0x6e) u = 0x0a;
      else if (e == 0x74) u = 0x09;
      else if (e == 0x72) u = 0x0d;
      else if (e == 0x30) u = 0;
      else if (e == 0x5c || e == 0x27 || e == 0x22 || e == 0x60 || e == 0x3f) u = e;
      else if (e == 0x78 || e == 0x75) {
        const n = e == 0x78 ? 2 : 4;
        u = 0;
        for (let k = 0; k < n; k++) {
          const h = p + k < s.length ? hexValue(s.charCodeAt(p + k)) : -1;
          if (h < 0) { this.pos = p; return this.err(p - 2, "invalid \\" + String.fromCharCode(e) + " escape"); }
          u = (u << 4) | h;
        }
        p += n;
        if (u >= 0xd800 && u <= 0xdfff) { this.pos = p; return this.err(p - n - 2, "escaped surrogate in string"); }
      } else { this.pos = p; return this.err(p - 2, "invalid escape '\\" + String.fromCharCode(e) + "'"); }
      parts.push(String.fromCharCode(u));
      runStart = p;
    }
    parts.push(s.substring(runStart, p));
    this.pos = p + 1;
    return new Token(Tok.String, start, parts.length == 1 ? parts[0] : parts.join(""));
  }
}
