/**
 * A lean codec for the one hot call, `Authorization/Check`: reads a CheckRequest's bytes straight
 * into CheckAttributes and writes a Decision straight into CheckResponse bytes, with no
 * intermediate protobufjs objects (decode, toObject with its conversions, fromObject, encode).
 * Field numbers come from Envoy's protos as loaded from `@grpc/grpc-js-xds` (see proto.ts), so
 * nothing here restates the protos.
 *
 * The result is the same as `attributesFromCheckRequest(<proto-loader decode>)` and
 * `toCheckResponse(decision)` (the unit tests hold the two paths equal); fields the pipeline does
 * not use (raw_body, typed metadata, address forms other than socket addresses) are skipped.
 */
import type { CheckAttributes, Peer } from '../attributes.js';
import { principalOf } from '../identity/types.js';
import type { Decision } from '../response.js';
import { fieldNumbers, nestedEnumValue } from './proto.js';
import { expectWire, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireError, WireReader, WireWriter } from './wire.js';

const AUTH = 'envoy.service.auth.v3';
const ATTR = `${AUTH}.AttributeContext`;
/** Map entries are messages with the key as field 1 and the value as field 2 (protobuf spec). */
const MAP_KEY = 1;
const MAP_VALUE = 2;
/** Structs nest; a bound keeps a hostile request from exhausting the stack. */
const MAX_DEPTH = 64;

/** Field numbers, looked up once on first use. */
function numbers() {
  return {
    checkRequest: fieldNumbers(`${AUTH}.CheckRequest`, ['attributes']),
    attributes: fieldNumbers(ATTR, ['source', 'destination', 'request', 'context_extensions', 'metadata_context', 'route_metadata_context', 'tls_session']),
    peer: fieldNumbers(`${ATTR}.Peer`, ['address', 'service', 'labels', 'principal', 'certificate']),
    address: fieldNumbers('envoy.config.core.v3.Address', ['socket_address']),
    socketAddress: fieldNumbers('envoy.config.core.v3.SocketAddress', ['address', 'port_value']),
    request: fieldNumbers(`${ATTR}.Request`, ['time', 'http']),
    http: fieldNumbers(`${ATTR}.HttpRequest`, ['id', 'method', 'headers', 'path', 'host', 'scheme', 'query', 'fragment', 'size', 'protocol', 'body', 'header_map']),
    headerMap: fieldNumbers('envoy.config.core.v3.HeaderMap', ['headers']),
    headerValue: fieldNumbers('envoy.config.core.v3.HeaderValue', ['key', 'value', 'raw_value']),
    timestamp: fieldNumbers('google.protobuf.Timestamp', ['seconds', 'nanos']),
    tls: fieldNumbers(`${ATTR}.TLSSession`, ['sni']),
    metadata: fieldNumbers('envoy.config.core.v3.Metadata', ['filter_metadata']),
    struct: fieldNumbers('google.protobuf.Struct', ['fields']),
    // protobufjs's built-in google.protobuf types are declared with camelCase names.
    value: fieldNumbers('google.protobuf.Value', ['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue']),
    listValue: fieldNumbers('google.protobuf.ListValue', ['values']),
    checkResponse: fieldNumbers(`${AUTH}.CheckResponse`, ['status', 'denied_response', 'ok_response', 'dynamic_metadata']),
    rpcStatus: fieldNumbers('google.rpc.Status', ['code']),
    ok: fieldNumbers(`${AUTH}.OkHttpResponse`, ['headers', 'headers_to_remove']),
    denied: fieldNumbers(`${AUTH}.DeniedHttpResponse`, ['status', 'headers', 'body']),
    httpStatus: fieldNumbers('envoy.type.v3.HttpStatus', ['code']),
    headerOption: fieldNumbers('envoy.config.core.v3.HeaderValueOption', ['header', 'append_action']),
    overwriteOrAdd: nestedEnumValue('envoy.config.core.v3.HeaderValueOption', 'HeaderAppendAction', 'OVERWRITE_IF_EXISTS_OR_ADD'),
  };
}

let F: ReturnType<typeof numbers> | undefined;
function fields(): ReturnType<typeof numbers> {
  F ??= numbers();
  return F;
}

// ------------------------------------------------------------------------------ decoding
// Each reader walks the fields of one message, from `r.pos` to `end`, in a plain loop (no
// callbacks: this runs for every Check), and leaves `r.pos` at `end`.

/** The next field's tag: field number × 8 + wire type. Small tags (the usual case) are one byte. */
function nextTag(r: WireReader): number {
  const b = r.buf[r.pos]!;
  if (b < 0x80) {
    r.pos++;
    return b;
  }
  const tag = r.uint();
  if (tag > 0xffffffff) throw new WireError('tag out of range');
  return tag;
}

/** Checks a nested message ended exactly where its length said (else its fields overran it). */
function ended(r: WireReader, end: number, name: string): void {
  if (r.pos !== end) throw new WireError(`${name}: fields overrun the message`);
}

/** A non-empty string or undefined (proto3 leaves empty strings off the wire; the mapping drops them too). */
function nonEmpty(s: string): string | undefined {
  return s === '' ? undefined : s;
}

function stringField(r: WireReader, wireType: number, name: string): string {
  expectWire(wireType, WIRE_LEN, name);
  return r.string();
}

function messageEnd(r: WireReader, wireType: number, name: string): number {
  expectWire(wireType, WIRE_LEN, name);
  return r.lengthEnd();
}

/** A map<string, string> entry (missing parts read as ''): sets `target[key(k)] = v`. */
function readStringEntry(r: WireReader, end: number, name: string, target: Record<string, string>, lower: boolean): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    if (f === MAP_KEY) key = stringField(r, tag & 7, name);
    else if (f === MAP_VALUE) value = stringField(r, tag & 7, name);
    else r.skip(tag & 7);
  }
  ended(r, end, name);
  target[lower ? key.toLowerCase() : key] = value;
}

/** google.protobuf.Struct as plain JSON; an empty Struct reads as null (as the proto-loader path maps it). */
function readStruct(r: WireReader, end: number, depth: number): Record<string, unknown> | null {
  if (depth > MAX_DEPTH) throw new WireError('Struct nested too deep');
  const F = fields();
  let out: Record<string, unknown> | null = null;
  while (r.pos < end) {
    const tag = nextTag(r);
    if (tag >>> 3 !== F.struct.fields) {
      r.skip(tag & 7);
      continue;
    }
    const entryEnd = messageEnd(r, tag & 7, 'Struct.fields');
    let key = '';
    let value: unknown = null;
    while (r.pos < entryEnd) {
      const et = nextTag(r);
      const ef = et >>> 3;
      if (ef === MAP_KEY) key = stringField(r, et & 7, 'Struct.fields.key');
      else if (ef === MAP_VALUE) value = readValue(r, messageEnd(r, et & 7, 'Struct.fields.value'), depth + 1);
      else r.skip(et & 7);
    }
    ended(r, entryEnd, 'Struct.fields');
    (out ??= {})[key] = value;
  }
  ended(r, end, 'Struct');
  return out;
}

/** google.protobuf.Value as plain JSON (the last member of its oneof wins; none is null). */
function readValue(r: WireReader, end: number, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new WireError('Value nested too deep');
  const F = fields();
  const V = F.value;
  let value: unknown = null;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === V.stringValue) value = stringField(r, w, 'Value.string_value');
    else if (f === V.numberValue) {
      expectWire(w, WIRE_FIXED64, 'Value.number_value');
      value = r.double();
    } else if (f === V.boolValue) {
      expectWire(w, WIRE_VARINT, 'Value.bool_value');
      value = r.uint() !== 0;
    } else if (f === V.nullValue) {
      expectWire(w, WIRE_VARINT, 'Value.null_value');
      r.uint();
      value = null;
    } else if (f === V.structValue) value = readStruct(r, messageEnd(r, w, 'Value.struct_value'), depth + 1);
    else if (f === V.listValue) {
      const listEnd = messageEnd(r, w, 'Value.list_value');
      const list: unknown[] = [];
      while (r.pos < listEnd) {
        const lt = nextTag(r);
        if (lt >>> 3 === F.listValue.values) list.push(readValue(r, messageEnd(r, lt & 7, 'ListValue.values'), depth + 1));
        else r.skip(lt & 7);
      }
      ended(r, listEnd, 'ListValue');
      value = list;
    } else r.skip(w);
  }
  ended(r, end, 'Value');
  return value;
}

/** config.core.v3.Metadata's filter_metadata, each Struct as plain JSON; undefined when it has none. */
function readMetadata(r: WireReader, end: number): { filter_metadata: Record<string, unknown> } | undefined {
  const F = fields();
  let out: Record<string, unknown> | undefined;
  while (r.pos < end) {
    const tag = nextTag(r);
    if (tag >>> 3 !== F.metadata.filter_metadata) {
      r.skip(tag & 7);
      continue;
    }
    const entryEnd = messageEnd(r, tag & 7, 'Metadata.filter_metadata');
    let key = '';
    let value: unknown = null;
    while (r.pos < entryEnd) {
      const et = nextTag(r);
      const ef = et >>> 3;
      if (ef === MAP_KEY) key = stringField(r, et & 7, 'Metadata.filter_metadata.key');
      else if (ef === MAP_VALUE) value = readStruct(r, messageEnd(r, et & 7, 'Metadata.filter_metadata.value'), 0);
      else r.skip(et & 7);
    }
    ended(r, entryEnd, 'Metadata.filter_metadata');
    (out ??= {})[key] = value;
  }
  ended(r, end, 'Metadata');
  return out ? { filter_metadata: out } : undefined;
}

function readSocketAddress(r: WireReader, end: number, peer: Peer): void {
  const S = fields().socketAddress;
  let address: string | undefined;
  let port = 0;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    if (f === S.address) address = nonEmpty(stringField(r, tag & 7, 'SocketAddress.address'));
    else if (f === S.port_value) {
      expectWire(tag & 7, WIRE_VARINT, 'SocketAddress.port_value');
      port = r.uint() % 2 ** 32;
    } else r.skip(tag & 7);
  }
  ended(r, end, 'SocketAddress');
  peer.address = { socket_address: { address, port_value: port } };
}

function readPeer(r: WireReader, end: number): Peer {
  const F = fields();
  const P = F.peer;
  const peer: Peer = {};
  let labels: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === P.address) {
      const addressEnd = messageEnd(r, w, 'Peer.address');
      while (r.pos < addressEnd) {
        const at = nextTag(r);
        if (at >>> 3 === F.address.socket_address) readSocketAddress(r, messageEnd(r, at & 7, 'Address.socket_address'), peer);
        else r.skip(at & 7);
      }
      ended(r, addressEnd, 'Address');
    } else if (f === P.service) {
      const v = nonEmpty(stringField(r, w, 'Peer.service'));
      if (v === undefined) delete peer.service;
      else peer.service = v;
    } else if (f === P.labels) {
      readStringEntry(r, messageEnd(r, w, 'Peer.labels'), 'Peer.labels', (labels ??= {}), false);
    } else if (f === P.principal) {
      const v = nonEmpty(stringField(r, w, 'Peer.principal'));
      if (v === undefined) delete peer.principal;
      else peer.principal = v;
    } else if (f === P.certificate) {
      const v = nonEmpty(stringField(r, w, 'Peer.certificate'));
      if (v === undefined) delete peer.certificate;
      else peer.certificate = v;
    } else r.skip(w);
  }
  ended(r, end, 'Peer');
  if (labels) peer.labels = labels;
  return peer;
}

function readTimestamp(r: WireReader, end: number): string | undefined {
  const T = fields().timestamp;
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    if (f === T.seconds) {
      expectWire(tag & 7, WIRE_VARINT, 'Timestamp.seconds');
      seconds = Number(r.int64String());
    } else if (f === T.nanos) {
      expectWire(tag & 7, WIRE_VARINT, 'Timestamp.nanos');
      nanos = r.int32();
    } else r.skip(tag & 7);
  }
  ended(r, end, 'Timestamp');
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

type HttpStrings = 'id' | 'method' | 'path' | 'host' | 'scheme' | 'query' | 'fragment' | 'protocol' | 'body';
const HTTP_STRINGS: readonly HttpStrings[] = ['id', 'method', 'path', 'host', 'scheme', 'query', 'fragment', 'protocol', 'body'];

/** One HeaderMap entry appended to `raw` as [lowercase key, value or raw value]; nameless ones are dropped. */
function readHeaderValue(r: WireReader, end: number, raw: Array<[string, string]>): void {
  const H = fields().headerValue;
  let key = '';
  let value = '';
  let rawValue: string | undefined;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    if (f === H.key) key = stringField(r, tag & 7, 'HeaderValue.key');
    else if (f === H.value) value = stringField(r, tag & 7, 'HeaderValue.value');
    else if (f === H.raw_value) {
      expectWire(tag & 7, WIRE_LEN, 'HeaderValue.raw_value');
      rawValue = r.bytes().toString('utf8');
    } else r.skip(tag & 7);
  }
  ended(r, end, 'HeaderValue');
  if (key !== '') raw.push([key.toLowerCase(), value !== '' ? value : (rawValue ?? '')]);
}

function readHttp(r: WireReader, end: number): CheckAttributes['request']['http'] {
  const F = fields();
  const H = F.http;
  const byNumber = stringFieldsByNumber();
  const strings: Partial<Record<HttpStrings, string>> = {};
  const headers: Record<string, string> = {};
  let raw: Array<[string, string]> | undefined;
  let size: string | undefined;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === H.headers) readStringEntry(r, messageEnd(r, w, 'HttpRequest.headers'), 'HttpRequest.headers', headers, true);
    else if (f === H.header_map) {
      // With `encode_raw_headers: true` Envoy sends header_map instead: repeated entries, raw bytes.
      const mapEnd = messageEnd(r, w, 'HttpRequest.header_map');
      while (r.pos < mapEnd) {
        const mt = nextTag(r);
        if (mt >>> 3 === F.headerMap.headers) readHeaderValue(r, messageEnd(r, mt & 7, 'HeaderMap.headers'), (raw ??= []));
        else r.skip(mt & 7);
      }
      ended(r, mapEnd, 'HeaderMap');
    } else if (f === H.size) {
      expectWire(w, WIRE_VARINT, 'HttpRequest.size');
      size = r.int64String();
    } else {
      const name = byNumber[f];
      if (name === undefined) {
        r.skip(w);
        continue;
      }
      const v = nonEmpty(stringField(r, w, 'HttpRequest.' + name));
      if (v === undefined) delete strings[name];
      else strings[name] = v;
    }
  }
  ended(r, end, 'HttpRequest');
  if (raw) for (const [k, v] of raw) headers[k] = headers[k] === undefined ? v : `${headers[k]},${v}`;
  const http: CheckAttributes['request']['http'] = { headers };
  for (const k of HTTP_STRINGS) if (strings[k] !== undefined) http[k] = strings[k];
  if (size !== undefined) http.size = size;
  return http;
}

let httpStringNumbers: Array<HttpStrings | undefined> | undefined;
/** HttpRequest's plain string fields by field number. */
function stringFieldsByNumber(): Array<HttpStrings | undefined> {
  if (!httpStringNumbers) {
    const H = fields().http;
    httpStringNumbers = [];
    for (const k of HTTP_STRINGS) httpStringNumbers[H[k]] = k;
  }
  return httpStringNumbers;
}

function readRequest(r: WireReader, end: number, out: CheckAttributes['request']): void {
  const R = fields().request;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    if (f === R.http) out.http = readHttp(r, messageEnd(r, tag & 7, 'Request.http'));
    else if (f === R.time) {
      const time = readTimestamp(r, messageEnd(r, tag & 7, 'Request.time'));
      if (time) out.time = time;
      else delete out.time;
    } else r.skip(tag & 7);
  }
  ended(r, end, 'Request');
}

function readAttributes(r: WireReader, end: number, out: CheckAttributes): void {
  const F = fields();
  const A = F.attributes;
  let ext: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = nextTag(r);
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === A.source) out.source = readPeer(r, messageEnd(r, w, 'AttributeContext.source'));
    else if (f === A.destination) out.destination = readPeer(r, messageEnd(r, w, 'AttributeContext.destination'));
    else if (f === A.request) readRequest(r, messageEnd(r, w, 'AttributeContext.request'), out.request);
    else if (f === A.context_extensions) readStringEntry(r, messageEnd(r, w, 'AttributeContext.context_extensions'), 'AttributeContext.context_extensions', (ext ??= {}), false);
    else if (f === A.metadata_context) {
      const m = readMetadata(r, messageEnd(r, w, 'AttributeContext.metadata_context'));
      if (m) out.metadata_context = m;
      else delete out.metadata_context;
    } else if (f === A.route_metadata_context) {
      const m = readMetadata(r, messageEnd(r, w, 'AttributeContext.route_metadata_context'));
      if (m) out.route_metadata_context = m;
      else delete out.route_metadata_context;
    } else if (f === A.tls_session) {
      const tlsEnd = messageEnd(r, w, 'AttributeContext.tls_session');
      let sni: string | undefined;
      while (r.pos < tlsEnd) {
        const tt = nextTag(r);
        if (tt >>> 3 === F.tls.sni) sni = nonEmpty(stringField(r, tt & 7, 'TLSSession.sni'));
        else r.skip(tt & 7);
      }
      ended(r, tlsEnd, 'TLSSession');
      if (sni) out.tls_session = { sni };
      else delete out.tls_session;
    } else r.skip(w);
  }
  ended(r, end, 'AttributeContext');
  if (ext) out.context_extensions = ext;
}

/**
 * CheckRequest bytes -> CheckAttributes (the same as `attributesFromCheckRequest` of the
 * proto-loader decoding). Throws a WireError on malformed input.
 */
export function decodeCheckRequest(bytes: Uint8Array): CheckAttributes {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const F = fields();
  const r = new WireReader(buf);
  const out: CheckAttributes = { request: { http: { headers: {} } } };
  while (r.pos < buf.length) {
    const tag = nextTag(r);
    if (tag >>> 3 === F.checkRequest.attributes) readAttributes(r, messageEnd(r, tag & 7, 'CheckRequest.attributes'), out);
    else r.skip(tag & 7);
  }
  return out;
}

// ------------------------------------------------------------------------------ encoding

/** google.rpc.Code values Envoy looks at: 0 allows, anything else denies. */
export const RPC_OK = 0;
export const RPC_PERMISSION_DENIED = 7;
export const RPC_RESOURCE_EXHAUSTED = 8;
export const RPC_UNAUTHENTICATED = 16;

export function rpcCodeOf(d: Decision): number {
  if (d.result === 'allow') return RPC_OK;
  return d.status === 401 ? RPC_UNAUTHENTICATED : d.status === 429 ? RPC_RESOURCE_EXHAUSTED : RPC_PERMISSION_DENIED;
}

/** The fields of the dynamic metadata every answer carries (undefined ones are left out). */
export function dynamicMetadataOf(d: Decision): Array<[string, string | number | undefined]> {
  return [
    ['decision_id', d.id],
    ['decision', d.result],
    ['principal', principalOf(d.identity)],
    ['risk_score', d.risk?.score],
    ['risk_reasons', d.risk && d.risk.reasons.length ? d.risk.reasons.join(',') : undefined],
  ];
}

const writer = new WireWriter();

function writeHeaderOptions(w: WireWriter, field: number, headers: Record<string, string>): void {
  const F = fields();
  for (const key in headers) {
    const at = w.begin(field);
    const h = w.begin(F.headerOption.header);
    w.stringField(F.headerValue.key, key);
    w.stringField(F.headerValue.value, headers[key]!);
    w.end(h);
    w.uintField(F.headerOption.append_action, F.overwriteOrAdd);
    w.end(at);
  }
}

/** A Decision as CheckResponse bytes (the same message `toCheckResponse` describes). */
export function encodeCheckResponse(d: Decision): Buffer {
  const F = fields();
  const w = writer.reset();
  const status = w.begin(F.checkResponse.status);
  w.uintField(F.rpcStatus.code, rpcCodeOf(d));
  w.end(status);
  if (d.result === 'allow') {
    const ok = w.begin(F.checkResponse.ok_response);
    writeHeaderOptions(w, F.ok.headers, d.upstreamHeaders);
    for (const name of d.removeHeaders) w.stringField(F.ok.headers_to_remove, name);
    w.end(ok);
  } else {
    const denied = w.begin(F.checkResponse.denied_response);
    const hs = w.begin(F.denied.status);
    w.uintField(F.httpStatus.code, d.status);
    w.end(hs);
    writeHeaderOptions(w, F.denied.headers, d.responseHeaders);
    w.stringField(F.denied.body, d.body ?? '');
    w.end(denied);
  }
  const meta = w.begin(F.checkResponse.dynamic_metadata);
  for (const [key, v] of dynamicMetadataOf(d)) {
    if (v === undefined) continue;
    const entry = w.begin(F.struct.fields);
    w.stringField(MAP_KEY, key);
    const value = w.begin(MAP_VALUE);
    if (typeof v === 'number') w.doubleField(F.value.numberValue, v);
    else w.stringField(F.value.stringValue, v);
    w.end(value);
    w.end(entry);
  }
  w.end(meta);
  return w.finish();
}
