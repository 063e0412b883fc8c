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
import { expectWire, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, WireWriter } from './wire.js';

const AUTH = 'envoy.service.auth.v3';
const ATTR = `${AUTH}.AttributeContext`;
/** Map entries are messages with the key as field 1 and the value as field 2 (protobuf spec). */
const MAP_KEY = 1;
const MAP_VALUE = 2;

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

/** Reads fields of the message ending at `end`, calling `each(field, wireType)`; `each` consumes or skips. */
function readFields(r: WireReader, end: number, each: (field: number, wireType: number) => void): void {
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw new Error('field number 0');
    each(field, wireType);
  }
  r.end = outer;
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

/** A map<string, string> entry: [key, value] (missing parts read as ''). */
function stringEntry(r: WireReader, end: number, name: string): [string, string] {
  let key = '';
  let value = '';
  readFields(r, end, (f, w) => {
    if (f === MAP_KEY) key = stringField(r, w, name);
    else if (f === MAP_VALUE) value = stringField(r, w, name);
    else r.skip(w);
  });
  return [key, value];
}

/** google.protobuf.Struct as plain JSON; an empty Struct reads as null (as the proto-loader path maps it). */
function readStruct(r: WireReader, end: number): Record<string, unknown> | null {
  const F = fields();
  let out: Record<string, unknown> | null = null;
  readFields(r, end, (f, w) => {
    if (f !== F.struct.fields) return r.skip(w);
    const entryEnd = messageEnd(r, w, 'Struct.fields');
    let key = '';
    let value: unknown = null;
    readFields(r, entryEnd, (ef, ew) => {
      if (ef === MAP_KEY) key = stringField(r, ew, 'Struct.fields.key');
      else if (ef === MAP_VALUE) value = readValue(r, messageEnd(r, ew, 'Struct.fields.value'));
      else r.skip(ew);
    });
    (out ??= {})[key] = value;
  });
  return out;
}

/** google.protobuf.Value as plain JSON (the last member of its oneof wins; none is null). */
function readValue(r: WireReader, end: number): unknown {
  const V = fields().value;
  let value: unknown = null;
  readFields(r, end, (f, w) => {
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
    } else if (f === V.structValue) value = readStruct(r, messageEnd(r, w, 'Value.struct_value'));
    else if (f === V.listValue) {
      const listEnd = messageEnd(r, w, 'Value.list_value');
      const list: unknown[] = [];
      readFields(r, listEnd, (lf, lw) => {
        if (lf === fields().listValue.values) list.push(readValue(r, messageEnd(r, lw, 'ListValue.values')));
        else r.skip(lw);
      });
      value = list;
    } else r.skip(w);
  });
  return value;
}

/** config.core.v3.Metadata's filter_metadata, each Struct as plain JSON; undefined when it has none. */
function readMetadata(r: WireReader, end: number): { filter_metadata: Record<string, unknown> } | undefined {
  const F = fields();
  let out: Record<string, unknown> | undefined;
  readFields(r, end, (f, w) => {
    if (f !== F.metadata.filter_metadata) return r.skip(w);
    const entryEnd = messageEnd(r, w, 'Metadata.filter_metadata');
    let key = '';
    let value: unknown = null;
    readFields(r, entryEnd, (ef, ew) => {
      if (ef === MAP_KEY) key = stringField(r, ew, 'Metadata.filter_metadata.key');
      else if (ef === MAP_VALUE) value = readStruct(r, messageEnd(r, ew, 'Metadata.filter_metadata.value'));
      else r.skip(ew);
    });
    (out ??= {})[key] = value;
  });
  return out ? { filter_metadata: out } : undefined;
}

function readPeer(r: WireReader, end: number): Peer {
  const F = fields();
  const peer: Peer = {};
  let labels: Record<string, string> | undefined;
  readFields(r, end, (f, w) => {
    if (f === F.peer.address) {
      readFields(r, messageEnd(r, w, 'Peer.address'), (af, aw) => {
        if (af !== F.address.socket_address) return r.skip(aw);
        let address: string | undefined;
        let port = 0;
        readFields(r, messageEnd(r, aw, 'Address.socket_address'), (sf, sw) => {
          if (sf === F.socketAddress.address) address = nonEmpty(stringField(r, sw, 'SocketAddress.address'));
          else if (sf === F.socketAddress.port_value) {
            expectWire(sw, WIRE_VARINT, 'SocketAddress.port_value');
            port = r.uint() % 2 ** 32;
          } else r.skip(sw);
        });
        peer.address = { socket_address: { address, port_value: port } };
      });
    } else if (f === F.peer.service) {
      const v = nonEmpty(stringField(r, w, 'Peer.service'));
      if (v !== undefined) peer.service = v;
    } else if (f === F.peer.labels) {
      const [k, v] = stringEntry(r, messageEnd(r, w, 'Peer.labels'), 'Peer.labels');
      (labels ??= {})[k] = v;
    } else if (f === F.peer.principal) {
      const v = nonEmpty(stringField(r, w, 'Peer.principal'));
      if (v !== undefined) peer.principal = v;
    } else if (f === F.peer.certificate) {
      const v = nonEmpty(stringField(r, w, 'Peer.certificate'));
      if (v !== undefined) peer.certificate = v;
    } else r.skip(w);
  });
  if (labels) peer.labels = labels;
  return peer;
}

function readTimestamp(r: WireReader, end: number): string | undefined {
  const T = fields().timestamp;
  let seconds = 0;
  let nanos = 0;
  readFields(r, end, (f, w) => {
    if (f === T.seconds) {
      expectWire(w, WIRE_VARINT, 'Timestamp.seconds');
      seconds = Number(r.int64String());
    } else if (f === T.nanos) {
      expectWire(w, WIRE_VARINT, 'Timestamp.nanos');
      nanos = r.int32();
    } else r.skip(w);
  });
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

type HttpStrings = 'id' | 'method' | 'path' | 'host' | 'scheme' | 'query' | 'fragment' | 'protocol' | 'body';
const HTTP_STRINGS: readonly HttpStrings[] = ['id', 'method', 'path', 'host', 'scheme', 'query', 'fragment', 'protocol', 'body'];

function readHttp(r: WireReader, end: number, out: CheckAttributes['request']): void {
  const F = fields();
  const H = F.http;
  const strings: Partial<Record<HttpStrings, string>> = {};
  // Field number -> name, for the plain string fields.
  const byNumber = stringFieldsByNumber();
  const plain: Record<string, string> = {};
  let raw: Array<[string, string]> | undefined;
  let size: string | undefined;
  readFields(r, end, (f, w) => {
    if (f === H.headers) {
      const [k, v] = stringEntry(r, messageEnd(r, w, 'HttpRequest.headers'), 'HttpRequest.headers');
      plain[k.toLowerCase()] = v;
    } else if (f === H.header_map) {
      // With `encode_raw_headers: true` Envoy sends header_map instead: repeated entries, raw bytes.
      readFields(r, messageEnd(r, w, 'HttpRequest.header_map'), (mf, mw) => {
        if (mf !== F.headerMap.headers) return r.skip(mw);
        let key = '';
        let value = '';
        let rawValue: string | undefined;
        readFields(r, messageEnd(r, mw, 'HeaderMap.headers'), (hf, hw) => {
          if (hf === F.headerValue.key) key = stringField(r, hw, 'HeaderValue.key');
          else if (hf === F.headerValue.value) value = stringField(r, hw, 'HeaderValue.value');
          else if (hf === F.headerValue.raw_value) {
            expectWire(hw, WIRE_LEN, 'HeaderValue.raw_value');
            rawValue = r.bytes().toString('utf8');
          } else r.skip(hw);
        });
        if (key !== '') (raw ??= []).push([key.toLowerCase(), value !== '' ? value : (rawValue ?? '')]);
      });
    } else if (f === H.size) {
      expectWire(w, WIRE_VARINT, 'HttpRequest.size');
      size = r.int64String();
    } else {
      const name = byNumber.get(f);
      if (name === undefined) return r.skip(w);
      const v = nonEmpty(stringField(r, w, `HttpRequest.${name}`));
      if (v === undefined) delete strings[name];
      else strings[name] = v;
    }
  });
  const headers = plain;
  if (raw) for (const [k, v] of raw) headers[k] = headers[k] === undefined ? v : `${headers[k]},${v}`;
  const http: CheckAttributes['request']['http'] = { headers };
  for (const k of HTTP_STRINGS) if (strings[k] !== undefined) http[k] = strings[k];
  if (size !== undefined) http.size = size;
  out.http = http;
}

let httpStringNumbers: Map<number, HttpStrings> | undefined;
function stringFieldsByNumber(): Map<number, HttpStrings> {
  if (!httpStringNumbers) {
    const H = fields().http;
    httpStringNumbers = new Map(HTTP_STRINGS.map((k) => [H[k], k]));
  }
  return httpStringNumbers;
}

/**
 * CheckRequest bytes -> CheckAttributes (the same as `attributesFromCheckRequest` of the
 * proto-loader decoding). Throws on malformed input.
 */
export function decodeCheckRequest(bytes: Uint8Array): CheckAttributes {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const F = fields();
  const r = new WireReader(buf);
  const out: CheckAttributes = { request: { http: { headers: {} } } };
  readFields(r, buf.length, (f, w) => {
    if (f !== F.checkRequest.attributes) return r.skip(w);
    readAttributes(r, messageEnd(r, w, 'CheckRequest.attributes'), out);
  });
  return out;
}

function readAttributes(r: WireReader, end: number, out: CheckAttributes): void {
  const A = fields().attributes;
  const R = fields().request;
  let ext: Record<string, string> | undefined;
  readFields(r, end, (f, w) => {
    if (f === A.source) out.source = readPeer(r, messageEnd(r, w, 'AttributeContext.source'));
    else if (f === A.destination) out.destination = readPeer(r, messageEnd(r, w, 'AttributeContext.destination'));
    else if (f === A.request) {
      readFields(r, messageEnd(r, w, 'AttributeContext.request'), (rf, rw) => {
        if (rf === R.http) readHttp(r, messageEnd(r, rw, 'Request.http'), out.request);
        else if (rf === R.time) {
          const time = readTimestamp(r, messageEnd(r, rw, 'Request.time'));
          if (time) out.request.time = time;
          else delete out.request.time;
        } else r.skip(rw);
      });
    } else if (f === A.context_extensions) {
      const [k, v] = stringEntry(r, messageEnd(r, w, 'AttributeContext.context_extensions'), 'AttributeContext.context_extensions');
      (ext ??= {})[k] = v;
    } else if (f === A.metadata_context) {
      const m = readMetadata(r, messageEnd(r, w, 'AttributeContext.metadata_context'));
      if (m) out.metadata_context = m;
    } else if (f === A.route_metadata_context) {
      const m = readMetadata(r, messageEnd(r, w, 'AttributeContext.route_metadata_context'));
      if (m) out.route_metadata_context = m;
    } else if (f === A.tls_session) {
      let sni: string | undefined;
      readFields(r, messageEnd(r, w, 'AttributeContext.tls_session'), (tf, tw) => {
        if (tf === fields().tls.sni) sni = nonEmpty(stringField(r, tw, 'TLSSession.sni'));
        else r.skip(tw);
      });
      if (sni) out.tls_session = { sni };
    } else r.skip(w);
  });
  if (ext) out.context_extensions = ext;
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
    if (d.body) w.stringField(F.denied.body, d.body);
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
