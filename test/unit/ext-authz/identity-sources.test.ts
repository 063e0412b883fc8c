// The identity sources beyond a locally verified bearer JWT: OIDC discovery, the JWT `typ` check,
// API keys (hashed), identity already verified by a filter in front (jwt_authn metadata, the JWT
// filter's payload header), and the `meshward authz hash-key` helper.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Authorizer,
  ConfigError,
  DiscoveredJwks,
  JwtVerifier,
  Logger,
  Metrics,
  Reloader,
  discoveryUriOf,
  loadConfigFile,
  parseConfig,
  policyInput,
  type CheckAttributes,
} from '../../../ext-authz/src/index.js';
import { runCli } from '../../support/cli.js';

let key: CryptoKey;
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
});

function sign(iss: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header })
    .setIssuer(iss)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

function attrs(headers: Record<string, string> = {}, extra: Partial<CheckAttributes> = {}): CheckAttributes {
  return {
    source: { address: { socket_address: { address: '198.51.100.7' } } },
    request: { http: { method: 'GET', path: '/api/x', host: 'api.local', headers } },
    ...extra,
  };
}

function issues(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

async function authorizer(raw: Record<string, unknown>, lines: string[] = []): Promise<Authorizer> {
  return Authorizer.create(parseConfig(raw), { logger: new Logger('debug', (l) => lines.push(l)) });
}

// ------------------------------------------------------------------------------------- typ

describe('JWT typ (RFC 8725 §3.11, RFC 9068)', () => {
  const ISS = 'https://idp.typ';
  const verifier = (extra: Record<string, unknown> = {}) =>
    new JwtVerifier(parseConfig({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] }, ...extra }] } } }).identity.jwt);

  it('by default accepts no typ, JWT and at+jwt (any case, with application/), and refuses other types', async () => {
    const v = verifier();
    expect((await v.verify(await sign(ISS, {}, {}))).ok).toBe(true);
    expect((await v.verify(await sign(ISS, {}, { typ: 'JWT' }))).ok).toBe(true);
    expect((await v.verify(await sign(ISS, {}, { typ: 'at+jwt' }))).ok).toBe(true);
    expect((await v.verify(await sign(ISS, {}, { typ: 'application/AT+JWT' }))).ok).toBe(true);
    expect(await v.verify(await sign(ISS, {}, { typ: 'logout+jwt' }))).toEqual({ ok: false, reason: 'jwt type "logout+jwt" not accepted' });
    expect(await v.verify(await sign(ISS, {}, { typ: 'secevent+jwt' }))).toMatchObject({ ok: false });
  });

  it('typ: [at+jwt] with require_typ refuses plain JWTs and tokens without typ', async () => {
    const v = verifier({ typ: ['at+jwt'], require_typ: true });
    expect((await v.verify(await sign(ISS, {}, { typ: 'at+jwt' }))).ok).toBe(true);
    expect(await v.verify(await sign(ISS, {}, { typ: 'JWT' }))).toEqual({ ok: false, reason: 'jwt type "JWT" not accepted' });
    expect(await v.verify(await sign(ISS))).toEqual({ ok: false, reason: 'jwt has no "typ" header' });
  });

  it('config: typ values must be media types, require_typ a boolean', () => {
    expect(issues({ identity: { jwt: { issuers: [{ issuer: ISS, jwks: { keys: [jwk] }, typ: ['a b'], require_typ: 'yes' }] } } })).toEqual([
      'identity.jwt.issuers[0].typ[0]: "a b" is not a media type',
      'identity.jwt.issuers[0].require_typ: expected true or false, got "yes"',
    ]);
  });
});

// ------------------------------------------------------------------------------- discovery

interface Idp {
  server: Server;
  url: string;
  /** What the discovery endpoint answers; `null` answers 503. */
  doc: () => Record<string, unknown> | null;
  hits: { discovery: number; jwks: number };
}

async function startIdp(): Promise<Idp> {
  const idp = { hits: { discovery: 0, jwks: 0 } } as Idp;
  idp.server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      idp.hits.discovery++;
      const doc = idp.doc();
      if (!doc) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    } else if (req.url === '/keys') {
      idp.hits.jwks++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => idp.server.listen(0, '127.0.0.1', r));
  idp.url = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
  idp.doc = () => ({ issuer: idp.url, jwks_uri: `${idp.url}/keys` });
  return idp;
}

describe('OIDC discovery', () => {
  let idp: Idp;
  beforeAll(async () => {
    idp = await startIdp();
  });
  afterAll(() => new Promise<void>((r) => idp.server.close(() => r())));
  beforeEach(() => {
    idp.hits = { discovery: 0, jwks: 0 };
    idp.doc = () => ({ issuer: idp.url, jwks_uri: `${idp.url}/keys` });
  });

  it('discovery: true finds the JWKS through the discovery document; both are fetched once for many tokens', async () => {
    const lines: string[] = [];
    const a = await authorizer({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } } }, lines);
    for (let i = 0; i < 3; i++) {
      const d = await a.check(attrs({ authorization: `Bearer ${await sign(idp.url, { n: i })}` }), 'grpc');
      expect(d.result).toBe('allow');
      expect(d.identity.jwt?.principal).toBe(`${idp.url}/alice`);
    }
    expect(idp.hits).toEqual({ discovery: 1, jwks: 1 });
    expect(lines.some((l) => l.includes('"msg":"jwt issuer discovered"') && l.includes(`${idp.url}/keys`))).toBe(true);
  });

  it('discovery state is in /metrics: up while a document is in use, fetches by result', async () => {
    const metrics = new Metrics();
    const ok = await Authorizer.create(parseConfig({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } } }), { logger: new Logger('error', () => {}), metrics });
    expect((await ok.check(attrs({ authorization: `Bearer ${await sign(idp.url)}` }), 'grpc')).result).toBe('allow');
    expect(metrics.render()).toContain(`meshward_authz_oidc_discovery_up{issuer="${idp.url}"} 1`);
    expect(metrics.render()).toContain(`meshward_authz_oidc_discovery_fetches_total{issuer="${idp.url}",result="success"} 1`);

    idp.doc = () => null; // the IdP's discovery endpoint is down
    const down = new Metrics();
    const bad = await Authorizer.create(parseConfig({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } } }), { logger: new Logger('error', () => {}), metrics: down });
    expect((await bad.check(attrs({ authorization: `Bearer ${await sign(idp.url)}` }), 'grpc')).status).toBe(401);
    expect(down.render()).toContain(`meshward_authz_oidc_discovery_up{issuer="${idp.url}"} 0`);
    expect(down.render()).toMatch(new RegExp(`meshward_authz_oidc_discovery_fetches_total\\{issuer="${idp.url.replace(/[.]/g, '\\.')}",result="failure"\\} [1-9]`));
  });

  it('a document naming another issuer is an error: logged, and the issuer\'s tokens fail closed', async () => {
    idp.doc = () => ({ issuer: 'https://evil.example', jwks_uri: `${idp.url}/keys` });
    const lines: string[] = [];
    const a = await authorizer({ identity: { jwt: { issuers: [{ issuer: idp.url, discovery: true }] } } }, lines);
    const d = await a.check(attrs({ authorization: `Bearer ${await sign(idp.url)}` }), 'grpc');
    expect(d.status).toBe(401);
    expect(d.reason).toContain('issuer discovery failed: discovery document issuer "https://evil.example" does not match the configured issuer');
    expect(idp.hits.jwks).toBe(0);
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 'error');
    expect(errors[0]).toMatchObject({ issuer: idp.url, discovery_uri: `${idp.url}/.well-known/openid-configuration` });
    expect(String(errors[0]!['msg'])).toContain('does not match the configured issuer');
  });

  it('a failed fetch is retried with backoff (1 s, doubling, capped), and recovers', async () => {
    let now = 1_000_000;
    let answer: Record<string, unknown> | null = null;
    idp.doc = () => answer;
    const settings = { discoveryUri: discoveryUriOf(idp.url), discoveryCacheMs: 3_600_000, maxBackoffMs: 4000, timeoutMs: 2000, cacheMaxAgeMs: 600_000, cooldownMs: 30_000 };
    const d = new DiscoveredJwks(idp.url, settings, () => {}, () => now);
    await expect(d.resolve()).rejects.toThrow('OIDC discovery fetch failed (HTTP 503)');
    expect(d.fetches).toBe(1);
    // Within the backoff: fails at once, without fetching.
    now += 999;
    await expect(d.resolve()).rejects.toThrow('HTTP 503');
    expect(d.fetches).toBe(1);
    now += 1; // 1 s later: retried (and fails again: the next wait is 2 s)
    await expect(d.resolve()).rejects.toThrow('HTTP 503');
    expect(d.fetches).toBe(2);
    now += 1999;
    await expect(d.resolve()).rejects.toThrow();
    expect(d.fetches).toBe(2);
    now += 1;
    await expect(d.resolve()).rejects.toThrow();
    expect(d.fetches).toBe(3); // next wait 4 s (the cap), then still 4 s
    now += 4000;
    await expect(d.resolve()).rejects.toThrow();
    now += 4000;
    answer = { issuer: idp.url, jwks_uri: `${idp.url}/keys` };
    await expect(d.resolve()).resolves.toBeTypeOf('function');
    expect(d.fetches).toBe(5);
  });

  it('keys that cannot be fetched send discovery again, at most once a second (the keys may have moved)', async () => {
    let now = 5_000_000;
    let jwksPath = '/gone';
    idp.doc = () => ({ issuer: idp.url, jwks_uri: `${idp.url}${jwksPath}` });
    const settings = { discoveryUri: discoveryUriOf(idp.url), discoveryCacheMs: 3_600_000, maxBackoffMs: 60_000, timeoutMs: 2000, cacheMaxAgeMs: 600_000, cooldownMs: 0 };
    const d = new DiscoveredJwks(idp.url, settings, () => {}, () => now);
    const header = { alg: 'ES256', kid: 'k1' };
    const token = { payload: '', signature: '', protected: '' };
    await expect(d.getKey(header, token)).rejects.toThrow();
    await expect(d.getKey(header, token)).rejects.toThrow();
    expect(d.fetches).toBe(1);
    jwksPath = '/keys';
    now += 1000;
    await expect(d.getKey(header, token)).resolves.toBeDefined();
    expect(d.fetches).toBe(2);
  });

  it('a trailing slash on the issuer is not doubled; config rejects discovery with a JWKS source or a non-URL issuer', () => {
    expect(discoveryUriOf('https://idp.example/')).toBe('https://idp.example/.well-known/openid-configuration');
    expect(issues({ identity: { jwt: { issuers: [{ issuer: 'https://idp', discovery: true, jwks_uri: 'https://idp/k' }] } } })).toEqual([
      'identity.jwt.issuers[0]: discovery: true finds the keys itself; remove jwks_uri',
    ]);
    expect(issues({ identity: { jwt: { issuers: [{ issuer: 'idp', discovery: true }] } } })).toEqual([
      'identity.jwt.issuers[0].issuer: expected a URL (http or https), got "idp"',
    ]);
    expect(issues({ identity: { jwt: { issuers: [{ issuer: 'https://idp', jwks_uri: 'https://idp/k', discovery_cache_seconds: 5 }] } } })).toEqual([
      'identity.jwt.issuers[0].discovery_cache_seconds: only applies with discovery: true',
    ]);
  });
});

// -------------------------------------------------------------------------------- API keys

const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const KEY_A = 'mk_live_6f1c2b9e4a7d';
const KEY_B = 'mk_live_second_key_00';

describe('API keys', () => {
  const base = {
    identity: {
      api_keys: {
        keys: [
          { id: 'billing', sha256: sha(KEY_A), labels: { tier: 'gold' } },
          { id: 'reports', sha256: sha(KEY_B), principal: 'svc:reports' },
        ],
      },
    },
    policy: {
      policies: [
        { name: 'gold-only-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }], when: [{ key: 'request.auth.api_key.labels[tier]', not_values: ['gold'] }] }] },
        { name: 'callers', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: ['api-key/*', 'svc:*'] } }] }] },
      ],
    },
  };

  it('a known key identifies the caller: kind api_key, principal, labels in policies; the key header is removed upstream', async () => {
    const lines: string[] = [];
    const a = await authorizer(base, lines);
    const d = await a.check(attrs({ 'x-api-key': KEY_A }), 'grpc');
    expect(d).toMatchObject({ result: 'allow', policy: 'callers' });
    expect(d.identity).toMatchObject({ kind: 'api_key', apiKey: { id: 'billing', principal: 'api-key/billing', labels: { tier: 'gold' } } });
    expect(d.upstreamHeaders['x-meshward-principal']).toBe('api-key/billing');
    expect(d.removeHeaders).toContain('x-api-key');
    const admin = await a.check({ ...attrs({ 'x-api-key': KEY_B }), request: { http: { method: 'GET', path: '/admin/x', headers: { 'x-api-key': KEY_B } } } }, 'grpc');
    expect(admin).toMatchObject({ result: 'deny', status: 403, policy: 'gold-only-admin' });
    expect(admin.identity.apiKey?.principal).toBe('svc:reports');
    const log = lines.join('\n');
    expect(log).toContain('"identity":"api_key"');
    expect(log).not.toContain(KEY_A);
    expect(log).not.toContain(KEY_B);
  });

  it('an unknown key is a 401 with an ApiKey challenge and never logged; no key is anonymous', async () => {
    const lines: string[] = [];
    const a = await authorizer(base, lines);
    const bad = 'mk_live_guessed_value';
    const d = await a.check(attrs({ 'x-api-key': bad }), 'grpc');
    expect(d.status).toBe(401);
    expect(d.responseHeaders['www-authenticate']).toBe('ApiKey realm="meshward"');
    expect(JSON.parse(d.body!)).toMatchObject({ code: 'invalid_api_key' });
    expect(lines.join('\n')).not.toContain(bad);
    // A prefix of a real key, or the key with a different case, is not the key.
    expect((await a.check(attrs({ 'x-api-key': KEY_A.slice(0, -1) }), 'grpc')).status).toBe(401);
    expect((await a.check(attrs({ 'x-api-key': KEY_A.toUpperCase() }), 'grpc')).status).toBe(401);
    const none = await a.check(attrs(), 'grpc');
    expect(none).toMatchObject({ result: 'deny', status: 403 });
    expect(none.identity.kind).toBe('anonymous');
  });

  it('a custom header; the keys file is read, and reloaded with the config (key rotation without restart)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshward-apikeys-'));
    writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - { id: one, sha256: ${sha(KEY_A)} }\n`);
    writeFileSync(join(dir, 'authz.yaml'), 'identity:\n  api_keys: { header: x-client-key, file: keys.yaml }\n');
    const config = loadConfigFile(join(dir, 'authz.yaml'));
    expect(config.files).toContain(join(dir, 'keys.yaml'));
    const lines: string[] = [];
    const a = await Authorizer.create(config, { logger: new Logger('info', (l) => lines.push(l)) });
    expect((await a.check(attrs({ 'x-client-key': KEY_A }), 'grpc')).identity.apiKey?.id).toBe('one');
    expect((await a.check(attrs({ 'x-client-key': KEY_B }), 'grpc')).status).toBe(401);
    writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - { id: two, sha256: ${sha(KEY_B)} }\n`);
    const reloader = new Reloader(a);
    expect(await reloader.reload()).toBe(true);
    reloader.stop();
    expect((await a.check(attrs({ 'x-client-key': KEY_B }), 'grpc')).identity.apiKey?.id).toBe('two');
    expect((await a.check(attrs({ 'x-client-key': KEY_A }), 'grpc')).status).toBe(401);
    // Rotating keys is not an identity change that needs a restart.
    expect(lines.join('\n')).not.toContain('apply only after a restart');
  });

  it('config: plaintext keys are refused without echoing them; hashes must be 64 hex digits; ids and hashes unique', () => {
    const got = issues({
      identity: {
        api_keys: {
          header: 'authorization',
          keys: [
            { id: 'a', key: 'super-secret-plaintext' },
            { id: 'b', sha256: 'super-secret-plaintext' },
            { id: 'c', sha256: sha(KEY_A) },
            { id: 'c', sha256: sha(KEY_A) },
          ],
        },
      },
    });
    expect(got).toEqual([
      'identity.api_keys.header: "authorization" cannot carry API keys',
      'identity.api_keys.keys[0].key: plaintext keys are not accepted; store the key\'s SHA-256 in "sha256" (meshward authz hash-key <key> prints it)',
      'identity.api_keys.keys[0].sha256: required field missing',
      'identity.api_keys.keys[1].sha256: expected 64 hexadecimal digits: the SHA-256 of the key, not the key itself',
      'identity.api_keys: key id "c" is defined twice (inline and inline)',
      'identity.api_keys: keys "c" and "c" have the same sha256',
    ]);
    expect(got.join('\n')).not.toContain('super-secret-plaintext');
  });

  it('Rego sees the key\'s id, principal and labels (never the key) under input.identity.api_key', async () => {
    const a = await authorizer(base);
    const d = await a.check(attrs({ 'x-api-key': KEY_A }), 'grpc');
    const input = policyInput(attrs({ 'x-api-key': KEY_A }), d.identity, {});
    expect(input.identity).toMatchObject({ kind: 'api_key', principal: 'api-key/billing', api_key: { id: 'billing', principal: 'api-key/billing', labels: { tier: 'gold' } } });
    expect(JSON.stringify(input.identity)).not.toContain(KEY_A);
  });

  it('meshward authz hash-key prints the SHA-256 of the key (argument or stdin)', () => {
    const r = runCli(['authz', 'hash-key', KEY_A]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(sha(KEY_A));
  });
});

// -------------------------------------------------------------------------- verified upstream

describe('identity verified by a filter in front (verified_upstream)', () => {
  const ISS = 'https://idp.upstream';
  const nowS = () => Math.floor(Date.now() / 1000);
  const meta = (payload: unknown) => ({ metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { jwt_payload: payload } } } });
  const b64 = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');
  const cfg = {
    identity: { verified_upstream: { jwt_authn_metadata_key: 'jwt_payload', payload_header: 'x-jwt-payload', jwt_filter_before_ext_authz: true, issuers: [ISS] } },
    policy: { policies: [{ name: 'users', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: [`${ISS}/*`] } }], when: [{ key: 'request.auth.claims[role]', values: ['admin'] }] }] }] },
  };

  it('jwt_authn payload_in_metadata: the principal and claims reach the policy, without a bearer token', async () => {
    const a = await authorizer(cfg);
    const d = await a.check(attrs({}, meta({ iss: ISS, sub: 'bob', role: 'admin', exp: nowS() + 60 })), 'grpc');
    expect(d).toMatchObject({ result: 'allow', policy: 'users' });
    expect(d.identity.jwt).toMatchObject({ principal: `${ISS}/bob`, from: 'jwt_authn' });
    expect((await a.check(attrs({}, meta({ iss: ISS, sub: 'bob', role: 'viewer' })), 'grpc')).status).toBe(403);
  });

  it('the JWT filter\'s payload header (base64url JSON)', async () => {
    const a = await authorizer(cfg);
    const d = await a.check(attrs({ 'x-jwt-payload': b64({ iss: ISS, sub: 'carol', role: 'admin' }) }), 'grpc');
    expect(d.identity.jwt).toMatchObject({ principal: `${ISS}/carol`, from: 'payload_header' });
    expect(d.result).toBe('allow');
  });

  it('fails closed: an issuer not listed, an expired payload, a header that is not base64url JSON', async () => {
    const a = await authorizer(cfg);
    const other = await a.check(attrs({}, meta({ iss: 'https://other', sub: 'x', role: 'admin' })), 'grpc');
    expect(other).toMatchObject({ status: 401, reason: 'jwt_authn payload issuer not trusted (https://other)' });
    const expired = await a.check(attrs({}, meta({ iss: ISS, sub: 'x', role: 'admin', exp: nowS() - 3600 })), 'grpc');
    expect(expired).toMatchObject({ status: 401, reason: 'jwt_authn payload expired' });
    expect((await a.check(attrs({ 'x-jwt-payload': 'not base64 {' }), 'grpc')).status).toBe(401);
    expect((await a.check(attrs({ 'x-jwt-payload': b64(['a']) }), 'grpc')).status).toBe(401);
  });

  it('only configured sources are read: without payload_header a client-sent payload header is ignored', async () => {
    const a = await authorizer({ ...cfg, identity: { verified_upstream: { jwt_authn_metadata_key: 'jwt_payload', issuers: [ISS] } } });
    const d = await a.check(attrs({ 'x-jwt-payload': b64({ iss: ISS, sub: 'mallory', role: 'admin' }) }), 'grpc');
    expect(d.identity.kind).toBe('anonymous');
    expect(d.status).toBe(403);
  });

  it('config: the header mode needs the operator\'s word that the JWT filter runs first; issuers are required', () => {
    expect(issues({ identity: { verified_upstream: { payload_header: 'x-jwt-payload' } } })).toEqual([
      'identity.verified_upstream.jwt_filter_before_ext_authz: payload_header is trusted only when Meshward\'s JWT filter (forward_payload_header) runs before ext_authz on every route and removes client-sent copies; set this to true to say so',
      'identity.verified_upstream.issuers: required field missing: the `iss` values to accept from the verifying filter',
    ]);
    expect(issues({ identity: { verified_upstream: { issuers: [ISS] } } })).toEqual(['identity.verified_upstream: set jwt_authn_metadata_key and/or payload_header']);
  });
});
