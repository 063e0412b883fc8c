// What an expression can read, and the per-request cache of what it has read. The checker turns
// every attribute reference into an `AttrSpec` with a slot; a request reads a slot from the host
// (through an `Activation` subclass) only the first time an expression evaluated for it needs
// it, so unused properties cost nothing.
import { Type } from "./ast";
import { Value, Kind } from "./value";

export enum Source {
  /** `proxy_get_property(path)`, decoded by the spec's type (string, int or bool). */
  Property,
  /** One request header (`path[0]` is the lowercase name); repeated values joined with ",". */
  Header,
  /** `request.headers` as a whole: a map of lowercase names. */
  HeaderMap,
  /** Filter state holding JSON (the JWT filter's claims), parsed into a map. */
  JsonProperty,
  /** Filter state holding a decimal integer (the WAF's anomaly score). */
  IntProperty,
  /** `request.url_path`: `:path` without the query and fragment. */
  UrlPath,
  /** `request.query`: `:path` after "?" (without the fragment), "" when there is none. */
  Query,
  /** An attribute this filter computed earlier for the same request (`attr.<name>`). */
  Computed,
}

export class AttrSpec {
  slot: i32 = -1;
  /** For Header: the name as UTF-8; for the property sources: the ABI path (NUL-joined UTF-8). Encoded once. */
  nameBytes: ArrayBuffer = new ArrayBuffer(0);
  constructor(public source: Source, public path: Array<string>, public type: Type, public display: string) {
    if (source == Source.Header) this.nameBytes = String.UTF8.encode(path[0]);
    else if (source == Source.Property || source == Source.JsonProperty || source == Source.IntProperty) {
      this.nameBytes = String.UTF8.encode(path.join("\0"));
    }
  }

  key(): string { return (<i32>this.source).toString() + ":" + (<i32>this.type).toString() + ":" + this.path.join("\0"); }
}

/** Every attribute a configuration's expressions read; one slot each (deduplicated). */
export class AttrRegistry {
  specs: Array<AttrSpec> = new Array<AttrSpec>();
  private index: Map<string, i32> = new Map<string, i32>();

  register(spec: AttrSpec): AttrSpec {
    const k = spec.key();
    if (this.index.has(k)) return this.specs[this.index.get(k)];
    spec.slot = this.specs.length;
    this.specs.push(spec);
    this.index.set(k, spec.slot);
    return spec;
  }

  /**
   * Replaces every spec with a fresh copy, in slot order, once registration is over (see
   * compact.ts: the request path then reads them from adjacent memory).
   */
  compact(): void {
    const copies = new Array<AttrSpec>(this.specs.length);
    for (let i = 0; i < copies.length; i++) {
      const s = this.specs[i];
      const c = new AttrSpec(s.source, s.path, s.type, s.display);
      c.slot = s.slot;
      unchecked(copies[i] = c);
    }
    this.specs = copies;
  }

  /** The slot of `attr.<name>`, or -1 when no expression reads it. */
  computedSlot(name: string): i32 {
    const k = (<i32>Source.Computed).toString() + ":" + (<i32>Type.Dyn).toString() + ":" + name;
    return this.index.has(k) ? this.index.get(k) : -1;
  }
}

/** Reads attributes for one request. Subclasses implement `fetch`; `reset` starts a new request. */
export abstract class Activation {
  private cache: Array<Value | null> = new Array<Value | null>();
  /** Distinct attributes read since `reset` (for tests and debug logs). */
  fetches: i32 = 0;

  constructor(public registry: AttrRegistry) {}

  reset(): void {
    const n = this.registry.specs.length;
    if (this.cache.length != n) this.cache = new Array<Value | null>(n);
    for (let i = 0; i < n; i++) unchecked(this.cache[i] = null);
    this.fetches = 0;
  }

  get(slot: i32): Value {
    if (slot < 0 || slot >= this.cache.length) return Value.absent();
    const cached = unchecked(this.cache[slot]);
    if (cached !== null) return cached;
    const spec = this.registry.specs[slot];
    const v = spec.source == Source.Computed ? Value.absent() : this.fetch(spec);
    this.fetches++;
    unchecked(this.cache[slot] = v);
    return v;
  }

  /** Whether the attribute is present (not ABSENT); subclasses may answer without reading the value. */
  has(slot: i32): bool { return this.get(slot).kind != Kind.Absent; }

  /** Whether `slot` was already read (or computed) for this request. */
  isCached(slot: i32): bool {
    return slot >= 0 && slot < this.cache.length && unchecked(this.cache[slot]) !== null;
  }

  /** Stores a computed attribute so later expressions read it as `attr.<name>`. */
  setComputed(slot: i32, v: Value): void {
    if (slot >= 0 && slot < this.cache.length) unchecked(this.cache[slot] = v);
  }

  abstract fetch(spec: AttrSpec): Value;
}
