// Copies of checked trees laid out for the request path. Configuration parsing interleaves what
// it keeps (nodes, literal values, names) with what it drops (tokens, the JSON document, error
// paths), so a rule's objects end up spread over a few hundred KiB of the VM's memory. Under
// Envoy a request usually finds that memory out of the CPU caches (other connections, filters
// and processes ran in between), and reading a rule then costs a cache miss per object. A copy
// made after parsing, in evaluation order, puts each rule's objects next to each other.
import { Node, NO_KEYS, NO_NODES } from "./ast";
import { Value, Kind } from "./value";

/** A copy of `s` in a fresh allocation (AssemblyScript may hand back `s` itself for a whole-string slice). */
export function copyString(s: string): string {
  const size = <usize>s.length << 1;
  if (size == 0) return "";
  const out = changetype<string>(__new(size, idof<string>()));
  memory.copy(changetype<usize>(out), changetype<usize>(s), size);
  return out;
}

/** A deep copy of a constant; the shared constants (TRUE, FALSE, NULL, ABSENT) stay shared. */
export function compactValue(v: Value): Value {
  switch (v.kind) {
    case Kind.Absent: case Kind.Null: case Kind.Bool: return v;
    case Kind.Int: return Value.int_(v.i);
    case Kind.Double: return Value.double_(v.d);
    case Kind.String: {
      // Encoded for the outputs now, next to the copy (else the first request encodes it, into a
      // block among that request's garbage).
      const c = Value.string_(copyString(v.s));
      c.utf8(c.s);
      return c;
    }
    case Kind.List: {
      const src = v.items!;
      const items = new Array<Value>(src.length);
      for (let i = 0; i < src.length; i++) unchecked(items[i] = compactValue(unchecked(src[i])));
      return Value.list_(items);
    }
    default: {
      const ks = v.keys!, vs = v.vals!;
      const keys = new Array<string>(ks.length);
      const vals = new Array<Value>(vs.length);
      for (let i = 0; i < ks.length; i++) {
        unchecked(keys[i] = copyString(unchecked(ks[i])));
        unchecked(vals[i] = compactValue(unchecked(vs[i])));
      }
      return Value.map_(keys, vals);
    }
  }
}

/** A deep copy of a checked tree, parents before children. Compiled regexes and CIDR sets are shared. */
export function compactNode(n: Node): Node {
  const c = new Node(n.kind, n.pos);
  c.type = n.type;
  c.op = n.op;
  c.fn = n.fn;
  c.slot = n.slot;
  c.receiverStyle = n.receiverStyle;
  c.regex = n.regex;
  c.cidrs = n.cidrs;
  if (n.name.length > 0) c.name = copyString(n.name);
  const v = n.value;
  if (v !== null) c.value = compactValue(v);
  if (n.keys.length > 0) {
    const keys = new Array<string>(n.keys.length);
    for (let i = 0; i < keys.length; i++) unchecked(keys[i] = copyString(n.keys[i]));
    c.keys = keys;
  } else c.keys = NO_KEYS;
  if (n.args.length > 0) {
    const args = new Array<Node>(n.args.length);
    for (let i = 0; i < args.length; i++) unchecked(args[i] = compactNode(n.args[i]));
    c.args = args;
  } else c.args = NO_NODES;
  return c;
}
