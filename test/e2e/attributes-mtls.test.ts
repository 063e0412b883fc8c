// The attributes filter on a real mTLS listener: the spiffe generator and the connection.*
// attributes read what Envoy reports for the client certificate (certificates made with the
// openssl CLI for this run).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  stopAllEnvoys,
  wasmHttpFilter,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { buildDir } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/test-pki.js';

const SPIFFE = 'spiffe://cluster.local/ns/shop/sa/frontend';
let pki: TestPki;
let upstream: EchoUpstream;
let envoy: EnvoyInstance;

const attributes = {
  attributes: [
    { name: 'peer_td', spiffe: 'trust_domain', outputs: { header: 'x-peer-td' } },
    { name: 'peer_ns', spiffe: 'namespace', outputs: { header: 'x-peer-ns' } },
    { name: 'peer_sa', spiffe: 'service_account', outputs: { header: 'x-peer-sa' } },
    { name: 'mtls', rules: [{ value: 'connection.mtls' }], outputs: { header: 'x-mtls' } },
    { name: 'san', rules: [{ value: 'connection.uri_san_peer_certificate' }], default: "'none'", outputs: { header: 'x-san' } },
    { name: 'sni', rules: [{ value: 'connection.requested_server_name' }], default: "'none'", outputs: { header: 'x-sni' } },
    {
      name: 'caller',
      rules: [{ when: "attr.peer_ns == 'shop' && request.method == 'GET'", value: "'shop-reader'" }],
      default: "'unknown'",
      outputs: { header: 'x-caller' },
    },
  ],
};

beforeAll(async () => {
  pki = createTestPki('mtls');
  pki.issueClient('client', '/CN=frontend', `URI:${SPIFFE}`);
  pki.issueClient('plain', '/CN=plain', 'DNS:plain.example');
  upstream = await startEchoUpstream();
  envoy = await startEnvoy({
    config: (p) => {
      const cfg = httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        httpFilters: [wasmHttpFilter({ name: 'attributes', wasmPath: join(buildDir, 'attributes.wasm'), config: attributes })],
      }) as { static_resources: { listeners: Array<{ filter_chains: Array<Record<string, Json>>; listener_filters?: Json[] }> } };
      // The TLS inspector records the SNI (connection.requested_server_name).
      cfg.static_resources.listeners[0]!.listener_filters = [
        { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } },
      ];
      cfg.static_resources.listeners[0]!.filter_chains[0]!['transport_socket'] = pki.downstreamTlsSocket({ requireClientCertificate: false });
      return cfg as unknown as Json;
    },
  });
});

afterAll(async () => {
  await stopAllEnvoys();
  await upstream?.close();
  pki?.remove();
});

/** GET over TLS, optionally presenting a client certificate; the echoed upstream headers. */
async function get(path: string, options: { client?: string; headers?: Record<string, string> } = {}): Promise<Record<string, string>> {
  const res = await pki.get(Number(new URL(envoy.url('/')).port), path, options);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`);
  return (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
}

describe('attributes on an mTLS listener (real Envoy)', () => {
  it('a workload certificate: the SPIFFE ID is split, connection attributes are read', async () => {
    const h = await get('/orders', { client: 'client' });
    expect(h).toMatchObject({
      'x-peer-td': 'cluster.local', 'x-peer-ns': 'shop', 'x-peer-sa': 'frontend', 'x-mtls': 'true',
      'x-san': SPIFFE, 'x-sni': 'localhost', 'x-caller': 'shop-reader',
    });
  });

  it('no client certificate: spiffe attributes are absent, mtls is false', async () => {
    const h = await get('/orders');
    expect(h['x-peer-ns']).toBeUndefined();
    expect(h['x-peer-td']).toBeUndefined();
    expect(h['x-mtls']).toBe('false');
    expect(h['x-san']).toBe('none');
    expect(h['x-caller']).toBe('unknown');
  });

  it('a certificate without a URI SAN: no SPIFFE identity', async () => {
    const h = await get('/orders', { client: 'plain' });
    expect(h['x-mtls']).toBe('true');
    expect(h['x-peer-ns']).toBeUndefined();
    expect(h['x-san']).toBe('none');
  });

  it('a client cannot claim a workload identity with headers', async () => {
    const h = await get('/x', { headers: { 'x-peer-ns': 'kube-system', 'x-caller': 'shop-reader' } });
    expect(h['x-peer-ns']).toBeUndefined();
    expect(h['x-caller']).toBe('unknown');
  });
});
