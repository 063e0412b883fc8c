import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serviceDefinitions, startAuthzServer, type AuthzServer } from '../../../ext-authz/src/index.js';

const ISS = 'https://idp.unit';
let key: CryptoKey;
let jwk: JWK;
const running: AuthzServer[] = [];
const clients: grpc.Client[] = [];
let lines: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k' };
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((s) => s.close()));
  lines = [];
});

const loopback = { host: '127.0.0.1', port: 0 };
/** The gRPC tests run on each transport (server.grpc.transport). */
let grpcTransport: 'lean' | 'grpc-js' = 'lean';

async function start(extra: Record<string, unknown> = {}): Promise<AuthzServer> {
  const s = await startAuthzServer(
    {
      log_level: 'info',
      server: { grpc: { ...loopback, transport: grpcTransport }, http: loopback, admin: loopback },
      identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } },
      ...extra,
    },
    { logSink: (l) => lines.push(l), shutdownGraceMs: 100 },
  );
  running.push(s);
  return s;
}

const sign = (claims: Record<string, unknown> = {}) => new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISS).setExpirationTime('5m').sign(key);

type Check = (req: unknown) => Promise<Record<string, unknown>>;

function client(server: AuthzServer): { check: Check; health: (service: string) => Promise<unknown>; watchHealth: (service: string) => grpc.ClientReadableStream<{ status: string }> } {
  const defs = serviceDefinitions();
  const Auth = grpc.makeGenericClientConstructor(defs.authorization, 'Authorization');
  const Health = grpc.makeGenericClientConstructor(defs.health, 'Health');
  const a = new Auth(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (r: unknown, cb: (e: unknown, r: unknown) => void) => void>;
  const h = new Health(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (r: unknown, cb: (e: unknown, r: unknown) => void) => void>;
  clients.push(a, h);
  const call = (c: typeof a, m: string) => (req: unknown) => new Promise<Record<string, unknown>>((resolve, reject) => c[m]!(req, (e, r) => (e ? reject(e) : resolve(r as Record<string, unknown>))));
  const watchHealth = (service: string) => (h as unknown as Record<string, (r: unknown) => grpc.ClientReadableStream<{ status: string }>>)['Watch']!({ service });
  return { check: call(a, 'Check'), health: (service) => call(h, 'Check')({ service }), watchHealth };
}

function checkRequest(o: { method?: string; path?: string; headers?: Record<string, string>; ip?: string; principal?: string } = {}) {
  return {
    attributes: {
      source: { address: { socket_address: { address: o.ip ?? '10.0.0.7', port_value: 40000 } }, ...(o.principal ? { principal: o.principal } : {}) },
      destination: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } },
      request: { http: { id: 'req-1', method: o.method ?? 'GET', path: o.path ?? '/api/x', host: 'api.local', headers: { ':path': o.path ?? '/api/x', ...(o.headers ?? {}) } } },
    },
  };
}

function headersOf(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of (list as Array<{ header: { key: string; value: string } }>) ?? []) out[h.header.key] = h.header.value;
  return out;
}

function decisionLines(): Array<Record<string, unknown>> {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision');
}

describe.each(['lean', 'grpc-js'] as const)('gRPC Authorization/Check (%s transport)', (transport) => {
  beforeAll(() => {
    grpcTransport = transport;
  });
  afterAll(() => {
    grpcTransport = 'lean';
  });

  it('allow: OK status, identity headers overwrite, authorization removed, decision id in dynamic metadata', async () => {
    const s = await start({ policy: { policies: [{ name: 'users', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: [`${ISS}/*`] } }] }] }] }, response: { upstream_headers: { claims: { 'x-user-email': 'email' } } } });
    const jwt = await sign({ email: 'alice@example.com' });
    const r = await client(s).check(checkRequest({ headers: { authorization: `Bearer ${jwt}` } }));
    expect(r['status']).toEqual({ code: 0 });
    const ok = r['ok_response'] as { headers: unknown; headers_to_remove: string[] };
    const headers = headersOf(ok.headers);
    expect(headers['x-meshward-principal']).toBe(`${ISS}/alice`);
    expect(headers['x-user-email']).toBe('alice@example.com');
    // No signal configured: no risk score, and the risk header names are removed (a client cannot send its own).
    expect(ok.headers_to_remove).toEqual(['x-meshward-workload', 'x-meshward-risk-score', 'x-meshward-risk-reasons', 'authorization']);
    expect((ok.headers as Array<{ append_action: string }>).every((h) => h.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD')).toBe(true);
    const meta = (r['dynamic_metadata'] as { fields: Record<string, { stringValue: string }> }).fields;
    expect(meta['decision_id']!.stringValue).toBe(headers['x-meshward-decision-id']);
    expect(meta['decision']!.stringValue).toBe('allow');
  });

  it('deny: PERMISSION_DENIED with a 403 denied_response; 401 with UNAUTHENTICATED and WWW-Authenticate', async () => {
    const s = await start({ policy: { policies: [{ name: 'get-only', action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }], from: [{ source: { request_principals: ['*'] } }] }] }, { name: 'no-delete', action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }] } });
    const c = client(s);
    const denied = await c.check(checkRequest({ method: 'DELETE' }));
    expect(denied['status']).toEqual({ code: 7 });
    const dr = denied['denied_response'] as { status: { code: string }; headers: unknown; body: string };
    expect(dr.status.code).toBe('Forbidden');
    const body = JSON.parse(dr.body) as Record<string, string>;
    expect(body).toEqual({ code: 'forbidden', decision_id: headersOf(dr.headers)['x-meshward-decision-id'] });
    expect(headersOf(dr.headers)['content-type']).toBe('application/json');

    // An explicit DENY rule gives 403 even to an anonymous request; not matching an ALLOW rule without a token gives 401.
    const anon = await c.check(checkRequest({ method: 'GET' }));
    expect(anon['status']).toEqual({ code: 16 });
    const ar = anon['denied_response'] as { status: { code: string }; headers: unknown; body: string };
    expect(ar.status.code).toBe('Unauthorized');
    expect(headersOf(ar.headers)['www-authenticate']).toBe('Bearer realm="meshward"');
    expect(JSON.parse(ar.body)).toMatchObject({ code: 'unauthenticated' });

    const bad = await c.check(checkRequest({ headers: { authorization: 'Bearer abc.def.ghi' } }));
    expect(headersOf((bad['denied_response'] as { headers: unknown }).headers)['www-authenticate']).toBe('Bearer realm="meshward", error="invalid_token"');
  });

  it('challenge_anonymous: false answers 403 instead of 401', async () => {
    const s = await start({
      identity: { jwt: { challenge_anonymous: false, issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } },
      policy: { policies: [{ name: 'users', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] }] },
    });
    const r = await client(s).check(checkRequest());
    expect((r['denied_response'] as { status: { code: string } }).status.code).toBe('Forbidden');
  });

  it('required: a request without a token is refused before the policy', async () => {
    const s = await start({ identity: { jwt: { required: true, issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } } });
    const r = await client(s).check(checkRequest({ principal: 'spiffe://cluster.local/ns/a/sa/b' }));
    expect(r['status']).toEqual({ code: 16 });
    expect(decisionLines()[0]).toMatchObject({ decision: 'unauthenticated', reason: 'bearer token required', status: 401 });
  });

  it('the IP block list signal refuses before the policy, and names the range in the log only', async () => {
    const s = await start({ signals: { ip_blocklist: { cidrs: ['203.0.113.0/24'] } } });
    const c = client(s);
    const r = await c.check(checkRequest({ ip: '203.0.113.50' }));
    expect(r['status']).toEqual({ code: 7 });
    expect((r['denied_response'] as { body: string }).body).not.toContain('203.0.113');
    expect((await c.check(checkRequest({ ip: '198.51.100.1' })))['status']).toEqual({ code: 0 });
    expect(decisionLines().map((d) => [d['decision'], d['reason']])).toEqual([
      ['deny', 'signal ip_blocklist: source address in blocked range 203.0.113.0/24'],
      ['allow', 'no ALLOW policy'],
    ]);
  });

  it('workload identity from the peer principal: namespaces rule and x-meshward-workload', async () => {
    const s = await start({ policy: { policies: [{ name: 'shop', action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] }] } });
    const c = client(s);
    const ok = await c.check(checkRequest({ principal: 'spiffe://cluster.local/ns/shop/sa/cart' }));
    expect(headersOf((ok['ok_response'] as { headers: unknown }).headers)).toMatchObject({
      'x-meshward-principal': 'cluster.local/ns/shop/sa/cart',
      'x-meshward-workload': 'spiffe://cluster.local/ns/shop/sa/cart',
    });
    expect((await c.check(checkRequest({ principal: 'spiffe://cluster.local/ns/other/sa/x' })))['status']).toEqual({ code: 16 });
  });

  it('health: SERVING for "" and the Authorization service, NOT_FOUND for others, NOT_SERVING when closing', async () => {
    const s = await start();
    const c = client(s);
    expect(await c.health('')).toEqual({ status: 'SERVING' });
    expect(await c.health('envoy.service.auth.v3.Authorization')).toEqual({ status: 'SERVING' });
    await expect(c.health('other.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    // Watch: the current status at once, NOT_SERVING when the server starts closing, then the
    // stream ends with OK.
    const watch = c.watchHealth('');
    const seen: string[] = [];
    const ended = new Promise<number>((resolve) => watch.on('status', (st: grpc.StatusObject) => resolve(st.code)));
    watch.on('data', (m: { status: string }) => seen.push(m.status));
    watch.on('error', () => {});
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    await s.close();
    expect(await ended).toBe(grpc.status.OK);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
  });

  it('the decision log line: one per check, with the fields, never the token nor the query string', async () => {
    const s = await start();
    const jwt = await sign();
    await client(s).check(checkRequest({ path: '/api/x?access_token=secret123', headers: { authorization: `Bearer ${jwt}`, cookie: 'session=abc' } }));
    const [d] = decisionLines();
    expect(Object.keys(d!).sort()).toEqual(
      ['decision', 'decision_id', 'host', 'identity', 'latency_ms', 'level', 'method', 'msg', 'path', 'principal', 'protocol', 'reason', 'request_id', 'source_ip', 'status', 'time'].sort(),
    );
    expect(d).toMatchObject({ level: 'info', protocol: 'grpc', method: 'GET', host: 'api.local', path: '/api/x', request_id: 'req-1', source_ip: '10.0.0.7', identity: 'jwt', principal: `${ISS}/alice`, decision: 'allow', status: 200 });
    expect(typeof d!['latency_ms']).toBe('number');
    const all = lines.join('\n');
    for (const secret of [jwt, jwt.split('.')[1]!, 'secret123', 'session=abc']) expect(all).not.toContain(secret);
  });

  it('log_level warn silences decision lines; debug adds identity notes', async () => {
    const quiet = await start({ log_level: 'warn' });
    await client(quiet).check(checkRequest());
    expect(decisionLines()).toEqual([]);
    lines = [];
    const loud = await start({ log_level: 'debug', identity: { workload: { trust_domains: ['cluster.local'] } } });
    await client(loud).check(checkRequest({ principal: 'spiffe://evil.org/ns/a/sa/b' }));
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'identity')).toMatchObject({
      level: 'debug',
      note: 'peer principal ignored: trust domain "evil.org" is not accepted',
    });
  });
});

describe('HTTP check protocol', () => {
  it('200 with upstream headers and x-envoy-auth-headers-to-remove; 401/403 with headers and body', async () => {
    const s = await start({ server: { grpc: { enabled: false }, http: { ...loopback, path_prefix: '/check' }, admin: loopback }, policy: { policies: [{ name: 'users', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] }] } });
    expect(s.ports.grpc).toBeUndefined();
    const base = `http://127.0.0.1:${s.ports.http}`;
    const ok = await fetch(`${base}/check/api/x`, { headers: { authorization: `Bearer ${await sign()}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-meshward-principal')).toBe(`${ISS}/alice`);
    expect(ok.headers.get('x-envoy-auth-headers-to-remove')).toBe('x-meshward-workload, x-meshward-risk-score, x-meshward-risk-reasons, authorization');
    const anon = await fetch(`${base}/check/api/x`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Bearer realm="meshward"');
    expect(await anon.json()).toMatchObject({ code: 'unauthenticated' });
    // Outside the prefix: not a check; refused (which Envoy would pass on as a denial).
    expect((await fetch(`${base}/api/x`)).status).toBe(404);
    expect(decisionLines()[0]).toMatchObject({ protocol: 'http', path: '/api/x' });
  });
});

describe('admin endpoints and lifecycle', () => {
  it('healthz, readyz, metrics; 404 elsewhere; 405 for POST', async () => {
    const s = await start();
    const admin = `http://127.0.0.1:${s.ports.admin}`;
    await client(s).check(checkRequest());
    expect(await (await fetch(`${admin}/healthz`)).text()).toBe('ok\n');
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const m = await fetch(`${admin}/metrics`);
    expect(m.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await m.text();
    expect(text).toContain('# TYPE meshward_authz_decisions_total counter');
    expect(text).toContain('meshward_authz_decisions_total{decision="allow",protocol="grpc"} 1');
    expect(text).toContain('meshward_authz_check_duration_seconds_bucket{protocol="grpc",le="+Inf"} 1');
    expect((await fetch(`${admin}/other`)).status).toBe(404);
    expect((await fetch(`${admin}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('close() stops every listener and is idempotent; a taken port is reported', async () => {
    const s = await start();
    await Promise.all([s.close(), s.close()]);
    await expect(fetch(`http://127.0.0.1:${s.ports.admin}/healthz`)).rejects.toThrow();
    const a = await start();
    await expect(start({ server: { grpc: { host: '127.0.0.1', port: a.ports.grpc }, http: loopback, admin: loopback } })).rejects.toThrow(/cannot listen/);
  });

  it('a raw config with an error is refused by startAuthzServer with the field named', async () => {
    await expect(startAuthzServer({ server: { grpc: { port: 'x' } } })).rejects.toThrow(/server\.grpc\.port: expected an integer/);
  });
});
