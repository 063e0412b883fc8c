// The JWT filter (build/jwt.wasm) in the Node host: configuration errors named by field, time
// handling with a manual clock (the verified-token cache honours exp), outputs for later
// filters, and hostile tokens that must be refused without a trap.
import { createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError, loadFilter } from '../../../sdk/src/host/index.js';
import { repoRoot } from '../host/wat.js';
import { b64url, makeKeys, mint, type TestKey } from '../../support/jwt-tokens.js';

const wasmPath = join(repoRoot, 'build', 'jwt.wasm');
const ISS = 'https://issuer.test';
const keys = makeKeys();
const jwks = JSON.stringify({ keys: [keys.rsa.jwk, keys.ec256.jwk, keys.hmac.jwk] });
const START = new Date('2026-06-01T00:00:00Z');
const T0 = Math.floor(START.getTime() / 1000);

function config(provider: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return {
    providers: { main: { issuer: ISS, audiences: ['api'], local_jwks: { inline_string: jwks }, ...provider } },
    rules: [{ match: { prefix: '/' }, requires: { provider_name: 'main' } }],
    ...top,
  };
}

function remoteConfig(remote: Record<string, unknown>) {
  return {
    providers: { main: { issuer: ISS, audiences: ['api'], remote_jwks: remote } },
    rules: [{ match: { prefix: '/' }, requires: { provider_name: 'main' } }],
  };
}

const load = (cfg: object) => loadFilter(wasmPath, { name: 'jwt', config: cfg, clock: { start: START } });
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, sub: 'alice', aud: 'api', iat: T0, exp: T0 + 600, ...extra });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function rejection(cfg: unknown): Promise<string> {
  try {
    (await load(cfg as object)).close();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigRejectedError);
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('JWT filter config: rejected at load, naming the field', () => {
  const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const cases: Array<[string, unknown, RegExp]> = [
    ['no providers', { rules: [] }, /providers: required field missing/],
    ['empty providers', { providers: {}, rules: [] }, /providers: at least one provider/],
    ['provider without keys', { providers: { main: { issuer: ISS } }, rules: [] }, /providers\.main: expected exactly one of local_jwks, remote_jwks/],
    ['local and remote keys', config({ remote_jwks: { http_uri: { uri: 'https://idp/jwks', cluster: 'idp' } } }), /providers\.main: expected exactly one of local_jwks, remote_jwks/],
    ['JWKS not JSON', config({ local_jwks: { inline_string: '{nope' } }), /providers\.main\.local_jwks\.inline_string: invalid JSON/],
    ['only a 1024-bit RSA key', config({ local_jwks: { inline_string: JSON.stringify({ keys: [smallRsa] }) } }), /inline_string: no usable key \(key 0: RSA modulus under 2048 bits\)/],
    ['remote_jwks without http_uri', remoteConfig({ cache_duration: '60s' }), /providers\.main\.remote_jwks\.http_uri: required field missing/],
    ['remote_jwks without cluster', remoteConfig({ http_uri: { uri: 'https://idp/jwks' } }), /providers\.main\.remote_jwks\.http_uri\.cluster: required field missing/],
    ['remote_jwks URI not http', remoteConfig({ http_uri: { uri: 'ftp://idp/jwks', cluster: 'idp' } }), /providers\.main\.remote_jwks\.http_uri\.uri: expected an http:\/\/ or https:\/\/ URI/],
    ['remote_jwks zero timeout', remoteConfig({ http_uri: { uri: 'https://idp/jwks', cluster: 'idp', timeout: '0s' } }), /http_uri\.timeout: expected a timeout/],
    ['remote_jwks bad cache_duration', remoteConfig({ http_uri: { uri: 'https://idp/jwks', cluster: 'idp' }, cache_duration: 'soon' }), /remote_jwks\.cache_duration: expected a duration/],
    ['remote_jwks unsupported field', remoteConfig({ http_uri: { uri: 'https://idp/jwks', cluster: 'idp' }, retry_policy: {} }), /remote_jwks: unknown field "retry_policy"/],
    ['unknown provider in a rule', { ...config(), rules: [{ match: { prefix: '/' }, requires: { provider_name: 'nope' } }] }, /rules\[0\]\.requires\.provider_name: no provider named "nope"/],
    ['two requirement kinds', { ...config(), rules: [{ match: { prefix: '/' }, requires: { provider_name: 'main', allow_missing: {} } }] }, /rules\[0\]\.requires: expected exactly one of/],
    ['requires_any with one entry', { ...config(), rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'main' }] } } }] }, /rules\[0\]\.requires\.requires_any\.requirements: needs at least 2/],
    ['rule without match', { ...config(), rules: [{ requires: { provider_name: 'main' } }] }, /rules\[0\]\.match: required field missing/],
    ['unknown top-level field', config({}, { bypass_cors: true }), /unknown field "bypass_cors"/],
    ['unknown provider field', config({ issuerr: 'x' }), /providers\.main: unknown field "issuerr"/],
    ['bad header name', config({ from_headers: [{ name: 'bad name' }] }), /providers\.main\.from_headers\[0\]\.name: invalid header name/],
    ['negative clock skew', config({ clock_skew_seconds: -1 }), /providers\.main\.clock_skew_seconds: expected an integer from 0/],
    ['max_lifetime not a duration', config({ max_lifetime: 'forever' }), /providers\.main\.max_lifetime: expected a duration/],
    ['bad log level', config({}, { log_level: 'loud' }), /log_level: expected one of/],
  ];
  it.each(cases)('%s', async (_name, cfg, message) => {
    expect(await rejection(cfg)).toMatch(message);
  });
});

describe('JWT filter behaviour in the Node host', () => {
  it('passes a valid token, strips it, and publishes the identity for later filters', async () => {
    const f = await load(config({ forward_payload_header: 'x-jwt-payload', claim_to_headers: [{ header_name: 'x-tenant', claim_name: 'org.tenant' }] }));
    try {
      const token = mint('ES256', keys.ec256, claims({ org: { tenant: 'acme' } }));
      const res = await f.http({ path: '/orders', headers: { ...bearer(token), 'x-tenant': 'forged', 'x-jwt-payload': 'forged' } });
      expect(res.status).toBe(200);
      const up = res.upstreamRequest!.headers;
      expect(up['authorization']).toBeUndefined();
      expect(up['x-tenant']).toBe('acme');
      expect(Buffer.from(up['x-jwt-payload']!, 'base64url').toString()).toContain('"tenant":"acme"');
      expect(res.filterState['wasm.meshward.jwt.principal']).toBe(`${ISS}/alice`);
      expect(res.filterState['wasm.meshward.jwt.provider']).toBe('main');
      expect(JSON.parse(res.filterState['wasm.meshward.jwt.claims']!)).toMatchObject({ sub: 'alice', org: { tenant: 'acme' } });
    } finally {
      f.close();
    }
  });

  it('a forged identity header is removed even when no token is needed or present', async () => {
    const f = await load({ ...config({ forward_payload_header: 'x-jwt-payload' }), rules: [{ match: { prefix: '/public' } }] });
    try {
      const res = await f.http({ path: '/public/x', headers: { 'x-jwt-payload': 'forged' } });
      expect(res.status).toBe(200);
      expect(res.upstreamRequest!.headers['x-jwt-payload']).toBeUndefined();
    } finally {
      f.close();
    }
  });

  it('a cached token still expires: the cache keeps the signature check, not the time check', async () => {
    const f = await load(config());
    try {
      const token = mint('RS256', keys.rsa, claims({ exp: T0 + 30 }));
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      f.advanceTime((30 + 61) * 1000); // past exp plus the 60 s clock skew
      const late = await f.http({ path: '/', headers: bearer(token) });
      expect(late.status).toBe(401);
      expect(late.body).toBe('Jwt is expired');
    } finally {
      f.close();
    }
  });

  it('a cached token is bound to its exact bytes: a changed signature is verified again and refused', async () => {
    const f = await load(config());
    try {
      const token = mint('HS256', keys.hmac, claims());
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      const parts = token.split('.');
      const sig = Buffer.from(parts[2]!, 'base64url');
      sig[0]! ^= 0x80;
      const res = await f.http({ path: '/', headers: bearer(`${parts[0]}.${parts[1]}.${b64url(sig)}`) });
      expect(res.status).toBe(401);
      expect(res.body).toBe('Jwt verification fails');
    } finally {
      f.close();
    }
  });

  it('require_expiration and max_lifetime', async () => {
    const f = await load(config({ require_expiration: true, max_lifetime: '3600s' }));
    try {
      const noExp = await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims({ exp: undefined }))) });
      expect([noExp.status, noExp.body]).toEqual([401, 'Jwt expiration is required']);
      const long = await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims({ exp: T0 + 7200 }))) });
      expect([long.status, long.body]).toEqual([401, 'Jwt lifetime is too long']);
      expect((await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims({ exp: T0 + 3600 }))) })).status).toBe(200);
    } finally {
      f.close();
    }
  });

  it('strip_failure_response keeps the status and challenge but not the reason', async () => {
    const f = await load(config({}, { strip_failure_response: true }));
    try {
      const res = await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims({ exp: T0 - 3600 }))) });
      expect(res.status).toBe(401);
      expect(res.body).toBe('');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    } finally {
      f.close();
    }
  });

  it('rules match by method and glob', async () => {
    const f = await load({
      ...config(),
      rules: [
        { match: { glob: '/files/*/public', methods: ['GET'] } },
        { match: { prefix: '/' }, requires: { provider_name: 'main' } },
      ],
    });
    try {
      expect((await f.http({ path: '/files/a/public' })).status).toBe(200);
      expect((await f.http({ path: '/files/a/public', method: 'DELETE' })).status).toBe(401);
      expect((await f.http({ path: '/files/a/private' })).status).toBe(401);
    } finally {
      f.close();
    }
  });

  describe('hostile tokens: refused with 401, never a trap', () => {
    const deep = b64url('{"a":'.repeat(5000) + '1' + '}'.repeat(5000));
    const key: TestKey = keys.hmac;
    const hostile: Array<[string, string]> = [
      ['deeply nested payload', mint('HS256', key, {}, { rawPayload: deep })],
      ['payload of a JSON array', mint('HS256', key, {}, { rawPayload: b64url('[1,2]') })],
      ['duplicate keys in the header', mint('HS256', key, claims(), { rawHeader: b64url('{"alg":"HS256","alg":"none"}') })],
      ['non-UTF-8 payload', mint('HS256', key, {}, { rawPayload: b64url(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])) })],
      ['base64 with padding', `${mint('HS256', key, claims())}==`],
      ['kid as a number', mint('HS256', key, claims(), { header: { kid: 7 } })],
      ['aud as an object', mint('HS256', key, claims({ aud: { a: 1 } }))],
      ['exp huge', mint('HS256', key, claims({ exp: 1e300 }))],
      ['nbf as a string', mint('HS256', key, claims({ nbf: 'yesterday' }))],
      ['empty ECDSA signature', mint('ES256', keys.ec256, claims(), { signature: () => '' })],
      ['ECDSA r = 0 and s = 0', mint('ES256', keys.ec256, claims(), { signature: () => Buffer.alloc(64) })],
      ['ECDSA r = n', mint('ES256', keys.ec256, claims(), { signature: () => Buffer.concat([Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex'), Buffer.alloc(31), Buffer.from([1])]) })],
      ['RSA signature one byte short', mint('RS256', keys.rsa, claims(), { signature: (s) => s.subarray(1) })],
      ['HMAC tag truncated', mint('HS256', key, claims(), { signature: (s) => s.subarray(0, 16) })],
      ['three dots', `${mint('HS256', key, claims())}.x`],
    ];
    it.each(hostile)('%s', async (_name, token) => {
      const f = await load(config());
      try {
        const res = await f.http({ path: '/', headers: bearer(token) });
        expect(res.trap).toBeUndefined();
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]*"(, error="invalid_token")?$/);
      } finally {
        f.close();
      }
    });
  });
});

describe('JWT filter remote JWKS in the Node host (http_call, shared data, rate limits)', () => {
  const remote = (extra: Record<string, unknown> = {}) =>
    remoteConfig({ http_uri: { uri: 'https://idp.test:8443/.well-known/jwks.json', cluster: 'idp', timeout: '2s' }, cache_duration: '300s', ...extra });

  /** A key server the test controls: what it serves, or that it is down. */
  function keyServer(initial: object) {
    const state = { body: JSON.stringify(initial), status: 200 };
    const responder = () => ({ status: state.status, headers: { 'content-type': 'application/json' }, body: state.status === 200 ? state.body : 'down' });
    return { state, responder };
  }

  async function loadRemote(server: ReturnType<typeof keyServer>, cfg = remote(), workers = 1) {
    return loadFilter(wasmPath, { name: 'jwt', config: cfg, clock: { start: START }, workers, httpCallResponder: server.responder });
  }

  it('the first tokens wait for one fetch through the cluster, then verify; a request without a token fetches nothing', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk] });
    const f = await loadRemote(server);
    try {
      const missing = await f.http({ path: '/' });
      expect(missing.status).toBe(401);
      expect(f.httpCalls).toHaveLength(0);
      const token = mint('ES256', keys.ec256, claims());
      const results = await Promise.all([1, 2, 3].map(() => f.http({ path: '/', headers: bearer(token) })));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(f.httpCalls).toHaveLength(1); // three waiting requests, one fetch
      const call = f.httpCalls[0]!.request;
      expect(call.cluster).toBe('idp');
      expect(call.path).toBe('/.well-known/jwks.json');
      expect(call.authority).toBe('idp.test:8443');
      expect(call.method).toBe('GET');
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      expect(f.httpCalls).toHaveLength(1);
    } finally {
      f.close();
    }
  });

  it('after cache_duration stale keys keep serving while one background fetch runs; a key server that is down does not take the API down', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk] });
    const f = await loadRemote(server);
    try {
      const token = mint('ES256', keys.ec256, claims({ exp: T0 + 3600 }));
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      server.state.status = 503;
      f.advanceTime(301_000);
      const stale = await f.http({ path: '/', headers: bearer(token) });
      expect(stale.status).toBe(200);
      expect(f.httpCalls).toHaveLength(2); // the background refresh, which failed
      expect(f.logs.some((l) => l.level === 'warn' && /JWKS fetch .* failed: HTTP 503; still using the 1 cached key/.test(l.message))).toBe(true);
      // Failed refresh: retried after failed_refetch_duration (1 s), not on every request.
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      expect(f.httpCalls).toHaveLength(2);
      f.advanceTime(1_000);
      server.state.status = 200;
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
      expect(f.httpCalls).toHaveLength(3);
    } finally {
      f.close();
    }
  });

  it('an unknown kid re-fetches once (the issuer rotated keys), then is rate-limited', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk] });
    const f = await loadRemote(server, remote({ unknown_kid_refetch_interval: '30s' }));
    try {
      expect((await f.http({ path: '/', headers: bearer(mint('ES256', keys.ec256, claims())) })).status).toBe(200);
      server.state.body = JSON.stringify({ keys: [keys.ec256.jwk, keys.ec384.jwk] });
      const rotated = await f.http({ path: '/', headers: bearer(mint('ES384', keys.ec384, claims())) });
      expect(rotated.status).toBe(200);
      expect(f.httpCalls).toHaveLength(2);
      // A kid no key set has: one more fetch would be allowed only after 30 s.
      const stranger = { ...keys.ed, kid: 'nobody' };
      const unknown = mint('EdDSA', stranger, claims());
      f.advanceTime(30_000);
      const first = await f.http({ path: '/', headers: bearer(unknown) });
      expect(first.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
      expect(f.httpCalls).toHaveLength(3);
      const second = await f.http({ path: '/', headers: bearer(unknown) });
      expect(second.status).toBe(401);
      expect(second.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
      expect(f.httpCalls).toHaveLength(3);
    } finally {
      f.close();
    }
  });

  it('removed keys stop verifying cached tokens once the new set arrives', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk, keys.ec384.jwk] });
    const f = await loadRemote(server, remote({ cache_duration: '10s' }));
    try {
      const old = mint('ES384', keys.ec384, claims());
      expect((await f.http({ path: '/', headers: bearer(old) })).status).toBe(200);
      server.state.body = JSON.stringify({ keys: [keys.ec256.jwk] });
      f.advanceTime(10_000);
      await f.http({ path: '/', headers: bearer(mint('ES256', keys.ec256, claims())) }); // triggers the refresh
      await f.settle();
      f.advanceTime(31_000); // past the unknown-kid rate limit too: still no key for it
      const res = await f.http({ path: '/', headers: bearer(old) });
      expect(res.status).toBe(401);
      expect(res.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    } finally {
      f.close();
    }
  });

  it('a key server that never answered well: 401 "Jwks remote fetch is failed", and garbage is no key set', async () => {
    const server = keyServer({ keys: [] });
    server.state.body = '{"keys": [ {"kty": "RSA", "n": 12 } ]';
    const f = await loadRemote(server);
    try {
      const token = mint('ES256', keys.ec256, claims());
      const res = await f.http({ path: '/', headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(res.body).toBe('Jwks remote fetch is failed');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(f.failed).toBe(false);
      expect(f.logs.some((l) => l.level === 'warn' && /failed: invalid JSON.*tokens cannot be verified yet/.test(l.message))).toBe(true);
      server.state.body = JSON.stringify({ keys: [keys.ec256.jwk] });
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(401); // within failed_refetch_duration
      f.advanceTime(1_000);
      expect((await f.http({ path: '/', headers: bearer(token) })).status).toBe(200);
    } finally {
      f.close();
    }
  });

  it('an undefined cluster is refused by the host: the request fails closed with a log line naming the cluster', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk] });
    const f = await loadFilter(wasmPath, { name: 'jwt', config: remote(), clock: { start: START }, clusters: ['other'], httpCallResponder: server.responder });
    try {
      const res = await f.http({ path: '/', headers: bearer(mint('ES256', keys.ec256, claims())) });
      expect(res.status).toBe(401);
      expect(res.body).toBe('Jwks remote fetch is failed');
      expect(f.logs.some((l) => /cannot fetch JWKS .* through cluster "idp"/.test(l.message))).toBe(true);
    } finally {
      f.close();
    }
  });

  it('worker VMs share one fetched copy through shared data', async () => {
    const server = keyServer({ keys: [keys.ec256.jwk] });
    const f = await loadRemote(server, remote(), 2);
    try {
      const token = mint('ES256', keys.ec256, claims());
      expect((await f.http({ path: '/', headers: bearer(token), worker: 0 })).status).toBe(200);
      f.advanceTime(1_000);
      expect((await f.http({ path: '/', headers: bearer(token), worker: 1 })).status).toBe(200);
      expect(f.httpCalls).toHaveLength(1);
    } finally {
      f.close();
    }
  });
});

describe('JWT filter claim requirements (Istio-style `when` on request.auth.*)', () => {
  const withWhen = (when: unknown[], requires: unknown = { provider_name: 'main' }) => ({
    ...config(),
    rules: [
      { match: { prefix: '/admin' }, requires, when },
      { match: { prefix: '/' }, requires: { provider_name: 'main' } },
    ],
  });

  it.each([
    ['a key outside request.auth', [{ key: 'source.ip', values: ['1.2.3.4'] }], /rules\[0\]\.when\[0\]\.key: expected request\.auth\.claims\[name\]/],
    ['an unclosed bracket', [{ key: 'request.auth.claims[groups', values: ['a'] }], /rules\[0\]\.when\[0\]\.key: unclosed '\[' at position 19/],
    ['an empty claim name', [{ key: 'request.auth.claims[]', values: ['a'] }], /when\[0\]\.key: empty claim name/],
    ['no values at all', [{ key: 'request.auth.claims[groups]' }], /rules\[0\]\.when\[0\]: expected values or not_values/],
    ['values not a list', [{ key: 'request.auth.claims[groups]', values: 'admin' }], /rules\[0\]\.when\[0\]\.values: expected array, got string/],
    ['an unknown field', [{ key: 'request.auth.principal', values: ['x'], value: 'x' }], /rules\[0\]\.when\[0\]: unknown field "value"/],
  ])('rejects %s, naming the field', async (_n, when, message) => {
    expect(await rejection(withWhen(when as unknown[]))).toMatch(message);
  });

  it('rejects conditions on a rule that needs no token', async () => {
    expect(await rejection({ ...config(), rules: [{ match: { prefix: '/' }, when: [{ key: 'request.auth.principal', values: ['x'] }] }] }))
      .toMatch(/rules\[0\]\.when: claim conditions need a token/);
  });

  it('nested claims, list-valued claims (any element), scope words, principal, prefix/suffix patterns and not_values', async () => {
    const f = await load(withWhen([
      { key: 'request.auth.claims[realm_access][roles]', values: ['admin', 'ops-*'] },
      { key: 'request.auth.claims[scope]', values: ['orders:write'] },
      { key: 'request.auth.principal', values: [`${ISS}/*`], not_values: [`${ISS}/mallory`] },
      { key: 'request.auth.claims[email]', values: ['*@example.com'] },
    ]));
    try {
      const base = { realm_access: { roles: ['viewer', 'ops-oncall'] }, scope: 'orders:read orders:write', email: 'alice@example.com' };
      const ask = async (extra: Record<string, unknown>, path = '/admin/users') =>
        f.http({ path, headers: bearer(mint('ES256', keys.ec256, claims({ ...base, ...extra }))) });
      const ok = await ask({});
      expect(ok.status).toBe(200);
      expect(ok.filterState['wasm.meshward.jwt.principal']).toBe(`${ISS}/alice`);
      const denials: Array<Record<string, unknown>> = [
        { realm_access: { roles: ['viewer'] } }, // no matching role
        { realm_access: { roles: 'ops-oncall-but-string' } }, // a string is one value: prefix matches
        { scope: 'orders:read' },
        { sub: 'mallory' }, // not_values
        { email: 'alice@example.com.evil.test' },
        { realm_access: ['admin'] }, // the nested path is absent
      ];
      const statuses = [];
      for (const d of denials) statuses.push((await ask(d)).status);
      expect(statuses).toEqual([403, 200, 403, 403, 403, 403]);
      const denied = await ask({ scope: 'orders:read' });
      expect(denied.body).toBe('Jwt claims are not allowed');
      expect(denied.headers['www-authenticate']).toMatch(/^Bearer realm="http:\/\/localhost\/admin\/users", error="insufficient_scope"$/);
      // Other rules do not carry the conditions.
      expect((await ask({ scope: 'nothing' }, '/orders')).status).toBe(200);
    } finally {
      f.close();
    }
  });

  it('with allow_missing and no token, a rule with conditions asks for one (401), it does not let the request through', async () => {
    const f = await load(withWhen([{ key: 'request.auth.claims[groups]', values: ['staff'] }], { allow_missing: {} }));
    try {
      const res = await f.http({ path: '/admin' });
      expect(res.status).toBe(401);
      expect(res.body).toBe('Jwt is missing');
      expect((await f.http({ path: '/admin', headers: bearer(mint('ES256', keys.ec256, claims({ groups: ['staff'] }))) })).status).toBe(200);
    } finally {
      f.close();
    }
  });
});

describe('JWT filter RSA through the host\'s verify_signature (Envoy\'s foreign function)', () => {
  /** Envoy's verify_signature: VerifySignatureArguments in, VerifySignatureResult out (protobuf). */
  function verifySignature(calls: { n: number }, answer?: 'refuse') {
    return (args: Uint8Array) => {
      calls.n++;
      if (answer === 'refuse' || args.length === 0) return { result: 2 as never }; // BadArgument
      const fields: Record<number, Buffer> = {};
      let i = 0;
      const varint = () => { let v = 0, shift = 0, c; do { c = args[i++]!; v += (c & 0x7f) * 2 ** shift; shift += 7; } while (c & 0x80); return v; };
      while (i < args.length) {
        const tag = varint();
        const len = varint();
        fields[tag >> 3] = Buffer.from(args.subarray(i, i + len));
        i += len;
      }
      const key = createPublicKey({ key: fields[2]!, format: 'der', type: 'spki' });
      const ok = cryptoVerify(fields[1]!.toString(), fields[4]!, key, fields[3]!);
      return Uint8Array.from([0x08, ok ? 1 : 0]);
    };
  }
  const loadWith = (calls: { n: number }, top: Record<string, unknown> = {}, answer?: 'refuse') =>
    loadFilter(wasmPath, { name: 'jwt', config: config({}, top), clock: { start: START }, foreignFunctions: { verify_signature: verifySignature(calls, answer) } });

  it('RS256 goes to the host, ES256 stays in wasm; a bad RSA signature is refused by the host', async () => {
    const calls = { n: 0 };
    const f = await loadWith(calls, { token_cache_size: 0 });
    try {
      expect(f.logs.some((l) => /RSA verified by the host/.test(l.message))).toBe(true);
      const probe = calls.n; // the availability probe at configure time
      expect((await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims())) })).status).toBe(200);
      expect(calls.n).toBe(probe + 1);
      expect((await f.http({ path: '/', headers: bearer(mint('ES256', keys.ec256, claims())) })).status).toBe(200);
      expect(calls.n).toBe(probe + 1);
      const forged = await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsaOther, claims())) });
      expect(forged.status).toBe(401);
      expect(forged.body).toBe('Jwt verification fails');
      expect(calls.n).toBe(probe + 2);
    } finally {
      f.close();
    }
  });

  it('a host that refuses the call falls back to the in-wasm code (never to "valid")', async () => {
    const calls = { n: 0 };
    const f = await loadWith(calls, { token_cache_size: 0 }, 'refuse');
    try {
      expect((await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims())) })).status).toBe(200);
      expect((await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsaOther, claims())) })).status).toBe(401);
    } finally {
      f.close();
    }
  });

  it('host_verification: "off" keeps RSA in wasm; a bad value is rejected by name', async () => {
    const calls = { n: 0 };
    const f = await loadWith(calls, { host_verification: 'off' });
    try {
      expect(f.logs.some((l) => /RSA verified in wasm/.test(l.message))).toBe(true);
      expect((await f.http({ path: '/', headers: bearer(mint('RS256', keys.rsa, claims())) })).status).toBe(200);
      expect(calls.n).toBe(0);
    } finally {
      f.close();
    }
    expect(await rejection(config({}, { host_verification: 'always' }))).toMatch(/host_verification: expected "auto" or "off"/);
  });
});

describe('the documented Istio WasmPlugin (envoy-configs/istio/jwt-wasmplugin.yaml)', () => {
  it('its pluginConfig is a configuration the filter accepts, with the rules it shows', async () => {
    const docs = parseAllDocuments(readFileSync(join(repoRoot, 'envoy-configs', 'istio', 'jwt-wasmplugin.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => d['kind'])).toEqual(['ServiceEntry', 'DestinationRule', 'WasmPlugin']);
    const plugin = docs[2]!['spec'];
    expect(plugin.phase).toBe('AUTHN');
    expect(plugin.pluginName).toBe('jwt');
    const cluster = plugin.pluginConfig.providers.corp.remote_jwks.http_uri.cluster as string;
    expect(cluster).toBe(`outbound|443||${docs[0]!['spec'].hosts[0]}`);
    const f = await loadFilter(wasmPath, { name: 'jwt', config: plugin.pluginConfig, clock: { start: START } });
    try {
      expect((await f.http({ path: '/healthz' })).status).toBe(200);
      expect((await f.http({ path: '/orders' })).status).toBe(401);
    } finally {
      f.close();
    }
    // Without pluginName Istio gives an empty root id: the filter starts all the same.
    const unnamed = await loadFilter(wasmPath, { name: 'jwt', rootId: '', config: plugin.pluginConfig, clock: { start: START } });
    try {
      expect((await unnamed.http({ path: '/orders' })).status).toBe(401);
    } finally {
      unnamed.close();
    }
  });
});
