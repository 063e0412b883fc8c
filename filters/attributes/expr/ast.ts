// The syntax tree. The parser builds untyped nodes (Ident, Select, Index, Call, ...); the checker
// (checker.ts) rewrites attribute references into `Attr` nodes and gives every node a static type.
import { Value } from "./value";
import { Regex } from "@meshward/sdk/assembly/regex";
import { CidrSet, parseAddressWithPort } from "@meshward/sdk/assembly";

/** Static types. `Dyn` is decided at run time (JWT claims, attributes of earlier rules). */
export enum Type { Bool, Int, Double, String, List, Map, Null, Dyn }

export function typeName(t: Type): string {
  switch (t) {
    case Type.Bool: return "bool";
    case Type.Int: return "int";
    case Type.Double: return "double";
    case Type.String: return "string";
    case Type.List: return "list";
    case Type.Map: return "map";
    case Type.Null: return "null";
    default: return "dyn";
  }
}

export enum NodeKind {
  Literal, Ident, Select, Index, Call, Unary, Binary, And, Or, Ternary, ListLit, MapLit,
  /** A host attribute (checker output): read lazily through the activation. */
  Attr,
}

export enum Op { Not, Neg, Eq, Ne, Lt, Le, Gt, Ge, In, Add, Sub, Mul, Div, Mod }

export function opText(op: Op): string {
  switch (op) {
    case Op.Not: return "!";
    case Op.Neg: return "-";
    case Op.Eq: return "==";
    case Op.Ne: return "!=";
    case Op.Lt: return "<";
    case Op.Le: return "<=";
    case Op.Gt: return ">";
    case Op.Ge: return ">=";
    case Op.In: return "in";
    case Op.Add: return "+";
    case Op.Sub: return "-";
    case Op.Mul: return "*";
    case Op.Div: return "/";
    default: return "%";
  }
}

/** Built-in functions (checker output for Call nodes). */
export enum Fn {
  None, Size, StartsWith, EndsWith, Contains, Matches, Lower, Upper, Split, IpInCidr, Has,
  ToString, ToInt, ToDouble, Trim, Join,
}

// Nodes without children or keys share these (never appended to): a leaf is one allocation,
// not five, so a configuration's trees are smaller and denser in memory. The parser gives the
// nodes it appends to (calls, list and map literals) their own arrays.
export const NO_NODES: Array<Node> = new Array<Node>(0);
export const NO_KEYS: Array<string> = new Array<string>(0);

// Field order is memory order: what evaluation reads comes first, so a node's hot fields share a
// cache line (a request usually finds the configuration out of the CPU caches); what only the
// parser, the checker and error messages use comes last.
export class Node {
  kind: NodeKind;
  op: Op = Op.Not;
  fn: Fn = Fn.None;
  /** Attr: index into the activation's per-request cache. */
  slot: i32 = -1;
  /** Children: operands, call arguments (receiver first), list items, map values. */
  args: Array<Node> = NO_NODES;
  /** Literal value (also constant-folded list/map literals). */
  value: Value | null = null;
  /** Ident / Select field / Call name; map literal keys are in `keys`. */
  name: string = "";
  /** `matches` with a literal pattern: compiled once. */
  regex: Regex | null = null;
  /** `ip_in_cidr` with literal ranges: parsed once. */
  cidrs: CidrTest | null = null;
  keys: Array<string> = NO_KEYS;
  type: Type = Type.Dyn;
  pos: i32;
  /** Call written as `x.f(...)`. */
  receiverStyle: bool = false;

  constructor(kind: NodeKind, pos: i32) {
    this.kind = kind;
    this.pos = pos;
  }
}

/**
 * `ip_in_cidr`'s ranges, and the answer for the last address tested: every request of a
 * connection repeats its `source.address`, and a repeat then skips parsing the address and
 * testing the ranges. One address is kept (a reference, so it cannot be freed and reused).
 */
export class CidrTest {
  private lastAddress: string | null = null;
  private lastAnswer: bool = false;
  constructor(public ranges: CidrSet) {}

  /** Whether `address` (an IP, optionally with a port, as parseAddressWithPort reads it) is in a range. */
  test(address: string): bool {
    const last = this.lastAddress;
    if (last !== null && last == address) return this.lastAnswer;
    const ip = parseAddressWithPort(address);
    const answer = ip !== null && this.ranges.contains(ip);
    this.lastAddress = address;
    this.lastAnswer = answer;
    return answer;
  }
}
