// The JWT filter (build/jwt.wasm) in the Node host: configuration errors named by field, time
// handling with a manual clock (the verified-token cache honours exp), outputs for later
// filters, and hostile tokens that must be refused without a trap.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
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

const load = (cfg: unknown) => loadFilter(wasmPath, { name: 'jwt', config: cfg, clock: { start: START } });
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, sub: 'alice', aud: 'api', iat: T0, exp: T0 + 600, ...extra });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function rejection(cfg: unknown): Promise<string> {
  try {
    (await load(cfg)).close();
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
    ['provider without keys', { providers: { main: { issuer: ISS } }, rules: [] }, /providers\.main\.local_jwks: required/],
    ['JWKS not JSON', config({ local_jwks: { inline_string: '{nope' } }), /providers\.main\.local_jwks\.inline_string: invalid JSON/],
    ['only a 1024-bit RSA key', config({ local_jwks: { inline_string: JSON.stringify({ keys: [smallRsa] }) } }), /inline_string: no usable key \(key 0: RSA modulus under 2048 bits\)/],
    ['remote_jwks (not yet)', config({ remote_jwks: { http_uri: { uri: 'https://x/jwks', cluster: 'idp' } } }), /providers\.main\.remote_jwks: remote JWKS fetching is not available/],
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
      sig[0] ^= 0x80;
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
