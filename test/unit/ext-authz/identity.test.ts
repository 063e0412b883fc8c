import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearerToken,
  IdentityResolver,
  JwtVerifier,
  parseConfig,
  parseSpiffeId,
  parseXfcc,
  workloadFromXfcc,
  type CheckAttributes,
  type JwtConfig,
} from '../../../ext-authz/src/index.js';

const ISS = 'https://idp.test';
const ISS2 = 'https://second.test';
let es: { privateKey: CryptoKey; jwk: JWK };
let rs: { privateKey: CryptoKey; jwk: JWK };
let other: { privateKey: CryptoKey };
let jwksServer: Server;
let jwksUrl: string;
let jwksFetches = 0;

beforeAll(async () => {
  const e = await generateKeyPair('ES256');
  es = { privateKey: e.privateKey, jwk: { ...(await exportJWK(e.publicKey)), kid: 'es', alg: 'ES256' } };
  const r = await generateKeyPair('RS256');
  rs = { privateKey: r.privateKey, jwk: { ...(await exportJWK(r.publicKey)), kid: 'rs', alg: 'RS256' } };
  other = { privateKey: (await generateKeyPair('ES256')).privateKey };
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [rs.jwk] }));
  });
  await new Promise<void>((done) => jwksServer.listen(0, '127.0.0.1', done));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});

afterAll(async () => {
  jwksServer.closeAllConnections();
  await new Promise<void>((done) => jwksServer.close(() => done()));
});

function jwtConfig(extra: Record<string, unknown> = {}, issuerExtra: Record<string, unknown> = {}): JwtConfig {
  return parseConfig({
    identity: {
      jwt: {
        issuers: [
          { issuer: ISS, audiences: ['api'], jwks: { keys: [es.jwk] }, algorithms: ['ES256'], ...issuerExtra },
          { issuer: ISS2, jwks_uri: jwksUrl },
        ],
        ...extra,
      },
    },
  }).identity.jwt;
}

interface TokenOptions {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  iss?: string | undefined;
  aud?: string | string[] | undefined;
  exp?: number | string | undefined;
  nbf?: number;
}

async function sign(claims: Record<string, unknown> = {}, o: TokenOptions = {}): Promise<string> {
  const t = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: o.alg ?? 'ES256', kid: o.kid ?? 'es' }).setIssuedAt();
  if (!('iss' in o) || o.iss !== undefined) t.setIssuer(o.iss ?? ISS);
  if (!('aud' in o) || o.aud !== undefined) t.setAudience(o.aud ?? 'api');
  if (!('exp' in o) || o.exp !== undefined) t.setExpirationTime(o.exp ?? '5m');
  if (o.nbf !== undefined) t.setNotBefore(o.nbf);
  return t.sign(o.key ?? es.privateKey);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('JWT verification', () => {
  it('accepts a valid token and builds the request principal <iss>/<sub>', async () => {
    const r = await new JwtVerifier(jwtConfig()).verify(await sign({ azp: 'spa', role: 'admin' }));
    expect(r).toMatchObject({ ok: true, jwt: { issuer: ISS, subject: 'alice', principal: `${ISS}/alice`, audiences: ['api'], presenter: 'spa' } });
    expect(r.ok && r.jwt.claims['role']).toBe('admin');
  });

  it.each<[string, () => Promise<string>, string]>([
    ['expired', () => sign({}, { exp: now() - 3600 }), 'jwt expired'],
    ['wrong issuer (not configured)', () => sign({}, { iss: 'https://evil.test' }), 'jwt issuer not configured (https://evil.test)'],
    ['no issuer', () => sign({}, { iss: undefined }), 'jwt has no "iss" claim'],
    ['wrong audience', () => sign({}, { aud: 'other' }), 'jwt claim "aud" invalid'],
    ['no audience when audiences are required', () => sign({}, { aud: undefined }), 'jwt claim "aud" invalid'],
    ['bad signature (another key, same kid)', () => sign({}, { key: other.privateKey }), 'jwt signature invalid'],
    ['tampered payload', async () => {
      const [h, , s] = (await sign()).split('.');
      return `${h}.${b64({ sub: 'mallory', iss: ISS, aud: 'api', exp: now() + 60 })}.${s}`;
    }, 'jwt signature invalid'],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISS, aud: 'api', exp: now() + 60 })}.`, 'jwt algorithm not allowed'],
    ['algorithm not in the allowed list (RS256 for an ES256-only issuer)', () => sign({}, { key: rs.privateKey, alg: 'RS256', kid: 'rs' }), 'jwt algorithm not allowed'],
    ['unknown kid', () => sign({}, { kid: 'nope' }), 'no key in the issuer JWKS matches the jwt'],
    ['not yet valid (nbf beyond the skew)', () => sign({}, { nbf: now() + 600 }), 'jwt claim "nbf" invalid'],
    ['malformed', async () => 'not.a.jwt', 'jwt malformed'],
    ['two segments', async () => 'abc.def', 'jwt malformed'],
    ['empty', async () => '', 'empty bearer token'],
    ['huge', async () => 'a'.repeat(20_000), 'jwt longer than 16384 characters'],
  ])('refuses a token: %s', async (_what, make, reason) => {
    const r = await new JwtVerifier(jwtConfig()).verify(await make());
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it('clock skew: a token expired 30 s ago passes with the default 60 s skew, not with 0', async () => {
    const t = await sign({}, { exp: now() - 30 });
    expect((await new JwtVerifier(jwtConfig()).verify(t)).ok).toBe(true);
    expect(await new JwtVerifier(jwtConfig({ clock_skew_seconds: 0 })).verify(t)).toMatchObject({ ok: false, reason: 'jwt expired' });
  });

  it('require_expiration refuses a token without exp', async () => {
    const t = await sign({}, { exp: undefined });
    expect((await new JwtVerifier(jwtConfig()).verify(t)).ok).toBe(true);
    expect(await new JwtVerifier(jwtConfig({ require_expiration: true })).verify(t)).toMatchObject({ ok: false, reason: 'jwt claim "exp" invalid (missing)' });
  });

  it('audiences: any configured one is enough; a token with several audiences passes if one matches', async () => {
    const v = new JwtVerifier(jwtConfig({}, { audiences: ['api', 'web'] }));
    expect((await v.verify(await sign({}, { aud: 'web' }))).ok).toBe(true);
    expect((await v.verify(await sign({}, { aud: ['x', 'api'] }))).ok).toBe(true);
    expect((await v.verify(await sign({}, { aud: ['x', 'y'] }))).ok).toBe(false);
  });

  it('several issuers: a remote JWKS is fetched once and cached', async () => {
    const v = new JwtVerifier(jwtConfig());
    const before = jwksFetches;
    for (let i = 0; i < 3; i++) {
      const r = await v.verify(await sign({ n: i }, { iss: ISS2, key: rs.privateKey, alg: 'RS256', kid: 'rs', aud: 'anything' }));
      expect(r).toMatchObject({ ok: true, jwt: { issuer: ISS2, principal: `${ISS2}/alice` } });
    }
    expect(jwksFetches - before).toBe(1);
    // The first issuer's key does not verify tokens claiming the second issuer.
    expect(await v.verify(await sign({}, { iss: ISS2 }))).toMatchObject({ ok: false });
  });

  it('a remote JWKS that cannot be fetched fails the token (closed), naming the cause', async () => {
    const cfg = parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS2, jwks_uri: 'http://127.0.0.1:1/jwks.json', jwks_timeout_ms: 500 }] } } }).identity.jwt;
    const r = await new JwtVerifier(cfg).verify(await sign({}, { iss: ISS2, key: rs.privateKey, alg: 'RS256', kid: 'rs' }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^jwt verification failed|issuer JWKS/);
  });

  it('an HS256 token is refused even if signed with something the server might know', async () => {
    const t = await new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'HS256', kid: 'es' }).setIssuer(ISS).setAudience('api').sign(new Uint8Array(32).fill(7));
    expect(await new JwtVerifier(jwtConfig()).verify(t)).toMatchObject({ ok: false, reason: 'jwt algorithm not allowed' });
  });
});

describe('bearer token extraction', () => {
  it.each<[string | undefined, string | undefined]>([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer   abc', 'abc'],
    ['BEARER abc ', 'abc'],
    ['Bearer', ''],
    ['Basic dXNlcjpwYXNz', undefined],
    [undefined, undefined],
    ['Bearerabc', undefined],
    ['Bearer abc\ndef', undefined],
    ['Bearer  abc', 'abc'],
    ['Bearer abc\u00a0', 'abc'],
    ['Bearer a b', 'a b'],
    ['Bearer é', 'é'],
    ['Bearer \u2028', ''],
  ])('%j -> %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('reads every header as the full grammar does (/^\\s*bearer(?:\\s+(.*))?$/i, trimmed)', () => {
    const reference = (h: string) => {
      const m = /^\s*bearer(?:\s+(.*))?$/i.exec(h);
      return m ? (m[1] ?? '').trim() : undefined;
    };
    const parts = ['Bearer', 'bearer', ' ', '  ', '\t', '\n', '\r', '\u00a0', '\u2028', 'abc', 'a.b-c_d', '~', '\u007f', 'é', '=', '"'];
    let seed = 7;
    const pick = () => parts[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % parts.length]!;
    for (let i = 0; i < 5000; i++) {
      let h = i % 3 ? 'Bearer ' : pick();
      for (let n = i % 5; n >= 0; n--) h += pick();
      expect(bearerToken(h), JSON.stringify(h)).toBe(reference(h));
    }
  });
});

describe('workload identity', () => {
  it.each<[string, ReturnType<typeof parseSpiffeId>]>([
    ['spiffe://cluster.local/ns/shop/sa/cart', { trustDomain: 'cluster.local', path: '/ns/shop/sa/cart', namespace: 'shop', serviceAccount: 'cart' }],
    ['spiffe://example.org/payments/api', { trustDomain: 'example.org', path: '/payments/api' }],
    ['spiffe://example.org', { trustDomain: 'example.org', path: '' }],
    ['spiffe://Example.org/x', undefined],
    ['spiffe://example.org/a//b', undefined],
    ['spiffe://example.org/a/../b', undefined],
    ['https://example.org/a', undefined],
  ])('parses %s', (id, expected) => {
    expect(parseSpiffeId(id)).toEqual(expected);
  });

  it('parses x-forwarded-client-cert with quoted values and several elements', () => {
    const v = 'By=spiffe://cluster.local/ns/gw/sa/envoy;Hash=abc;Subject="CN=a,O=b";URI=spiffe://cluster.local/ns/a/sa/one,By=x;URI=spiffe://cluster.local/ns/b/sa/two;DNS=b.local';
    expect(parseXfcc(v)).toEqual([
      { by: ['spiffe://cluster.local/ns/gw/sa/envoy'], hash: ['abc'], subject: ['CN=a,O=b'], uri: ['spiffe://cluster.local/ns/a/sa/one'] },
      { by: ['x'], uri: ['spiffe://cluster.local/ns/b/sa/two'], dns: ['b.local'] },
    ]);
  });

  const xfcc = 'By=spiffe://td/ns/gw/sa/gw;URI=spiffe://cluster.local/ns/shop/sa/cart';
  const workloadCfg = (trusted: string[], trustDomains: string[] = []) => parseConfig({ identity: { workload: { trust_domains: trustDomains, xfcc: { trusted_proxies: trusted } } } }).identity.workload;

  it('reads XFCC only from a trusted proxy', () => {
    expect(workloadFromXfcc(xfcc, '10.0.0.5', workloadCfg(['10.0.0.0/8']))).toMatchObject({ principal: 'cluster.local/ns/shop/sa/cart', namespace: 'shop', from: 'xfcc' });
    expect(workloadFromXfcc(xfcc, '192.168.1.1', workloadCfg(['10.0.0.0/8']))).toBe('x-forwarded-client-cert ignored: source is not a trusted proxy');
    expect(workloadFromXfcc(xfcc, undefined, workloadCfg(['10.0.0.0/8']))).toBe('x-forwarded-client-cert ignored: source is not a trusted proxy');
    // No trusted proxies configured: the header is never read.
    expect(workloadFromXfcc(xfcc, '10.0.0.5', workloadCfg([]))).toBeUndefined();
    expect(workloadFromXfcc(xfcc, '10.0.0.5', workloadCfg(['10.0.0.0/8'], ['other.domain']))).toBe('trust domain "cluster.local" is not accepted');
  });

  function attrs(o: { principal?: string; ip?: string; headers?: Record<string, string> }): CheckAttributes {
    return {
      source: { address: { socket_address: { address: o.ip ?? '10.0.0.5', port_value: 4000 } }, ...(o.principal ? { principal: o.principal } : {}) },
      request: { http: { method: 'GET', path: '/', headers: o.headers ?? {} } },
    };
  }

  it('resolves peer principal, then JWT on top; missing and invalid tokens', async () => {
    const cfg = (extra: Record<string, unknown> = {}) =>
      parseConfig({
        identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [es.jwk] } }], ...extra }, workload: { trust_domains: ['cluster.local'], xfcc: { trusted_proxies: ['10.0.0.0/8'] } } },
      }).identity;
    const r = new IdentityResolver(cfg());
    const peer = 'spiffe://cluster.local/ns/shop/sa/cart';
    expect((await r.resolve(attrs({}))).outcome).toEqual({ ok: true, identity: { kind: 'anonymous' } });
    expect((await r.resolve(attrs({ principal: peer }))).outcome).toMatchObject({ ok: true, identity: { kind: 'workload', workload: { principal: 'cluster.local/ns/shop/sa/cart', from: 'peer' } } });
    const both = await r.resolve(attrs({ principal: peer, headers: { authorization: `Bearer ${await sign()}` } }));
    expect(both.outcome).toMatchObject({ ok: true, identity: { kind: 'jwt', jwt: { subject: 'alice' }, workload: { namespace: 'shop' } } });
    const foreign = await r.resolve(attrs({ principal: 'spiffe://evil.org/ns/shop/sa/cart' }));
    expect(foreign.outcome).toEqual({ ok: true, identity: { kind: 'anonymous' } });
    expect(foreign.notes).toEqual(['peer principal ignored: trust domain "evil.org" is not accepted']);
    expect((await r.resolve(attrs({ headers: { 'x-forwarded-client-cert': xfcc } }))).outcome).toMatchObject({ ok: true, identity: { kind: 'workload', workload: { from: 'xfcc' } } });
    expect((await r.resolve(attrs({ headers: { authorization: 'Bearer x.y.z' } }))).outcome).toEqual({ ok: false, failure: { problem: 'invalid', reason: 'jwt malformed' } });
    expect((await new IdentityResolver(cfg({ required: true })).resolve(attrs({ principal: peer }))).outcome).toEqual({
      ok: false,
      failure: { problem: 'missing', reason: 'bearer token required' },
    });
  });

  it('a token verified from the cache gives each request its own identity, equal to the first, marked bearer', async () => {
    const r = new IdentityResolver(parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [es.jwk] }, audiences: ['api'] }] } } }).identity);
    const request = attrs({ headers: { authorization: `Bearer ${await sign({ azp: 'web' })}` } });
    const first = await r.resolve(request);
    const second = await r.resolve(request);
    expect(r.jwt.cacheStats).toEqual({ hits: 1, misses: 1 });
    const jwtOf = (x: typeof first) => (x.outcome.ok ? x.outcome.identity.jwt : undefined);
    expect(jwtOf(first)).toMatchObject({ issuer: ISS, subject: 'alice', principal: `${ISS}/alice`, presenter: 'web', audiences: ['api'], from: 'bearer' });
    expect(jwtOf(second)).toEqual(jwtOf(first));
    // The same fields in the same order (what a decision log or a plug-in serialises).
    expect(JSON.stringify(jwtOf(second))).toBe(JSON.stringify(jwtOf(first)));
    expect(Object.keys(jwtOf(first)!)).toEqual(['issuer', 'principal', 'audiences', 'claims', 'subject', 'presenter', 'from']);
    // Not one shared object: a plug-in writing on one request's identity leaves the next one alone.
    expect(jwtOf(second)).not.toBe(jwtOf(first));
  });

  it('without JWT issuers a bearer token is left alone (not verified, not refused)', async () => {
    const r = new IdentityResolver(parseConfig({}).identity);
    expect((await r.resolve(attrs({ headers: { authorization: 'Bearer whatever' } }))).outcome).toEqual({ ok: true, identity: { kind: 'anonymous' } });
  });
});
