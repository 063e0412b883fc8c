// Runtime values of the expression language. One class for every kind keeps the evaluator free
// of casts; `ABSENT` stands for a missing property, a missing key or a runtime type error, and
// propagates through operators and functions (CEL's error semantics), so nothing ever traps.
import { JsonKind, JsonValue, stringifyJson } from "@meshward/sdk/assembly";

export enum Kind { Absent, Null, Bool, Int, Double, String, List, Map }

// Field order is memory order: the kind, a string and its encoded form (what rules and outputs
// read most) first, so they usually share a cache line.
export class Value {
  kind: Kind = Kind.Absent;
  b: bool = false;
  s: string = "";
  /** The rendered text as UTF-8, kept after the first use: constants are encoded once, not per request. */
  private encoded: ArrayBuffer | null = null;
  i: i64 = 0;
  d: f64 = 0;
  items: Array<Value> | null = null;
  /** Map keys and values (string keys only), in insertion order. */
  keys: Array<string> | null = null;
  vals: Array<Value> | null = null;

  static bool_(b: bool): Value { return b ? TRUE : FALSE; }
  static int_(i: i64): Value { const v = new Value(); v.kind = Kind.Int; v.i = i; return v; }
  static double_(d: f64): Value { const v = new Value(); v.kind = Kind.Double; v.d = d; return v; }
  static string_(s: string): Value { const v = new Value(); v.kind = Kind.String; v.s = s; return v; }
  static list_(items: Array<Value>): Value { const v = new Value(); v.kind = Kind.List; v.items = items; return v; }
  static map_(keys: Array<string>, vals: Array<Value>): Value {
    const v = new Value(); v.kind = Kind.Map; v.keys = keys; v.vals = vals; return v;
  }
  static null_(): Value { return NULL; }
  static absent(): Value { return ABSENT; }

  isAbsent(): bool { return this.kind == Kind.Absent; }
  isNumber(): bool { return this.kind == Kind.Int || this.kind == Kind.Double; }
  asDouble(): f64 { return this.kind == Kind.Int ? <f64>this.i : this.d; }

  /** `render(this)` as UTF-8 (call only when present). */
  utf8(text: string): ArrayBuffer {
    let e = this.encoded;
    if (e === null) { e = String.UTF8.encode(text); this.encoded = e; }
    return e;
  }

  /** A map entry or ABSENT. */
  get(key: string): Value {
    if (this.kind != Kind.Map) return ABSENT;
    const ks = this.keys!;
    for (let i = 0; i < ks.length; i++) if (unchecked(ks[i]) == key) return unchecked(this.vals![i]);
    return ABSENT;
  }
}

export const TRUE: Value = makeBool(true);
export const FALSE: Value = makeBool(false);
export const NULL: Value = makeNull();
export const ABSENT: Value = new Value();

function makeBool(b: bool): Value { const v = new Value(); v.kind = Kind.Bool; v.b = b; return v; }
function makeNull(): Value { const v = new Value(); v.kind = Kind.Null; return v; }

export function kindName(k: Kind): string {
  switch (k) {
    case Kind.Absent: return "absent";
    case Kind.Null: return "null";
    case Kind.Bool: return "bool";
    case Kind.Int: return "int";
    case Kind.Double: return "double";
    case Kind.String: return "string";
    case Kind.List: return "list";
    default: return "map";
  }
}

/** A parsed JSON document (JWT claims) as language values; numbers that are whole become ints. */
export function fromJson(j: JsonValue): Value {
  switch (j.kind) {
    case JsonKind.Null: return NULL;
    case JsonKind.Bool: return Value.bool_(j.boolValue);
    case JsonKind.Number: {
      const n = j.numberValue;
      if (Math.floor(n) == n && Math.abs(n) < 9007199254740992.0) return Value.int_(<i64>n);
      return Value.double_(n);
    }
    case JsonKind.String: return Value.string_(j.stringValue);
    case JsonKind.Array: {
      const items = new Array<Value>(j.items.length);
      for (let i = 0; i < j.items.length; i++) items[i] = fromJson(j.items[i]);
      return Value.list_(items);
    }
    default: {
      const vals = new Array<Value>(j.values.length);
      for (let i = 0; i < j.values.length; i++) vals[i] = fromJson(j.values[i]);
      return Value.map_(j.keys.slice(), vals);
    }
  }
}

function toJson(v: Value): JsonValue {
  switch (v.kind) {
    case Kind.Bool: return JsonValue.bool_(v.b);
    case Kind.Int: return JsonValue.number_(<f64>v.i);
    case Kind.Double: return JsonValue.number_(isFinite(v.d) ? v.d : 0);
    case Kind.String: return JsonValue.string_(v.s);
    case Kind.List: {
      const out = new JsonValue();
      out.kind = JsonKind.Array;
      const items = v.items!;
      for (let i = 0; i < items.length; i++) out.items.push(toJson(items[i]));
      return out;
    }
    case Kind.Map: {
      const out = new JsonValue();
      out.kind = JsonKind.Object;
      const ks = v.keys!;
      for (let i = 0; i < ks.length; i++) { out.keys.push(ks[i]); out.values.push(toJson(v.vals![i])); }
      return out;
    }
    default: return JsonValue.null_();
  }
}

/** Shortest text of a double that reads back the same; whole numbers without ".0". */
export function formatDouble(d: f64): string {
  if (Math.floor(d) == d && Math.abs(d) < 1e15) return (<i64>d).toString();
  return d.toString();
}

/** The text an output (header, filter state) carries; null for ABSENT. */
export function render(v: Value): string | null {
  switch (v.kind) {
    case Kind.Absent: return null;
    case Kind.Null: return "null";
    case Kind.Bool: return v.b ? "true" : "false";
    case Kind.Int: return v.i.toString();
    case Kind.Double: return formatDouble(v.d);
    case Kind.String: return v.s;
    default: return stringifyJson(toJson(v));
  }
}
