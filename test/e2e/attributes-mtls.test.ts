// The attributes filter on a real mTLS listener: the spiffe generator and the connection.*
// attributes read what Envoy reports for the client certificate (certificates made with the
// openssl CLI for this run).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
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

const SPIFFE = 'spiffe://cluster.local/ns/shop/sa/frontend';
let dir: string;
let upstream: EchoUpstream;
let envoy: EnvoyInstance;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A P-256 key and a certificate signed by the test CA, with the given extensions. */
function issue(name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
}

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
  dir = mkdtempSync(join(tmpdir(), 'meshward-mtls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=meshward test CA', '-days', '1');
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=frontend', `subjectAltName=${SPIFFE}`.replace('=', '=URI:') + '\nextendedKeyUsage=clientAuth\n');
  issue('plain', '/CN=plain', 'subjectAltName=DNS:plain.example\nextendedKeyUsage=clientAuth\n');
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
      cfg.static_resources.listeners[0]!.filter_chains[0]!['transport_socket'] = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: false,
          common_tls_context: {
            tls_certificates: [{ certificate_chain: { filename: join(dir, 'server.crt') }, private_key: { filename: join(dir, 'server.key') } }],
            validation_context: { trusted_ca: { filename: join(dir, 'ca.crt') } },
          },
        },
      };
      return cfg as unknown as Json;
    },
  });
});

afterAll(async () => {
  await stopAllEnvoys();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET over TLS, optionally presenting a client certificate; the echoed upstream headers. */
function get(path: string, client?: string): Promise<Record<string, string>> {
  const port = Number(new URL(envoy.url('/')).port);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca: readFileSync(join(dir, 'ca.crt')),
        ...(client ? { cert: readFileSync(join(dir, `${client}.crt`)), key: readFileSync(join(dir, `${client}.key`)) } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}: ${body}`));
          else resolve((JSON.parse(body) as { headers: Record<string, string> }).headers);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('attributes on an mTLS listener (real Envoy)', () => {
  it('a workload certificate: the SPIFFE ID is split, connection attributes are read', async () => {
    const h = await get('/orders', 'client');
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
    const h = await get('/orders', 'plain');
    expect(h['x-mtls']).toBe('true');
    expect(h['x-peer-ns']).toBeUndefined();
    expect(h['x-san']).toBe('none');
  });

  it('a client cannot claim a workload identity with headers', async () => {
    const port = Number(new URL(envoy.url('/')).port);
    const h = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/x', servername: 'localhost', ca: readFileSync(join(dir, 'ca.crt')), agent: false, headers: { 'x-peer-ns': 'kube-system', 'x-caller': 'shop-reader' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve((JSON.parse(body) as { headers: Record<string, string> }).headers));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(h['x-peer-ns']).toBeUndefined();
    expect(h['x-caller']).toBe('unknown');
  });
});
