// Typed access to host properties (Envoy's attributes). Every getter returns null when the
// property is missing or cannot be read; nothing here aborts the VM (proxy-runtime's
// `get_property` traps on NotFound).
//
// A property path is a list of segments (`["request", "path"]`); the ABI wants them joined with
// NUL bytes. Envoy encodes values natively: strings/bytes raw, int64/uint64 as 8 bytes
// little-endian, double as 8 bytes IEEE-754 LE, bool as 1 byte, timestamps/durations as int64
// nanoseconds, maps as serialized pairs.
//
// Filter state: `setFilterState(key, value)` calls `proxy_set_property(key, value)`. Envoy stores it
// in the stream's filter state under `wasm.<key>` (a mutable, bytes-typed CelState), so
//   - later filters, ext_authz and routing see filter state `wasm.<key>`;
//   - access logs print it with `%FILTER_STATE(wasm.<key>:PLAIN)%`;
//   - this filter (and any Wasm filter on the stream) reads it back as property `[key]`
//     (`getFilterState(key)`).
// It needs a stream: from a root context (no request) Envoy answers NotFound.
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/index";
import { adoptOutBuffer, clearOut, outPtr, outSize, takeOutBuffer, utf8 } from "./internal";
import { deserializePairs } from "./headers";
import { Box } from "./status";

/** The ABI form of a path: segments joined with NUL bytes, as UTF-8. */
export function encodePropertyPath(path: string[]): ArrayBuffer {
  return utf8(path.join("\0"));
}

/** Raw property bytes; null when missing or unreadable. A present empty value is an empty buffer. */
export function getProperty(path: string[]): ArrayBuffer | null {
  const p = encodePropertyPath(path);
  clearOut();
  const r = imports.proxy_get_property(changetype<usize>(p), p.byteLength, outPtr, outSize);
  if (r != WasmResultValues.Ok) return null;
  return takeOutBuffer();
}

/**
 * `getProperty` for a path encoded once (`encodePropertyPath`), for callers that read the same
 * property on every request; the host's buffer is returned without a copy.
 */
export function getPropertyEncoded(path: ArrayBuffer): ArrayBuffer | null {
  clearOut();
  const r = imports.proxy_get_property(changetype<usize>(path), path.byteLength, outPtr, outSize);
  if (r != WasmResultValues.Ok) return null;
  return adoptOutBuffer();
}

/** A string (or bytes) property decoded as UTF-8; null when missing. */
export function getStringProperty(path: string[]): string | null {
  const v = getProperty(path);
  if (v === null) return null;
  return String.UTF8.decode(v);
}

/** An int64/uint64 property (8 bytes little-endian); null when missing or not 8 bytes. */
export function getIntProperty(path: string[]): Box<i64> | null {
  const v = getProperty(path);
  if (v === null || v.byteLength != 8) return null;
  return new Box<i64>(load<i64>(changetype<usize>(v)));
}

/** A double property (8 bytes IEEE-754 LE, e.g. numbers in metadata); null when missing or not 8 bytes. */
export function getFloatProperty(path: string[]): Box<f64> | null {
  const v = getProperty(path);
  if (v === null || v.byteLength != 8) return null;
  return new Box<f64>(load<f64>(changetype<usize>(v)));
}

/** A bool property (1 byte); null when missing or not 1 byte. */
export function getBoolProperty(path: string[]): Box<bool> | null {
  const v = getProperty(path);
  if (v === null || v.byteLength != 1) return null;
  return new Box<bool>(load<u8>(changetype<usize>(v)) != 0);
}

/** A map property (e.g. `request.headers`) as pairs; null when missing or malformed. */
export function getMapProperty(path: string[]): Array<string[]> | null {
  const v = getProperty(path);
  if (v === null) return null;
  return deserializePairs(v);
}

/**
 * `proxy_set_property`: Envoy stores `value` as filter state `wasm.<path>` (see the top of this
 * file). Returns Ok, or NotFound outside a stream.
 */
export function setProperty(path: string, value: ArrayBuffer): WasmResultValues {
  const p = utf8(path);
  return imports.proxy_set_property(changetype<usize>(p), p.byteLength, changetype<usize>(value), value.byteLength);
}

/** `setProperty` with a pre-encoded path (UTF-8 bytes), for keys written on every request. */
export function setPropertyBytes(path: ArrayBuffer, value: ArrayBuffer): WasmResultValues {
  return imports.proxy_set_property(changetype<usize>(path), path.byteLength, changetype<usize>(value), value.byteLength);
}

/**
 * Sets filter state `wasm.<key>` for later filters, ext_authz and access logs
 * (`%FILTER_STATE(wasm.<key>:PLAIN)%`). Returns Ok, or NotFound outside a stream.
 */
export function setFilterState(key: string, value: string): WasmResultValues {
  return setProperty(key, utf8(value));
}

/** Reads back filter state set with `setFilterState(key, ...)`; null when not set. */
export function getFilterState(key: string): string | null {
  return getStringProperty([key]);
}

/** Well-known request properties (present while a request is processed). */
export class Request {
  /** `request.path`: the path with the query string. */
  static path(): string | null { return getStringProperty(["request", "path"]); }
  /** `request.url_path`: the path without the query string. */
  static urlPath(): string | null { return getStringProperty(["request", "url_path"]); }
  static query(): string | null { return getStringProperty(["request", "query"]); }
  static method(): string | null { return getStringProperty(["request", "method"]); }
  /** `request.host`: the `:authority`. */
  static host(): string | null { return getStringProperty(["request", "host"]); }
  static scheme(): string | null { return getStringProperty(["request", "scheme"]); }
  /** `request.id`: the `x-request-id`. */
  static id(): string | null { return getStringProperty(["request", "id"]); }
  /** `request.protocol`: "HTTP/1.1", "HTTP/2", ... */
  static protocol(): string | null { return getStringProperty(["request", "protocol"]); }
  static headers(): Array<string[]> | null { return getMapProperty(["request", "headers"]); }
}

/** The downstream peer. */
export class Source {
  /** `source.address`: "ip:port". */
  static address(): string | null { return getStringProperty(["source", "address"]); }
  static port(): Box<i64> | null { return getIntProperty(["source", "port"]); }
}

/** The local address the downstream connected to. */
export class Destination {
  /** `destination.address`: "ip:port". */
  static address(): string | null { return getStringProperty(["destination", "address"]); }
  static port(): Box<i64> | null { return getIntProperty(["destination", "port"]); }
}

/** The downstream connection. */
export class Connection {
  /** `connection.mtls`: true when the client presented a validated certificate. */
  static mtls(): Box<bool> | null { return getBoolProperty(["connection", "mtls"]); }
  /** `connection.uri_san_peer_certificate`: first URI SAN of the client certificate (SPIFFE id). */
  static uriSanPeerCertificate(): string | null { return getStringProperty(["connection", "uri_san_peer_certificate"]); }
  /** `connection.requested_server_name`: the TLS SNI. */
  static requestedServerName(): string | null { return getStringProperty(["connection", "requested_server_name"]); }
  /** `connection.id` (uint64, read as i64). */
  static id(): Box<i64> | null { return getIntProperty(["connection", "id"]); }
}

/** The plugin's own identity. */
export class Plugin {
  static name(): string | null { return getStringProperty(["plugin_name"]); }
  static rootId(): string | null { return getStringProperty(["plugin_root_id"]); }
  static vmId(): string | null { return getStringProperty(["plugin_vm_id"]); }
}
