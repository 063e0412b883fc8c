// Precedence-climbing parser for the expression language (a subset of CEL):
//
//   expr    = or ["?" expr ":" expr]
//   or      = and {"||" and}
//   and     = rel {"&&" rel}
//   rel     = add {("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add}
//   add     = mul {("+" | "-") mul}
//   mul     = unary {("*" | "/" | "%") unary}
//   unary   = ("!" | "-") unary | member
//   member  = primary {"." IDENT ["(" args ")"] | "[" expr "]"}
//   primary = IDENT ["(" args ")"] | literal | "(" expr ")" | "[" [args] "]" | "{" [entries] "}"
//
// Bounded: nesting depth and node count are limited so a hostile expression cannot exhaust the
// stack or memory; every failure is an error naming the position and what was expected.
import { Lexer, Tok, Token, tokenName, TWO_TO_63 } from "./lexer";
import { Node, NodeKind, Op } from "./ast";
import { Kind, Value } from "./value";

export const MAX_EXPRESSION_LENGTH = 4096;
export const MAX_DEPTH = 32;
export const MAX_NODES = 1000;

export class ParseResult {
  node: Node | null = null;
  error: string = "";
  errorPos: i32 = 0;
}

class Parser {
  lexer: Lexer;
  tok: Token;
  depth: i32 = 0;
  nodes: i32 = 0;
  error: string = "";
  errorPos: i32 = 0;

  constructor(src: string) {
    const lexer = new Lexer(src);
    this.tok = lexer.next();
    this.lexer = lexer;
  }

  failed(): bool { return this.error.length > 0; }

  fail(pos: i32, what: string): Node | null {
    if (this.error.length == 0) { this.error = what; this.errorPos = pos; }
    return null;
  }

  expected(what: string): Node | null {
    if (this.tok.kind == Tok.Error) return this.fail(this.tok.pos, this.tok.text);
    return this.fail(this.tok.pos, "expected " + what + ", got " + this.describe(this.tok));
  }

  describe(t: Token): string {
    if (t.kind == Tok.Ident) return "'" + t.text + "'";
    return tokenName(t.kind);
  }

  advance(): void { this.tok = this.lexer.next(); }

  node(kind: NodeKind, pos: i32): Node {
    this.nodes++;
    const n = new Node(kind, pos);
    // The kinds whose children are appended one by one get arrays of their own (see NO_NODES).
    if (kind == NodeKind.Call || kind == NodeKind.ListLit || kind == NodeKind.MapLit) n.args = new Array<Node>();
    if (kind == NodeKind.MapLit) n.keys = new Array<string>();
    return n;
  }

  enter(pos: i32): bool {
    if (this.nodes > MAX_NODES) { this.fail(pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)"); return false; }
    if (++this.depth > MAX_DEPTH) { this.fail(pos, "expression nested deeper than " + MAX_DEPTH.toString()); return false; }
    return true;
  }

  expr(): Node | null {
    if (!this.enter(this.tok.pos)) return null;
    const r = this.ternary();
    this.depth--;
    return r;
  }

  ternary(): Node | null {
    const cond = this.or();
    if (cond === null || this.tok.kind != Tok.Question) return cond;
    const n = this.node(NodeKind.Ternary, this.tok.pos);
    this.advance();
    const a = this.expr();
    if (a === null) return null;
    if (this.tok.kind != Tok.Colon) return this.expected("':' of the conditional");
    this.advance();
    const b = this.expr();
    if (b === null) return null;
    n.args = [cond, a, b];
    return n;
  }

  or(): Node | null {
    let left = this.and();
    while (left !== null && this.tok.kind == Tok.Or) {
      const n = this.node(NodeKind.Or, this.tok.pos);
      this.advance();
      const right = this.and();
      if (right === null) return null;
      n.args = [left, right];
      left = n;
      if (this.nodes > MAX_NODES) return this.fail(n.pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  and(): Node | null {
    let left = this.rel();
    while (left !== null && this.tok.kind == Tok.And) {
      const n = this.node(NodeKind.And, this.tok.pos);
      this.advance();
      const right = this.rel();
      if (right === null) return null;
      n.args = [left, right];
      left = n;
      if (this.nodes > MAX_NODES) return this.fail(n.pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  binary(op: Op, left: Node, right: Node, pos: i32): Node {
    const n = this.node(NodeKind.Binary, pos);
    n.op = op;
    n.args = [left, right];
    return n;
  }

  rel(): Node | null {
    let left = this.add();
    while (left !== null) {
      let op = Op.Not;
      switch (this.tok.kind) {
        case Tok.Eq: op = Op.Eq; break;
        case Tok.Ne: op = Op.Ne; break;
        case Tok.Lt: op = Op.Lt; break;
        case Tok.Le: op = Op.Le; break;
        case Tok.Gt: op = Op.Gt; break;
        case Tok.Ge: op = Op.Ge; break;
        case Tok.In: op = Op.In; break;
        default: return left;
      }
      const pos = this.tok.pos;
      this.advance();
      const right = this.add();
      if (right === null) return null;
      left = this.binary(op, left, right, pos);
      if (this.nodes > MAX_NODES) return this.fail(pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  add(): Node | null {
    let left = this.mul();
    while (left !== null && (this.tok.kind == Tok.Plus || this.tok.kind == Tok.Minus)) {
      const op = this.tok.kind == Tok.Plus ? Op.Add : Op.Sub;
      const pos = this.tok.pos;
      this.advance();
      const right = this.mul();
      if (right === null) return null;
      left = this.binary(op, left, right, pos);
      if (this.nodes > MAX_NODES) return this.fail(pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  mul(): Node | null {
    let left = this.unary();
    while (left !== null && (this.tok.kind == Tok.Star || this.tok.kind == Tok.Slash || this.tok.kind == Tok.Percent)) {
      const op = this.tok.kind == Tok.Star ? Op.Mul : this.tok.kind == Tok.Slash ? Op.Div : Op.Mod;
      const pos = this.tok.pos;
      this.advance();
      const right = this.unary();
      if (right === null) return null;
      left = this.binary(op, left, right, pos);
      if (this.nodes > MAX_NODES) return this.fail(pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  unary(): Node | null {
    if (this.tok.kind == Tok.Not || this.tok.kind == Tok.Minus) {
      const n = this.node(NodeKind.Unary, this.tok.pos);
      n.op = this.tok.kind == Tok.Not ? Op.Not : Op.Neg;
      if (!this.enter(n.pos)) return null;
      this.advance();
      const operand = this.unary();
      this.depth--;
      if (operand === null) return null;
      // Fold "-<number literal>" so the smallest int64 can be written.
      if (n.op == Op.Neg && operand.kind == NodeKind.Literal && operand.value !== null && operand.value!.isNumber() && operand.args.length == 0) {
        const v = operand.value!;
        operand.value = v.kind == Kind.Int ? Value.int_(operand.name == TWO_TO_63 ? v.i : -v.i) : Value.double_(-v.d);
        operand.name = "";
        operand.pos = n.pos;
        return operand;
      }
      n.args = [operand];
      return n;
    }
    return this.member();
  }

  member(): Node | null {
    let left = this.primary();
    while (left !== null) {
      if (this.tok.kind == Tok.Dot) {
        this.advance();
        if (this.tok.kind != Tok.Ident) return this.expected("a field or function name after '.'");
        const name = this.tok.text;
        const pos = this.tok.pos;
        this.advance();
        if (this.tok.kind == Tok.LParen) {
          const call = this.node(NodeKind.Call, pos);
          call.name = name;
          call.receiverStyle = true;
          call.args.push(left);
          if (!this.callArgs(call)) return null;
          left = call;
        } else {
          const sel = this.node(NodeKind.Select, pos);
          sel.name = name;
          sel.args = [left];
          left = sel;
        }
      } else if (this.tok.kind == Tok.LBracket) {
        const idx = this.node(NodeKind.Index, this.tok.pos);
        this.advance();
        const key = this.expr();
        if (key === null) return null;
        if (this.tok.kind != Tok.RBracket) return this.expected("']'");
        this.advance();
        idx.args = [left, key];
        left = idx;
      } else {
        return left;
      }
      if (this.nodes > MAX_NODES) return this.fail(left.pos, "expression too large (more than " + MAX_NODES.toString() + " nodes)");
    }
    return left;
  }

  /** After a name: "(" [expr {"," expr}] ")"; appends to `call.args`. */
  callArgs(call: Node): bool {
    this.advance(); // (
    if (this.tok.kind == Tok.RParen) { this.advance(); return true; }
    while (true) {
      const a = this.expr();
      if (a === null) return false;
      call.args.push(a);
      if (this.tok.kind == Tok.Comma) { this.advance(); continue; }
      if (this.tok.kind == Tok.RParen) { this.advance(); return true; }
      this.expected("',' or ')' in the argument list");
      return false;
    }
  }

  literal(v: Value): Node {
    const n = this.node(NodeKind.Literal, this.tok.pos);
    n.value = v;
    this.advance();
    return n;
  }

  primary(): Node | null {
    const t = this.tok;
    switch (t.kind) {
      case Tok.Int: {
        const n = this.literal(Value.int_(t.intValue));
        n.name = t.text; // TWO_TO_63 until negated
        return n;
      }
      case Tok.Double: return this.literal(Value.double_(t.doubleValue));
      case Tok.String: return this.literal(Value.string_(t.text));
      case Tok.True: return this.literal(Value.bool_(true));
      case Tok.False: return this.literal(Value.bool_(false));
      case Tok.Null: return this.literal(Value.null_());
      case Tok.Ident: {
        this.advance();
        if (this.tok.kind == Tok.LParen) {
          const call = this.node(NodeKind.Call, t.pos);
          call.name = t.text;
          return this.callArgs(call) ? call : null;
        }
        const id = this.node(NodeKind.Ident, t.pos);
        id.name = t.text;
        return id;
      }
      case Tok.LParen: {
        this.advance();
        const inner = this.expr();
        if (inner === null) return null;
        if (this.tok.kind != Tok.RParen) return this.expected("')'");
        this.advance();
        return inner;
      }
      case Tok.LBracket: {
        const list = this.node(NodeKind.ListLit, t.pos);
        this.advance();
        if (this.tok.kind == Tok.RBracket) { this.advance(); return list; }
        while (true) {
          const item = this.expr();
          if (item === null) return null;
          list.args.push(item);
          if (this.tok.kind == Tok.Comma) { this.advance(); if (this.tok.kind == Tok.RBracket) { this.advance(); return list; } continue; }
          if (this.tok.kind == Tok.RBracket) { this.advance(); return list; }
          return this.expected("',' or ']' in the list");
        }
      }
      case Tok.LBrace: {
        const map = this.node(NodeKind.MapLit, t.pos);
        this.advance();
        if (this.tok.kind == Tok.RBrace) { this.advance(); return map; }
        while (true) {
          if (this.tok.kind != Tok.String) return this.expected("a string key in the map");
          const key = this.tok.text;
          for (let i = 0; i < map.keys.length; i++) {
            if (map.keys[i] == key) return this.fail(this.tok.pos, "duplicate map key '" + key + "'");
          }
          this.advance();
          if (this.tok.kind != Tok.Colon) return this.expected("':' after the map key");
          this.advance();
          const v = this.expr();
          if (v === null) return null;
          map.keys.push(key);
          map.args.push(v);
          if (this.tok.kind == Tok.Comma) { this.advance(); if (this.tok.kind == Tok.RBrace) { this.advance(); return map; } continue; }
          if (this.tok.kind == Tok.RBrace) { this.advance(); return map; }
          return this.expected("',' or '}' in the map");
        }
      }
      default:
        return this.expected("a value (name, literal, '(', '[' or '{')");
    }
  }
}

/** Parses one expression; the whole text must be consumed. */
export function parseExpression(src: string): ParseResult {
  const r = new ParseResult();
  if (src.length > MAX_EXPRESSION_LENGTH) {
    r.error = "expression longer than " + MAX_EXPRESSION_LENGTH.toString() + " characters";
    return r;
  }
  const p = new Parser(src);
  const n = p.expr();
  if (n !== null && !p.failed() && p.tok.kind != Tok.End) p.expected("an operator or end of expression");
  if (p.failed()) { r.error = p.error; r.errorPos = p.errorPos; return r; }
  r.node = n;
  return r;
}
