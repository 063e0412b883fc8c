// Evaluates a checked tree for one request. Attribute reads go through the activation (lazy and
// cached). A missing attribute or key, a run-time type mismatch (possible only with `dyn` values
// such as JWT claims), an out-of-range index or a division by zero yield ABSENT, which
// propagates; `&&` and `||` absorb it when the other side decides (CEL's commutative logic),
// and `has()` tests for it. Nothing here traps.
import { lowerAscii, upperAscii } from "./text";
import { Fn, Node, NodeKind, Op } from "./ast";
import { Activation } from "./activation";
import { ABSENT, FALSE, Kind, TRUE, Value, formatDouble } from "./value";

export function evaluate(n: Node, act: Activation): Value {
  switch (n.kind) {
    case NodeKind.Literal: return n.value!;
    case NodeKind.Attr: return act.get(n.slot);
    case NodeKind.And: {
      const a = evaluate(unchecked(n.args[0]), act);
      if (a.kind == Kind.Bool && !a.b) return FALSE;
      const b = evaluate(unchecked(n.args[1]), act);
      if (b.kind == Kind.Bool && !b.b) return FALSE;
      if (a.kind == Kind.Bool && b.kind == Kind.Bool) return TRUE;
      return ABSENT;
    }
    case NodeKind.Or: {
      const a = evaluate(unchecked(n.args[0]), act);
      if (a.kind == Kind.Bool && a.b) return TRUE;
      const b = evaluate(unchecked(n.args[1]), act);
      if (b.kind == Kind.Bool && b.b) return TRUE;
      if (a.kind == Kind.Bool && b.kind == Kind.Bool) return FALSE;
      return ABSENT;
    }
    case NodeKind.Ternary: {
      const c = evaluate(unchecked(n.args[0]), act);
      if (c.kind != Kind.Bool) return ABSENT;
      return evaluate(unchecked(n.args[c.b ? 1 : 2]), act);
    }
    case NodeKind.Unary: {
      const a = evaluate(unchecked(n.args[0]), act);
      if (n.op == Op.Not) return a.kind == Kind.Bool ? Value.bool_(!a.b) : ABSENT;
      if (a.kind == Kind.Int) return a.i == i64.MIN_VALUE ? ABSENT : Value.int_(-a.i);
      if (a.kind == Kind.Double) return Value.double_(-a.d);
      return ABSENT;
    }
    case NodeKind.Binary: return binary(n.op, evaluate(unchecked(n.args[0]), act), evaluate(unchecked(n.args[1]), act));
    case NodeKind.Select: return select(evaluate(unchecked(n.args[0]), act), n.name);
    case NodeKind.Index: return index(evaluate(unchecked(n.args[0]), act), evaluate(unchecked(n.args[1]), act));
    case NodeKind.ListLit: {
      if (n.value !== null) return n.value!;
      const items = new Array<Value>(n.args.length);
      for (let i = 0; i < n.args.length; i++) {
        const v = evaluate(unchecked(n.args[i]), act);
        if (v.kind == Kind.Absent) return ABSENT;
        unchecked(items[i] = v);
      }
      return Value.list_(items);
    }
    case NodeKind.MapLit: {
      const vals = new Array<Value>(n.args.length);
      for (let i = 0; i < n.args.length; i++) {
        const v = evaluate(unchecked(n.args[i]), act);
        if (v.kind == Kind.Absent) return ABSENT;
        unchecked(vals[i] = v);
      }
      return Value.map_(n.keys, vals);
    }
    case NodeKind.Call: return call(n, act);
    default: return ABSENT;
  }
}

function select(target: Value, field: string): Value {
  return target.kind == Kind.Map ? target.get(field) : ABSENT;
}

function index(target: Value, key: Value): Value {
  if (target.kind == Kind.Map) return key.kind == Kind.String ? target.get(key.s) : ABSENT;
  if (target.kind == Kind.List) {
    const items = target.items!;
    let i: i64 = -1;
    if (key.kind == Kind.Int) i = key.i;
    else if (key.kind == Kind.Double && Math.floor(key.d) == key.d) i = <i64>key.d;
    else return ABSENT;
    return i >= 0 && i < <i64>items.length ? unchecked(items[<i32>i]) : ABSENT;
  }
  return ABSENT;
}

/** Deep equality; ints and doubles compare by value. */
export function valuesEqual(a: Value, b: Value): bool {
  if (a.isNumber() && b.isNumber()) {
    if (a.kind == Kind.Int && b.kind == Kind.Int) return a.i == b.i;
    return a.asDouble() == b.asDouble();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind.Null: return true;
    case Kind.Bool: return a.b == b.b;
    case Kind.String: return a.s == b.s;
    case Kind.List: {
      const x = a.items!, y = b.items!;
      if (x.length != y.length) return false;
      for (let i = 0; i < x.length; i++) if (!valuesEqual(x[i], y[i])) return false;
      return true;
    }
    case Kind.Map: {
      const ks = a.keys!;
      if (ks.length != b.keys!.length) return false;
      for (let i = 0; i < ks.length; i++) {
        const other = b.get(ks[i]);
        if (other.kind == Kind.Absent || !valuesEqual(a.vals![i], other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

/** -1, 0, 1; or 2 when the values are not ordered (different kinds, NaN). */
function compare(a: Value, b: Value): i32 {
  if (a.kind == Kind.Int && b.kind == Kind.Int) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
  if (a.isNumber() && b.isNumber()) {
    const x = a.asDouble(), y = b.asDouble();
    if (x < y) return -1;
    if (x > y) return 1;
    return x == y ? 0 : 2;
  }
  if (a.kind == Kind.String && b.kind == Kind.String) {
    const c = a.s.localeCompare(b.s);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return 2;
}

function binary(op: Op, a: Value, b: Value): Value {
  if (a.kind == Kind.Absent || b.kind == Kind.Absent) return ABSENT;
  switch (op) {
    case Op.Eq: return Value.bool_(valuesEqual(a, b));
    case Op.Ne: return Value.bool_(!valuesEqual(a, b));
    case Op.Lt: case Op.Le: case Op.Gt: case Op.Ge: {
      const c = compare(a, b);
      if (c == 2) return ABSENT;
      if (op == Op.Lt) return Value.bool_(c < 0);
      if (op == Op.Le) return Value.bool_(c <= 0);
      if (op == Op.Gt) return Value.bool_(c > 0);
      return Value.bool_(c >= 0);
    }
    case Op.In: {
      if (b.kind == Kind.List) {
        const items = b.items!;
        for (let i = 0; i < items.length; i++) if (valuesEqual(a, unchecked(items[i]))) return TRUE;
        return FALSE;
      }
      if (b.kind == Kind.Map) return a.kind == Kind.String ? Value.bool_(b.get(a.s).kind != Kind.Absent) : ABSENT;
      return ABSENT;
    }
    case Op.Add: {
      if (a.kind == Kind.Int && b.kind == Kind.Int) {
        const r = a.i + b.i;
        // Signed overflow: operands of the same sign giving a result of the other sign.
        if (((a.i ^ r) & (b.i ^ r)) < 0) return ABSENT;
        return Value.int_(r);
      }
      if (a.isNumber() && b.isNumber()) return Value.double_(a.asDouble() + b.asDouble());
      if (a.kind == Kind.String && b.kind == Kind.String) return Value.string_(a.s + b.s);
      if (a.kind == Kind.List && b.kind == Kind.List) return Value.list_(a.items!.concat(b.items!));
      return ABSENT;
    }
    default: return arithmetic(op, a, b);
  }
}

function arithmetic(op: Op, a: Value, b: Value): Value {
  if (a.kind == Kind.Int && b.kind == Kind.Int) {
    const x = a.i, y = b.i;
    if (op == Op.Sub) {
      const r = x - y;
      if (((x ^ y) & (x ^ r)) < 0) return ABSENT;
      return Value.int_(r);
    }
    if (op == Op.Mul) {
      if (x != 0 && y != 0) {
        const r = x * y;
        if ((x == -1 && y == i64.MIN_VALUE) || (y == -1 && x == i64.MIN_VALUE) || r / y != x) return ABSENT;
        return Value.int_(r);
      }
      return Value.int_(0);
    }
    if (y == 0 || (x == i64.MIN_VALUE && y == -1)) return ABSENT;
    return Value.int_(op == Op.Div ? x / y : x % y);
  }
  if (!a.isNumber() || !b.isNumber()) return ABSENT;
  const x = a.asDouble(), y = b.asDouble();
  if (op == Op.Sub) return Value.double_(x - y);
  if (op == Op.Mul) return Value.double_(x * y);
  if (op == Op.Div) return Value.double_(x / y);
  return ABSENT; // '%' is for integers
}

function trimSpace(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return a == 0 && b == s.length ? s : s.substring(a, b);
}

function isSpace(c: i32): bool { return c == 0x20 || (c >= 0x09 && c <= 0x0d); }

const MAX_SPLIT_PARTS = 1000;

function toText(v: Value): string | null {
  switch (v.kind) {
    case Kind.String: return v.s;
    case Kind.Int: return v.i.toString();
    case Kind.Double: return formatDouble(v.d);
    case Kind.Bool: return v.b ? "true" : "false";
    default: return null;
  }
}

/** Decimal integer text (optional sign) that fits in int64; null otherwise. */
export function parseIntText(s: string): Value {
  let i = 0;
  let neg = false;
  if (s.length > 0 && (s.charCodeAt(0) == 0x2d || s.charCodeAt(0) == 0x2b)) { neg = s.charCodeAt(0) == 0x2d; i = 1; }
  if (i >= s.length || s.length - i > 19) return ABSENT;
  let v: u64 = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return ABSENT;
    v = v * 10 + <u64>(c - 0x30);
  }
  if (v > (neg ? <u64>0x8000000000000000 : <u64>0x7fffffffffffffff)) return ABSENT;
  return Value.int_(neg ? <i64>(0 - v) : <i64>v);
}

function call(n: Node, act: Activation): Value {
  const args = n.args;
  if (n.fn == Fn.Has) return Value.bool_(evaluate(unchecked(args[0]), act).kind != Kind.Absent);
  const a = evaluate(unchecked(args[0]), act);
  if (a.kind == Kind.Absent) return ABSENT;
  switch (n.fn) {
    case Fn.Size: {
      if (a.kind == Kind.String) return Value.int_(a.s.length);
      if (a.kind == Kind.List) return Value.int_(a.items!.length);
      if (a.kind == Kind.Map) return Value.int_(a.keys!.length);
      return ABSENT;
    }
    case Fn.Lower: return a.kind == Kind.String ? Value.string_(lowerAscii(a.s)) : ABSENT;
    case Fn.Upper: return a.kind == Kind.String ? Value.string_(upperAscii(a.s)) : ABSENT;
    case Fn.Trim: return a.kind == Kind.String ? Value.string_(trimSpace(a.s)) : ABSENT;
    case Fn.Matches: return a.kind == Kind.String ? Value.bool_(n.regex!.test(a.s)) : ABSENT;
    case Fn.IpInCidr: return a.kind == Kind.String ? Value.bool_(n.cidrs!.test(a.s)) : ABSENT;
    case Fn.ToString: {
      const t = toText(a);
      return t === null ? ABSENT : Value.string_(t);
    }
    case Fn.ToInt: {
      if (a.kind == Kind.Int) return a;
      if (a.kind == Kind.Double) {
        const d = Math.trunc(a.d);
        return isFinite(d) && d >= -9.2e18 && d <= 9.2e18 ? Value.int_(<i64>d) : ABSENT;
      }
      if (a.kind == Kind.String) return parseIntText(trimSpace(a.s));
      if (a.kind == Kind.Bool) return Value.int_(a.b ? 1 : 0);
      return ABSENT;
    }
    case Fn.ToDouble: {
      if (a.kind == Kind.Double) return a;
      if (a.kind == Kind.Int) return Value.double_(<f64>a.i);
      if (a.kind == Kind.String) {
        const t = trimSpace(a.s);
        if (t.length == 0 || t.length > 64) return ABSENT;
        // Only plain decimal text: parseFloat accepts trailing garbage.
        for (let i = 0; i < t.length; i++) {
          const c = t.charCodeAt(i);
          if (!((c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x2d || c == 0x2b || c == 0x65 || c == 0x45)) return ABSENT;
        }
        const d = F64.parseFloat(t);
        return isFinite(d) ? Value.double_(d) : ABSENT;
      }
      return ABSENT;
    }
    default: break;
  }
  const b = evaluate(unchecked(args[1]), act);
  if (b.kind == Kind.Absent) return ABSENT;
  switch (n.fn) {
    case Fn.StartsWith: return a.kind == Kind.String && b.kind == Kind.String ? Value.bool_(a.s.startsWith(b.s)) : ABSENT;
    case Fn.EndsWith: return a.kind == Kind.String && b.kind == Kind.String ? Value.bool_(a.s.endsWith(b.s)) : ABSENT;
    case Fn.Contains: {
      if (a.kind == Kind.String && b.kind == Kind.String) return Value.bool_(a.s.includes(b.s));
      if (a.kind == Kind.List) {
        const items = a.items!;
        for (let i = 0; i < items.length; i++) if (valuesEqual(items[i], b)) return TRUE;
        return FALSE;
      }
      return ABSENT;
    }
    case Fn.Split: {
      if (a.kind != Kind.String || b.kind != Kind.String) return ABSENT;
      const parts = a.s.split(b.s, MAX_SPLIT_PARTS);
      const items = new Array<Value>(parts.length);
      for (let i = 0; i < parts.length; i++) unchecked(items[i] = Value.string_(unchecked(parts[i])));
      return Value.list_(items);
    }
    case Fn.Join: {
      if (a.kind != Kind.List || b.kind != Kind.String) return ABSENT;
      const items = a.items!;
      const texts = new Array<string>(items.length);
      for (let i = 0; i < items.length; i++) {
        const t = toText(items[i]);
        if (t === null) return ABSENT;
        texts[i] = t;
      }
      return Value.string_(texts.join(b.s));
    }
    default: return ABSENT;
  }
}
