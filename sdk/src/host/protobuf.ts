/**
 * A minimal protobuf (proto3) writer for the few messages Envoy hands to Wasm modules as
 * serialized protobuf through `proxy_get_property`: `google.protobuf.Struct`,
 * `envoy.config.core.v3.Metadata` and `envoy.config.core.v3.Node`.
 */

/** JSON-like values as stored in a `google.protobuf.Struct`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.push(data);
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, new TextEncoder().encode(s));
  }

  doubleField(field: number, v: number): void {
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
  }

  varintField(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

/** `google.protobuf.Value` */
export function encodeValue(v: JsonValue): Uint8Array {
  const w = new Writer();
  if (v === null) w.varintField(1, 0);
  else if (typeof v === 'number') w.doubleField(2, v);
  else if (typeof v === 'string') w.stringField(3, v);
  else if (typeof v === 'boolean') w.varintField(4, v ? 1 : 0);
  else if (Array.isArray(v)) w.bytesField(6, encodeListValue(v));
  else w.bytesField(5, encodeStruct(v));
  return w.finish();
}

/** `google.protobuf.ListValue` */
export function encodeListValue(list: readonly JsonValue[]): Uint8Array {
  const w = new Writer();
  for (const item of list) w.bytesField(1, encodeValue(item));
  return w.finish();
}

/** `google.protobuf.Struct` (map<string, Value> fields = 1). */
export function encodeStruct(obj: { readonly [key: string]: JsonValue }): Uint8Array {
  const w = new Writer();
  for (const [k, v] of Object.entries(obj)) {
    const entry = new Writer();
    entry.stringField(1, k);
    entry.bytesField(2, encodeValue(v));
    w.bytesField(1, entry.finish());
  }
  return w.finish();
}

export interface MetadataInit {
  /** `filter_metadata`: filter name -> Struct. */
  filter_metadata?: Record<string, { [key: string]: JsonValue }>;
}

/** `envoy.config.core.v3.Metadata` (only `filter_metadata`). */
export function encodeMetadata(m: MetadataInit): Uint8Array {
  const w = new Writer();
  for (const [k, v] of Object.entries(m.filter_metadata ?? {})) {
    const entry = new Writer();
    entry.stringField(1, k);
    entry.bytesField(2, encodeStruct(v));
    w.bytesField(1, entry.finish());
  }
  return w.finish();
}

export interface LocalityInit {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface NodeInit {
  id?: string;
  cluster?: string;
  metadata?: { [key: string]: JsonValue };
  locality?: LocalityInit;
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

export function encodeLocality(l: LocalityInit): Uint8Array {
  const w = new Writer();
  if (l.region) w.stringField(1, l.region);
  if (l.zone) w.stringField(2, l.zone);
  if (l.sub_zone) w.stringField(3, l.sub_zone);
  return w.finish();
}

/** `envoy.config.core.v3.Node` (the commonly used fields). */
export function encodeNode(n: NodeInit): Uint8Array {
  const w = new Writer();
  if (n.id) w.stringField(1, n.id);
  if (n.cluster) w.stringField(2, n.cluster);
  if (n.metadata && Object.keys(n.metadata).length > 0) w.bytesField(3, encodeStruct(n.metadata));
  if (n.locality) w.bytesField(4, encodeLocality(n.locality));
  if (n.user_agent_name) w.stringField(6, n.user_agent_name);
  if (n.user_agent_version) w.stringField(7, n.user_agent_version);
  for (const f of n.client_features ?? []) w.stringField(10, f);
  return w.finish();
}
