/**
 * The lean Check codec the gRPC server uses must read and write exactly what the proto-loader
 * path does: every request here goes through the real protobuf encoding (proto-loader), then is
 * read both ways; every Decision is written both ways and read back by proto-loader.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  attributesFromCheckRequest,
  startAuthzServer,
  decodeCheckRequest,
  encodeCheckResponse,
  serviceDefinitions,
  toCheckResponse,
  type Decision,
} from '../../../ext-authz/src/index.js';

const check = serviceDefinitions().authorization['Check']!;
const encode = (request: unknown): Buffer => check.requestSerialize(request);
/** The reference: proto-loader decoding, then the object mapping. */
const reference = (bytes: Buffer) => attributesFromCheckRequest(check.requestDeserialize(bytes));
/** Both readings as JSON (undefined-valued keys dropped, as every consumer sees them). */
const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

const requests: Record<string, unknown> = {
  'everything Envoy sends': {
    attributes: {
      source: {
        address: { socket_address: { address: '10.1.2.3', port_value: 51234 } },
        service: 'cart',
        labels: { app: 'cart', version: 'v2' },
        principal: 'spiffe://cluster.local/ns/shop/sa/cart',
        certificate: '-----BEGIN%20CERTIFICATE-----',
      },
      destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8443 } }, principal: 'spiffe://cluster.local/ns/api/sa/api' },
      request: {
        time: { seconds: 1_700_000_000, nanos: 250_000_000 },
        http: {
          id: '1234-abcd',
          method: 'POST',
          headers: { ':authority': 'api.example.com', ':path': '/v1/items/a%20b?x=1&x=2&flag', 'X-Tenant': 'acme', authorization: 'Bearer t', empty: '' },
          path: '/v1/items/a%20b?x=1&x=2&flag',
          host: 'api.example.com',
          scheme: 'https',
          query: 'x=1&x=2&flag',
          fragment: 'top',
          size: 42,
          protocol: 'HTTP/2',
          body: '{"a":1}',
          raw_body: Buffer.from('{"a":1}'),
        },
      },
      context_extensions: { route: 'items', sensitivity: 'high' },
      metadata_context: {
        filter_metadata: {
          'envoy.filters.http.jwt_authn': {
            fields: {
              sub: { stringValue: 'alice' },
              n: { numberValue: 2.5 },
              ok: { boolValue: true },
              no: { boolValue: false },
              nothing: { nullValue: 'NULL_VALUE' },
              list: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 0 }, { listValue: {} }] } },
              nested: { structValue: { fields: { deep: { structValue: { fields: { x: { stringValue: 'y' } } } } } } },
              emptyStruct: { structValue: {} },
            },
          },
          empty: {},
        },
      },
      route_metadata_context: { filter_metadata: { meshward: { fields: { sensitivity: { stringValue: 'high' } } } } },
      tls_session: { sni: 'api.example.com' },
    },
  },
  'header_map (encode_raw_headers: true) with plain headers too': {
    attributes: {
      request: {
        http: {
          method: 'GET',
          headers: { 'x-multi': 'zero' },
          header_map: {
            headers: [
              { key: 'X-Multi', raw_value: Buffer.from('one') },
              { key: 'x-multi', raw_value: Buffer.from('two') },
              { key: 'x-plain', value: 'v' },
              { key: 'x-empty' },
              { value: 'nameless' },
              { key: 'x-utf8', raw_value: Buffer.from('é✓') },
            ],
          },
        },
      },
    },
  },
  'a peer with a pipe address only, ports and sizes at their limits': {
    attributes: {
      source: { address: { pipe: { path: '/tmp/sock' } } },
      destination: { address: { socket_address: { address: '', port_value: 4294967295 } } },
      request: { time: { seconds: -5 }, http: { size: '-1', headers: { 'user-agent': 'ünïcode ✓ agent' } } },
    },
  },
  'a large size and a timestamp far ahead': {
    attributes: { request: { time: { seconds: 4_000_000_000, nanos: 999_999_999 }, http: { size: '9007199254740993' } } },
  },
  empty: {},
  'empty attributes': { attributes: {} },
};

describe('decodeCheckRequest: the same CheckAttributes as the proto-loader path', () => {
  for (const [name, request] of Object.entries(requests)) {
    it(name, () => {
      const bytes = encode(request);
      expect(json(decodeCheckRequest(bytes))).toEqual(json(reference(bytes)));
    });
  }

  it('reads a plain Uint8Array as well as a Buffer', () => {
    const bytes = encode(requests['everything Envoy sends']);
    expect(decodeCheckRequest(new Uint8Array(bytes))).toEqual(decodeCheckRequest(bytes));
  });

  it('reads the fields the policy input needs (spot check of the shape)', () => {
    const a = decodeCheckRequest(encode(requests['everything Envoy sends']));
    expect(a.request.http.headers['x-tenant']).toBe('acme');
    expect(a.request.http.size).toBe('42');
    expect(a.request.time).toBe('2023-11-14T22:13:20.250Z');
    expect(a.source?.labels).toEqual({ app: 'cart', version: 'v2' });
    expect((a.metadata_context as { filter_metadata: Record<string, unknown> }).filter_metadata['envoy.filters.http.jwt_authn']).toMatchObject({ list: ['a', 0, []], nested: { deep: { x: 'y' } }, nothing: null, no: false });
    expect(a.route_metadata_context).toEqual({ filter_metadata: { meshward: { sensitivity: 'high' } } });
  });

  it('skips fields it does not know (a newer Envoy adding fields)', () => {
    const known = encode(requests['everything Envoy sends']);
    // Field 1 (attributes) followed by field 99, a length-delimited field no proto here declares.
    const unknown = Buffer.concat([known, Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63])]);
    expect(decodeCheckRequest(unknown)).toEqual(decodeCheckRequest(known));
  });
});

describe('decodeCheckRequest refuses malformed bytes with an error (the server answers INVALID_ARGUMENT)', () => {
  const good = encode(requests['everything Envoy sends']);
  it.each([
    ['truncated in the middle', good.subarray(0, good.length - 7)],
    ['a length past the end', Buffer.from([0x0a, 0x7f, 0x00])],
    ['a truncated varint', Buffer.from([0x0a, 0xff])],
    ['an over-long varint', Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['a group wire type', Buffer.from([0x0b])],
    ['attributes with a varint wire type', Buffer.from([0x08, 0x01])],
    ['a nested message overrunning its parent', Buffer.from([0x0a, 0x02, 0x0a, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00])],
  ])('%s', (_name, bytes) => {
    expect(() => decodeCheckRequest(bytes)).toThrow();
  });

  it('bounds Struct nesting (a hostile request cannot exhaust the stack)', () => {
    // Written by hand: proto-loader refuses to encode this deep. Length-delimited field helper:
    const field = (n: number, body: Buffer) => {
      const len: number[] = [];
      for (let v = body.length; ; v = Math.floor(v / 128)) {
        if (v < 128) {
          len.push(v);
          break;
        }
        len.push((v % 128) | 0x80);
      }
      return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), body]);
    };
    // Value{string_value: "leaf"} wrapped 500 times in Value{struct_value: Struct{fields: {"d": ...}}}.
    let value = field(3, Buffer.from('leaf'));
    for (let i = 0; i < 500; i++) value = field(5, field(1, Buffer.concat([field(1, Buffer.from('d')), field(2, value)])));
    const struct = field(1, Buffer.concat([field(1, Buffer.from('d')), field(2, value)]));
    // CheckRequest{attributes: {metadata_context (11): {filter_metadata: {"deep": struct}}}}
    const bytes = field(1, field(11, field(1, Buffer.concat([field(1, Buffer.from('deep')), field(2, struct)]))));
    expect(() => decodeCheckRequest(bytes)).toThrow(/nested too deep/);
    // Shallow nesting in the same form reads fine.
    let shallow = field(3, Buffer.from('leaf'));
    for (let i = 0; i < 3; i++) shallow = field(5, field(1, Buffer.concat([field(1, Buffer.from('d')), field(2, shallow)])));
    const ok = field(1, field(11, field(1, Buffer.concat([field(1, Buffer.from('deep')), field(2, field(1, Buffer.concat([field(1, Buffer.from('d')), field(2, shallow)])))]))));
    expect(decodeCheckRequest(ok).metadata_context).toEqual({ filter_metadata: { deep: { d: { d: { d: { d: 'leaf' } } } } } });
    expect(json(decodeCheckRequest(ok))).toEqual(json(reference(ok)));
  });
});

const identity = { kind: 'jwt' as const, jwt: { issuer: 'https://idp', subject: 'alice', principal: 'https://idp/alice', audiences: ['api'], claims: { sub: 'alice' } } };
const decisions: Record<string, Decision> = {
  'allow with headers to set and remove, risk': {
    id: 'd-1',
    result: 'allow',
    status: 200,
    reason: 'ok',
    identity,
    risk: { score: 12, reasons: ['velocity:burst', 'geo:new_country'] },
    upstreamHeaders: { 'x-meshward-principal': 'https://idp/alice', 'x-meshward-risk-score': '12', 'x-long': 'v'.repeat(300), 'x-utf8': 'é✓' },
    removeHeaders: ['authorization', 'x-api-key'],
    responseHeaders: {},
  },
  'allow, anonymous, nothing to set': { id: 'd-2', result: 'allow', status: 200, reason: 'ok', identity: { kind: 'anonymous' }, upstreamHeaders: {}, removeHeaders: [], responseHeaders: {} },
  deny: {
    id: 'd-3',
    result: 'deny',
    status: 403,
    reason: 'policy',
    identity,
    risk: { score: 0, reasons: [] },
    upstreamHeaders: {},
    removeHeaders: [],
    responseHeaders: { 'content-type': 'application/json', 'x-meshward-decision-id': 'd-3' },
    body: '{"code":"forbidden","decision_id":"d-3"}',
  },
  'step up (401) with a long challenge': {
    id: 'd-4',
    result: 'step_up',
    status: 401,
    reason: 'risk',
    identity,
    upstreamHeaders: {},
    removeHeaders: [],
    responseHeaders: { 'www-authenticate': `Bearer realm="meshward", error="insufficient_user_authentication", acr_values="${'mfa '.repeat(60)}"` },
    body: 'x'.repeat(20_000),
  },
  'throttle (429)': { id: 'd-5', result: 'throttle', status: 429, reason: 'velocity', identity, upstreamHeaders: {}, removeHeaders: [], responseHeaders: { 'retry-after': '30' }, body: '{}' },
  'unauthenticated without a body': { id: 'd-6', result: 'unauthenticated', status: 401, reason: 'no token', identity: { kind: 'anonymous' }, upstreamHeaders: {}, removeHeaders: [], responseHeaders: {} },
};

describe('encodeCheckResponse: the same CheckResponse as toCheckResponse', () => {
  const read = (bytes: Buffer) => check.responseDeserialize(bytes);
  for (const [name, d] of Object.entries(decisions)) {
    it(name, () => {
      expect(read(encodeCheckResponse(d))).toEqual(read(check.responseSerialize(toCheckResponse(d))));
    });
  }

  it('carries what Envoy applies (spot check)', () => {
    const allow = read(encodeCheckResponse(decisions['allow with headers to set and remove, risk']!)) as Record<string, any>;
    expect(allow['status']).toEqual({ code: 0 });
    expect(allow['ok_response'].headers_to_remove).toEqual(['authorization', 'x-api-key']);
    expect(allow['ok_response'].headers[2]).toEqual({ header: { key: 'x-long', value: 'v'.repeat(300) }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
    expect(allow['dynamic_metadata'].fields.risk_score).toEqual({ numberValue: 12, kind: 'numberValue' });
    const stepUp = read(encodeCheckResponse(decisions['step up (401) with a long challenge']!)) as Record<string, any>;
    expect(stepUp['status']).toEqual({ code: 16 });
    expect(stepUp['denied_response'].status).toEqual({ code: 'Unauthorized' });
    expect(stepUp['denied_response'].body).toHaveLength(20_000);
  });
});

describe('the gRPC server on the lean codec', () => {
  it('answers a well-formed Check, and a malformed one with INVALID_ARGUMENT, a log line and the error metric', async () => {
    const lines: string[] = [];
    const loopback = { host: '127.0.0.1', port: 0 };
    const server = await startAuthzServer({ server: { grpc: loopback, http: { enabled: false }, admin: { enabled: false } }, reload: { enabled: false } }, { logSink: (l) => lines.push(l), shutdownGraceMs: 100 });
    // A client sending raw bytes, as a proxy with a different protobuf library might.
    const Raw = grpc.makeGenericClientConstructor(
      { Check: { ...check, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => check.responseDeserialize(b) } },
      'Authorization',
    );
    const client = new Raw(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (r: Buffer, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>;
    const call = (bytes: Buffer) => new Promise<{ error: grpc.ServiceError | null; response: unknown }>((resolve) => client['Check']!(bytes, (error, response) => resolve({ error, response })));
    try {
      const ok = await call(encode(requests['everything Envoy sends']));
      expect(ok.error).toBeNull();
      expect((ok.response as { status: { code: number } }).status).toEqual({ code: 0 });
      const bad = await call(Buffer.from([0x0a, 0x7f, 0x00]));
      expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad.error?.details).toBe('malformed CheckRequest');
      const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'check failed');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ level: 'error', protocol: 'grpc' });
      expect(server.metrics.render()).toContain('meshward_authz_check_errors_total{protocol="grpc"} 1');
    } finally {
      client.close();
      await server.close();
    }
  });
});
