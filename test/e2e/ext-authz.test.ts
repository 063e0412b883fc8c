// The ext_authz server behind REAL Envoy: envoy.filters.http.ext_authz in gRPC mode
// (envoy.service.auth.v3.Authorization over an HTTP/2 cluster) and in HTTP mode (http_service),
// in front of the echo upstream.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  staticCluster,
  stopAllEnvoys,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { repoRoot } from '../support/cli.js';
import { extAuthzHttpFilter, startAuthzServer, type AuthzServer, type ExtAuthzFilterOptions } from '../../ext-authz/src/index.js';

const ISSUER = 'https://issuer.e2e.meshward.test';
const SLOW_ISSUER = 'https://slow-issuer.e2e.meshward.test';
const AUDIENCE = 'meshward-e2e';
const ACCESS = 'ACCESS %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% decision=%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%';

let upstream: EchoUpstream;
let signingKey: CryptoKey;
let publicJwk: JWK;
let slowJwks: { server: Server; port: number; delayMs: number };
const servers: AuthzServer[] = [];
// The log lines of the server the current test started. Each server gets its own array: a check
// still running when its test ends (the slow-JWKS case) must not log into the next test's lines.
let logLines: string[] = [];

async function token(claims: Record<string, unknown>, options: { issuer?: string; expiresIn?: string | number; kid?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'e2e-key' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(signingKey);
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'e2e-key', alg: 'ES256', use: 'sig' };
  // A JWKS endpoint that answers only after delayMs: makes the server slower than Envoy's timeout.
  const server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    }, slowJwks.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  slowJwks = { server, port: (server.address() as AddressInfo).port, delayMs: 1500 };
});

afterAll(async () => {
  await upstream.close();
  slowJwks.server.closeAllConnections();
  await new Promise<void>((r) => slowJwks.server.close(() => r()));
});

afterEach(async () => {
  await stopAllEnvoys();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(extra: Record<string, unknown> = {}): Promise<AuthzServer> {
  const lines: string[] = [];
  logLines = lines;
  const loopback = { host: '127.0.0.1', port: 0 };
  const server = await startAuthzServer(
    {
      log_level: 'debug',
      server: { grpc: loopback, http: loopback, admin: loopback },
      identity: {
        jwt: {
          issuers: [
            { issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [publicJwk] } },
            { issuer: SLOW_ISSUER, jwks_uri: `http://127.0.0.1:${slowJwks.port}/jwks.json`, jwks_timeout_ms: 5000 },
          ],
        },
      },
      policy: {
        policies: [
          {
            name: 'admins-only-under-admin',
            action: 'DENY',
            rules: [{ to: [{ operation: { paths: ['/admin/*'] } }], when: [{ key: 'request.auth.claims[role]', not_values: ['admin'] }] }],
          },
          { name: 'public', action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/public/*'] } }] }] },
          { name: 'signed-in', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] },
        ],
      },
      ...extra,
    },
    { logSink: (line) => lines.push(line), shutdownGraceMs: 200 },
  );
  servers.push(server);
  return server;
}

type Mode = 'grpc' | 'http';

async function startGateway(mode: Mode, ports: { grpc?: number; http?: number }, filter: Partial<ExtAuthzFilterOptions> = {}): Promise<EnvoyInstance> {
  const port = mode === 'grpc' ? ports.grpc! : ports.http!;
  const cluster = mode === 'grpc' ? staticCluster('ext_authz', port, { http2: true }) : staticCluster('ext_authz', port);
  return startEnvoy({
    config: (p) =>
      httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        accessLogFormat: ACCESS,
        clusters: [cluster],
        httpFilters: [extAuthzHttpFilter({ mode, cluster: 'ext_authz', uri: `http://127.0.0.1:${port}`, timeout: '1s', ...filter })],
      }) as Json,
  });
}

function decisions(): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision');
}

function lastEcho(path: string) {
  const r = [...upstream.requests].reverse().find((x) => x.path === path);
  expect(r, `the upstream received ${path}`).toBeDefined();
  return r!;
}

describe.each<Mode>(['grpc', 'http'])('ext_authz in %s mode through real Envoy', (mode) => {
  it('allows a valid token: the upstream gets the identity headers, not the token', async () => {
    const server = await startServer();
    const envoy = await startGateway(mode, server.ports);
    const jwt = await token({ sub: 'alice', role: 'viewer' });
    const path = `/api/items-${mode}`;
    const res = await fetch(envoy.url(path), { headers: { authorization: `Bearer ${jwt}`, 'x-meshward-workload': 'spoofed' } });
    expect(res.status).toBe(200);
    const echoed = lastEcho(path);
    expect(echoed.headers['x-meshward-principal']).toBe(`${ISSUER}/alice`);
    expect(echoed.headers['x-meshward-decision-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(echoed.headers['authorization']).toBeUndefined();
    // A header the client sent under an identity header's name never reaches the upstream.
    expect(echoed.headers['x-meshward-workload']).toBeUndefined();

    const [d] = decisions();
    expect(d).toMatchObject({ protocol: mode, decision: 'allow', status: 200, principal: `${ISSUER}/alice`, policy: 'signed-in', path });
    expect(d!['decision_id']).toBe(echoed.headers['x-meshward-decision-id']);
    // The token never appears in the decision log.
    expect(logLines.join('\n')).not.toContain(jwt);
    expect(logLines.join('\n')).not.toContain(jwt.split('.')[2]!);
    if (mode === 'grpc') {
      // The decision id reaches Envoy's access log through dynamic metadata.
      await envoy.waitForLog(`ACCESS ${path} 200 via_upstream decision=${String(d!['decision_id'])}`);
    }
  });

  it('allows anonymous requests to public paths, and strips spoofed identity headers', async () => {
    const server = await startServer();
    const envoy = await startGateway(mode, server.ports);
    const path = `/public/page-${mode}`;
    const res = await fetch(envoy.url(path), { headers: { 'x-meshward-principal': 'admin-by-spoofing' } });
    expect(res.status).toBe(200);
    expect(lastEcho(path).headers['x-meshward-principal']).toBeUndefined();
    expect(decisions()[0]).toMatchObject({ decision: 'allow', identity: 'anonymous', policy: 'public' });
  });

  it('denies with 403 and a JSON body naming only a code and the decision id', async () => {
    const server = await startServer();
    const envoy = await startGateway(mode, server.ports);
    const jwt = await token({ sub: 'bob', role: 'viewer' });
    const before = upstream.requests.length;
    const res = await fetch(envoy.url('/admin/users'), { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'decision_id']);
    expect(body['code']).toBe('forbidden');
    expect(res.headers.get('x-meshward-decision-id')).toBe(body['decision_id']);
    expect(upstream.requests.length).toBe(before);
    expect(decisions()[0]).toMatchObject({ decision: 'deny', status: 403, policy: 'admins-only-under-admin', decision_id: body['decision_id'] });
    await envoy.waitForLog(mode === 'grpc' ? `ACCESS /admin/users 403 ext_authz_denied decision=${String(body['decision_id'])}` : 'ACCESS /admin/users 403 ext_authz_denied decision=-');
  });

  it('answers 401 with WWW-Authenticate when the token is missing, and invalid_token when it does not verify', async () => {
    const server = await startServer();
    const envoy = await startGateway(mode, server.ports);
    const missing = await fetch(envoy.url('/api/items'));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="meshward"');
    expect(((await missing.json()) as { code: string }).code).toBe('unauthenticated');

    const expired = await token({ sub: 'carol' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
    const bad = await fetch(envoy.url('/api/items'), { headers: { authorization: `Bearer ${expired}` } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="meshward", error="invalid_token"');
    expect(((await bad.json()) as { code: string }).code).toBe('invalid_token');
    // Even a public path refuses a token that is present but invalid.
    expect((await fetch(envoy.url('/public/x'), { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
    expect(decisions().map((d) => d['reason'])).toEqual(['no ALLOW policy matched; no bearer token', 'jwt expired', 'jwt expired']);
  });

  it('fails closed when the server is down: Envoy answers 403 by default, or status_on_error; open with failure_mode_allow', async () => {
    const server = await startServer();
    const ports = { ...server.ports };
    await server.close();
    const envoy = await startGateway(mode, ports);
    const jwt = await token({ sub: 'alice' });
    const res = await fetch(envoy.url('/public/down'), { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('');
    expect(upstream.requests.some((r) => r.path === '/public/down')).toBe(false);
    // Envoy's own refusal (no decision id: the server never answered).
    await envoy.waitForLog('ACCESS /public/down 403 ext_authz_error decision=-');
    await envoy.stop();

    const withStatus = await startGateway(mode, ports, { statusOnError: 503 });
    expect((await fetch(withStatus.url('/public/down'))).status).toBe(503);
    await withStatus.stop();

    // failure_mode_allow: true lets requests through while the server is down, and says so upstream.
    const open = await startGateway(mode, ports, { failureModeAllow: true });
    expect((await fetch(open.url('/public/down-open'))).status).toBe(200);
    expect(lastEcho('/public/down-open').headers['x-envoy-auth-failure-mode-allowed']).toBe('true');
  });

  it('a server slower than the filter timeout: refused (403) by default, let through with failure_mode_allow', async () => {
    const server = await startServer();
    // A token from the issuer whose JWKS endpoint answers after 1.5 s; Envoy waits 300 ms.
    const jwt = await token({ sub: 'slow' }, { issuer: SLOW_ISSUER });
    const closed = await startGateway(mode, server.ports, { timeout: '0.3s' });
    const started = Date.now();
    const res = await fetch(closed.url('/api/slow-closed'), { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(403);
    expect(Date.now() - started).toBeLessThan(1400);
    expect(upstream.requests.some((r) => r.path === '/api/slow-closed')).toBe(false);
    await closed.waitForLog('ACCESS /api/slow-closed 403 ext_authz_error decision=-');
    await closed.stop();

    const open = await startGateway(mode, server.ports, { timeout: '0.3s', failureModeAllow: true });
    const res2 = await fetch(open.url('/api/slow-open'), { headers: { authorization: `Bearer ${jwt}` } });
    expect(res2.status).toBe(200);
    await open.waitForLog('ACCESS /api/slow-open 200 via_upstream');
    const echoed = lastEcho('/api/slow-open');
    expect(echoed.headers['x-envoy-auth-failure-mode-allowed']).toBe('true');
    // Nothing vouched for this request: no identity headers.
    expect(echoed.headers['x-meshward-principal']).toBeUndefined();
  });
});

describe('ext_authz server health and metrics next to Envoy', () => {
  it('serves /healthz, /readyz and /metrics counting the decisions Envoy asked for', async () => {
    const server = await startServer();
    const envoy = await startGateway('grpc', server.ports);
    await fetch(envoy.url('/public/a'));
    await fetch(envoy.url('/api/b'));
    const admin = `http://127.0.0.1:${server.ports.admin}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toContain('meshward_authz_decisions_total{decision="allow",protocol="grpc"} 1');
    expect(metrics).toContain('meshward_authz_decisions_total{decision="unauthenticated",protocol="grpc"} 1');
    expect(metrics).toMatch(/meshward_authz_check_duration_seconds_count\{protocol="grpc"\} 2/);
    // The check port never serves the admin paths: through Envoy /healthz is just another request.
    expect((await fetch(envoy.url('/healthz'))).status).toBe(401);
    expect(await freePort()).toBeGreaterThan(0);
  });
});

describe('the documented Envoy config (envoy-configs/ext-authz.yaml)', () => {
  it('checks /grpc/ over gRPC and /http/ over HTTP, skips /health, and the x-tenant rule works in both', async () => {
    const server = await startServer({
      policy: {
        policies: [
          { name: 'tenant-acme', action: 'ALLOW', rules: [{ when: [{ key: 'request.headers[x-tenant]', values: ['acme'] }] }] },
        ],
      },
    });
    const envoy = await startEnvoy({
      config: readFileSync(join(repoRoot, 'envoy-configs', 'ext-authz.yaml'), 'utf8'),
      vars: { upstream_port: upstream.port, authz_grpc_port: server.ports.grpc!, authz_http_port: server.ports.http! },
    });
    for (const prefix of ['grpc', 'http']) {
      const okRes = await fetch(envoy.url(`/${prefix}/x`), { headers: { 'x-tenant': 'acme' } });
      expect(okRes.status, `${prefix}: ${JSON.stringify(decisions())}`).toBe(200);
      expect((await fetch(envoy.url(`/${prefix}/x`), { headers: { 'x-tenant': 'other' } })).status).toBe(401);
    }
    expect((await fetch(envoy.url('/health'))).status).toBe(200);
    expect(decisions().map((d) => [d['protocol'], d['decision']])).toEqual([
      ['grpc', 'allow'],
      ['grpc', 'unauthenticated'],
      ['http', 'allow'],
      ['http', 'unauthenticated'],
    ]);
  });

  it('the IP block list refuses Envoy\'s downstream address (gRPC source.address)', async () => {
    const server = await startServer({ signals: { ip_blocklist: { cidrs: ['127.0.0.0/8'] } } });
    const envoy = await startGateway('grpc', server.ports);
    const res = await fetch(envoy.url('/public/blocked'));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'forbidden' });
    expect(decisions()[0]).toMatchObject({ source_ip: '127.0.0.1', reason: 'signal ip_blocklist: source address in blocked range 127.0.0.0/8' });
  });
});
