// A configured attribute and how it is computed for one request: rules (first match wins) or a
// generator, then the default. Pure: host reads go through the Activation.
import { Activation, AttrRegistry, AttrSpec, Source, Type, Node, Value, Kind, evaluate, ABSENT } from "./expr/index";
import { compactNode } from "./expr/compact";
import { PathSegments, PathTemplate } from "./generators/operation";
import { parseSpiffeId, spiffePart } from "./generators/spiffe";
import { ClientMemo, ClientSignals, ClientTokens, CLIENT_CLASSES } from "./generators/client-class";
import { versionFromAccept, versionFromHeader, versionFromPath } from "./generators/api-version";

export class Rule {
  constructor(public when: Node | null, public value: Node) {}
}

/** Generators read the request through registry slots, so reads are shared and lazy like expressions'. */
export abstract class Generator {
  abstract compute(act: Activation): Value;
  /** Moves what `compute` reads next to each other (see expr/compact.ts); most generators hold little. */
  compact(): void {}
}

function slotOf(reg: AttrRegistry, source: Source, path: Array<string>, type: Type, display: string): i32 {
  return reg.register(new AttrSpec(source, path, type, display)).slot;
}

function headerSlot(reg: AttrRegistry, name: string): i32 {
  return slotOf(reg, Source.Header, [name], Type.String, "request.headers['" + name + "']");
}

function stringOf(act: Activation, slot: i32): string | null {
  const v = act.get(slot);
  return v.kind == Kind.String ? v.s : null;
}

export class OperationGenerator extends Generator {
  methodSlot: i32;
  pathSlot: i32;
  private segments: PathSegments = new PathSegments();
  constructor(reg: AttrRegistry, public templates: Array<PathTemplate>) {
    super();
    this.methodSlot = headerSlot(reg, ":method");
    this.pathSlot = slotOf(reg, Source.UrlPath, [":path"], Type.String, "request.url_path");
  }

  compact(): void {
    const copies = new Array<PathTemplate>(this.templates.length);
    for (let i = 0; i < copies.length; i++) unchecked(copies[i] = this.templates[i].compacted());
    this.templates = copies;
  }

  compute(act: Activation): Value {
    const path = stringOf(act, this.pathSlot);
    if (path === null) return ABSENT;
    const m = stringOf(act, this.methodSlot);
    const method = m === null ? "" : m;
    const segs = this.segments;
    segs.set(path);
    for (let i = 0; i < this.templates.length; i++) {
      const t = this.templates[i];
      if (t.matches(method, segs)) return t.result;
    }
    return ABSENT;
  }
}

export class SpiffeGenerator extends Generator {
  mtlsSlot: i32;
  sanSlot: i32;
  constructor(reg: AttrRegistry, public part: string) {
    super();
    this.mtlsSlot = slotOf(reg, Source.Property, ["connection", "mtls"], Type.Bool, "connection.mtls");
    this.sanSlot = slotOf(reg, Source.Property, ["connection", "uri_san_peer_certificate"], Type.String, "connection.uri_san_peer_certificate");
  }

  compute(act: Activation): Value {
    // The SAN first: on a plaintext connection it is NotFound, the cheapest host answer (no data
    // to copy in). Then only a validated client certificate counts (connection.mtls).
    const san = stringOf(act, this.sanSlot);
    if (san === null) return ABSENT;
    const mtls = act.get(this.mtlsSlot);
    if (mtls.kind != Kind.Bool || !mtls.b) return ABSENT;
    const id = parseSpiffeId(san);
    if (id === null) return ABSENT;
    const v = spiffePart(id, san, this.part);
    return v === null ? ABSENT : Value.string_(v);
  }
}

export class ClientClassGenerator extends Generator {
  ua: i32; lang: i32; fetchMode: i32; chUa: i32; requestedWith: i32;
  tokens: ClientTokens;
  constructor(reg: AttrRegistry, bots: Array<string>, cli: Array<string>, mobile: Array<string>) {
    super();
    this.tokens = new ClientTokens(bots, cli, mobile);
    this.ua = headerSlot(reg, "user-agent");
    this.lang = headerSlot(reg, "accept-language");
    this.fetchMode = headerSlot(reg, "sec-fetch-mode");
    this.chUa = headerSlot(reg, "sec-ch-ua");
    this.requestedWith = headerSlot(reg, "x-requested-with");
  }

  /** One per generator, refilled per request (requests run one at a time in a VM). */
  private sig: ClientSignals = new ClientSignals();
  /** Recent clients' classes (a repeated client skips the token scan). */
  private memo: ClientMemo = new ClientMemo();

  /** Makes every class's value, encoded for the outputs, next to each other (see expr/compact.ts). */
  compact(): void {
    for (let i = 0; i < CLIENT_CLASSES.length; i++) {
      const v = this.valueOf(CLIENT_CLASSES[i]);
      v.utf8(v.s);
    }
  }

  compute(act: Activation): Value {
    const sig = this.sig;
    sig.userAgent = stringOf(act, this.ua);
    sig.requestedWith = null;
    sig.acceptLanguage = false;
    sig.secFetch = false;
    sig.secChUa = false;
    // Headers are read only as far as the decision needs them; for three, presence is enough.
    const ua = sig.userAgent;
    if (ua !== null && ua.length > 0) {
      sig.requestedWith = stringOf(act, this.requestedWith);
      sig.acceptLanguage = act.has(this.lang);
      sig.secFetch = act.has(this.fetchMode);
      sig.secChUa = act.has(this.chUa);
    }
    return this.valueOf(this.memo.classify(sig, this.tokens));
  }

  // One Value per class name, reused by every request (its UTF-8 form is then encoded once).
  // classifyClient returns one of a few string constants, so a short list found by identity
  // serves where a Map would hash the name on every request.
  private classNames: Array<string> = new Array<string>();
  private classValues: Array<Value> = new Array<Value>();
  private valueOf(name: string): Value {
    const names = this.classNames;
    for (let i = 0; i < names.length; i++) if (unchecked(names[i]) == name) return unchecked(this.classValues[i]);
    const v = Value.string_(name);
    names.push(name);
    this.classValues.push(v);
    return v;
  }
}

export class ApiVersionGenerator extends Generator {
  header: i32 = -1;
  path: i32 = -1;
  accept: i32 = -1;
  constructor(reg: AttrRegistry, headerName: string, fromPath: bool, fromAccept: bool) {
    super();
    if (headerName.length > 0) this.header = headerSlot(reg, headerName);
    if (fromPath) this.path = slotOf(reg, Source.UrlPath, [":path"], Type.String, "request.url_path");
    if (fromAccept) this.accept = headerSlot(reg, "accept");
  }

  compute(act: Activation): Value {
    if (this.header >= 0) {
      const h = stringOf(act, this.header);
      if (h !== null) { const v = versionFromHeader(h); if (v !== null) return Value.string_(v); }
    }
    if (this.path >= 0) {
      const p = stringOf(act, this.path);
      if (p !== null) { const v = versionFromPath(p); if (v !== null) return Value.string_(v); }
    }
    if (this.accept >= 0) {
      const a = stringOf(act, this.accept);
      if (a !== null) { const v = versionFromAccept(a); if (v !== null) return Value.string_(v); }
    }
    return ABSENT;
  }
}

/** The default of the byte fields below: shared, so an attribute's copy allocates none of its own. */
const NO_BYTES = new ArrayBuffer(0);

// Field order is memory order: what every request reads (how to compute, which outputs) first,
// the names that only configuration and debug logs use last.
export class Attribute {
  generator: Generator | null = null;
  rules: Array<Rule> = new Array<Rule>();
  defaultValue: Node | null = null;
  /** Slot of attr.<name> when a later expression reads it; -1 otherwise. */
  computedSlot: i32 = -1;
  filterState: bool = true;
  /**
   * Whether `header` / `responseHeader` is set, kept in the attribute itself: a request then reads
   * the name's object only when it writes that output (one cache line less per attribute).
   */
  hasHeader: bool = false;
  hasResponseHeader: bool = false;
  /** `meshward.attr.<name>` as UTF-8 (Envoy stores it as filter state `wasm.meshward.attr.<name>`). */
  filterStateKey: ArrayBuffer = NO_BYTES;
  headerBytes: ArrayBuffer = NO_BYTES;
  name: string = "";
  /** Request header to the upstream ("" = none). */
  header: string = "";
  responseHeader: string = "";

  /**
   * A copy whose rules and default are laid out next to each other (see expr/compact.ts); made
   * once, after the whole configuration parsed, attribute by attribute in evaluation order.
   */
  compacted(): Attribute {
    const c = new Attribute();
    // The filter-state key right after the attribute: the outputs read both.
    c.filterStateKey = this.filterStateKey.slice(0);
    c.name = this.name;
    const g = this.generator;
    if (g !== null) g.compact();
    c.generator = g;
    const rules = new Array<Rule>(this.rules.length);
    for (let i = 0; i < rules.length; i++) {
      const r = this.rules[i];
      const when = r.when;
      unchecked(rules[i] = new Rule(when === null ? null : compactNode(when), compactNode(r.value)));
    }
    c.rules = rules;
    const d = this.defaultValue;
    if (d !== null) c.defaultValue = compactNode(d);
    c.header = this.header;
    c.headerBytes = this.headerBytes;
    c.filterState = this.filterState;
    c.responseHeader = this.responseHeader;
    c.hasHeader = this.header.length > 0;
    c.hasResponseHeader = this.responseHeader.length > 0;
    c.computedSlot = this.computedSlot;
    return c;
  }

  /** The attribute's value for this request; ABSENT when no rule matched and there is no default. */
  compute(act: Activation): Value {
    let v = ABSENT;
    const g = this.generator;
    if (g !== null) {
      v = g.compute(act);
    } else {
      for (let i = 0; i < this.rules.length; i++) {
        const r = unchecked(this.rules[i]);
        const when = r.when;
        if (when !== null) {
          const c = evaluate(when, act);
          if (c.kind != Kind.Bool || !c.b) continue;
        }
        v = evaluate(r.value, act);
        break;
      }
    }
    if (v.kind == Kind.Absent && this.defaultValue !== null) v = evaluate(this.defaultValue!, act);
    return v;
  }
}
