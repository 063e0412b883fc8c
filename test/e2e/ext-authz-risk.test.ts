// Risk-based decisions through REAL Envoy: envoy.filters.http.ext_authz in gRPC and HTTP mode in
// front of the echo upstream. Each decision (allow, deny, step-up, throttle, read-only) as the
// client sees it; identity and risk headers upstream; route sensitivity from Envoy's route
// config; and two server replicas behind one Envoy cluster sharing risk history through one
// real redis-server (and carrying on from local history while it is down).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  staticCluster,
  stopAllEnvoys,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { extAuthzHttpFilter, loadConfigFile, startAuthzServer, type AuthzServer, type ExtAuthzFilterOptions } from '../../ext-authz/src/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const ISSUER = 'https://issuer.risk.e2e.meshward.test';
const ACCESS = 'ACCESS %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% risk=%DYNAMIC_METADATA(envoy.filters.http.ext_authz:risk_score)% decision=%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision)%';
// What the ext_authz filter forwards in HTTP mode (gRPC mode sends every header).
const FORWARD = ['x-request-id', 'x-forwarded-for', 'user-agent', 'x-meshward-waf-score'];

let upstream: EchoUpstream;
let signingKey: CryptoKey;
let publicJwk: JWK;
const servers: AuthzServer[] = [];

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'risk-key', alg: 'ES256' };
});

afterAll(async () => {
  await upstream.close();
});

afterEach(async () => {
  await stopAllEnvoys();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'risk-key' }).setIssuer(ISSUER).setIssuedAt().setExpirationTime('5m').sign(signingKey);
}

const loopback = { host: '127.0.0.1', port: 0 };

/**
 * The demo risk setup: the WAF's anomaly score (sent here by the client, standing in for the WAF
 * filter that sets it in front of ext_authz) and the route's sensitivity make the score; the
 * thresholds turn it into decisions.
 */
function riskConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    log_level: 'info',
    server: { grpc: loopback, http: { ...loopback, client_ip_header: 'x-forwarded-for' }, admin: loopback },
    identity: { jwt: { issuers: [{ issuer: ISSUER, jwks: { keys: [publicJwk] } }] } },
    signals: {
      waf: { weight: 100, max_anomaly: 100 },
      route_sensitivity: { weight: 40 },
    },
    risk: {
      step_up: { acr_values: 'urn:meshward:mfa', max_age: 900 },
      thresholds: [
        { score: 90, decision: 'deny' },
        { score: 70, decision: 'step_up' },
        { score: 50, decision: 'read_only' },
        { score: 30, decision: 'throttle', retry_after_seconds: 20 },
      ],
    },
    policy: { policies: [{ name: 'signed-in', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] }] },
    // Under the x-meshward- prefix, which HTTP mode's allowed_upstream_headers copies.
    response: { upstream_headers: { claims: { 'x-meshward-user-email': 'email' } } },
    ...extra,
  };
}

async function startServer(config: Parameters<typeof startAuthzServer>[0], lines: string[] = []): Promise<AuthzServer> {
  const server = await startAuthzServer(config, { logSink: (l) => lines.push(l), shutdownGraceMs: 200 });
  servers.push(server);
  return server;
}

type Mode = 'grpc' | 'http';

async function gateway(mode: Mode, clusterEndpoints: number[], options: { route?: Record<string, Json>; filter?: Partial<ExtAuthzFilterOptions> } = {}): Promise<EnvoyInstance> {
  const cluster = staticCluster('ext_authz', clusterEndpoints[0]!, { http2: mode === 'grpc' }) as { [k: string]: Json };
  // Several replicas: one endpoint each, round robin.
  cluster['load_assignment'] = {
    cluster_name: 'ext_authz',
    endpoints: [{ lb_endpoints: clusterEndpoints.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
  };
  return startEnvoy({
    config: (p) =>
      httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        accessLogFormat: ACCESS,
        clusters: [cluster],
        ...(options.route ? { route: options.route } : {}),
        httpFilters: [extAuthzHttpFilter({ mode, cluster: 'ext_authz', uri: `http://127.0.0.1:${clusterEndpoints[0]}`, timeout: '2s', forwardHeaders: FORWARD, ...options.filter })],
      }) as Json,
  });
}

function lastEcho(path: string) {
  const r = [...upstream.requests].reverse().find((x) => x.path === path);
  expect(r, `the upstream received ${path}`).toBeDefined();
  return r!;
}

const decisions = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision');

describe.each<Mode>(['grpc', 'http'])('risk decisions through real Envoy, %s mode', (mode) => {
  it('allow: identity and risk headers reach the upstream, the token does not', async () => {
    const server = await startServer(riskConfig());
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const jwt = await token({ sub: 'alice', email: 'alice@example.com' });
    const path = `/api/orders-${mode}`;
    const res = await fetch(envoy.url(path), { headers: { authorization: `Bearer ${jwt}`, 'x-meshward-waf-score': '12', 'x-meshward-risk-score': '0' } });
    expect(res.status).toBe(200);
    const h = lastEcho(path).headers;
    expect(h['x-meshward-principal']).toBe(`${ISSUER}/alice`);
    expect(h['x-meshward-user-email']).toBe('alice@example.com');
    // The server's score replaces the one the client sent.
    expect(h['x-meshward-risk-score']).toBe('12');
    expect(h['x-meshward-risk-reasons']).toBe('waf:anomaly 12');
    expect(h['authorization']).toBeUndefined();
    if (mode === 'grpc') await envoy.waitForLog(`ACCESS GET ${path} 200 via_upstream risk=12 decision=allow`);
  });

  it('deny: 403 with only a code and the decision id', async () => {
    const server = await startServer(riskConfig());
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const before = upstream.requests.length;
    const res = await fetch(envoy.url('/api/deny'), { headers: { authorization: `Bearer ${await token({ sub: 'mallory' })}`, 'x-meshward-waf-score': '95' } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'decision_id']);
    expect(body['code']).toBe('forbidden');
    expect(res.headers.get('x-meshward-decision-id')).toBe(body['decision_id']);
    expect(upstream.requests.length).toBe(before);
  });

  it('step-up: 401 insufficient_user_authentication with acr_values and max_age; an MFA token gets through', async () => {
    const lines: string[] = [];
    const server = await startServer(riskConfig(), lines);
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const res = await fetch(envoy.url('/api/transfer'), { headers: { authorization: `Bearer ${await token({ sub: 'bob', acr: 'urn:meshward:password' })}`, 'x-meshward-waf-score': '75' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="meshward", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:meshward:mfa", max_age=900',
    );
    expect(((await res.json()) as { code: string }).code).toBe('insufficient_user_authentication');
    const mfa = await token({ sub: 'bob', acr: 'urn:meshward:mfa', auth_time: Math.floor(Date.now() / 1000) - 30 });
    const again = await fetch(envoy.url('/api/transfer'), { headers: { authorization: `Bearer ${mfa}`, 'x-meshward-waf-score': '75' } });
    expect(again.status).toBe(200);
    expect(decisions(lines).map((d) => d['decision'])).toEqual(['step_up', 'allow']);
  });

  it('throttle: 429 with Retry-After', async () => {
    const server = await startServer(riskConfig());
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const res = await fetch(envoy.url('/api/search'), { headers: { authorization: `Bearer ${await token({ sub: 'carol' })}`, 'x-meshward-waf-score': '35' } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('20');
    expect(((await res.json()) as { code: string }).code).toBe('throttled');
  });

  it('read-only: GET passes, POST and DELETE get 403 read_only', async () => {
    const server = await startServer(riskConfig());
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const headers = { authorization: `Bearer ${await token({ sub: 'dave' })}`, 'x-meshward-waf-score': '55' };
    expect((await fetch(envoy.url(`/api/profile-${mode}`), { headers })).status).toBe(200);
    const post = await fetch(envoy.url(`/api/profile-${mode}`), { method: 'POST', headers, body: '{}' });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { code: string }).code).toBe('read_only');
    expect((await fetch(envoy.url(`/api/profile-${mode}`), { method: 'DELETE', headers })).status).toBe(403);
    expect(upstream.requests.filter((r) => r.path === `/api/profile-${mode}`).map((r) => r.method)).toEqual(['GET']);
  });

  it('velocity: the fourth request within the window is throttled by Envoy on the server\'s word', async () => {
    const server = await startServer(riskConfig({ signals: { velocity: { per_principal: { window_seconds: 60, max_requests: 3 } } } }));
    const envoy = await gateway(mode, [mode === 'grpc' ? server.ports.grpc! : server.ports.http!]);
    const headers = { authorization: `Bearer ${await token({ sub: 'erin' })}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(envoy.url('/api/poll'), { headers })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const last = await fetch(envoy.url('/api/poll'), { headers });
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(58);
  });
});

describe('route sensitivity from Envoy\'s route config (gRPC context_extensions)', () => {
  it('the same request is allowed on a normal route and read-only on a critical one', async () => {
    const lines: string[] = [];
    const server = await startServer(riskConfig(), lines);
    const critical = {
      typed_per_filter_config: {
        'envoy.filters.http.ext_authz': {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
          check_settings: { context_extensions: { sensitivity: 'critical' } },
        },
      },
    };
    const plain = await gateway('grpc', [server.ports.grpc!]);
    const headers = { authorization: `Bearer ${await token({ sub: 'frank' })}`, 'x-meshward-waf-score': '20' };
    // 20 (WAF) + 0 (an undeclared route is low): below every threshold.
    expect((await fetch(plain.url('/api/plain'), { headers })).status).toBe(200);
    await plain.stop();
    const guarded = await gateway('grpc', [server.ports.grpc!], { route: critical });
    // 20 (WAF) + 40 (critical route, weight 40) = 60: read-only; a GET passes, a POST does not.
    expect((await fetch(guarded.url('/api/critical'), { headers })).status).toBe(200);
    expect((await fetch(guarded.url('/api/critical'), { method: 'POST', headers })).status).toBe(403);
    const d = decisions(lines);
    expect(d.map((x) => [x['decision'], x['risk_score']])).toEqual([
      ['allow', 20],
      ['allow', 60],
      ['read_only', 60],
    ]);
    expect(d[2]!['risk_reasons']).toEqual(['route_sensitivity:critical', 'waf:anomaly 20']);
  });
});

describe('two server replicas share risk history through one redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('velocity and known devices are shared across replicas behind one Envoy cluster; without Redis each replica decides alone', async () => {
    const logs: string[][] = [[], []];
    const config = riskConfig({
      state: { url: redis.url, key_prefix: `e2e:${Date.now()}:` },
      signals: { velocity: { per_principal: { window_seconds: 60, max_requests: 4 } }, new_device: { weight: 100 } },
      risk: { step_up: { acr_values: 'urn:meshward:mfa' }, thresholds: [{ score: 100, decision: 'step_up' }] },
    });
    const a = await startServer(config, logs[0]);
    const b = await startServer(config, logs[1]);
    const envoy = await gateway('grpc', [a.ports.grpc!, b.ports.grpc!]);
    const jwt = await token({ sub: 'grace' });
    const laptop = { authorization: `Bearer ${jwt}`, 'user-agent': 'grace-laptop' };

    // Six requests, round robin over two replicas: each sees three, but the shared window says 5 and 6 are over 4.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(envoy.url('/api/feed'), { headers: laptop })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(decisions(logs[0]!).length).toBe(3);
    expect(decisions(logs[1]!).length).toBe(3);

    // The laptop was learned by whichever replica allowed it first; both know it now. A new phone
    // is unknown to both: step-up from either replica.
    const phone = { authorization: `Bearer ${await token({ sub: 'heidi' })}`, 'user-agent': 'heidi-phone' };
    const tablet = { authorization: `Bearer ${await token({ sub: 'heidi' })}`, 'user-agent': 'heidi-tablet' };
    expect((await fetch(envoy.url('/api/inbox'), { headers: phone })).status).toBe(200);
    expect((await fetch(envoy.url('/api/inbox'), { headers: phone })).status).toBe(200);
    expect((await fetch(envoy.url('/api/inbox'), { headers: tablet })).status).toBe(401);
    expect((await fetch(envoy.url('/api/inbox'), { headers: tablet })).status).toBe(401);
    const seen = [...decisions(logs[0]!), ...decisions(logs[1]!)].filter((d) => d['path'] === '/api/inbox');
    expect(seen.map((d) => d['decision']).sort()).toEqual(['allow', 'allow', 'step_up', 'step_up']);

    // Redis goes away: both replicas keep deciding from what they saw, say so, and reconnect.
    await redis.stop();
    const ivan = { authorization: `Bearer ${await token({ sub: 'ivan' })}`, 'user-agent': 'ivan' };
    const offline: number[] = [];
    for (let i = 0; i < 6; i++) offline.push((await fetch(envoy.url('/api/offline'), { headers: ivan })).status);
    // Each replica alone sees 3 of ivan's requests, never more than 4: nothing is throttled.
    expect(offline).toEqual([200, 200, 200, 200, 200, 200]);
    const metricsA = await (await fetch(`http://127.0.0.1:${a.ports.admin}/metrics`)).text();
    expect(metricsA).toContain('meshward_authz_state_backend_up{backend="redis"} 0');
    expect(logs[0]!.some((l) => l.includes('redis unavailable'))).toBe(true);
    await redis.restart();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = await (await fetch(`http://127.0.0.1:${a.ports.admin}/metrics`)).text();
      if (m.includes('meshward_authz_state_backend_up{backend="redis"} 1')) break;
      if (Date.now() > deadline) throw new Error('replica a did not reconnect to redis');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(logs[0]!.some((l) => l.includes('redis connected'))).toBe(true);
  });
});

describe('hot reload seen through Envoy', () => {
  it('a policy file and a block list change while Envoy keeps running; a broken list is rejected and the old one keeps deciding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshward-e2e-reload-'));
    writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: public\n    action: ALLOW\n    rules: [{ to: [{ operation: { paths: ["/public/*"] } }] }]\n');
    writeFileSync(join(dir, 'blocked.txt'), '192.0.2.0/24\n');
    writeFileSync(
      join(dir, 'authz.yaml'),
      'server: { grpc: { host: 127.0.0.1, port: 0 }, http: { enabled: false }, admin: { host: 127.0.0.1, port: 0 } }\nreload: { interval_ms: 100 }\nsignals:\n  ip_blocklist: { file: blocked.txt }\npolicy:\n  files: [policies.yaml]\n',
    );
    const lines: string[] = [];
    const server = await startServer(loadConfigFile(join(dir, 'authz.yaml')), lines);
    const envoy = await gateway('grpc', [server.ports.grpc!]);
    const status = async (path: string) => (await fetch(envoy.url(path))).status;
    const eventually = async (path: string, want: number) => {
      const end = Date.now() + 10_000;
      for (;;) {
        const got = await status(path);
        if (got === want) return;
        if (Date.now() > end) throw new Error(`${path}: still ${got}, wanted ${want}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    expect(await status('/public/a')).toBe(200);
    expect(await status('/docs/a')).toBe(403);

    writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: docs\n    action: ALLOW\n    rules: [{ to: [{ operation: { paths: ["/docs/*", "/public/*"] } }] }]\n');
    await eventually('/docs/a', 200);

    // Envoy talks to the server from 127.0.0.1: block it.
    writeFileSync(join(dir, 'blocked.txt'), '127.0.0.0/8\n');
    await eventually('/docs/a', 403);

    // A broken list: rejected, the previous one (which blocks us) keeps deciding.
    writeFileSync(join(dir, 'blocked.txt'), '127.0.0.0/8\nnot-an-address\n');
    const end = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('reload rejected'))) {
      if (Date.now() > end) throw new Error('no reload rejection logged');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await status('/docs/a')).toBe(403);
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.admin}/metrics`)).text();
    expect(metrics).toContain('meshward_authz_reloads_total{result="failure"} 1');
    expect(metrics).toContain('meshward_authz_reload_last_success 0');

    writeFileSync(join(dir, 'blocked.txt'), '192.0.2.0/24\n');
    await eventually('/docs/a', 200);
  });
});
