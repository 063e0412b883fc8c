// The ext_authz server's identity sources behind REAL Envoy: OIDC discovery (a local HTTP IdP),
// the JWT typ check, API keys, identity already verified by Envoy's jwt_authn
// (payload_in_metadata + metadata_context_namespaces) and by Meshward's JWT filter
// (forward_payload_header), and Consul-style intentions for an mTLS peer.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  staticCluster,
  stopAllEnvoys,
  wasmHttpFilter,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { buildDir } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/test-pki.js';
import { extAuthzHttpFilter, startAuthzServer, type AuthzServer } from '../../ext-authz/src/index.js';

const STATIC_ISS = 'https://issuer.identity-e2e.meshward.test';
let upstream: EchoUpstream;
let key: CryptoKey;
let jwk: JWK;
let idp: { server: Server; url: string; docIssuer: () => string; hits: number };
const servers: AuthzServer[] = [];
let logLines: string[] = [];

function sign(iss: string, claims: Record<string, unknown>, typ?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'e2e', ...(typ ? { typ } : {}) })
    .setIssuer(iss)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'e2e', alg: 'ES256', use: 'sig' };
  // The IdP: an OpenID discovery document and the JWKS it names.
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      idp.hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: idp.docIssuer(), jwks_uri: `${idp.url}/oauth/keys` }));
    } else if (req.url === '/oauth/keys') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp = { server, url, docIssuer: () => url, hits: 0 };
});

afterAll(async () => {
  await upstream.close();
  idp.server.closeAllConnections();
  await new Promise<void>((r) => idp.server.close(() => r()));
});

afterEach(async () => {
  await stopAllEnvoys();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(config: Record<string, unknown>): Promise<AuthzServer> {
  const lines: string[] = [];
  logLines = lines;
  const loopback = { host: '127.0.0.1', port: 0 };
  const server = await startAuthzServer(
    { log_level: 'debug', server: { grpc: loopback, http: loopback, admin: loopback }, ...config },
    { logSink: (line) => lines.push(line), shutdownGraceMs: 200 },
  );
  servers.push(server);
  return server;
}

type Mode = 'grpc' | 'http';

/** Envoy: [filters before ext_authz] -> ext_authz -> router -> the echo upstream. */
function startGateway(
  mode: Mode,
  server: AuthzServer,
  o: { before?: Json[]; metadataNamespaces?: string[]; forwardHeaders?: string[]; route?: Record<string, Json>; patch?: (cfg: any) => void } = {},
): Promise<EnvoyInstance> {
  const port = mode === 'grpc' ? server.ports.grpc! : server.ports.http!;
  const filter = extAuthzHttpFilter({
    mode,
    cluster: 'ext_authz',
    uri: `http://127.0.0.1:${port}`,
    timeout: '2s',
    ...(o.forwardHeaders ? { forwardHeaders: o.forwardHeaders } : {}),
  }) as { typed_config: Record<string, Json> };
  if (o.metadataNamespaces) filter.typed_config['metadata_context_namespaces'] = o.metadataNamespaces;
  return startEnvoy({
    config: (p) => {
      const cfg = httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        clusters: [staticCluster('ext_authz', port, mode === 'grpc' ? { http2: true } : {})],
        httpFilters: [...(o.before ?? []), filter as unknown as Json],
        ...(o.route ? { route: o.route } : {}),
      });
      o.patch?.(cfg);
      return cfg as Json;
    },
  });
}

function lastEcho(path: string) {
  const r = [...upstream.requests].reverse().find((x) => x.path === path);
  expect(r, `the upstream received ${path}`).toBeDefined();
  return r!;
}

function decisions(): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision');
}

const signedIn = { name: 'signed-in', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] };

describe('OIDC discovery and typ through Envoy', () => {
  it('an issuer with discovery: true: tokens verify with the discovered JWKS; a token of another type is refused', async () => {
    idp.hits = 0;
    const server = await startServer({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } }, policy: { policies: [signedIn] } });
    const envoy = await startGateway('grpc', server);
    const at = await sign(idp.url, { sub: 'alice' }, 'at+jwt');
    const res = await fetch(envoy.url('/discovered'), { headers: { authorization: `Bearer ${at}` } });
    expect(res.status).toBe(200);
    expect(lastEcho('/discovered').headers['x-meshward-principal']).toBe(`${idp.url}/alice`);
    const logout = await sign(idp.url, { sub: 'alice' }, 'logout+jwt');
    const refused = await fetch(envoy.url('/discovered'), { headers: { authorization: `Bearer ${logout}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="meshward", error="invalid_token"');
    expect(decisions().map((d) => d['reason'])).toEqual(['ALLOW policy "signed-in" rule 0 matched', 'jwt type "logout+jwt" not accepted']);
    expect(idp.hits).toBe(1);
  });

  it('a discovery document for another issuer: logged at start, and the issuer\'s tokens get 401', async () => {
    idp.docIssuer = () => 'https://impostor.example';
    try {
      const server = await startServer({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } }, policy: { policies: [signedIn] } });
      const envoy = await startGateway('grpc', server);
      const res = await fetch(envoy.url('/mismatch'), { headers: { authorization: `Bearer ${await sign(idp.url, { sub: 'alice' })}` } });
      expect(res.status).toBe(401);
      expect(upstream.requests.some((r) => r.path === '/mismatch')).toBe(false);
      const error = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['level'] === 'error');
      expect(error).toMatchObject({ issuer: idp.url });
      expect(String(error!['msg'])).toContain('discovery document issuer "https://impostor.example" does not match the configured issuer');
      expect(String(decisions()[0]!['reason'])).toContain('issuer discovery failed');
    } finally {
      idp.docIssuer = () => idp.url;
    }
  });
});

const API_KEY = 'mk_e2e_3b8f0c6a1d2e';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each<Mode>(['grpc', 'http'])('API keys through Envoy (%s mode)', (mode) => {
  it('a known key reaches the upstream as a principal, without the key; an unknown key gets 401 ApiKey', async () => {
    const server = await startServer({
      identity: { api_keys: { keys: [{ id: 'reporting', sha256: sha256(API_KEY), labels: { team: 'data' } }] } },
      policy: { policies: [{ name: 'data-team', action: 'ALLOW', rules: [{ when: [{ key: 'request.auth.api_key.labels[team]', values: ['data'] }] }] }] },
    });
    const envoy = await startGateway(mode, server, mode === 'http' ? { forwardHeaders: ['x-api-key'] } : {});
    const path = `/reports-${mode}`;
    const ok = await fetch(envoy.url(path), { headers: { 'x-api-key': API_KEY } });
    expect(ok.status).toBe(200);
    const echoed = lastEcho(path).headers;
    expect(echoed['x-meshward-principal']).toBe('api-key/reporting');
    expect(echoed['x-api-key']).toBeUndefined();

    const bad = await fetch(envoy.url(path), { headers: { 'x-api-key': 'mk_e2e_wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('ApiKey realm="meshward"');
    expect(((await bad.json()) as { code: string }).code).toBe('invalid_api_key');
    expect((await fetch(envoy.url(path))).status).toBe(403);
    expect(decisions().map((d) => [d['identity'], d['decision']])).toEqual([
      ['api_key', 'allow'],
      ['anonymous', 'unauthenticated'],
      ['anonymous', 'deny'],
    ]);
    expect(logLines.join('\n')).not.toContain(API_KEY);
    expect(logLines.join('\n')).not.toContain('mk_e2e_wrong');
  });
});

describe('identity verified in front of ext_authz', () => {
  const policies = [
    { name: 'admins', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }], when: [{ key: 'request.auth.claims[role]', not_values: ['admin'] }] }] },
    signedIn,
  ];

  it('Envoy jwt_authn with payload_in_metadata: the payload reaches the policy through metadata_context', async () => {
    const server = await startServer({
      identity: { verified_upstream: { jwt_authn_metadata_key: 'jwt_payload', issuers: [STATIC_ISS] } },
      policy: { policies },
    });
    const jwtAuthn = {
      name: 'envoy.filters.http.jwt_authn',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
        providers: { idp: { issuer: STATIC_ISS, local_jwks: { inline_string: JSON.stringify({ keys: [jwk] }) }, payload_in_metadata: 'jwt_payload' } },
        rules: [{ match: { prefix: '/' }, requires: { allow_missing: {} } }],
      },
    };
    const envoy = await startGateway('grpc', server, { before: [jwtAuthn as unknown as Json], metadataNamespaces: ['envoy.filters.http.jwt_authn'] });
    const admin = await sign(STATIC_ISS, { sub: 'alice', role: 'admin' });
    const res = await fetch(envoy.url('/admin/panel'), { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(lastEcho('/admin/panel').headers['x-meshward-principal']).toBe(`${STATIC_ISS}/alice`);
    const viewer = await sign(STATIC_ISS, { sub: 'bob', role: 'viewer' });
    expect((await fetch(envoy.url('/admin/panel'), { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(403);
    // No token: jwt_authn lets it through (allow_missing), there is no payload, nobody is signed in.
    expect((await fetch(envoy.url('/plain'))).status).toBe(403);
    expect(decisions().map((d) => [d['principal'] ?? null, d['policy']])).toEqual([
      [`${STATIC_ISS}/alice`, 'signed-in'],
      [`${STATIC_ISS}/bob`, 'admins'],
      [null, undefined],
    ]);
  });

  it('Meshward\'s JWT filter with forward_payload_header: trusted header mode; a client-forged header is removed by the filter', async () => {
    const server = await startServer({
      identity: { verified_upstream: { payload_header: 'x-jwt-payload', jwt_filter_before_ext_authz: true, issuers: [STATIC_ISS] } },
      policy: { policies },
    });
    const jwtFilter = wasmHttpFilter({
      name: 'jwt',
      wasmPath: join(buildDir, 'jwt.wasm'),
      config: {
        providers: { idp: { issuer: STATIC_ISS, local_jwks: { inline_string: JSON.stringify({ keys: [jwk] }) }, forward_payload_header: 'x-jwt-payload' } },
        rules: [{ match: { prefix: '/' }, requires: { allow_missing: {} } }],
      },
    });
    const envoy = await startGateway('grpc', server, { before: [jwtFilter as Json] });
    const admin = await sign(STATIC_ISS, { sub: 'carol', role: 'admin' });
    const res = await fetch(envoy.url('/admin/wasm'), { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(lastEcho('/admin/wasm').headers['x-meshward-principal']).toBe(`${STATIC_ISS}/carol`);
    // Without a token, a payload header the client wrote itself never reaches ext_authz.
    const forged = Buffer.from(JSON.stringify({ iss: STATIC_ISS, sub: 'mallory', role: 'admin' })).toString('base64url');
    const attack = await fetch(envoy.url('/admin/forged'), { headers: { 'x-jwt-payload': forged } });
    expect(attack.status).toBe(403);
    expect(upstream.requests.some((r) => r.path === '/admin/forged')).toBe(false);
    expect(decisions().map((d) => [d['identity'], d['principal'] ?? null])).toEqual([
      ['jwt', `${STATIC_ISS}/carol`],
      ['anonymous', null],
    ]);
  });
});

describe('Consul-style intentions for an mTLS peer', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki('intentions');
    pki.issueClient('web', '/CN=web', 'URI:spiffe://cluster.local/ns/shop/sa/web');
    pki.issueClient('cart', '/CN=cart', 'URI:spiffe://cluster.local/ns/shop/sa/cart');
  });
  afterAll(() => pki.remove());

  const get = async (envoy: EnvoyInstance, path: string, client: string): Promise<number> =>
    (await pki.get(Number(new URL(envoy.url('/')).port), path, { client })).status;

  it('the SPIFFE service account is the source, a context extension the destination; the most specific intention decides', async () => {
    const server = await startServer({
      identity: { workload: { trust_domains: ['cluster.local'] } },
      policy: {
        intentions: [
          { source: '*', destination: 'orders', action: 'deny' },
          { source: 'web', destination: 'orders', action: 'allow' },
        ],
      },
    });
    const envoy = await startGateway('grpc', server, {
      route: {
        typed_per_filter_config: {
          'envoy.filters.http.ext_authz': {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
            check_settings: { context_extensions: { destination_service: 'orders' } },
          },
        },
      },
      patch: (cfg) => {
        cfg.static_resources.listeners[0].filter_chains[0].transport_socket = pki.downstreamTlsSocket({ requireClientCertificate: true });
      },
    });
    expect(await get(envoy, '/orders/1', 'web')).toBe(200);
    expect(lastEcho('/orders/1').headers['x-meshward-workload']).toBe('spiffe://cluster.local/ns/shop/sa/web');
    expect(await get(envoy, '/orders/2', 'cart')).toBe(403);
    expect(upstream.requests.some((r) => r.path === '/orders/2')).toBe(false);
    expect(decisions().map((d) => [d['workload'], d['decision'], d['policy']])).toEqual([
      ['spiffe://cluster.local/ns/shop/sa/web', 'allow', 'intention web -> orders'],
      ['spiffe://cluster.local/ns/shop/sa/cart', 'deny', 'intention * -> orders'],
    ]);
  });

  it('XFCC from a trusted proxy: the header names the source; Envoy\'s default (SANITIZE) removes a client\'s copy', async () => {
    const server = await startServer({
      identity: { workload: { trust_domains: ['cluster.local'], xfcc: { trusted_proxies: ['127.0.0.1/32'] } } },
      policy: {
        intentions: {
          rules: [
            { source: 'web', destination: 'orders', action: 'allow' },
            { source: '*', destination: '*', action: 'deny' },
          ],
          destination_hosts: { '127.0.0.1': 'orders' },
        },
      },
    });
    const xfcc = (sa: string) => `By=spiffe://cluster.local/ns/shop/sa/orders;Hash=00;URI=spiffe://cluster.local/ns/shop/sa/${sa}`;
    // This Envoy plays the hop behind a trusted proxy: it passes the proxy's XFCC on as is (ALWAYS_FORWARD_ONLY: FORWARD_ONLY would need mTLS).
    const forwarding = await startGateway('grpc', server, {
      patch: (cfg) => (cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.forward_client_cert_details = 'ALWAYS_FORWARD_ONLY'),
    });
    expect((await fetch(forwarding.url('/xfcc/web'), { headers: { 'x-forwarded-client-cert': xfcc('web') } })).status).toBe(200);
    expect(lastEcho('/xfcc/web').headers['x-meshward-workload']).toBe('spiffe://cluster.local/ns/shop/sa/web');
    expect((await fetch(forwarding.url('/xfcc/cart'), { headers: { 'x-forwarded-client-cert': xfcc('cart') } })).status).toBe(403);
    await forwarding.stop();
    // An edge Envoy with the default forward_client_cert_details drops a client's XFCC: no source service.
    const edge = await startGateway('grpc', server);
    expect((await fetch(edge.url('/xfcc/edge'), { headers: { 'x-forwarded-client-cert': xfcc('web') } })).status).toBe(403);
    expect(decisions().map((d) => [d['workload'] ?? null, d['policy'], d['reason']])).toEqual([
      ['spiffe://cluster.local/ns/shop/sa/web', 'intention web -> orders', 'intention web -> orders (allow) matched web -> orders; no ALLOW policy'],
      ['spiffe://cluster.local/ns/shop/sa/cart', 'intention * -> *', 'intention * -> * (deny) matched cart -> orders'],
      [null, 'intentions default', 'no intention matched (unknown) -> orders; default deny'],
    ]);
  });
});
