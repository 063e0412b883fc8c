import { describe, expect, it } from 'vitest';
import {
  attributesFromCheckRequest,
  attributesFromHttp,
  clientIpFrom,
  type Decision,
  factsOf,
  httpAnswerHeaders,
  parsedPath,
  parsedQuery,
  policyInput,
  serviceDefinitions,
} from '../../../ext-authz/src/index.js';

/** A CheckRequest as Envoy would send it, through the real protobuf encoding and back. */
function wire(request: unknown): unknown {
  const m = serviceDefinitions().authorization['Check']!;
  return m.requestDeserialize(m.requestSerialize(request));
}

const envoyRequest = {
  attributes: {
    source: {
      address: { socket_address: { address: '10.1.2.3', port_value: 51234 } },
      principal: 'spiffe://cluster.local/ns/shop/sa/cart',
      certificate: '-----BEGIN%20CERTIFICATE-----',
    },
    destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8443 } }, principal: 'spiffe://cluster.local/ns/api/sa/api' },
    request: {
      time: { seconds: 1_700_000_000, nanos: 250_000_000 },
      http: {
        id: '1234-abcd',
        method: 'POST',
        headers: { ':authority': 'api.example.com', ':path': '/v1/items/a%20b?x=1&x=2&flag', 'x-tenant': 'acme', authorization: 'Bearer t' },
        path: '/v1/items/a%20b?x=1&x=2&flag',
        host: 'api.example.com',
        scheme: 'https',
        size: 42,
        protocol: 'HTTP/1.1',
      },
    },
    context_extensions: { route: 'items' },
    metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' }, n: { numberValue: 2 }, ok: { boolValue: true }, list: { listValue: { values: [{ stringValue: 'a' }] } } } } } },
    tls_session: { sni: 'api.example.com' },
  },
};

describe('CheckRequest -> CheckAttributes', () => {
  it('maps every field Envoy sends, in proto3 JSON names', () => {
    expect(attributesFromCheckRequest(wire(envoyRequest))).toEqual({
      source: {
        address: { socket_address: { address: '10.1.2.3', port_value: 51234 } },
        principal: 'spiffe://cluster.local/ns/shop/sa/cart',
        certificate: '-----BEGIN%20CERTIFICATE-----',
      },
      destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8443 } }, principal: 'spiffe://cluster.local/ns/api/sa/api' },
      request: {
        time: '2023-11-14T22:13:20.250Z',
        http: {
          id: '1234-abcd',
          method: 'POST',
          headers: { ':authority': 'api.example.com', ':path': '/v1/items/a%20b?x=1&x=2&flag', 'x-tenant': 'acme', authorization: 'Bearer t' },
          path: '/v1/items/a%20b?x=1&x=2&flag',
          host: 'api.example.com',
          scheme: 'https',
          size: '42',
          protocol: 'HTTP/1.1',
        },
      },
      context_extensions: { route: 'items' },
      metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { sub: 'alice', n: 2, ok: true, list: ['a'] } } },
      tls_session: { sni: 'api.example.com' },
    });
  });

  it('header_map (encode_raw_headers: true): repeated headers joined, names lowercased, raw values decoded', () => {
    const a = attributesFromCheckRequest(
      wire({
        attributes: {
          request: {
            http: {
              method: 'GET',
              header_map: {
                headers: [
                  { key: 'X-Multi', raw_value: Buffer.from('one') },
                  { key: 'x-multi', raw_value: Buffer.from('two') },
                  { key: 'x-plain', value: 'v' },
                ],
              },
            },
          },
        },
      }),
    );
    expect(a.request.http.headers).toEqual({ 'x-multi': 'one,two', 'x-plain': 'v' });
  });

  it('an empty CheckRequest gives empty attributes, not a crash', () => {
    expect(attributesFromCheckRequest(wire({}))).toEqual({ request: { http: { headers: {} } } });
    expect(attributesFromCheckRequest(undefined)).toEqual({ request: { http: { headers: {} } } });
  });
});

describe('HTTP check request -> CheckAttributes', () => {
  const req = {
    method: 'DELETE',
    url: '/authz/v1/items?id=7',
    headers: { host: 'api.example.com', 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-request-id': 'r-1', 'set-cookie': ['a', 'b'] } as Record<string, string | string[]>,
  };

  it('strips the path prefix, keeps the query, reads host and request id', () => {
    expect(attributesFromHttp(req, { pathPrefix: '/authz' })).toEqual({
      request: {
        http: {
          method: 'DELETE',
          path: '/v1/items?id=7',
          query: 'id=7',
          host: 'api.example.com',
          id: 'r-1',
          headers: { host: 'api.example.com', 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-request-id': 'r-1', 'set-cookie': 'a,b' },
        },
      },
    });
  });

  it('takes the source address from the configured header only (its rightmost entry)', () => {
    expect(attributesFromHttp(req, { pathPrefix: '' }).source).toBeUndefined();
    expect(attributesFromHttp(req, { pathPrefix: '', clientIpHeader: 'x-forwarded-for' }).source).toEqual({ address: { socket_address: { address: '10.0.0.1' } } });
    expect(clientIpFrom(' 1.2.3.4 ')).toBe('1.2.3.4');
    expect(clientIpFrom('')).toBeUndefined();
    expect(clientIpFrom('203.0.113.9,10.0.0.1')).toBe('10.0.0.1');
    // A list ending in an empty entry names no client: no address rather than the one before it.
    expect(clientIpFrom('203.0.113.9, ')).toBeUndefined();
    expect(clientIpFrom(',')).toBeUndefined();
  });

  it('joins a repeated header with "," and lowercases names, from the own keys only', () => {
    const headers = Object.assign(Object.create({ inherited: 'x' }) as Record<string, string | string[]>, { 'X-Tenant': 'acme', 'x-hop': ['a', 'b'], skipped: undefined as unknown as string });
    expect(attributesFromHttp({ method: 'GET', url: '/p', headers }, { pathPrefix: '' }).request.http.headers).toEqual({ 'x-tenant': 'acme', 'x-hop': 'a,b' });
  });
});

describe('HTTP check answer (status, header fields, body)', () => {
  const base: Decision = { id: 'd-1', result: 'allow', status: 200, reason: 'r', identity: { kind: 'anonymous' }, upstreamHeaders: {}, removeHeaders: [], responseHeaders: {} };

  it('allow: 200, the upstream headers, the headers to remove, an empty body', () => {
    expect(httpAnswerHeaders({ ...base, upstreamHeaders: { 'x-meshward-principal': 'alice', 'x-meshward-decision-id': 'd-1' }, removeHeaders: ['x-meshward-workload', 'authorization'] })).toEqual({
      status: 200,
      headers: ['x-meshward-principal', 'alice', 'x-meshward-decision-id', 'd-1', 'x-envoy-auth-headers-to-remove', 'x-meshward-workload, authorization', 'content-length', '0'],
      body: '',
    });
    expect(httpAnswerHeaders(base)).toEqual({ status: 200, headers: ['content-length', '0'], body: '' });
  });

  it('a refusal: its status, its response headers (not the upstream ones) and its body, with its byte length', () => {
    const body = '{"code":"forbidden","decision_id":"d-é"}';
    const d: Decision = { ...base, result: 'throttle', status: 429, upstreamHeaders: { 'x-meshward-principal': 'alice' }, removeHeaders: ['authorization'], responseHeaders: { 'retry-after': '3', 'content-type': 'application/json' }, body };
    expect(httpAnswerHeaders(d)).toEqual({ status: 429, headers: ['retry-after', '3', 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))], body });
    expect(httpAnswerHeaders({ ...base, result: 'deny', status: 403 })).toEqual({ status: 403, headers: ['content-length', '0'], body: '' });
  });

  it('the protocol\'s own fields replace a decision header of the same name (sent once)', () => {
    const d: Decision = { ...base, upstreamHeaders: { 'content-length': '9', 'x-envoy-auth-headers-to-remove': 'x', 'x-a': '1' }, removeHeaders: ['authorization'] };
    expect(httpAnswerHeaders(d).headers).toEqual(['x-a', '1', 'x-envoy-auth-headers-to-remove', 'authorization', 'content-length', '0']);
    // Without headers to remove, a decision's own x-envoy-auth-headers-to-remove is kept (as before).
    expect(httpAnswerHeaders({ ...d, removeHeaders: [] }).headers).toEqual(['x-envoy-auth-headers-to-remove', 'x', 'x-a', '1', 'content-length', '0']);
  });
});

describe('policy input document (what Rego sees)', () => {
  it('mirrors OPA-Envoy: attributes, parsed_path, parsed_query, plus identity and signals', () => {
    const attrs = attributesFromCheckRequest(wire(envoyRequest));
    const input = policyInput(
      attrs,
      {
        kind: 'jwt',
        jwt: { issuer: 'https://idp', subject: 'alice', principal: 'https://idp/alice', audiences: ['api'], claims: { sub: 'alice', role: 'admin' } },
        workload: { id: 'spiffe://cluster.local/ns/shop/sa/cart', principal: 'cluster.local/ns/shop/sa/cart', trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart', from: 'peer' },
      },
      { ip_blocklist: { matched: false } },
    );
    expect(input.attributes).toBe(attrs);
    expect(input.parsed_path).toEqual(['v1', 'items', 'a b']);
    expect(input.parsed_query).toEqual({ x: ['1', '2'], flag: [''] });
    expect(input.identity).toEqual({
      kind: 'jwt',
      principal: 'https://idp/alice',
      jwt: { issuer: 'https://idp', subject: 'alice', principal: 'https://idp/alice', audiences: ['api'], claims: { sub: 'alice', role: 'admin' } },
      workload: { id: 'spiffe://cluster.local/ns/shop/sa/cart', principal: 'cluster.local/ns/shop/sa/cart', trust_domain: 'cluster.local', namespace: 'shop', service_account: 'cart', from: 'peer' },
    });
    expect(input.signals).toEqual({ ip_blocklist: { matched: false } });
    expect(JSON.parse(JSON.stringify(input))).toEqual(input);
  });

  it('facts for the native policy: path without query, destination port, host', () => {
    const f = factsOf(attributesFromCheckRequest(wire(envoyRequest)), { kind: 'anonymous' });
    expect(f).toMatchObject({ sourceIp: '10.1.2.3', destinationIp: '10.9.9.9', destinationPort: '8443', host: 'api.example.com', method: 'POST', path: '/v1/items/a%20b', sni: 'api.example.com' });
    expect(f.sourcePrincipal).toBeUndefined();
    expect(f.requestPrincipal).toBeUndefined();
  });

  it.each<[string, string[], Record<string, string[]>]>([
    ['/', [], {}],
    ['/a//b/', ['a', 'b'], {}],
    ['/%E2%9C%93?q=%20x', ['✓'], { q: [' x'] }],
    ['/bad%zz?a=1#frag', ['bad%zz'], { a: ['1'] }],
    ['/a%2Fb/c#f', ['a/b', 'c'], {}],
    ['/x?y#z/w', ['x'], { y: [''] }],
  ])('parsed path/query of %s', (path, segments, query) => {
    expect(parsedPath(path)).toEqual(segments);
    expect(parsedQuery(path)).toEqual(query);
  });
});
