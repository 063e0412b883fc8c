// @meshward/sdk/assembly properties.ts: typed property reads (null when missing, never a trap),
// the well-known accessors, and filter state, through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { loadProbe, probe, probeBody, useProbe } from './probe.js';

const host = useProbe();

describe('well-known accessors', () => {
  it('reads the request properties', async () => {
    const init = {
      method: 'POST',
      path: '/a/b?x=1&y=2',
      authority: 'api.example.com',
      scheme: 'https',
      protocol: 'HTTP/2',
      headers: [['x-request-id', 'req-123']] as Array<[string, string]>,
    };
    const read = (name: string): Promise<string> => probeBody(host(), 'prop', [name], init);
    expect(await read('request.path')).toBe('/a/b?x=1&y=2');
    expect(await read('request.url_path')).toBe('/a/b');
    expect(await read('request.query')).toBe('x=1&y=2');
    expect(await read('request.method')).toBe('POST');
    expect(await read('request.host')).toBe('api.example.com');
    expect(await read('request.scheme')).toBe('https');
    expect(await read('request.id')).toBe('req-123');
    expect(await read('request.protocol')).toBe('HTTP/2');
  });

  it('defaults: GET over HTTP/1.1, empty query', async () => {
    const read = (name: string): Promise<string> => probeBody(host(), 'prop', [name], { path: '/only' });
    expect(await read('request.method')).toBe('GET');
    expect(await read('request.protocol')).toBe('HTTP/1.1');
    expect(await read('request.url_path')).toBe('/only');
    expect(await read('request.query')).toBe('');
  });

  it('reads source and destination as address strings and integer ports', async () => {
    const address = await probeBody(host(), 'prop', ['source.address']);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(address);
    expect(m).not.toBeNull();
    // Each request is a new connection in the host: read both from the same request via the raw op.
    const props = { source: { address: '10.1.2.3:5555', port: 5555 } };
    expect(await probeBody(host(), 'prop', ['source.address'], { properties: props })).toBe('10.1.2.3:5555');
    expect(await probeBody(host(), 'prop', ['source.port'], { properties: props })).toBe('5555');
    expect(await probeBody(host(), 'prop', ['destination.address'])).toBe('127.0.0.1:10000');
    expect(await probeBody(host(), 'prop', ['destination.port'])).toBe('10000');
  });

  it('reads connection properties; a missing one is null, an empty one is ""', async () => {
    expect(await probeBody(host(), 'prop', ['connection.mtls'])).toBe('false');
    expect(await probeBody(host(), 'prop', ['connection.uri_san_peer_certificate'])).toBe('null');
    expect(await probeBody(host(), 'prop', ['connection.requested_server_name'])).toBe('');
    expect(await probeBody(host(), 'prop', ['connection.id'])).toMatch(/^[1-9]\d*$/);
    const tls = {
      connection: { mtls: true, uri_san_peer_certificate: 'spiffe://example.org/ns/default/sa/web', requested_server_name: 'api.example.com' },
    };
    expect(await probeBody(host(), 'prop', ['connection.mtls'], { properties: tls })).toBe('true');
    expect(await probeBody(host(), 'prop', ['connection.uri_san_peer_certificate'], { properties: tls })).toBe(
      'spiffe://example.org/ns/default/sa/web',
    );
    expect(await probeBody(host(), 'prop', ['connection.requested_server_name'], { properties: tls })).toBe('api.example.com');
  });

  it('reads the plugin identity', async () => {
    expect(await probeBody(host(), 'prop', ['plugin_name'])).toBe('sdk-probe');
    expect(await probeBody(host(), 'prop', ['plugin_root_id'])).toBe('sdk-probe');
    expect(await probeBody(host(), 'prop', ['plugin_vm_id'])).toBe('');
    const other = await loadProbe({ vmId: 'vm-7', rootId: 'sdk-probe', name: 'my-plugin' });
    expect(await probeBody(other, 'prop', ['plugin_name'])).toBe('my-plugin');
    expect(await probeBody(other, 'prop', ['plugin_vm_id'])).toBe('vm-7');
  });

  it('rejects an unknown accessor name in the probe', async () => {
    expect(await probeBody(host(), 'prop', ['request.nothing'])).toBe('bad-accessor');
  });
});

describe('getProperty and typed reads', () => {
  const custom = { custom: { ratio: 0.25, count: -5, big: 2n ** 40n, flag: true, text: 'hi', bytes: new Uint8Array([0, 255, 7]) } };
  const cases: Array<[path: string, type: string, expected: string]> = [
    ['request.path', 'string', '/p'],
    ['request.path', 'bytes', Buffer.from('/p').toString('hex')],
    ['custom.text', 'string', 'hi'],
    ['custom.bytes', 'bytes', '00ff07'],
    ['custom.count', 'int', '-5'],
    ['custom.big', 'int', String(2 ** 40)],
    ['custom.ratio', 'float', '0.25'],
    ['custom.flag', 'bool', 'true'],
    ['connection.mtls', 'bool', 'false'],
    // Wrong size for the type: null, not garbage.
    ['request.path', 'int', 'null'],
    ['custom.flag', 'int', 'null'],
    ['custom.count', 'bool', 'null'],
    ['custom.text', 'float', 'null'],
    // Missing: null, and the VM keeps running.
    ['custom.missing', 'string', 'null'],
    ['does.not.exist', 'string', 'null'],
    ['request.nope', 'int', 'null'],
    ['response.code', 'int', 'null'],
    ['nothing', 'bool', 'null'],
    ['', 'string', 'null'],
  ];
  it.each(cases)('%j as %s -> %j', async (path, type, expected) => {
    const res = await probe(host(), 'property', [path, type], { path: '/p', properties: custom });
    expect(res.trap).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.body).toBe(expected);
  });

  it('reads a map property (request.headers) as pairs', async () => {
    const body = await probeBody(host(), 'property', ['request.headers', 'map'], { headers: [['x-a', '1']] });
    const lines = body.split('\n');
    expect(lines).toContain('x-a=1');
    expect(lines).toContain('x-probe=property');
    expect(lines).toContain(':path=/');
  });

  it('survives many missing lookups in a row (no abort, no leak of state)', async () => {
    for (let i = 0; i < 20; i++) expect(await probeBody(host(), 'property', [`missing.${i}`, 'string'])).toBe('null');
    expect(await probeBody(host(), 'prop', ['request.path'], { path: '/still-alive' })).toBe('/still-alive');
    expect(host().failed).toBe(false);
  });
});

describe('filter state', () => {
  it('setFilterState stores wasm.<key> and reads it back as a property', async () => {
    const res = await probe(host(), 'filter-state-set', ['meshward_user', 'alice@example.com']);
    expect(res.body).toBe('set=Ok;read=alice@example.com');
    expect(res.filterState).toEqual({ 'wasm.meshward_user': 'alice@example.com' });
  });

  it('keeps values byte for byte (spaces, symbols, JSON)', async () => {
    const value = '{"sub":"u-1","roles":["a b","c;d"]}';
    const res = await probe(host(), 'filter-state-set', ['claims', value]);
    expect(res.body).toBe(`set=Ok;read=${value}`);
    expect(res.filterState['wasm.claims']).toBe(value);
  });

  it('is per request: a later request does not see it', async () => {
    await probe(host(), 'filter-state-set', ['once', 'v']);
    expect(await probeBody(host(), 'filter-state-get', ['once'])).toBe('null');
  });
});
