/**
 * Header maps and the Proxy-Wasm pair serialization
 * (u32 count, count x (u32 key_len, u32 value_len), then each key and value NUL-terminated).
 *
 * `HeaderMap` behaves like Envoy's header map as seen through the ABI: keys are lower-cased,
 * pseudo-headers (`:path`, ...) are kept ahead of regular headers, repeated headers are separate
 * entries, `get` returns the first value and `byteSize` is the sum of key and value lengths
 * (what Envoy reports from `proxy_get_header_map_size`).
 */

export type HeaderPair = [name: string, value: string];

/** Headers accepted from users: a record (array values repeat the header) or a list of pairs. */
export type HeadersInit =
  | Record<string, string | number | readonly string[] | undefined>
  | ReadonlyArray<readonly [string, string]>
  | HeaderMap;

/** Envoy's limits on serialized pairs coming from a module. */
export const PAIRS_MAX_BYTES = 1024 * 1024;
export const PAIRS_MAX_COUNT = 1024;

export class HeaderMap {
  private entries: HeaderPair[] = [];

  constructor(init?: HeadersInit) {
    if (init) this.addAll(init);
  }

  static from(init?: HeadersInit): HeaderMap {
    return init instanceof HeaderMap ? init.clone() : new HeaderMap(init);
  }

  addAll(init: HeadersInit): void {
    if (init instanceof HeaderMap) {
      for (const [k, v] of init.entries) this.add(k, v);
    } else if (Array.isArray(init)) {
      for (const [k, v] of init as ReadonlyArray<readonly [string, string]>) this.add(k, v);
    } else {
      for (const [k, v] of Object.entries(init as Record<string, string | number | readonly string[] | undefined>)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const item of v as readonly string[]) this.add(k, item);
        else this.add(k, String(v));
      }
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Sum of key and value byte lengths. */
  get byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const e of this.entries) if (e[0] === key) return e[1];
    return undefined;
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const e of this.entries) if (e[0] === key) out.push(e[1]);
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key.startsWith(':')) {
      let i = 0;
      while (i < this.entries.length && this.entries[i]![0].startsWith(':')) i++;
      this.entries.splice(i, 0, [key, value]);
    } else {
      this.entries.push([key, value]);
    }
  }

  /** Set a header to one value: remove every occurrence, then add it (Envoy's setCopy order). */
  set(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    if (this.entries.some((e) => e[0] === key)) this.entries = this.entries.filter((e) => e[0] !== key);
  }

  clear(): void {
    this.entries = [];
  }

  replaceAll(pairs: readonly HeaderPair[]): void {
    this.entries = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  pairs(): HeaderPair[] {
    return this.entries.map((e) => [e[0], e[1]]);
  }

  clone(): HeaderMap {
    const m = new HeaderMap();
    m.entries = this.pairs();
    return m;
  }

  /** Regular (non-pseudo) headers as a record, repeated values joined with `sep`. */
  toRecord(sep = ', ', includePseudo = false): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries) {
      if (!includePseudo && k.startsWith(':')) continue;
      const prev = out[k];
      out[k] = prev === undefined ? v : prev + sep + v;
    }
    return out;
  }

  [Symbol.iterator](): Iterator<HeaderPair> {
    return this.pairs()[Symbol.iterator]();
  }
}

/** Serialize pairs in the Proxy-Wasm map format (an empty list serializes to 4 zero bytes). */
export function serializePairs(pairs: Iterable<readonly [string | Uint8Array, string | Uint8Array]>): Uint8Array {
  const enc: Array<[Buffer, Buffer]> = [];
  let size = 4;
  for (const [k, v] of pairs) {
    const kb = typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k.buffer, k.byteOffset, k.byteLength);
    const vb = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    enc.push([kb, vb]);
    size += 8 + kb.length + 1 + vb.length + 1;
  }
  const out = Buffer.alloc(size);
  out.writeUInt32LE(enc.length, 0);
  let pos = 4;
  for (const [kb, vb] of enc) {
    out.writeUInt32LE(kb.length, pos);
    out.writeUInt32LE(vb.length, pos + 4);
    pos += 8;
  }
  for (const [kb, vb] of enc) {
    kb.copy(out, pos);
    pos += kb.length + 1;
    vb.copy(out, pos);
    pos += vb.length + 1;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Parse the Proxy-Wasm map format the way Envoy does: anything malformed (or over Envoy's limits)
 * yields an empty list rather than an error.
 */
export function deserializePairsBytes(data: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  if (data.length < 4 || data.length > PAIRS_MAX_BYTES) return [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = dv.getUint32(0, true);
  if (count > PAIRS_MAX_COUNT) return [];
  let pos = 4;
  if (pos + count * 8 > data.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    sizes.push([dv.getUint32(pos, true), dv.getUint32(pos + 4, true)]);
    pos += 8;
  }
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for (const [ks, vs] of sizes) {
    if (pos + ks + 1 > data.length) return [];
    const k = data.subarray(pos, pos + ks);
    pos += ks;
    if (data[pos++] !== 0) return [];
    if (pos + vs + 1 > data.length) return [];
    const v = data.subarray(pos, pos + vs);
    pos += vs;
    if (data[pos++] !== 0) return [];
    out.push([k, v]);
  }
  if (pos !== data.length) return [];
  return out;
}

export function deserializePairs(data: Uint8Array): HeaderPair[] {
  return deserializePairsBytes(data).map(([k, v]) => [bytesToString(k), bytesToString(v)]);
}

function bytesToString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** Headers Node's HTTP parser keeps only once (later duplicates are dropped). */
const NODE_SINGLE_VALUE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Flatten headers the way the echo upstream (a Node HTTP server) sees them: lower-cased names,
 * repeated values joined with ", " (cookies with "; "), single-value headers keep the first.
 */
export function flattenLikeNode(pairs: Iterable<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawK, v] of pairs) {
    const k = rawK.toLowerCase();
    if (k.startsWith(':')) continue;
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (NODE_SINGLE_VALUE.has(k)) continue;
    else out[k] = prev + (k === 'cookie' ? '; ' : ', ') + v;
  }
  return out;
}
