// The verified-token cache of the identity phase: a repeated token is not verified again, but
// never outlives its exp or the cache age, and the hit rate shows in /metrics.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { JwtVerifier, Metrics, parseConfig, Authorizer, Logger } from '../../../ext-authz/src/index.js';

const ISS = 'https://idp.cache';
let key: CryptoKey;
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k' };
});

const sign = (exp: number | string = '1h') => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISS).setExpirationTime(exp).sign(key);
const verifier = (jwt: Record<string, unknown> = {}) => new JwtVerifier(parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }], ...jwt } } }).identity.jwt);

describe('verified-token cache', () => {
  it('serves a repeated token from the cache until verified_cache_seconds', async () => {
    const v = verifier({ verified_cache_seconds: 30 });
    const t = await sign();
    const now = Date.now();
    expect((await v.verify(t, now)).ok).toBe(true);
    expect((await v.verify(t, now + 1000)).ok).toBe(true);
    expect((await v.verify(t, now + 29_000)).ok).toBe(true);
    expect(v.cacheStats).toEqual({ hits: 2, misses: 1 });
    expect((await v.verify(t, now + 31_000)).ok).toBe(true);
    expect(v.cacheStats).toEqual({ hits: 2, misses: 2 });
  });

  it('never serves a token past its exp (plus the clock skew)', async () => {
    const v = verifier({ clock_skew_seconds: 5 });
    const now = Date.now();
    const exp = Math.floor(now / 1000) + 10;
    const t = await sign(exp);
    expect((await v.verify(t, now)).ok).toBe(true);
    expect((await v.verify(t, exp * 1000 + 4_000)).ok).toBe(true);
    // Past exp + skew the cache does not answer; the token is verified again (here at the real
    // time, where it is still valid: what matters is that the cache was not used).
    await v.verify(t, exp * 1000 + 5_000);
    expect(v.cacheStats).toEqual({ hits: 1, misses: 2 });
  });

  it('a token that fails is never cached; size 0 turns the cache off; hits and misses in /metrics', async () => {
    const v = verifier({ verified_cache_size: 0 });
    const t = await sign();
    await v.verify(t);
    await v.verify(t);
    expect(v.cacheStats).toEqual({ hits: 0, misses: 0 });
    const bad = verifier();
    const expired = await sign(Math.floor(Date.now() / 1000) - 3600);
    expect((await bad.verify(expired)).ok).toBe(false);
    expect((await bad.verify(expired)).ok).toBe(false);
    expect(bad.cacheStats).toEqual({ hits: 0, misses: 2 });

    const metrics = new Metrics();
    const a = await Authorizer.create(parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] } }] } } }), { logger: new Logger('error', () => {}), metrics });
    const attrs = { request: { http: { method: 'GET', path: '/', headers: { authorization: `Bearer ${t}` } } } };
    for (let i = 0; i < 3; i++) expect((await a.check(attrs, 'grpc')).result).toBe('allow');
    expect(metrics.render()).toContain('meshward_authz_jwt_cache_total{result="hit"} 2');
    expect(metrics.render()).toContain('meshward_authz_jwt_cache_total{result="miss"} 1');
  });

  it('a token that shares a cached token\'s signature (so its cache key) but not its text is verified, and refused', async () => {
    const v = verifier();
    const t = await sign();
    const now = Date.now();
    expect((await v.verify(t, now)).ok).toBe(true);
    // The same signature on another payload: the key (the token's last characters) is the
    // cached one's, the token is not; it must not be taken as verified.
    const [h, , sig] = t.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ sub: 'mallory', iss: ISS, exp: Math.floor(now / 1000) + 3600 })).toString('base64url');
    const forged = `${h}.${otherPayload}.${sig}`;
    const outcome = await v.verify(forged, now);
    expect(outcome.ok).toBe(false);
    expect(v.cacheStats).toEqual({ hits: 0, misses: 2 });
    // The genuine token is still a hit afterwards.
    const again = await v.verify(t, now + 1000);
    expect(again.ok && again.jwt.subject).toBe('alice');
    expect(v.cacheStats).toEqual({ hits: 1, misses: 2 });
  });

  it('tokens longer than 2048 characters are cached by digest and hit the same way', async () => {
    const v = verifier();
    const long = await new SignJWT({ sub: 'bob', pad: 'x'.repeat(3000) }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISS).setExpirationTime('1h').sign(key);
    expect(long.length).toBeGreaterThan(2048);
    const now = Date.now();
    expect((await v.verify(long, now)).ok).toBe(true);
    const hit = await v.verify(long, now + 1);
    expect(hit.ok && hit.jwt.subject).toBe('bob');
    expect(v.cacheStats).toEqual({ hits: 1, misses: 1 });
  });
});
