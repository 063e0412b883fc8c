// The JWT filter next to Envoy's own jwt_authn: two Envoys, one config (the same providers and
// rules JSON), the same requests. A client must not be able to tell them apart: status code,
// WWW-Authenticate and body match case by case, and so do the headers the upstream receives.
import { createPublicKey } from 'node:crypto';
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
} from '../../sdk/src/envoy/index.js';
import { buildDir } from '../support/cli.js';
import { b64url, makeKeys, mint, nowSeconds, type Alg, type TestKey } from '../support/jwt-tokens.js';

const ISS = 'https://issuer.test';
const OTHER_ISS = 'https://other.test';
const COOKIE_ISS = 'https://cookie.test';
const keys = makeKeys();
const allJwks = JSON.stringify({ keys: [keys.rsa.jwk, keys.ec256.jwk, keys.ec384.jwk, keys.ed.jwk, keys.hmac.jwk] });

// Shared by both filters, field for field.
const authn = {
  providers: {
    main: {
      issuer: ISS,
      audiences: ['api'],
      local_jwks: { inline_string: allJwks },
      forward_payload_header: 'x-jwt-payload',
      claim_to_headers: [{ header_name: 'x-jwt-sub', claim_name: 'sub' }],
      clear_route_cache: true,
    },
    other: { issuer: OTHER_ISS, local_jwks: { inline_string: JSON.stringify({ keys: [keys.ec256.jwk] }) } },
    cookie: { issuer: COOKIE_ISS, local_jwks: { inline_string: JSON.stringify({ keys: [keys.rsa.jwk] }) }, from_cookies: ['session'] },
    custom: {
      issuer: 'https://custom.test',
      local_jwks: { inline_string: JSON.stringify({ keys: [keys.hmac.jwk] }) },
      from_headers: [{ name: 'x-jwt-assertion' }],
      forward: true,
    },
  },
  rules: [
    { match: { prefix: '/public' } },
    { match: { prefix: '/optional' }, requires: { allow_missing: {} } },
    { match: { prefix: '/failed-ok' }, requires: { allow_missing_or_failed: {} } },
    { match: { prefix: '/any' }, requires: { requires_any: { requirements: [{ provider_name: 'main' }, { provider_name: 'other' }] } } },
    { match: { prefix: '/cookie' }, requires: { provider_name: 'cookie' } },
    { match: { prefix: '/custom' }, requires: { provider_name: 'custom' } },
    { match: { prefix: '/' }, requires: { provider_name: 'main' } },
  ],
};

let upstream: EchoUpstream;
let ours: EnvoyInstance;
let native: EnvoyInstance;

/** A route chosen by a header the filter writes: only reached when the filter clears the route cache. */
const claimRoute = {
  match: { prefix: '/routed', headers: [{ name: 'x-jwt-sub', string_match: { exact: 'alice' } }] },
  direct_response: { status: 202, body: { inline_string: 'routed by the sub claim' } },
};

function gateway(filter: unknown) {
  return startEnvoy({
    config: (p) => {
      const bootstrap = httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        httpFilters: [filter as never],
      });
      const vhost = (bootstrap['static_resources'] as any).listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0];
      vhost.routes.unshift(claimRoute);
      return bootstrap;
    },
  });
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  [ours, native] = await Promise.all([
    gateway(wasmHttpFilter({ name: 'jwt', wasmPath: join(buildDir, 'jwt.wasm'), config: authn })),
    gateway({
      name: 'envoy.filters.http.jwt_authn',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', ...authn },
    }),
  ]);
});
afterAll(async () => {
  await stopAllEnvoys();
  await upstream.close();
});

interface Observed {
  status: number;
  challenge: string | null;
  body: string;
  /** What reached the upstream (only for 200s). */
  upstream?: { authorization?: string; payload?: string; sub?: string; assertion?: string };
}

async function observe(envoy: EnvoyInstance, path: string, headers: Record<string, string>): Promise<Observed> {
  const res = await fetch(envoy.url(path), { headers });
  const text = await res.text();
  // The two Envoys listen on different ports; the realm is compared without it.
  const challenge = res.headers.get('www-authenticate')?.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT') ?? null;
  const out: Observed = { status: res.status, challenge, body: text };
  if (res.status === 200) {
    const echoed = JSON.parse(text) as { headers: Record<string, string> };
    const h = echoed.headers;
    out.body = '';
    out.upstream = { authorization: h['authorization'], payload: h['x-jwt-payload'], sub: h['x-jwt-sub'], assertion: h['x-jwt-assertion'] };
  }
  return out;
}

const now = nowSeconds();
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, sub: 'alice', aud: 'api', iat: now, exp: now + 3600, ...extra });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const keyFor: Record<Alg, TestKey> = {
  RS256: keys.rsa, RS384: keys.rsa, RS512: keys.rsa, PS256: keys.rsa, PS384: keys.rsa, PS512: keys.rsa,
  ES256: keys.ec256, ES384: keys.ec384, HS256: keys.hmac, HS384: keys.hmac, HS512: keys.hmac, EdDSA: keys.ed,
};
const flipLastByte = (sig: Buffer) => {
  const s = Buffer.from(sig);
  s[s.length - 1]! ^= 1;
  return s;
};
const rsaPem = createPublicKey({ key: keys.rsa.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;

interface Case {
  name: string;
  path?: string;
  headers: Record<string, string>;
  /** The status both must give (a sanity check that the case tests what it says). */
  status: number;
}

const algs: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'HS256', 'HS384', 'HS512', 'EdDSA'];
const cases: Case[] = [
  { name: 'no token', headers: {}, status: 401 },
  { name: 'route picked by a claim header (clear_route_cache)', path: '/routed/x', headers: bearer(mint('ES256', keys.ec256, claims())), status: 202 },
  { name: 'claim header of another user keeps the default route', path: '/routed/x', headers: bearer(mint('ES256', keys.ec256, claims({ sub: 'bob' }))), status: 200 },
  ...algs.map((alg) => ({ name: `valid ${alg}`, headers: bearer(mint(alg, keyFor[alg], claims())), status: 200 })),
  ...(['RS256', 'PS256', 'ES256', 'ES384', 'HS256', 'EdDSA'] as Alg[]).map((alg) => ({
    name: `bad signature ${alg}`,
    headers: bearer(mint(alg, keyFor[alg], claims(), { signature: flipLastByte })),
    status: 401,
  })),
  { name: 'expired', headers: bearer(mint('RS256', keys.rsa, claims({ exp: now - 3600 }))), status: 401 },
  { name: 'expired, but within the 60 s clock skew', headers: bearer(mint('RS256', keys.rsa, claims({ exp: now - 10 }))), status: 200 },
  { name: 'not yet valid', headers: bearer(mint('RS256', keys.rsa, claims({ nbf: now + 3600 }))), status: 401 },
  { name: 'wrong issuer', headers: bearer(mint('RS256', keys.rsa, claims({ iss: 'https://evil.test' }))), status: 401 },
  { name: 'wrong audience: 403', headers: bearer(mint('RS256', keys.rsa, claims({ aud: 'other-api' }))), status: 403 },
  { name: 'audience list with one allowed', headers: bearer(mint('RS256', keys.rsa, claims({ aud: ['x', 'api'] }))), status: 200 },
  { name: 'no exp (not required)', headers: bearer(mint('ES256', keys.ec256, claims({ exp: undefined }))), status: 200 },
  { name: 'exp is a string', headers: bearer(mint('ES256', keys.ec256, claims({ exp: String(now + 3600) }))), status: 401 },
  { name: 'alg none', headers: bearer(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}.${b64url('sig')}`), status: 401 },
  { name: 'exp is negative', headers: bearer(mint('ES256', keys.ec256, claims({ exp: -5 }))), status: 401 },
  { name: 'nbf with a fraction (RFC 7519 allows it)', headers: bearer(mint('ES256', keys.ec256, claims({ nbf: now - 10.5 }))), status: 200 },
  { name: 'alg missing', headers: bearer(mint('RS256', keys.rsa, claims(), { rawHeader: b64url(JSON.stringify({ typ: 'JWT', kid: 'rsa1' })) })), status: 401 },
  {
    name: 'RS/HS confusion: HS256 with the RSA public key as secret',
    headers: bearer(mint('HS256', { kid: 'rsa1', privateKey: Buffer.from(rsaPem), jwk: {} }, claims())),
    status: 401,
  },
  { name: 'unknown kid', headers: bearer(mint('RS256', { ...keys.rsa, kid: 'rotated-away' }, claims())), status: 401 },
  { name: 'no kid: every key of the right type is tried', headers: bearer(mint('ES256', keys.ec256, claims(), { header: { kid: undefined } })), status: 200 },
  { name: 'same kid, another key (forged)', headers: bearer(mint('RS256', keys.rsaOther, claims())), status: 401 },
  { name: 'ECDSA signature in DER instead of JWS r||s', headers: bearer(mint('ES256', keys.ec256, claims(), { signature: (s) => Buffer.concat([Buffer.from([0x30, 0x44]), s]) })), status: 401 },
  { name: 'two sections only', headers: bearer(`${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify(claims()))}`), status: 401 },
  { name: 'header is not JSON', headers: bearer(mint('RS256', keys.rsa, claims(), { rawHeader: b64url('not json') })), status: 401 },
  { name: 'payload is not JSON', headers: bearer(mint('RS256', keys.rsa, claims(), { rawPayload: b64url('{"iss":') })), status: 401 },
  { name: '"bearer" prefix in lower case is not the configured prefix', headers: { authorization: `bearer ${mint('RS256', keys.rsa, claims())}` }, status: 401 },
  { name: 'alg none with an empty signature', headers: bearer(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}.`), status: 401 },
  { name: 'token in the access_token query parameter', path: `/q?access_token=${mint('ES256', keys.ec256, claims())}`, headers: {}, status: 200 },
  { name: 'token in a cookie', path: '/cookie/x', headers: { cookie: `a=b; session=${mint('RS256', keys.rsa, claims({ iss: COOKIE_ISS }))}` }, status: 200 },
  { name: 'cookie route without the cookie', path: '/cookie/x', headers: bearer(mint('RS256', keys.rsa, claims({ iss: COOKIE_ISS }))), status: 401 },
  { name: 'custom header without prefix, forwarded', path: '/custom/x', headers: { 'x-jwt-assertion': mint('HS256', keys.hmac, claims({ iss: 'https://custom.test' })) }, status: 200 },
  { name: 'public route without token', path: '/public/x', headers: {}, status: 200 },
  { name: 'public route with a garbage token', path: '/public/x', headers: bearer('garbage'), status: 200 },
  { name: 'allow_missing without token', path: '/optional/x', headers: {}, status: 200 },
  { name: 'allow_missing with an expired token', path: '/optional/x', headers: bearer(mint('RS256', keys.rsa, claims({ exp: now - 3600 }))), status: 401 },
  { name: 'allow_missing with a valid token', path: '/optional/x', headers: bearer(mint('RS256', keys.rsa, claims())), status: 200 },
  { name: 'allow_missing_or_failed with a bad signature', path: '/failed-ok/x', headers: bearer(mint('RS256', keys.rsa, claims(), { signature: flipLastByte })), status: 200 },
  { name: 'requires_any: second provider\'s token', path: '/any/x', headers: bearer(mint('ES256', keys.ec256, claims({ iss: OTHER_ISS }))), status: 200 },
  { name: 'requires_any: no token', path: '/any/x', headers: {}, status: 401 },
  { name: 'client-sent x-jwt-payload is replaced', headers: { ...bearer(mint('RS256', keys.rsa, claims())), 'x-jwt-payload': 'forged' }, status: 200 },
];

describe('JWT filter vs Envoy jwt_authn, side by side in Envoy 1.40', () => {
  it(`has at least 40 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('ours verifies RSA through Envoy\'s verify_signature (the faster path) by default', () => {
    expect(ours.log()).toMatch(/RSA verified by the host \(verify_signature\)/);
  });

  it.each(cases)('$name', async (c) => {
    const path = c.path ?? '/api/orders';
    const [a, b] = await Promise.all([observe(ours, path, c.headers), observe(native, path, c.headers)]);
    if (process.env['JWT_DIFF_DEBUG']) console.log(c.name, JSON.stringify({ ours: a, native: b }));
    expect(b.status, 'jwt_authn').toBe(c.status);
    expect(a).toEqual(b);
  });
});

describe('where the JWT filter goes further than jwt_authn', () => {
  it('refuses a token with a `crit` header it does not understand (RFC 7515 4.1.11); jwt_authn ignores crit', async () => {
    const token = mint('RS256', keys.rsa, claims(), { header: { crit: ['exp-ext'], 'exp-ext': 1 } });
    const a = await observe(ours, '/api/x', bearer(token));
    expect(a.status).toBe(401);
    expect(a.challenge).toContain('error="invalid_token"');
  });

  it('refuses non-canonical base64url (a second spelling of the same signature)', async () => {
    const token = mint('HS256', keys.hmac, claims());
    const sig = token.split('.')[2]!;
    // 32-byte HMAC: 43 chars, the last carries 2 unused bits; setting one changes the text, not the bytes.
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const tweaked = alphabet[alphabet.indexOf(last) | 1]!;
    expect(tweaked).not.toBe(last);
    const a = await observe(ours, '/api/x', bearer(`${token.slice(0, -1)}${tweaked}`));
    expect(a.status).toBe(401);
  });

  it('refuses duplicate claim names and tokens over max_token_bytes', async () => {
    const dup = mint('RS256', keys.rsa, claims(), { rawPayload: b64url(`{"iss":"${ISS}","aud":"api","sub":"alice","sub":"admin"}`) });
    expect((await observe(ours, '/api/x', bearer(dup))).status).toBe(401);
    const big = mint('RS256', keys.rsa, claims({ pad: 'x'.repeat(9000) }));
    expect((await observe(ours, '/api/x', bearer(big))).status).toBe(401);
  });

  it('never takes a key from the token (jwk / jku / x5u in the header are ignored)', async () => {
    const attacker = makeKeys().rsa;
    const token = mint('RS256', attacker, claims(), { header: { jwk: attacker.jwk, jku: 'http://evil.test/jwks', x5u: 'http://evil.test/c' } });
    expect((await observe(ours, '/api/x', bearer(token))).status).toBe(401);
  });
});
