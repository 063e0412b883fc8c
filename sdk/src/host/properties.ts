/**
 * The property tree behind `proxy_get_property` / `proxy_set_property`, with Envoy's encodings.
 *
 * Envoy resolves a property path (parts separated by NUL bytes) against CEL attributes and
 * serializes the value it finds "natively" (source/extensions/common/wasm/context.cc,
 * `serializeValue`):
 *   - string, bytes          raw bytes
 *   - int64 / uint64         8 bytes little-endian (two's complement for int64)
 *   - double                 8 bytes IEEE-754 little-endian
 *   - bool                   1 byte (0 or 1)
 *   - timestamp              int64 nanoseconds since the Unix epoch, 8 bytes LE
 *   - duration               int64 nanoseconds, 8 bytes LE
 *   - map                    Proxy-Wasm pairs (key, serialized value)
 *   - list                   Proxy-Wasm pairs (serialized item, empty value)
 *   - protobuf message       the message's binary protobuf serialization (e.g. `node`, `metadata`)
 *   - null                   SERIALIZATION_FAILURE
 * Walking into a message yields its fields; a `google.protobuf.Struct` field becomes a map whose
 * numbers are doubles. Missing values give NOT_FOUND.
 *
 * In the tree given to the host, JS values map to those types: string -> string,
 * integer number / bigint -> int64, other numbers -> double, boolean -> bool, Date -> timestamp,
 * Uint8Array -> bytes, plain object -> map, array -> list, function -> computed on each lookup,
 * `undefined` -> absent. `property.*` builds explicitly typed values (uint, double, duration,
 * protobuf messages such as `property.node(...)`).
 */
import { serializePairs } from './headers.js';
import { encodeUtf8 } from './memory.js';
import {
  encodeLocality,
  encodeMetadata,
  encodeNode,
  type JsonValue,
  type MetadataInit,
  type NodeInit,
} from './protobuf.js';

export type PropertyKind =
  | 'string'
  | 'bytes'
  | 'int'
  | 'uint'
  | 'double'
  | 'bool'
  | 'timestamp'
  | 'duration'
  | 'null'
  | 'map'
  | 'list'
  | 'message';

export type PropertyValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | Date
  | null
  | undefined
  | TypedProperty
  | readonly PropertyValue[]
  | PropertyTree
  | (() => PropertyValue);

export interface PropertyTree {
  readonly [key: string]: PropertyValue;
}

/** A value with an explicit Envoy/CEL type. */
export class TypedProperty {
  constructor(
    readonly kind: PropertyKind,
    readonly value: unknown,
    /** For messages: how the whole message serializes (binary protobuf). */
    readonly encodeWhole?: () => Uint8Array,
    /** Walkable, but asking for the whole value is a SERIALIZATION_FAILURE (Envoy's `filter_state`). */
    readonly opaque = false,
  ) {}
}

function toNanos(t: Date | bigint | number): bigint {
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (typeof t === 'bigint') return t;
  return BigInt(Math.round(t * 1_000_000));
}

/** Convert a `google.protobuf.Struct`-shaped JSON value to how CEL exposes it. */
export function structValue(v: JsonValue): PropertyValue {
  if (v === null) return new TypedProperty('null', null);
  if (typeof v === 'number') return new TypedProperty('double', v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return new TypedProperty('list', v.map(structValue));
  const out: Record<string, PropertyValue> = {};
  for (const [k, item] of Object.entries(v)) out[k] = structValue(item);
  return new TypedProperty('map', out);
}

/** Builders for explicitly typed property values. */
export const property = {
  string: (s: string): TypedProperty => new TypedProperty('string', s),
  bytes: (b: Uint8Array | string): TypedProperty =>
    new TypedProperty('bytes', typeof b === 'string' ? encodeUtf8(b) : b),
  int: (n: number | bigint): TypedProperty => new TypedProperty('int', BigInt(n)),
  uint: (n: number | bigint): TypedProperty => new TypedProperty('uint', BigInt(n)),
  double: (n: number): TypedProperty => new TypedProperty('double', n),
  bool: (b: boolean): TypedProperty => new TypedProperty('bool', b),
  /** A timestamp from a Date, epoch milliseconds (number) or epoch nanoseconds (bigint). */
  timestamp: (t: Date | number | bigint): TypedProperty => new TypedProperty('timestamp', toNanos(t)),
  /** A duration from milliseconds (number) or nanoseconds (bigint). */
  duration: (d: number | bigint): TypedProperty => new TypedProperty('duration', toNanos(d)),
  map: (entries: PropertyTree): TypedProperty => new TypedProperty('map', entries),
  list: (items: readonly PropertyValue[]): TypedProperty => new TypedProperty('list', items),
  /** A `google.protobuf.Struct` as CEL exposes it (a map; numbers are doubles). */
  struct: (obj: { [key: string]: JsonValue }): PropertyValue => structValue(obj),
  /** A protobuf message: `fields` are walked into, `encoded` is returned for the whole message. */
  message: (encoded: Uint8Array | (() => Uint8Array), fields: PropertyTree = {}): TypedProperty =>
    new TypedProperty('message', fields, typeof encoded === 'function' ? encoded : () => encoded),
  /** `envoy.config.core.v3.Node`, as Envoy exposes `node` / `xds.node`. */
  node: (n: NodeInit): TypedProperty =>
    new TypedProperty(
      'message',
      {
        id: n.id ?? '',
        cluster: n.cluster ?? '',
        metadata: structValue(n.metadata ?? {}),
        locality: new TypedProperty(
          'message',
          { region: n.locality?.region ?? '', zone: n.locality?.zone ?? '', sub_zone: n.locality?.sub_zone ?? '' },
          () => encodeLocality(n.locality ?? {}),
        ),
        user_agent_name: n.user_agent_name ?? '',
        user_agent_version: n.user_agent_version ?? '',
        client_features: new TypedProperty('list', n.client_features ?? []),
      },
      () => encodeNode(n),
    ),
  /** `envoy.config.core.v3.Metadata`, as Envoy exposes `metadata`, `xds.route_metadata`, ... */
  metadata: (m: MetadataInit): TypedProperty => {
    const fm: Record<string, PropertyValue> = {};
    for (const [k, v] of Object.entries(m.filter_metadata ?? {})) fm[k] = structValue(v);
    return new TypedProperty('message', { filter_metadata: new TypedProperty('map', fm) }, () => encodeMetadata(m));
  },
};

export type PropertyLookup =
  | { status: 'ok'; value: Uint8Array }
  | { status: 'not_found' }
  | { status: 'serialization_failure' };

function isPlainObject(v: unknown): v is PropertyTree {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function evaluate(v: PropertyValue): PropertyValue {
  let cur = v;
  for (let i = 0; i < 8 && typeof cur === 'function'; i++) cur = (cur as () => PropertyValue)();
  return cur;
}

const MISSING = Symbol('missing');

function child(container: PropertyValue, key: string): PropertyValue | typeof MISSING {
  const v = evaluate(container);
  let target: unknown = v;
  if (v instanceof TypedProperty) {
    if (v.kind === 'map' || v.kind === 'message' || v.kind === 'list') target = v.value;
    else return MISSING;
  }
  if (Array.isArray(target)) {
    if (!/^-?\d+$/.test(key)) return MISSING;
    const idx = Number(key);
    if (idx < 0 || idx >= target.length) return MISSING;
    return target[idx] as PropertyValue;
  }
  if (isPlainObject(target)) {
    if (!Object.prototype.hasOwnProperty.call(target, key)) return MISSING;
    const r = target[key];
    return r === undefined ? MISSING : r;
  }
  return MISSING;
}

function int64Bytes(n: bigint, signed: boolean): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  if (signed) dv.setBigInt64(0, BigInt.asIntN(64, n), true);
  else dv.setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
}

function doubleBytes(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, true);
  return b;
}

class SerializationFailure extends Error {}

/** Serialize a resolved value Envoy's way; throws SerializationFailure for unserializable values. */
export function serializeProperty(value: PropertyValue): Uint8Array | undefined {
  const v = evaluate(value);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return encodeUtf8(v);
  if (typeof v === 'boolean') return Uint8Array.of(v ? 1 : 0);
  if (typeof v === 'bigint') return int64Bytes(v, true);
  if (typeof v === 'number') return Number.isInteger(v) ? int64Bytes(BigInt(v), true) : doubleBytes(v);
  if (v instanceof Uint8Array) return v.slice();
  if (v instanceof Date) return int64Bytes(toNanos(v), true);
  if (v instanceof TypedProperty) {
    if (v.opaque) throw new SerializationFailure();
    switch (v.kind) {
      case 'string':
        return encodeUtf8(String(v.value));
      case 'bytes':
        return (v.value as Uint8Array).slice();
      case 'int':
      case 'timestamp':
      case 'duration':
        return int64Bytes(v.value as bigint, true);
      case 'uint':
        return int64Bytes(v.value as bigint, false);
      case 'double':
        return doubleBytes(v.value as number);
      case 'bool':
        return Uint8Array.of(v.value ? 1 : 0);
      case 'null':
        throw new SerializationFailure();
      case 'map':
        return serializeMap(v.value as PropertyTree);
      case 'list':
        return serializeList(v.value as readonly PropertyValue[]);
      case 'message':
        return v.encodeWhole ? v.encodeWhole() : new Uint8Array(0);
    }
  }
  if (Array.isArray(v)) return serializeList(v as readonly PropertyValue[]);
  if (isPlainObject(v)) return serializeMap(v);
  throw new SerializationFailure();
}

function serializeMap(tree: PropertyTree): Uint8Array {
  const pairs: Array<[string, Uint8Array]> = [];
  for (const [k, item] of Object.entries(tree)) {
    const s = serializeProperty(item);
    if (s === undefined) continue;
    pairs.push([k, s]);
  }
  return serializePairs(pairs);
}

function serializeList(items: readonly PropertyValue[]): Uint8Array {
  const pairs: Array<[Uint8Array, string]> = [];
  for (const item of items) {
    const s = serializeProperty(item);
    if (s === undefined) throw new SerializationFailure();
    pairs.push([s, '']);
  }
  return serializePairs(pairs);
}

/** Split a property path into parts the way Envoy does (NUL-separated). */
export function splitPropertyPath(path: Uint8Array): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0) {
      if (i === path.length && start === i) break;
      parts.push(Buffer.from(path.buffer, path.byteOffset + start, i - start).toString('utf8'));
      start = i + 1;
    }
  }
  return parts;
}

/**
 * Resolve `parts` against `root`. `fallback(name)` is consulted for an unknown top-level name
 * (Envoy looks such names up as filter state set through `proxy_set_property`).
 */
export function lookupProperty(
  root: PropertyTree,
  parts: readonly string[],
  fallback?: (name: string) => PropertyValue,
): PropertyLookup {
  if (parts.length === 0) return { status: 'not_found' };
  let cur: PropertyValue | typeof MISSING = child(root, parts[0]!);
  if (cur === MISSING && fallback) {
    const f = fallback(parts[0]!);
    cur = f === undefined ? MISSING : f;
  }
  for (let i = 1; i < parts.length && cur !== MISSING; i++) cur = child(cur, parts[i]!);
  if (cur === MISSING) return { status: 'not_found' };
  try {
    const bytes = serializeProperty(cur);
    if (bytes === undefined) return { status: 'not_found' };
    return { status: 'ok', value: bytes };
  } catch (e) {
    if (e instanceof SerializationFailure) return { status: 'serialization_failure' };
    throw e;
  }
}

/**
 * Deep-merge property trees: plain objects merge key by key, anything else in `over` replaces
 * the value in `base`; an explicit `undefined` removes it.
 */
export function mergeProperties(base: PropertyTree, over: PropertyTree | undefined): PropertyTree {
  if (!over) return base;
  const out: Record<string, PropertyValue> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    if (isPlainObject(v) && isPlainObject(prev)) out[k] = mergeProperties(prev, v);
    else out[k] = v;
  }
  return out;
}

/** Decoders for tests: read back values in Envoy's encodings. */
export const decodeProperty = {
  string: (b: Uint8Array): string => Buffer.from(b).toString('utf8'),
  int: (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigInt64(0, true),
  uint: (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true),
  double: (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(0, true),
  bool: (b: Uint8Array): boolean => b.length > 0 && b[0] !== 0,
};
