// The five decisions (allow, deny, step-up, throttle, read-only) as the pipeline produces them:
// from risk thresholds, from policies that choose a decision, and from Rego; what each one looks
// like on the wire (gRPC CheckResponse and the HTTP protocol).
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Authorizer,
  ConfigError,
  headerValue,
  Logger,
  parseConfig,
  startAuthzServer,
  stepUpSatisfied,
  toCheckResponse,
  type AuthzServer,
  type CheckAttributes,
  type Decision,
} from '../../../ext-authz/src/index.js';

const ISS = 'https://idp.decisions';
// The decision clock starts at the real time: tokens are verified against the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000;
let key: CryptoKey;
let jwk: JWK;
let now = T0;
const servers: AuthzServer[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k' };
});

afterEach(async () => {
  now = T0;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const sign = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k' })
    .setIssuer(ISS)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);

function attrs(o: { method?: string; path?: string; headers?: Record<string, string>; ip?: string } = {}): CheckAttributes {
  return {
    source: { address: { socket_address: { address: o.ip ?? '198.51.100.7' } } },
    request: { http: { method: o.method ?? 'GET', path: o.path ?? '/api/x', host: 'api.local', headers: o.headers ?? {} } },
  };
}

const bearer = async (claims: Record<string, unknown> = {}, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${await sign(claims)}`, ...headers });

function config(extra: Record<string, unknown>) {
  return parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } }, ...extra });
}

async function authorizer(extra: Record<string, unknown>): Promise<Authorizer> {
  // The clock is the test's: JWT checks use Date.now, so tokens are signed at `now` too.
  return Authorizer.create(config(extra), { logger: new Logger('error', () => {}), clock: () => now });
}

// Risk comes from the WAF header here: one signal whose score the test sets directly.
const WAF_RISK = { signals: { waf: { weight: 100, max_anomaly: 100 } } };
const waf = (score: number) => ({ 'x-meshward-waf-score': String(score) });

describe('risk thresholds map the score to a decision', () => {
  const thresholds = {
    ...WAF_RISK,
    risk: {
      step_up: { acr_values: 'urn:meshward:mfa', max_age: 600 },
      thresholds: [
        { score: 90, decision: 'deny' },
        { score: 70, decision: 'step_up' },
        { score: 50, decision: 'read_only' },
        { score: 30, decision: 'throttle', retry_after_seconds: 7 },
      ],
    },
  };

  it('below every threshold: allow, with the score and reasons for the upstream', async () => {
    const a = await authorizer(thresholds);
    const d = await a.check(attrs({ headers: await bearer({}, waf(10)) }), 'grpc');
    expect(d).toMatchObject({ result: 'allow', status: 200, risk: { score: 10, reasons: ['waf:anomaly 10'] } });
    expect(d.upstreamHeaders).toMatchObject({ 'x-meshward-principal': `${ISS}/alice`, 'x-meshward-risk-score': '10', 'x-meshward-risk-reasons': 'waf:anomaly 10' });
    expect(d.removeHeaders).toEqual(['x-meshward-workload', 'authorization']);
    // Score 0: the reasons header is removed, not left to whatever the client sent.
    const clean = await a.check(attrs({ headers: await bearer({}, { 'x-meshward-risk-reasons': 'spoofed' }) }), 'grpc');
    expect(clean.upstreamHeaders['x-meshward-risk-score']).toBe('0');
    expect(clean.removeHeaders).toContain('x-meshward-risk-reasons');
  });

  it('throttle: 429 with Retry-After and a JSON body', async () => {
    const a = await authorizer(thresholds);
    const d = await a.check(attrs({ headers: await bearer({}, waf(35)) }), 'http');
    expect(d).toMatchObject({ result: 'throttle', status: 429 });
    expect(d.responseHeaders['retry-after']).toBe('7');
    expect(JSON.parse(d.body!)).toEqual({ code: 'throttled', decision_id: d.id });
  });

  it('read_only: safe methods pass, others get 403 read_only', async () => {
    const a = await authorizer(thresholds);
    expect((await a.check(attrs({ method: 'GET', headers: await bearer({}, waf(55)) }), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs({ method: 'HEAD', headers: await bearer({}, waf(55)) }), 'grpc')).result).toBe('allow');
    const post = await a.check(attrs({ method: 'POST', headers: await bearer({}, waf(55)) }), 'grpc');
    expect(post).toMatchObject({ result: 'read_only', status: 403 });
    expect(JSON.parse(post.body!)).toEqual({ code: 'read_only', decision_id: post.id });
  });

  it('step_up: 401 with RFC 9470 insufficient_user_authentication; a token with the acr, recent enough, passes', async () => {
    const a = await authorizer(thresholds);
    const weak = await a.check(attrs({ headers: await bearer({ acr: 'urn:meshward:password' }, waf(75)) }), 'grpc');
    expect(weak).toMatchObject({ result: 'step_up', status: 401 });
    expect(weak.responseHeaders['www-authenticate']).toBe(
      'Bearer realm="meshward", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:meshward:mfa", max_age=600',
    );
    expect(JSON.parse(weak.body!)).toEqual({ code: 'insufficient_user_authentication', decision_id: weak.id });
    const authTime = Math.floor(now / 1000) - 60;
    const strong = await a.check(attrs({ headers: await bearer({ acr: 'urn:meshward:mfa', auth_time: authTime }, waf(75)) }), 'grpc');
    expect(strong.result).toBe('allow');
    expect(strong.reason).toMatch(/risk 75 >= 70: step_up satisfied$/);
    // Without a token: the same challenge, without an error code (RFC 6750).
    const anonymous = await a.check(attrs({ headers: waf(75) }), 'grpc');
    expect(anonymous).toMatchObject({ result: 'step_up', status: 401 });
    expect(anonymous.responseHeaders['www-authenticate']).toBe('Bearer realm="meshward", acr_values="urn:meshward:mfa", max_age=600');
    expect(JSON.parse(anonymous.body!)).toMatchObject({ code: 'unauthenticated' });
    // The same token, 20 minutes later, is too old for max_age 600.
    now += 20 * 60_000;
    const stale = await a.check(attrs({ headers: await bearer({ acr: 'urn:meshward:mfa', auth_time: authTime }, waf(75)) }), 'grpc');
    expect(stale.result).toBe('step_up');
  });

  it('deny at the top threshold; the reasons stay in the log, never in the body', async () => {
    const a = await authorizer(thresholds);
    const d = await a.check(attrs({ headers: await bearer({}, waf(95)) }), 'grpc');
    expect(d).toMatchObject({ result: 'deny', status: 403, reason: 'risk 95 >= 90: deny (waf:anomaly 95)' });
    expect(JSON.parse(d.body!)).toEqual({ code: 'forbidden', decision_id: d.id });
  });

  it('thresholds are validated', () => {
    const issues = (risk: unknown) => {
      try {
        config({ ...WAF_RISK, risk });
        return [];
      } catch (e) {
        return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(issues({ thresholds: [{ score: 50, decision: 'block' }] })).toEqual(['risk.thresholds[0].decision: expected one of deny, step_up, throttle, read_only, got "block"']);
    expect(issues({ thresholds: [{ score: 50, decision: 'step_up' }] })).toEqual(['risk.thresholds (score 50): a step_up decision needs acr_values and/or max_age (here or in risk.step_up)']);
    expect(issues({ thresholds: [{ score: 50, decision: 'deny', retry_after_seconds: 5 }, { score: 50, decision: 'throttle' }] })).toEqual([
      'risk.thresholds[0].retry_after_seconds: only with decision: throttle',
      'risk.thresholds[1].score: two thresholds at score 50',
    ]);
    expect(issues({ thresholds: [{ score: 0, decision: 'deny' }] })).toEqual(['risk.thresholds[0].score: expected 1..100, got 0']);
  });
});

describe('policies choose decisions', () => {
  const policies = (list: unknown[]) => ({ ...WAF_RISK, policy: { policies: list } });

  it('a DENY policy with decision step_up asks for MFA on /admin, and stops applying once the token has it', async () => {
    const a = await authorizer(
      policies([
        { name: 'admin-needs-mfa', action: 'DENY', decision: 'step_up', acr_values: 'urn:meshward:mfa', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] },
        { name: 'users', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['*'] } }] }] },
      ]),
    );
    const d = await a.check(attrs({ path: '/admin/users', headers: await bearer() }), 'grpc');
    expect(d).toMatchObject({ result: 'step_up', policy: 'admin-needs-mfa' });
    expect(d.responseHeaders['www-authenticate']).toContain('acr_values="urn:meshward:mfa"');
    expect(await a.check(attrs({ path: '/admin/users', headers: await bearer({ acr: 'urn:meshward:mfa' }) }), 'grpc')).toMatchObject({ result: 'allow', policy: 'users' });
  });

  it('risk.score and risk.reasons are policy conditions; throttle and read_only policies', async () => {
    const a = await authorizer(
      policies([
        { name: 'slow-down-risky', action: 'DENY', decision: 'throttle', retry_after_seconds: 30, rules: [{ when: [{ key: 'risk.score', values: ['>=60'] }] }] },
        { name: 'suspicious-read-only', action: 'DENY', decision: 'read_only', rules: [{ when: [{ key: 'risk.reasons', values: ['waf:*'] }] }] },
      ]),
    );
    const hot = await a.check(attrs({ headers: waf(60) }), 'grpc');
    expect(hot).toMatchObject({ result: 'throttle', status: 429, policy: 'slow-down-risky' });
    expect(hot.responseHeaders['retry-after']).toBe('30');
    expect((await a.check(attrs({ method: 'DELETE', headers: waf(20) }), 'grpc')).result).toBe('read_only');
    // A read-only policy never refuses a safe method.
    expect((await a.check(attrs({ method: 'GET', headers: waf(20) }), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs({ method: 'DELETE' }), 'grpc')).result).toBe('allow');
  });

  it('decision fields are refused on ALLOW policies, and risk.score values are ranges', () => {
    const issues = (list: unknown[]) => {
      try {
        config(policies(list));
        return [];
      } catch (e) {
        return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(issues([{ name: 'a', action: 'ALLOW', decision: 'throttle', rules: [{}] }])).toEqual(['policy.policies[0].decision: only a DENY policy chooses a decision']);
    expect(issues([{ name: 'a', action: 'DENY', decision: 'step_up', rules: [{}] }])).toEqual(['policy "a": a step_up decision needs acr_values and/or max_age (on the policy or in risk.step_up)']);
    expect(issues([{ name: 'a', action: 'DENY', rules: [{ when: [{ key: 'risk.score', values: ['high', '>101', '70-40'] }] }] }])).toEqual([
      'policy.policies[0].rules[0].when[0].values[0]: "high": a risk score value is >=N, >N, <=N, <N, N-M or N, with N in 0-100',
      'policy.policies[0].rules[0].when[0].values[1]: ">101": a risk score value is >=N, >N, <=N, <N, N-M or N, with N in 0-100',
      'policy.policies[0].rules[0].when[0].values[2]: "70-40": a risk score value is >=N, >N, <=N, <N, N-M or N, with N in 0-100',
    ]);
  });
});

describe('hard actions from signals', () => {
  it('velocity throttles before the policy; the throttled requests still count', async () => {
    const a = await authorizer({ signals: { velocity: { per_principal: { window_seconds: 60, max_requests: 2 } } } });
    const results: Decision[] = [];
    for (let i = 0; i < 4; i++) {
      now = T0 + i * 5_000;
      results.push(await a.check(attrs({ headers: await bearer() }), 'grpc'));
    }
    expect(results.map((r) => r.result)).toEqual(['allow', 'allow', 'throttle', 'throttle']);
    // The first request was at T0, the last at T0+15 s: room again at T0+60 s.
    expect(results[3]!.responseHeaders['retry-after']).toBe('45');
    expect(results[3]!.reason).toBe('signal velocity: principal_over_limit');
  });

  it('failed-auth bursts: invalid tokens from an address raise the risk of its next requests', async () => {
    const a = await authorizer({ signals: { failed_auth: { max_failures: 3, weight: 100 } }, risk: { thresholds: [{ score: 100, decision: 'deny' }] } });
    const bad = { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln' };
    for (let i = 0; i < 3; i++) expect((await a.check(attrs({ headers: bad }), 'grpc')).result).toBe('unauthenticated');
    expect(await a.check(attrs({ headers: await bearer() }), 'grpc')).toMatchObject({ result: 'deny', risk: { score: 100, reasons: ['failed_auth:3 failures'] } });
    expect((await a.check(attrs({ ip: '198.51.100.8', headers: await bearer() }), 'grpc')).result).toBe('allow');
  });

  it('new devices are learned only when allowed', async () => {
    const a = await authorizer({ signals: { new_device: { weight: 100 } }, risk: { step_up: { acr_values: 'mfa' }, thresholds: [{ score: 100, decision: 'step_up' }] } });
    const laptop = { 'user-agent': 'laptop' };
    const phone = { 'user-agent': 'phone' };
    expect((await a.check(attrs({ headers: await bearer({}, laptop) }), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs({ headers: await bearer({}, phone) }), 'grpc')).result).toBe('step_up');
    // Still unknown: the step-up answer did not teach the server the phone.
    expect((await a.check(attrs({ headers: await bearer({}, phone) }), 'grpc')).result).toBe('step_up');
    // After MFA from the phone, the phone is known.
    expect((await a.check(attrs({ headers: await bearer({ acr: 'mfa' }, phone) }), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs({ headers: await bearer({}, phone) }), 'grpc')).result).toBe('allow');
  });
});

describe('on the wire', () => {
  it('gRPC: status codes per decision, risk in dynamic metadata', async () => {
    const a = await authorizer({ ...WAF_RISK, risk: { step_up: { max_age: 60 }, thresholds: [{ score: 80, decision: 'step_up' }, { score: 40, decision: 'throttle' }] } });
    const allow = toCheckResponse(await a.check(attrs({ headers: await bearer({}, waf(10)) }), 'grpc'));
    expect(allow['status']).toEqual({ code: 0 });
    const meta = (allow['dynamic_metadata'] as { fields: Record<string, unknown> }).fields;
    expect(meta['risk_score']).toEqual({ numberValue: 10 });
    expect(meta['risk_reasons']).toEqual({ stringValue: 'waf:anomaly 10' });
    const throttled = toCheckResponse(await a.check(attrs({ headers: await bearer({}, waf(50)) }), 'grpc'));
    expect(throttled['status']).toEqual({ code: 8 });
    expect((throttled['denied_response'] as { status: { code: number } }).status.code).toBe(429);
    const stepUp = toCheckResponse(await a.check(attrs({ headers: await bearer({}, waf(90)) }), 'grpc'));
    expect(stepUp['status']).toEqual({ code: 16 });
    expect((stepUp['denied_response'] as { status: { code: number } }).status.code).toBe(401);
  });

  it('HTTP protocol: 429 with Retry-After, 401 with the step-up challenge, 200 with risk headers', async () => {
    const loopback = { host: '127.0.0.1', port: 0 };
    const s = await startAuthzServer(
      {
        server: { grpc: { enabled: false }, http: loopback, admin: loopback },
        identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } },
        ...WAF_RISK,
        risk: { step_up: { acr_values: 'mfa' }, thresholds: [{ score: 80, decision: 'step_up' }, { score: 40, decision: 'throttle', retry_after_seconds: 12 }] },
      },
      { logSink: () => {}, shutdownGraceMs: 100 },
    );
    servers.push(s);
    const base = `http://127.0.0.1:${s.ports.http}`;
    const get = async (score: number) => fetch(`${base}/api/x`, { headers: await bearer({}, waf(score)) });
    const ok = await get(20);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-meshward-risk-score')).toBe('20');
    const slow = await get(50);
    expect(slow.status).toBe(429);
    expect(slow.headers.get('retry-after')).toBe('12');
    const up = await get(85);
    expect(up.status).toBe(401);
    expect(up.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
    const metrics = await (await fetch(`http://127.0.0.1:${s.ports.admin}/metrics`)).text();
    expect(metrics).toContain('meshward_authz_decisions_total{decision="throttle",protocol="http"} 1');
    expect(metrics).toContain('meshward_authz_decisions_total{decision="step_up",protocol="http"} 1');
    expect(metrics).toContain('meshward_authz_risk_score_count 3');
    expect(metrics).toContain('meshward_authz_risk_score_bucket{le="25"} 1');
  });

  it('stepUpSatisfied reads acr and auth_time (with clock skew)', () => {
    const id = (claims: Record<string, unknown>) => ({ kind: 'jwt' as const, jwt: { issuer: ISS, principal: 'p', audiences: [], claims } });
    expect(stepUpSatisfied({ acrValues: 'a b' }, id({ acr: 'b' }), T0, 0)).toBe(true);
    expect(stepUpSatisfied({ acrValues: 'a b' }, id({ acr: 'c' }), T0, 0)).toBe(false);
    expect(stepUpSatisfied({ maxAge: 60 }, id({ auth_time: T0 / 1000 - 90 }), T0, 30)).toBe(true);
    expect(stepUpSatisfied({ maxAge: 60 }, id({ auth_time: T0 / 1000 - 91 }), T0, 30)).toBe(false);
    expect(stepUpSatisfied({ maxAge: 60 }, id({}), T0, 30)).toBe(false);
    expect(stepUpSatisfied({ acrValues: 'a' }, { kind: 'anonymous' }, T0, 0)).toBe(false);
  });
});

describe('header values set upstream', () => {
  it('are kept as they are when clean, and cleaned of control characters and outer whitespace otherwise', () => {
    expect(headerValue('https://issuer.example/user-1')).toBe('https://issuer.example/user-1');
    expect(headerValue('a b')).toBe('a b');
    expect(headerValue('é-ü')).toBe('é-ü');
    expect(headerValue(42)).toBe('42');
    expect(headerValue(['a', 2, true, {}])).toBe('a,2,true');
    expect(headerValue(' x ')).toBe('x');
    expect(headerValue('\u00a0x\u00a0')).toBe('x');
    expect(headerValue('evil\r\nx-admin: 1')).toBe('evilx-admin: 1');
    expect(headerValue('a\u007fb')).toBe('ab');
    expect(headerValue('a\tb')).toBe('ab');
    expect(headerValue('\r\n')).toBeUndefined();
    expect(headerValue('')).toBeUndefined();
    expect(headerValue([])).toBeUndefined();
    expect(headerValue({})).toBeUndefined();
    expect(headerValue('x'.repeat(5000))).toBe('x'.repeat(4096));
    expect(headerValue(`${'y'.repeat(4096)}`)).toBe('y'.repeat(4096));
  });
});

describe('checkEager: the protocols get the decision without a promise when no phase waits', () => {
  it('a token seen before, in-process history: a Decision at once; a new token: a promise of the same decision', async () => {
    const a = await authorizer({ signals: { velocity: { per_principal: { window_seconds: 60, max_requests: 2 } }, new_device: {} } });
    const request = attrs({ headers: await bearer() });
    const first = a.checkEager(request, 'http');
    // The token's signature must be checked with its key (WebCrypto answers asynchronously).
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ result: 'allow', status: 200 });
    const again = a.checkEager(request, 'http');
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ result: 'allow', status: 200, risk: { score: 0 } });
    expect((again as Decision).upstreamHeaders['x-meshward-principal']).toBe(`${ISS}/alice`);
    // Both were counted and logged: the third is over the velocity limit, still without a promise.
    const third = a.checkEager(request, 'http');
    expect(third).not.toBeInstanceOf(Promise);
    expect(third).toMatchObject({ result: 'throttle', status: 429 });
    expect(a.metrics.render()).toMatch(/decisions_total\{decision="allow",protocol="http"\} 2\n/);
  });

  it("a bad token answers 401 and is counted as a failed authentication", async () => {
    const a = await authorizer({ signals: { failed_auth: { max_failures: 1, weight: 100 } }, risk: { thresholds: [{ score: 100, decision: 'deny' }] } });
    const bad = attrs({ headers: { authorization: 'Bearer not.a.jwt' } });
    expect(await a.checkEager(bad, 'grpc')).toMatchObject({ result: 'unauthenticated', status: 401 });
    // One failure from that address now scores the full weight: the next valid request is denied.
    const next = await a.checkEager(attrs({ headers: await bearer() }), 'grpc');
    expect(next).toMatchObject({ result: 'deny', status: 403 });
  });
});
