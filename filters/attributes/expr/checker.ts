// The type checker: resolves names to host attributes (registering each in the AttrRegistry),
// resolves function calls, precompiles literal regular expressions and CIDR ranges, and gives
// every node a static type. Anything wrong is an error with the position and what was expected,
// so a configuration never loads an expression that cannot make sense.
import { Cidr, CidrSet } from "@meshward/sdk/assembly";
import { lowerAscii } from "./text";
import { CidrTest, Fn, Node, NodeKind, Op, Type, opText, typeName } from "./ast";
import { AttrRegistry, AttrSpec, Source } from "./activation";
import { compileRegex, lastRegexError } from "@meshward/sdk/assembly/regex";

/** Longest `matches` pattern accepted (a config-size guard; matching is linear anyway). */
const MAX_PATTERN_LENGTH = 1024;
import { Kind, Value } from "./value";

export class CheckError {
  constructor(public pos: i32, public message: string) {}
}

class FieldDef {
  constructor(public name: string, public type: Type, public source: Source, public path: Array<string>) {}
}

function prop(root: string, name: string, type: Type): FieldDef {
  return new FieldDef(name, type, Source.Property, [root, name]);
}

function header(field: string, name: string): FieldDef {
  return new FieldDef(field, Type.String, Source.Header, [name]);
}

/** Roots with a fixed set of fields. */
function fieldsOf(root: string): Array<FieldDef> | null {
  if (root == "request") {
    // Request attributes are read from the header map (pseudo-headers), as Envoy derives them:
    // a header read costs far less than a property read through Envoy's CEL layer.
    return [
      header("path", ":path"), new FieldDef("url_path", Type.String, Source.UrlPath, [":path"]), header("host", ":authority"),
      header("method", ":method"), header("scheme", ":scheme"), prop("request", "protocol", Type.String),
      header("id", "x-request-id"), new FieldDef("query", Type.String, Source.Query, [":path"]), header("referer", "referer"),
      header("useragent", "user-agent"),
      new FieldDef("headers", Type.Map, Source.HeaderMap, []),
    ];
  }
  if (root == "source" || root == "destination") {
    return [prop(root, "address", Type.String), prop(root, "port", Type.Int)];
  }
  if (root == "connection") {
    return [
      prop("connection", "mtls", Type.Bool), prop("connection", "uri_san_peer_certificate", Type.String),
      prop("connection", "uri_san_local_certificate", Type.String), prop("connection", "dns_san_peer_certificate", Type.String),
      prop("connection", "subject_peer_certificate", Type.String), prop("connection", "requested_server_name", Type.String),
      prop("connection", "tls_version", Type.String), prop("connection", "id", Type.Int),
    ];
  }
  if (root == "xds") {
    return [prop("xds", "route_name", Type.String), prop("xds", "cluster_name", Type.String)];
  }
  if (root == "jwt") {
    return [
      new FieldDef("principal", Type.String, Source.Property, ["meshward.jwt.principal"]),
      new FieldDef("provider", Type.String, Source.Property, ["meshward.jwt.provider"]),
      new FieldDef("claims", Type.Dyn, Source.JsonProperty, ["meshward.jwt.claims"]),
    ];
  }
  if (root == "waf") {
    return [
      new FieldDef("anomaly_score", Type.Int, Source.IntProperty, ["meshward.waf.anomaly_score"]),
      new FieldDef("matched_rules", Type.String, Source.Property, ["meshward.waf.matched_rules"]),
    ];
  }
  return null;
}

const ROOTS = "request, source, destination, connection, xds, metadata, filter_state, jwt, waf, attr";
const FUNCTIONS = "size, startsWith, endsWith, contains, matches, lower, upper, trim, split, join, ip_in_cidr, has, string, int, double";

function isRoot(name: string): bool {
  return name == "metadata" || name == "filter_state" || name == "attr" || fieldsOf(name) !== null;
}

function fieldNames(defs: Array<FieldDef>): string {
  const names = new Array<string>();
  for (let i = 0; i < defs.length; i++) names.push(defs[i].name);
  return names.join(", ");
}

/** Where an (unchecked) expression starts: a member chain starts at its leftmost part. */
function startPos(n: Node): i32 {
  let cur = n;
  while ((cur.kind == NodeKind.Select || cur.kind == NodeKind.Index || (cur.kind == NodeKind.Call && cur.receiverStyle) ||
    cur.kind == NodeKind.Binary || cur.kind == NodeKind.And || cur.kind == NodeKind.Or || cur.kind == NodeKind.Ternary) && cur.args.length > 0) {
    cur = cur.args[0];
  }
  return cur.pos;
}

/** Is a value of static type `t` acceptable where `want` is expected? */
function fits(t: Type, want: Type): bool { return t == want || t == Type.Dyn; }
function isNumeric(t: Type): bool { return t == Type.Int || t == Type.Double; }

export class Checker {
  error: CheckError | null = null;

  /**
   * @param registry where attribute reads are registered
   * @param earlier names of attributes computed before the one being checked (readable as attr.<name>)
   */
  constructor(public registry: AttrRegistry, public earlier: Array<string>) {}

  fail(pos: i32, message: string): Node | null {
    if (this.error === null) this.error = new CheckError(pos, message);
    return null;
  }

  attr(pos: i32, source: Source, path: Array<string>, type: Type, display: string): Node {
    const spec = this.registry.register(new AttrSpec(source, path, type, display));
    const n = new Node(NodeKind.Attr, pos);
    n.slot = spec.slot;
    n.type = type;
    n.name = display;
    return n;
  }

  /** A string literal used as a key, or null. */
  literalKey(n: Node): string | null {
    if (n.kind == NodeKind.Literal && n.value !== null && n.value!.kind == Kind.String) return n.value!.s;
    return null;
  }

  /** `root.field` / `root['field']` for a name root; null with an error when unknown. */
  resolveRootField(root: Node, field: string, pos: i32): Node | null {
    const name = root.name;
    if (name == "attr") {
      if (!this.earlier.includes(field)) {
        return this.fail(pos, "attr." + field + " is not an attribute defined before this one" +
          (this.earlier.length > 0 ? " (defined before: " + this.earlier.join(", ") + ")" : " (none is)"));
      }
      return this.attr(pos, Source.Computed, [field], Type.Dyn, "attr." + field);
    }
    if (name == "filter_state") return this.attr(pos, Source.Property, ["filter_state", field], Type.String, "filter_state['" + field + "']");
    if (name == "metadata") return this.attr(pos, Source.Property, ["metadata", field], Type.String, "metadata." + field);
    const defs = fieldsOf(name)!;
    for (let i = 0; i < defs.length; i++) {
      const d = defs[i];
      if (d.name == field) return this.attr(pos, d.source, d.path, d.type, name + "." + field);
    }
    return this.fail(pos, "unknown attribute " + name + "." + field + "; expected one of " + name + "." + fieldNames(defs).replaceAll(", ", ", " + name + "."));
  }

  /** Extends a metadata path (`metadata.filter_metadata['ns'].key`). */
  isMetadataAttr(n: Node): bool {
    if (n.kind != NodeKind.Attr) return false;
    const spec = this.registry.specs[n.slot];
    return spec.source == Source.Property && spec.path.length > 0 && spec.path[0] == "metadata";
  }

  extendMetadata(n: Node, key: string, pos: i32): Node {
    const spec = this.registry.specs[n.slot];
    const path = spec.path.slice();
    path.push(key);
    return this.attr(pos, Source.Property, path, Type.String, spec.display + "['" + key + "']");
  }

  isHeaderMap(n: Node): bool {
    return n.kind == NodeKind.Attr && this.registry.specs[n.slot].source == Source.HeaderMap;
  }

  check(n: Node): Node | null {
    if (this.error !== null) return null;
    switch (n.kind) {
      case NodeKind.Literal: {
        if (n.name.length > 0) return this.fail(n.pos, "integer out of range");
        const k = n.value!.kind;
        n.type = k == Kind.Bool ? Type.Bool : k == Kind.Int ? Type.Int : k == Kind.Double ? Type.Double :
          k == Kind.String ? Type.String : Type.Null;
        return n;
      }
      case NodeKind.Ident: {
        if (isRoot(n.name)) {
          return this.fail(n.pos, "'" + n.name + "' is not a value by itself; expected a field such as " +
            (n.name == "attr" ? "attr.<name>" : n.name == "filter_state" ? "filter_state['<key>']" : n.name == "metadata" ? "metadata.filter_metadata['<namespace>']['<key>']" : n.name + "." + fieldsOf(n.name)![0].name));
        }
        return this.fail(n.pos, "unknown name '" + n.name + "'; expected one of " + ROOTS);
      }
      case NodeKind.Select: return this.checkAccess(n, n.args[0], null, n.name);
      case NodeKind.Index: return this.checkAccess(n, n.args[0], n.args[1], "");
      case NodeKind.Call: return this.checkCall(n);
      case NodeKind.Unary: {
        const a = this.check(n.args[0]);
        if (a === null) return null;
        n.args[0] = a;
        if (n.op == Op.Not) {
          if (!fits(a.type, Type.Bool)) return this.fail(n.pos, "'!' expects bool, got " + typeName(a.type));
          n.type = Type.Bool;
        } else {
          if (!isNumeric(a.type) && a.type != Type.Dyn) return this.fail(n.pos, "'-' expects a number, got " + typeName(a.type));
          n.type = a.type;
        }
        return n;
      }
      case NodeKind.And:
      case NodeKind.Or: {
        for (let i = 0; i < 2; i++) {
          const a = this.check(n.args[i]);
          if (a === null) return null;
          if (!fits(a.type, Type.Bool)) {
            return this.fail(a.pos, "'" + (n.kind == NodeKind.And ? "&&" : "||") + "' expects bool operands, got " + typeName(a.type));
          }
          n.args[i] = a;
        }
        n.type = Type.Bool;
        return n;
      }
      case NodeKind.Ternary: {
        for (let i = 0; i < 3; i++) {
          const a = this.check(n.args[i]);
          if (a === null) return null;
          n.args[i] = a;
        }
        if (!fits(n.args[0].type, Type.Bool)) return this.fail(n.args[0].pos, "the condition of '?:' must be bool, got " + typeName(n.args[0].type));
        n.type = n.args[1].type == n.args[2].type ? n.args[1].type : Type.Dyn;
        return n;
      }
      case NodeKind.Binary: return this.checkBinary(n);
      case NodeKind.ListLit: {
        let constant = true;
        for (let i = 0; i < n.args.length; i++) {
          const a = this.check(n.args[i]);
          if (a === null) return null;
          n.args[i] = a;
          constant = constant && a.kind == NodeKind.Literal;
        }
        n.type = Type.List;
        if (constant) {
          const items = new Array<Value>();
          for (let i = 0; i < n.args.length; i++) items.push(n.args[i].value!);
          n.value = Value.list_(items);
        }
        return n;
      }
      case NodeKind.MapLit: {
        for (let i = 0; i < n.args.length; i++) {
          const a = this.check(n.args[i]);
          if (a === null) return null;
          n.args[i] = a;
        }
        n.type = Type.Map;
        return n;
      }
      default: return n; // Attr nodes are already checked
    }
  }

  checkAccess(n: Node, targetIn: Node, keyIn: Node | null, field: string): Node | null {
    const keyText = keyIn !== null ? this.literalKey(keyIn) : field;
    // Name roots: request.path, filter_state['k'], attr.x, metadata.filter_metadata, ...
    if (targetIn.kind == NodeKind.Ident && isRoot(targetIn.name)) {
      if (keyText === null) return this.fail(startPos(keyIn!), "expected a string literal key after " + targetIn.name);
      // Errors point at the field; the resolved node starts where the expression does.
      const resolved = this.resolveRootField(targetIn, keyText, n.pos);
      if (resolved !== null) resolved.pos = targetIn.pos;
      return resolved;
    }
    const target = this.check(targetIn);
    if (target === null) return null;
    if (keyText !== null && this.isMetadataAttr(target)) return this.extendMetadata(target, keyText, target.pos);
    if (keyText !== null && this.isHeaderMap(target)) {
      // One header, read through the header map API (names are case-insensitive).
      const name = lowerAscii(keyText);
      return this.attr(target.pos, Source.Header, [name], Type.String, "request.headers['" + name + "']");
    }
    n.args[0] = target;
    if (keyIn !== null) {
      const key = this.check(keyIn);
      if (key === null) return null;
      n.args[1] = key;
      if (target.type == Type.List) {
        if (!fits(key.type, Type.Int)) return this.fail(key.pos, "a list index must be int, got " + typeName(key.type));
      } else if (target.type == Type.Map) {
        if (!fits(key.type, Type.String)) return this.fail(key.pos, "a map key must be string, got " + typeName(key.type));
      } else if (target.type != Type.Dyn) {
        return this.fail(n.pos, "cannot index a value of type " + typeName(target.type) + "; expected a list or map");
      }
      n.type = target.type == Type.Map && this.isHeaderMap(target) ? Type.String : Type.Dyn;
      return n;
    }
    if (target.type != Type.Map && target.type != Type.Dyn) {
      return this.fail(n.pos, "cannot select field '" + field + "' of a value of type " + typeName(target.type) + "; expected a map");
    }
    n.type = this.isHeaderMap(target) ? Type.String : Type.Dyn;
    return n;
  }

  checkBinary(n: Node): Node | null {
    const a = this.check(n.args[0]);
    if (a === null) return null;
    const b = this.check(n.args[1]);
    if (b === null) return null;
    n.args[0] = a;
    n.args[1] = b;
    const ta = a.type, tb = b.type;
    const dyn = ta == Type.Dyn || tb == Type.Dyn;
    const mismatch = "'" + opText(n.op) + "' cannot combine " + typeName(ta) + " and " + typeName(tb);
    switch (n.op) {
      case Op.Eq:
      case Op.Ne: {
        if (!dyn && ta != tb && !(isNumeric(ta) && isNumeric(tb)) && ta != Type.Null && tb != Type.Null) return this.fail(n.pos, mismatch);
        n.type = Type.Bool;
        return n;
      }
      case Op.Lt: case Op.Le: case Op.Gt: case Op.Ge: {
        const ok = (fits(ta, Type.String) && fits(tb, Type.String)) ||
          ((isNumeric(ta) || ta == Type.Dyn) && (isNumeric(tb) || tb == Type.Dyn));
        if (!ok) return this.fail(n.pos, mismatch + "; expected two numbers or two strings");
        n.type = Type.Bool;
        return n;
      }
      case Op.In: {
        if (tb != Type.List && tb != Type.Map && tb != Type.Dyn) return this.fail(b.pos, "'in' expects a list or map on the right, got " + typeName(tb));
        if (tb == Type.Map && !fits(ta, Type.String)) return this.fail(a.pos, "'in' on a map expects a string key, got " + typeName(ta));
        n.type = Type.Bool;
        return n;
      }
      case Op.Add: {
        if (dyn) { n.type = Type.Dyn; return n; }
        if (isNumeric(ta) && isNumeric(tb)) { n.type = ta == Type.Int && tb == Type.Int ? Type.Int : Type.Double; return n; }
        if (ta == tb && (ta == Type.String || ta == Type.List)) { n.type = ta; return n; }
        return this.fail(n.pos, mismatch + "; expected numbers, strings or lists");
      }
      default: {
        if (dyn && (isNumeric(ta) || ta == Type.Dyn) && (isNumeric(tb) || tb == Type.Dyn)) { n.type = Type.Dyn; return n; }
        if (isNumeric(ta) && isNumeric(tb)) { n.type = ta == Type.Int && tb == Type.Int ? Type.Int : Type.Double; return n; }
        return this.fail(n.pos, mismatch + "; expected numbers");
      }
    }
  }

  expectArgs(n: Node, count: i32, usage: string): bool {
    if (n.args.length != count) {
      this.fail(n.pos, n.name + ": expected " + (count - (n.receiverStyle ? 1 : 0)).toString() + " argument(s): " + usage +
        ", got " + (n.args.length - (n.receiverStyle ? 1 : 0)).toString());
      return false;
    }
    return true;
  }

  expectType(n: Node, i: i32, want: Type, what: string): bool {
    const t = n.args[i].type;
    if (fits(t, want)) return true;
    this.fail(n.args[i].pos, n.name + ": expected " + what + ", got " + typeName(t));
    return false;
  }

  checkCall(n: Node): Node | null {
    // has(x): presence test; the argument is checked as usual but may be absent at run time.
    for (let i = 0; i < n.args.length; i++) {
      const a = this.check(n.args[i]);
      if (a === null) return null;
      n.args[i] = a;
    }
    const name = n.name;
    if (name == "size") {
      n.fn = Fn.Size;
      if (!this.expectArgs(n, 1, "size(string | list | map)")) return null;
      const t = n.args[0].type;
      if (t != Type.String && t != Type.List && t != Type.Map && t != Type.Dyn) return this.fail(n.args[0].pos, "size: expected a string, list or map, got " + typeName(t));
      n.type = Type.Int;
      return n;
    }
    if (name == "startsWith" || name == "endsWith" || name == "contains") {
      n.fn = name == "startsWith" ? Fn.StartsWith : name == "endsWith" ? Fn.EndsWith : Fn.Contains;
      if (!this.expectArgs(n, 2, "s." + name + "(string)")) return null;
      if (n.fn == Fn.Contains && n.args[0].type == Type.List) { n.type = Type.Bool; return n; }
      if (!this.expectType(n, 0, Type.String, "a string" + (n.fn == Fn.Contains ? " or list" : ""))) return null;
      if (!this.expectType(n, 1, Type.String, "a string")) return null;
      n.type = Type.Bool;
      return n;
    }
    if (name == "matches") {
      n.fn = Fn.Matches;
      if (!this.expectArgs(n, 2, "s.matches('regex')")) return null;
      if (!this.expectType(n, 0, Type.String, "a string")) return null;
      const pattern = this.literalKey(n.args[1]);
      if (pattern === null) return this.fail(n.args[1].pos, "matches: the pattern must be a string literal (it is compiled once, at configuration time)");
      if (pattern.length > MAX_PATTERN_LENGTH) {
        return this.fail(n.args[1].pos, "matches: invalid regular expression: pattern longer than " + MAX_PATTERN_LENGTH.toString() + " characters");
      }
      const re = compileRegex(pattern, false);
      if (re === null) {
        const e = lastRegexError();
        return this.fail(n.args[1].pos, "matches: invalid regular expression: " + (e === null ? "refused" : e.message + " at pattern position " + e.position.toString()));
      }
      n.regex = re;
      n.type = Type.Bool;
      return n;
    }
    if (name == "lower" || name == "upper" || name == "trim") {
      n.fn = name == "lower" ? Fn.Lower : name == "upper" ? Fn.Upper : Fn.Trim;
      if (!this.expectArgs(n, 1, name + "(string)")) return null;
      if (!this.expectType(n, 0, Type.String, "a string")) return null;
      n.type = Type.String;
      return n;
    }
    if (name == "split") {
      n.fn = Fn.Split;
      if (!this.expectArgs(n, 2, "s.split(separator)")) return null;
      if (!this.expectType(n, 0, Type.String, "a string") || !this.expectType(n, 1, Type.String, "a string separator")) return null;
      n.type = Type.List;
      return n;
    }
    if (name == "join") {
      n.fn = Fn.Join;
      if (!this.expectArgs(n, 2, "list.join(separator)")) return null;
      if (!this.expectType(n, 0, Type.List, "a list") || !this.expectType(n, 1, Type.String, "a string separator")) return null;
      n.type = Type.String;
      return n;
    }
    if (name == "ip_in_cidr") {
      n.fn = Fn.IpInCidr;
      if (!this.expectArgs(n, 2, "ip_in_cidr(address, 'cidr' | ['cidr', ...])")) return null;
      if (!this.expectType(n, 0, Type.String, "an address string")) return null;
      const ranges = new Array<Cidr>();
      const arg = n.args[1];
      const texts = new Array<string>();
      const single = this.literalKey(arg);
      if (single !== null) texts.push(single);
      else if (arg.kind == NodeKind.ListLit && arg.value !== null) {
        const items = arg.value!.items!;
        for (let i = 0; i < items.length; i++) {
          if (items[i].kind != Kind.String) return this.fail(arg.args[i].pos, "ip_in_cidr: expected CIDR strings in the list");
          texts.push(items[i].s);
        }
      } else {
        return this.fail(arg.pos, "ip_in_cidr: the ranges must be a string literal or a list of string literals");
      }
      for (let i = 0; i < texts.length; i++) {
        const c = Cidr.parse(texts[i]);
        if (c === null) return this.fail(arg.pos, "ip_in_cidr: invalid CIDR '" + texts[i] + "'; expected e.g. '10.0.0.0/8' or '2001:db8::/32'");
        ranges.push(c);
      }
      n.cidrs = new CidrTest(new CidrSet(ranges));
      n.type = Type.Bool;
      return n;
    }
    if (name == "has") {
      n.fn = Fn.Has;
      if (!this.expectArgs(n, 1, "has(attribute)")) return null;
      n.type = Type.Bool;
      return n;
    }
    if (name == "string" || name == "int" || name == "double") {
      n.fn = name == "string" ? Fn.ToString : name == "int" ? Fn.ToInt : Fn.ToDouble;
      if (!this.expectArgs(n, 1, name + "(value)")) return null;
      const t = n.args[0].type;
      if (t == Type.List || t == Type.Map || t == Type.Null) return this.fail(n.args[0].pos, name + ": cannot convert " + typeName(t));
      n.type = name == "string" ? Type.String : name == "int" ? Type.Int : Type.Double;
      return n;
    }
    return this.fail(n.pos, "unknown function '" + name + "'; expected one of " + FUNCTIONS);
  }
}
