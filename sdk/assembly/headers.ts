// Header maps as plain `Array<string[]>` pairs (`[["x-a", "1"], ["x-b", "2"]]`), the ABI's
// serialized pair format, and reading header maps from the host without trapping.
//
// Serialized form (Proxy-Wasm ABI 0.2.x, "Maps with HTTP fields"): u32 count, then a (u32 name
// length, u32 value length) pair per entry, then every name and value followed by a NUL byte.
// Integers are little-endian. An empty map is 0 bytes (we also accept a lone count of 0).
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { HeaderMapTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { adoptOutBuffer, clearOut, outPtr, outSize, takeOutBuffer, utf8 } from "./internal";
import { byteStringAt } from "./encoding";

/** Serializes pairs; entries that are not `[name, value]` (fewer than 2 strings) are skipped. */
export function serializePairs(pairs: Array<string[]>): ArrayBuffer {
  const names = new Array<ArrayBuffer>();
  const values = new Array<ArrayBuffer>();
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (p.length < 2) continue;
    names.push(utf8(p[0]));
    values.push(utf8(p[1]));
  }
  const n = names.length;
  if (n == 0) return new ArrayBuffer(0);
  let size = 4 + 8 * n;
  for (let i = 0; i < n; i++) size += names[i].byteLength + 1 + values[i].byteLength + 1;
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, <u32>n);
  let data = base + 4 + 8 * <usize>n;
  for (let i = 0; i < n; i++) {
    const name = names[i];
    const value = values[i];
    store<u32>(base + 4 + 8 * <usize>i, <u32>name.byteLength);
    store<u32>(base + 8 + 8 * <usize>i, <u32>value.byteLength);
    memory.copy(data, changetype<usize>(name), <usize>name.byteLength);
    data += <usize>name.byteLength;
    store<u8>(data, 0);
    data += 1;
    memory.copy(data, changetype<usize>(value), <usize>value.byteLength);
    data += <usize>value.byteLength;
    store<u8>(data, 0);
    data += 1;
  }
  return out;
}

/**
 * Parses serialized pairs into one list of names and values alternating (`[name0, value0, name1,
 * value1, ...]`): the list is two objects where deserializePairs makes two more per entry. Null
 * when the data is malformed (sizes pointing past the end). `reuse`: see decodeFieldReusing.
 * `bytes`: a field that is not ASCII comes as a byte string (one code unit per byte, as filters
 * that inspect raw bytes want it) instead of decoded UTF-8.
 */
export function deserializePairsFlat(buf: ArrayBuffer, reuse: bool = false, bytes: bool = false): string[] | null {
  const total = <u64>buf.byteLength;
  if (total == 0) return [];
  if (total < 4) return null;
  const base = changetype<usize>(buf);
  const n = <u64>load<u32>(base);
  const header = 4 + 8 * n;
  if (header > total) return null;
  const out = new Array<string>(<i32>(n << 1));
  let data = header;
  for (let i: u64 = 0; i < n; i++) {
    const nameLen = <u64>load<u32>(base + <usize>(4 + 8 * i));
    const valueLen = <u64>load<u32>(base + <usize>(8 + 8 * i));
    if (data + nameLen + 1 + valueLen + 1 > total) return null;
    const nameAt = base + <usize>data;
    unchecked(out[<i32>(i << 1)] = reuse ? decodeFieldReusing(nameAt, <usize>nameLen, bytes) : decodeField(nameAt, <usize>nameLen, bytes));
    data += nameLen + 1;
    const valueAt = base + <usize>data;
    unchecked(out[<i32>(i << 1) + 1] = reuse ? decodeFieldReusing(valueAt, <usize>valueLen, bytes) : decodeField(valueAt, <usize>valueLen, bytes));
    data += valueLen + 1;
  }
  return out;
}

/** Parses serialized pairs as [name, value] entries; null when the data is malformed (see deserializePairsFlat). */
export function deserializePairs(buf: ArrayBuffer): Array<string[]> | null {
  const flat = deserializePairsFlat(buf);
  if (flat === null) return null;
  const out = new Array<string[]>(flat.length >> 1);
  for (let i = 0, n = flat.length; i < n; i += 2) unchecked(out[i >> 1] = [unchecked(flat[i]), unchecked(flat[i + 1])]);
  return out;
}

/**
 * A name or value (UTF-8) as a string. ASCII, what header data nearly always is, is widened into
 * a string of its exact size (the decoder sizes for the worst case and then shrinks it: a copy).
 */
function decodeField(at: usize, length: usize, bytes: bool = false): string {
  const ascii = decodeAscii(at, length);
  return ascii !== null ? ascii : bytes ? byteStringAt(at, length) : String.UTF8.decodeUnsafe(at, length);
}


/** The field as a string when it is all ASCII, else null. */
function decodeAscii(at: usize, length: usize): string | null {
  const out = changetype<usize>(__new(length << 1, idof<string>()));
  for (let i: usize = 0; i < length; i++) {
    const c = load<u8>(at + i);
    if (c >= 0x80) return null;
    store<u16>(out + (i << 1), <u16>c);
  }
  return changetype<string>(out);
}

/**
 * ASCII fields decoded lately (getHeaderPairsFlat with `reuse`), direct-mapped by a hash of their
 * bytes: the same name or value in a later request is the same string, not a new one. A client's
 * headers repeat request after request, so most fields cost no allocation, and a filter that
 * caches by string identity finds them. At most REUSE_SLOTS strings of REUSE_MAX bytes are kept.
 */
const REUSE_SLOTS = 256;
const REUSE_MAX: usize = 256;
const reusedFields = new StaticArray<string | null>(REUSE_SLOTS);

function decodeFieldReusing(at: usize, length: usize, bytes: bool = false): string {
  if (length == 0) return "";
  if (length > REUSE_MAX) return decodeField(at, length, bytes);
  // The length and the first and last 8 bytes (all of a shorter field): cheap, and a collision
  // only costs a decode.
  let h: u64 = <u64>length * 0x9e3779b97f4a7c15;
  if (length >= 8) {
    h = (h ^ load<u64>(at)) * 0xff51afd7ed558ccd;
    h ^= load<u64>(at + length - 8);
  } else {
    for (let i: usize = 0; i < length; i++) h = (h ^ <u64>load<u8>(at + i)) * 0x100000001b3;
  }
  h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9;
  const slot = <i32>((h ^ (h >> 32)) & (REUSE_SLOTS - 1));
  const known = unchecked(reusedFields[slot]);
  if (known !== null && <usize>known.length == length) {
    // Kept strings are ASCII: byte i must be unit i.
    const units = changetype<usize>(known);
    let i: usize = 0;
    while (i < length && <u16>load<u8>(at + i) == load<u16>(units + (i << 1))) i++;
    if (i == length) return known;
  }
  const ascii = decodeAscii(at, length);
  // Only ASCII is kept: its string is the same in either form.
  if (ascii === null) return bytes ? byteStringAt(at, length) : String.UTF8.decodeUnsafe(at, length);
  unchecked(reusedFields[slot] = ascii);
  return ascii;
}

/**
 * `length` bytes of UTF-8 at `at` (a header field or a property the host wrote) as a string,
 * ASCII without the decoder's worst-case buffer. With `reuse`, a short ASCII text decoded lately is
 * returned as the same string (see decodeFieldReusing): no allocation when a client repeats it.
 */
export function decodeHostText(at: usize, length: usize, reuse: bool = false): string {
  return reuse ? decodeFieldReusing(at, length) : decodeField(at, length);
}

/** All entries of a host header map, in order; an empty list when the map is not available now. */
export function getHeaderPairs(map: HeaderMapTypeValues): Array<string[]> {
  clearOut();
  const r = imports.proxy_get_header_map_pairs(map, outPtr, outSize);
  if (r != WasmResultValues.Ok) return new Array<string[]>();
  const pairs = deserializePairs(takeOutBuffer());
  return pairs !== null ? pairs : new Array<string[]>();
}

/**
 * All entries of a host header map as names and values alternating (deserializePairsFlat), the
 * host's buffer read in place; an empty list when the map is not available now. With `reuse`,
 * short ASCII names and values seen lately come back as the same strings (decodeFieldReusing).
 * With `bytes`, fields that are not ASCII come as byte strings (deserializePairsFlat).
 */
export function getHeaderPairsFlat(map: HeaderMapTypeValues, reuse: bool = false, bytes: bool = false): string[] {
  clearOut();
  const r = imports.proxy_get_header_map_pairs(map, outPtr, outSize);
  if (r != WasmResultValues.Ok) return [];
  const pairs = deserializePairsFlat(adoptOutBuffer(), reuse, bytes);
  return pairs !== null ? pairs : [];
}

/** One header's value from a host map (the host's choice for repeated names); null when absent. */
export function getHeaderValue(map: HeaderMapTypeValues, name: string): string | null {
  clearOut();
  const key = utf8(name);
  const r = imports.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, outPtr, outSize);
  if (r != WasmResultValues.Ok) return null;
  return String.UTF8.decode(takeOutBuffer());
}

/**
 * A host header map in its serialized form (see the top of this file), for callers that index it
 * in place instead of decoding every entry; null when the map is not available now.
 */
export function getHeaderPairsBytes(map: HeaderMapTypeValues): ArrayBuffer | null {
  clearOut();
  const r = imports.proxy_get_header_map_pairs(map, outPtr, outSize);
  if (r != WasmResultValues.Ok) return null;
  return adoptOutBuffer();
}

export function requestHeaders(): Array<string[]> { return getHeaderPairs(HeaderMapTypeValues.RequestHeaders); }
export function responseHeaders(): Array<string[]> { return getHeaderPairs(HeaderMapTypeValues.ResponseHeaders); }
export function requestHeader(name: string): string | null { return getHeaderValue(HeaderMapTypeValues.RequestHeaders, name); }
export function responseHeader(name: string): string | null { return getHeaderValue(HeaderMapTypeValues.ResponseHeaders, name); }

/** Sets (replaces) a header in a host map; returns the host's status. */
export function setHeader(map: HeaderMapTypeValues, name: string, value: string): WasmResultValues {
  const k = utf8(name);
  const v = utf8(value);
  return imports.proxy_replace_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

/** Adds a header (keeping existing values) to a host map; returns the host's status. */
export function addHeader(map: HeaderMapTypeValues, name: string, value: string): WasmResultValues {
  const k = utf8(name);
  const v = utf8(value);
  return imports.proxy_add_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

/** Removes every value of a header from a host map; returns the host's status. */
export function removeHeader(map: HeaderMapTypeValues, name: string): WasmResultValues {
  const k = utf8(name);
  return imports.proxy_remove_header_map_value(map, changetype<usize>(k), k.byteLength);
}

// Variants taking names already encoded as UTF-8 (encode once at configure time, not per request).

/** `setHeader` with a pre-encoded name and value. */
export function setHeaderBytes(map: HeaderMapTypeValues, name: ArrayBuffer, value: ArrayBuffer): WasmResultValues {
  return imports.proxy_replace_header_map_value(map, changetype<usize>(name), name.byteLength, changetype<usize>(value), value.byteLength);
}

/**
 * `addHeader` with a pre-encoded name and value: appends without looking for an existing value
 * (cheaper than `setHeaderBytes` in Envoy when the caller knows the header is absent).
 */
export function addHeaderBytes(map: HeaderMapTypeValues, name: ArrayBuffer, value: ArrayBuffer): WasmResultValues {
  return imports.proxy_add_header_map_value(map, changetype<usize>(name), name.byteLength, changetype<usize>(value), value.byteLength);
}

/** `removeHeader` with a pre-encoded name. */
export function removeHeaderBytes(map: HeaderMapTypeValues, name: ArrayBuffer): WasmResultValues {
  return imports.proxy_remove_header_map_value(map, changetype<usize>(name), name.byteLength);
}
