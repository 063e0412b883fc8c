import { afterEach, describe, expect, it } from 'vitest';
import {
  HeaderMap,
  decodeProperty,
  deserializePairs,
  loadFilter,
  lookupProperty,
  property,
  type HostOptions,
  type HttpRequestInit,
  type ProxyWasmHost,
} from '../../../sdk/src/host/index.js';
import { encodeNode } from '../../../sdk/src/host/protobuf.js';
import { fixture } from './wat.js';

const hosts: ProxyWasmHost[] = [];
async function load(options: HostOptions = {}): Promise<ProxyWasmHost> {
  const f = await loadFilter(await fixture('properties.wat'), options);
  hosts.push(f);
  return f;
}
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

/** Read property `path` (dot-separated) from proxy_on_request_headers: [status, bytes]. */
async function prop(f: ProxyWasmHost, path: string, init: HttpRequestInit = {}): Promise<[number, Uint8Array | undefined]> {
  f.sharedData.delete('prop');
  const headers = new HeaderMap(init.headers ?? {});
  headers.add('x-prop', path);
  await f.http({ ...init, headers });
  return [Number(f.sharedData.getString('prop_status')), f.sharedData.get('prop')?.value];
}

describe('properties, encoded as Envoy encodes them', () => {
  it('gives plugin properties to the root context, but no request properties there', async () => {
    const f = await load({ rootId: 'my-root', name: 'my-plugin' });
    expect(f.sharedData.getString('root_id')).toBe('my-root');
    expect(f.sharedData.getString('root_request_status')).toBe('1'); // NOT_FOUND
    const [s, v] = await prop(f, 'plugin_name');
    expect([s, decodeProperty.string(v!)]).toEqual([0, 'my-plugin']);
  });

  it('returns strings raw, integers as 8-byte little-endian, booleans as 1 byte', async () => {
    const f = await load({ clock: { start: 1_700_000_000_123 } });
    const [, path] = await prop(f, 'request.path', { path: '/a/b?x=1' });
    expect(decodeProperty.string(path!)).toBe('/a/b?x=1');
    const [, urlPath] = await prop(f, 'request.url_path', { path: '/a/b?x=1' });
    expect(decodeProperty.string(urlPath!)).toBe('/a/b');
    const [, time] = await prop(f, 'request.time');
    expect(time).toHaveLength(8);
    expect(decodeProperty.int(time!)).toBe(1_700_000_000_123_000_000n);
    const [, port] = await prop(f, 'source.port');
    expect(port).toHaveLength(8);
    expect(decodeProperty.int(port!)).toBeGreaterThan(0n);
    const [, addr] = await prop(f, 'source.address');
    expect(decodeProperty.string(addr!)).toMatch(/^127\.0\.0\.1:\d+$/);
    const [, mtls] = await prop(f, 'connection.mtls');
    expect(Array.from(mtls!)).toEqual([0]);
    const [, proto] = await prop(f, 'request.protocol');
    expect(decodeProperty.string(proto!)).toBe('HTTP/1.1');
  });

  it('serializes maps as header pairs (repeated values joined with ",")', async () => {
    const f = await load();
    const [s, v] = await prop(f, 'request.headers', { path: '/h', headers: [['x-foo', '1'], ['x-foo', '2']] });
    expect(s).toBe(0);
    const pairs = deserializePairs(v!);
    expect(pairs).toContainEqual([':path', '/h']);
    expect(pairs).toContainEqual(['x-foo', '1,2']);
  });

  it('reports response properties once there is a response (e.g. in proxy_on_log)', async () => {
    const f = await load();
    await f.http({ headers: { 'x-prop': 'response.code' }, upstream: () => ({ status: 201 }) });
    expect(f.sharedData.getString('prop_status')).toBe('1');
    expect(f.sharedData.getString('log_prop_status')).toBe('0');
    expect(decodeProperty.int(f.sharedData.get('log_prop')!.value)).toBe(201n);
  });

  it('lets tests set and override properties, including TLS ones', async () => {
    const f = await load({ properties: { connection: { mtls: true, uri_san_peer_certificate: 'spiffe://a/b' } } });
    const [, mtls] = await prop(f, 'connection.mtls');
    expect(Array.from(mtls!)).toEqual([1]);
    const [, san] = await prop(f, 'connection.uri_san_peer_certificate');
    expect(decodeProperty.string(san!)).toBe('spiffe://a/b');
    const [, san2] = await prop(f, 'connection.uri_san_peer_certificate', {
      properties: { connection: { uri_san_peer_certificate: 'spiffe://c/d' } },
    });
    expect(decodeProperty.string(san2!)).toBe('spiffe://c/d');
    const [, sni] = await prop(f, 'connection.requested_server_name');
    expect(sni).toHaveLength(0);
  });

  it('exposes xds.node as protobuf and walks into its fields (there is no top-level node in Envoy 1.40)', async () => {
    const node = { id: 'node-1', cluster: 'test-cluster', metadata: { n: 3, team: 'blue' } };
    const f = await load({ node });
    const [, whole] = await prop(f, 'xds.node');
    expect(Buffer.from(whole!).toString('hex')).toBe(Buffer.from(encodeNode({ ...node, user_agent_name: 'envoy' })).toString('hex'));
    const [, id] = await prop(f, 'xds.node.id');
    expect(decodeProperty.string(id!)).toBe('node-1');
    const [, team] = await prop(f, 'xds.node.metadata.team');
    expect(decodeProperty.string(team!)).toBe('blue');
    const [, n] = await prop(f, 'xds.node.metadata.n');
    expect(decodeProperty.double(n!)).toBe(3); // Struct numbers are doubles
    expect((await prop(f, 'node'))[0]).toBe(1);
  });

  it('stores proxy_set_property values as filter state', async () => {
    const f = await load();
    const res = await f.http({ headers: { 'x-set': '1' } });
    expect(f.sharedData.getString('set_status')).toBe('0');
    expect(f.sharedData.getString('set_get')).toBe('my-value');
    expect(res.filterState).toEqual({ 'wasm.my.key': 'my-value' });
    expect((await prop(f, 'filter_state'))[0]).toBe(3); // SERIALIZATION_FAILURE, as in Envoy
  });

  it('encodes typed, list, metadata and missing values', async () => {
    const f = await load({
      properties: {
        custom: { u: property.uint(7), d: 1.5, list: ['a', 'b'], nothing: property.map({}) },
        metadata: property.metadata({ filter_metadata: { lb: { canary: true } } }),
      },
    });
    const [, u] = await prop(f, 'custom.u');
    expect(decodeProperty.uint(u!)).toBe(7n);
    const [, d] = await prop(f, 'custom.d');
    expect(decodeProperty.double(d!)).toBe(1.5);
    const [, list] = await prop(f, 'custom.list');
    expect(deserializePairs(list!)).toEqual([
      ['a', ''],
      ['b', ''],
    ]);
    const [, item] = await prop(f, 'custom.list.1');
    expect(decodeProperty.string(item!)).toBe('b');
    const [, canary] = await prop(f, 'metadata.filter_metadata.lb.canary');
    expect(Array.from(canary!)).toEqual([1]);
    expect((await prop(f, 'custom.missing'))[0]).toBe(1);
    expect((await prop(f, 'no_such_thing'))[0]).toBe(1);
  });
});

describe('lookupProperty', () => {
  it('computes function values on each lookup and fails to serialize null Struct values', () => {
    let n = 0;
    const tree = { counter: () => ++n, s: property.struct({ a: null }) };
    const enc = new TextEncoder();
    const first = lookupProperty(tree, ['counter']);
    const second = lookupProperty(tree, ['counter']);
    expect(first.status === 'ok' && decodeProperty.int(first.value)).toBe(1n);
    expect(second.status === 'ok' && decodeProperty.int(second.value)).toBe(2n);
    expect(lookupProperty(tree, ['s', 'a']).status).toBe('serialization_failure');
    expect(enc.encode('x')).toHaveLength(1);
  });
});
