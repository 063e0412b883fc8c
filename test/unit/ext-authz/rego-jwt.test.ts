import { spawnSync } from 'node:child_process';
import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { Authorizer, Logger, parseConfig, RegoPolicy, startAuthzServer, type CheckAttributes } from '../../../ext-authz/src/index.js';
import { compileRego } from '../../../ext-authz/src/policy/rego.js';
import { suppliedBuiltins, type BuiltinFailure } from '../../../ext-authz/src/policy/rego-builtins.js';
import { requireTool } from '../../../sdk/src/tools/resolve.js';
import { scratchFiles } from '../../support/scratch-files.js';

// io.jwt.* built-ins supplied to opa-wasm by the server, held to the real OPA binary's answers
// (its Go implementation is the reference) and to Wycheproof's JWS vectors.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const vectors = resolve(repoRoot, '..', 'shared', 'vectors', 'wycheproof');
const scratch = scratchFiles('rego-jwt');
const dir = scratch.dir;
const regoFile = scratch.write;
let opa: string;
beforeAll(() => {
  opa = requireTool('opa').path;
});


const b64url = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const HASH = { RS256: 'sha256', RS384: 'sha384', PS256: 'sha256', ES256: 'sha256', HS256: 'sha256', EdDSA: 'sha512' } as const;

function signed(header: object, claims: object | string, key: KeyObject | string): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const alg = (header as { alg: keyof typeof HASH }).alg;
  let sig: Buffer;
  if (typeof key === 'string') sig = createHmac(HASH[alg], key).update(input).digest();
  else if (alg === 'EdDSA') sig = sign(null, Buffer.from(input), key);
  else if (alg.startsWith('ES')) sig = sign(HASH[alg], Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (alg.startsWith('PS')) sig = sign(HASH[alg], Buffer.from(input), { key, padding: 6, saltLength: 32 });
  else sig = sign(HASH[alg], Buffer.from(input), key);
  return `${input}.${sig.toString('base64url')}`;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const otherPem = otherRsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ed = generateKeyPairSync('ed25519');
const edPem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
// A self-signed X.509 certificate for the RSA key's sibling (OPA accepts a PEM certificate as `cert`).
const certKeyFile = join(dir, 'cert-key.pem');
const certFile = join(dir, 'cert.pem');
const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=rego-jwt-test', '-days', '2', '-keyout', certKeyFile, '-out', certFile], { encoding: 'utf8' });
if (openssl.status !== 0) throw new Error(`openssl req failed: ${openssl.stderr}`);
const certPem = readFileSync(certFile, 'utf8');
const certKey = createPrivateKey(readFileSync(certKeyFile));
const rsaJwks = JSON.stringify({ keys: [{ ...otherRsa.publicKey.export({ format: 'jwk' }), kid: 'old' }, { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' }] });
const ecJwk = JSON.stringify(ec.publicKey.export({ format: 'jwk' }));

const T = 1_700_000_000; // seconds
const NS = (s: number) => s * 1e9;
const claims = { iss: 'https://issuer.test', sub: 'ann', aud: 'api', role: 'admin', nbf: T - 60, exp: T + 60 };
const rs = signed({ alg: 'RS256', typ: 'JWT', kid: 'k1' }, claims, rsa.privateKey);
const hs = signed({ alg: 'HS256', typ: 'JWT' }, claims, 'secret');
const [rsH, rsP] = rs.split('.');

// The same Rego, run by OPA (Go) and by opa-wasm with the server's built-ins; the outputs must match.
const DIFF_REGO = `package jwtdiff

import rego.v1

decode[i] := io.jwt.decode(t) if some i, t in input.decode

decode_verify[i] := io.jwt.decode_verify(c.token, c.constraints) if some i, c in input.decode_verify

verify[i] := verify_with(c.alg, c.token, c.key) if some i, c in input.verify

verify_with("HS256", t, k) := io.jwt.verify_hs256(t, k)
verify_with("HS384", t, k) := io.jwt.verify_hs384(t, k)
verify_with("HS512", t, k) := io.jwt.verify_hs512(t, k)
verify_with("RS256", t, k) := io.jwt.verify_rs256(t, k)
verify_with("RS384", t, k) := io.jwt.verify_rs384(t, k)
verify_with("RS512", t, k) := io.jwt.verify_rs512(t, k)
verify_with("PS256", t, k) := io.jwt.verify_ps256(t, k)
verify_with("PS384", t, k) := io.jwt.verify_ps384(t, k)
verify_with("PS512", t, k) := io.jwt.verify_ps512(t, k)
verify_with("ES256", t, k) := io.jwt.verify_es256(t, k)
verify_with("ES384", t, k) := io.jwt.verify_es384(t, k)
verify_with("ES512", t, k) := io.jwt.verify_es512(t, k)
verify_with("EdDSA", t, k) := io.jwt.verify_eddsa(t, k)
`;

interface DiffInput {
  decode?: string[];
  decode_verify?: Array<{ token: string; constraints: Record<string, unknown> }>;
  verify?: Array<{ alg: string; token: string; key: string }>;
}

/** OPA's answer (undefined entries are absent) and ours, for the same input. */
async function both(input: DiffInput): Promise<{ opa: Record<string, Record<string, unknown>>; wasm: Record<string, Record<string, unknown>>; failures: BuiltinFailure[] }> {
  const file = regoFile('jwtdiff.rego', DIFF_REGO);
  const inputFile = scratch.write('diff-input.json', JSON.stringify(input));
  const r = spawnSync(opa, ['eval', '--format', 'json', '-d', file, '-i', inputFile, 'data.jwtdiff'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(r.status, r.stderr).toBe(0);
  const opaValue = (JSON.parse(r.stdout) as { result: Array<{ expressions: Array<{ value: Record<string, Record<string, unknown>> }> }> }).result[0]!.expressions[0]!.value;
  const failures: BuiltinFailure[] = [];
  const names = ['io.jwt.decode', 'io.jwt.decode_verify', 'io.jwt.verify_eddsa', ...['hs', 'rs', 'ps', 'es'].flatMap((k) => [256, 384, 512].map((n) => `io.jwt.verify_${k}${n}`))];
  const policy = await loadPolicy(compileRego(opa, [file], 'jwtdiff'), undefined, suppliedBuiltins(names, failures));
  const set = policy.evaluate(input) as Array<{ result: Record<string, Record<string, unknown>> }>;
  const strip = (v: Record<string, Record<string, unknown>>) => Object.fromEntries(Object.entries(v).filter(([k]) => ['decode', 'decode_verify', 'verify'].includes(k)));
  return { opa: strip(opaValue), wasm: strip(set[0]!.result), failures };
}

describe('io.jwt.decode_verify: same answers as OPA', () => {
  const cases: Array<[string, string, Record<string, unknown>, 'valid' | 'invalid' | 'error']> = [
    ['RS256, PEM public key, all constraints met', rs, { cert: rsaPem, iss: 'https://issuer.test', aud: 'api', time: NS(T) }, 'valid'],
    ['RS256, JWKS, the key picked by kid', rs, { cert: rsaJwks, aud: 'api', time: NS(T) }, 'valid'],
    ['RS256, alg constraint met', rs, { cert: rsaPem, alg: 'RS256', aud: 'api', time: NS(T) }, 'valid'],
    ['RS256, wrong key', rs, { cert: otherPem, aud: 'api', time: NS(T) }, 'invalid'],
    ['RS256, expired (time == exp)', rs, { cert: rsaPem, aud: 'api', time: NS(T + 60) }, 'invalid'],
    ['RS256, not yet valid', rs, { cert: rsaPem, aud: 'api', time: NS(T - 61) }, 'invalid'],
    ['RS256, wrong aud', rs, { cert: rsaPem, aud: 'other', time: NS(T) }, 'invalid'],
    ['RS256, token has aud but no aud constraint', rs, { cert: rsaPem, time: NS(T) }, 'invalid'],
    ['RS256, wrong iss', rs, { cert: rsaPem, iss: 'https://evil.test', aud: 'api', time: NS(T) }, 'invalid'],
    ['RS256, alg constraint not met', rs, { cert: rsaPem, alg: 'RS512', aud: 'api', time: NS(T) }, 'invalid'],
    ['RS256, tampered payload', `${rsH}.${b64url({ ...claims, role: 'root' })}.${rs.split('.')[2]}`, { cert: rsaPem, aud: 'api', time: NS(T) }, 'invalid'],
    ['RS256 token, only a secret', rs, { secret: 'secret', aud: 'api', time: NS(T) }, 'invalid'],
    ['HS256, right secret', hs, { secret: 'secret', aud: 'api', time: NS(T) }, 'valid'],
    ['HS256, wrong secret', hs, { secret: 'wrong', aud: 'api', time: NS(T) }, 'invalid'],
    ['HS256, expired', hs, { secret: 'secret', aud: 'api', time: NS(T + 3600) }, 'invalid'],
    ['HS256, aud in an array', signed({ alg: 'HS256' }, { ...claims, aud: ['x', 'api'] }, 'secret'), { secret: 'secret', aud: 'api', time: NS(T) }, 'valid'],
    ['HS256 signed with the RSA PEM as secret, verified with the cert (key confusion)', signed({ alg: 'HS256' }, claims, rsaPem), { cert: rsaPem, aud: 'api', time: NS(T) }, 'invalid'],
    ['no aud in token, aud constraint', signed({ alg: 'HS256' }, { sub: 'x' }, 'secret'), { secret: 'secret', aud: 'api' }, 'invalid'],
    ['no exp/nbf, no time: valid now', signed({ alg: 'HS256' }, { sub: 'x' }, 'secret'), { secret: 'secret' }, 'valid'],
    ['ES256, JWK', signed({ alg: 'ES256' }, { sub: 'x' }, ec.privateKey), { cert: ecJwk }, 'valid'],
    ['RS256, PEM certificate', signed({ alg: 'RS256' }, { sub: 'x' }, certKey), { cert: certPem }, 'valid'],
    ['RS256, PEM certificate of another key', rs, { cert: certPem, aud: 'api', time: NS(T) }, 'invalid'],
    ['EdDSA, PEM public key', signed({ alg: 'EdDSA' }, { sub: 'x' }, ed.privateKey), { cert: edPem }, 'valid'],
    ['PS256', signed({ alg: 'PS256' }, { sub: 'x' }, rsa.privateKey), { cert: rsaPem }, 'valid'],
    ['malformed: one part', 'not-a-token', { secret: 'secret' }, 'error'],
    ['malformed: bad base64 signature', `${hs}!`, { secret: 'secret' }, 'error'],
    ['malformed: header not JSON', `${b64url('nope')}.${b64url(claims)}.AAAA`, { secret: 'secret' }, 'error'],
    ['alg none', `${b64url({ alg: 'none' })}.${b64url(claims)}.`, { secret: 'secret', aud: 'api' }, 'invalid'],
    ['exp not a number', signed({ alg: 'HS256' }, { exp: 'soon' }, 'secret'), { secret: 'secret' }, 'error'],
    ['unknown constraint', hs, { secret: 'secret', foo: 1 }, 'error'],
    ['cert and secret', hs, { secret: 'secret', cert: rsaPem }, 'error'],
    ['no key constraint', hs, { aud: 'api' }, 'error'],
    ['cert is not a key', rs, { cert: 'garbage' }, 'error'],
  ];

  it('each case: OPA and the server agree, and the result is the documented one', async () => {
    const { opa: o, wasm: w, failures } = await both({ decode_verify: cases.map(([, token, constraints]) => ({ token, constraints })) });
    expect(w['decode_verify']).toEqual(o['decode_verify']);
    cases.forEach(([label, , , expected], i) => {
      const got = w['decode_verify']?.[String(i)] as [boolean, object, object] | undefined;
      if (expected === 'error') expect(got, label).toBeUndefined();
      else if (expected === 'valid') expect(got?.[0], label).toBe(true);
      else expect(got, label).toEqual([false, {}, {}]);
    });
    // Each error case left one recorded failure with OPA-like wording.
    expect(failures.length).toBe(cases.filter((c) => c[3] === 'error').length);
    expect(failures.map((f) => f.message)).toEqual(expect.arrayContaining(['encoded JWT had no period separators', 'unknown token validation constraint: foo', 'duplicate key constraints', 'no key constraint', 'exp value must be a number']));
    const valid = w['decode_verify']?.['0'] as [boolean, object, object];
    expect(valid).toEqual([true, { alg: 'RS256', typ: 'JWT', kid: 'k1' }, claims]);
  });
});

describe('io.jwt.decode: same answers as OPA', () => {
  it('valid, nested (cty JWT), padded, JWE, malformed', async () => {
    const inner = signed({ alg: 'HS256' }, { sub: 'inner' }, 'secret');
    const tokens = [
      rs,
      `${b64url({ alg: 'HS256', cty: 'JWT' })}.${b64url(inner)}.c2ln`,
      `${b64url({ alg: 'HS256' })}.${Buffer.from(JSON.stringify({ a: 1 })).toString('base64')}.c2ln`, // standard base64 alphabet/padding
      `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${b64url({ a: 1 })}.c2ln`,
      'a.b',
      'x.y.z',
      `${b64url({ alg: 'HS256' })}.${b64url('[1,2]')}.c2ln`,
      `${b64url({ alg: 'HS256' })}.${b64url({ a: 1 })}=.c2ln`,
      `${b64url({ alg: 'HS256' })}.${b64url({ a: 1 }).replace(/=+$/, '')}.`,
    ];
    const { opa: o, wasm: w } = await both({ decode: tokens });
    expect(w['decode']).toEqual(o['decode']);
    const d = w['decode']!;
    expect(d['0']).toEqual([{ alg: 'RS256', typ: 'JWT', kid: 'k1' }, claims, Buffer.from(rs.split('.')[2]!, 'base64url').toString('hex')]);
    expect(d['1']).toEqual([{ alg: 'HS256' }, { sub: 'inner' }, Buffer.from(inner.split('.')[2]!, 'base64url').toString('hex')]);
    expect(Object.keys(d).sort()).toEqual(Object.keys(o['decode']!).sort());
  });
});

describe('io.jwt.verify_*: Wycheproof JWS vectors, same answers as OPA', () => {
  interface Vector { tcId: number; comment: string; jws: string; result: 'valid' | 'invalid' | 'acceptable' }
  interface Group { public?: Record<string, unknown>; tests: Vector[] }
  const file = JSON.parse(readFileSync(join(vectors, 'json_web_signature_test.json'), 'utf8')) as { testGroups: Group[] };
  const ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
  const cases: Array<{ alg: string; token: string; key: string; v: Vector }> = [];
  for (const g of file.testGroups) {
    if (!ALGS.has(String(g.public?.['alg']))) continue;
    for (const v of g.tests) {
      // The function for the token's own alg (a key's alg may differ, e.g. RFC 7520's PS384 example).
      let alg = String(g.public!['alg']);
      try {
        const headerAlg = (JSON.parse(Buffer.from(v.jws.split('.')[0]!, 'base64url').toString()) as { alg?: unknown }).alg;
        if (typeof headerAlg === 'string' && ALGS.has(headerAlg)) alg = headerAlg;
      } catch {
        // not a compact JWS: keep the key's alg
      }
      cases.push({ alg, token: v.jws, key: JSON.stringify(g.public), v });
    }
  }

  it('no invalid vector verifies; every valid one does; OPA agrees except where it accepts padded ECDSA r||s', async () => {
    expect(cases.length).toBeGreaterThan(300);
    const { opa: o, wasm: w } = await both({ verify: cases.map(({ alg, token, key }) => ({ alg, token, key })) });
    const differ: string[] = [];
    let judged = 0;
    cases.forEach(({ v, alg, key }, i) => {
      const label = `tcId ${v.tcId} ${v.comment}`;
      const got = w['verify']?.[String(i)];
      // A token whose alg is not its key's: verify_<alg> checks with the algorithm the policy
      // names and, as in OPA, a key picked by kid is used whatever its JWK alg; Wycheproof's
      // verdict there depends on key-alg binding, so only agreement with OPA is checked.
      const keyAlg = (JSON.parse(key) as { alg?: string }).alg;
      if (alg === keyAlg && v.result === 'invalid') expect(got, label).not.toBe(true);
      if (alg === keyAlg && v.result === 'valid') expect(got, label).toBe(true);
      if (alg === keyAlg && v.result !== 'acceptable') judged++;
      if (got !== o['verify']?.[String(i)]) {
        // The only differences allowed: OPA (Go) accepts an ES signature longer than r||s whose
        // halves are zero-padded, and a PSS salt not as long as the hash; Wycheproof marks both
        // invalid and so do we.
        expect({ label, wycheproof: v.result, ours: got }).toMatchObject({ wycheproof: 'invalid', ours: false });
        differ.push(`${alg} ${v.comment}`);
      }
    });
    expect(judged).toBeGreaterThan(300);
    expect([...new Set(differ)].sort()).toEqual(['ES256 BufferOverflow', 'ES256 SignatureTooLong', 'PS256 SaltLenChanged']);
  });

  it('HS256 and key-set selection with generated keys', async () => {
    const es = signed({ alg: 'ES256', kid: 'e' }, { sub: 'x' }, ec.privateKey);
    const verify = [
      { alg: 'HS256', token: hs, key: 'secret' },
      { alg: 'HS256', token: hs, key: 'wrong' },
      { alg: 'RS256', token: rs, key: rsaPem },
      { alg: 'RS256', token: rs, key: otherPem },
      { alg: 'RS256', token: rs, key: rsaJwks },
      { alg: 'RS384', token: rs, key: rsaPem }, // RS256 signature checked as RS384
      { alg: 'ES256', token: es, key: ecJwk },
      { alg: 'ES256', token: es, key: rsaPem },
      { alg: 'RS256', token: rs, key: `${rsaPem}trailing` },
      { alg: 'RS256', token: 'x.y', key: rsaPem },
      { alg: 'RS256', token: signed({ alg: 'RS256' }, { sub: 'x' }, certKey), key: certPem },
      { alg: 'RS256', token: rs, key: certPem },
      { alg: 'EdDSA', token: signed({ alg: 'EdDSA' }, { sub: 'x' }, ed.privateKey), key: edPem },
      { alg: 'EdDSA', token: signed({ alg: 'EdDSA' }, { sub: 'x' }, ed.privateKey), key: rsaPem },
    ];
    const { opa: o, wasm: w } = await both({ verify });
    expect(w['verify']).toEqual(o['verify']);
    expect(w['verify']).toEqual({ 0: true, 1: false, 2: true, 3: false, 4: true, 5: false, 6: true, 7: false, 10: true, 11: false, 12: true, 13: false });
  });
});

// ---- the server's Check path --------------------------------------------------------------

// OPA-Envoy's tutorial policy shape: decode the bearer token, allow by a claim and method/path.
const TUTORIAL = `package envoy.authz

import rego.v1

default allow := false

http_request := input.attributes.request.http

token := {"payload": payload} if {
  [_, encoded] := split(http_request.headers.authorization, " ")
  [_, payload, _] := io.jwt.decode(encoded)
}

allow if {
  http_request.method == "GET"
  token.payload.role == "guest"
  glob.match("/people/*", ["/"], http_request.path)
}

allow if {
  http_request.method == "POST"
  token.payload.role == "admin"
  http_request.path == "/people"
}
`;

// The same with the signature and claims checked in Rego (OPA-Envoy's decode_verify variant).
const VERIFYING = `package envoy.verified

import rego.v1

default allow := false

token := {"valid": valid, "payload": payload} if {
  [_, encoded] := split(input.attributes.request.http.headers.authorization, " ")
  [valid, _, payload] := io.jwt.decode_verify(encoded, {"secret": "secret", "aud": "api"})
}

allow if {
  token.valid
  now := time.now_ns() / 1000000000
  token.payload.nbf <= now
  now < token.payload.exp
  token.payload.role == "admin"
}
`;

function attrs(method: string, path: string, authorization?: string): CheckAttributes {
  return {
    source: { address: { socket_address: { address: '10.0.0.1' } } },
    request: { http: { method, path, headers: authorization ? { authorization } : {} } },
  };
}

async function authorizer(name: string, rego: string, entrypoint: string): Promise<{ a: Authorizer; lines: string[] }> {
  const lines: string[] = [];
  const file = regoFile(name, rego);
  const config = parseConfig({ log_level: 'info', policy: { rego: { file, entrypoint } } });
  const a = await Authorizer.create(config, { logger: new Logger('info', (l) => lines.push(l)) });
  return { a, lines };
}

const now = Math.floor(Date.now() / 1000);
const hsToken = (c: object) => signed({ alg: 'HS256', typ: 'JWT' }, c, 'secret');

describe('Check with io.jwt built-ins in the Rego policy', () => {
  it('the OPA-Envoy tutorial policy allows and denies by the decoded claim, method and path', async () => {
    const { a } = await authorizer('tutorial.rego', TUTORIAL, 'envoy/authz/allow');
    const guest = `Bearer ${hsToken({ sub: 'alice', role: 'guest' })}`;
    const admin = `Bearer ${hsToken({ sub: 'bob', role: 'admin' })}`;
    expect((await a.check(attrs('GET', '/people/1', guest), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs('POST', '/people', guest), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('POST', '/people', admin), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs('GET', '/admin', admin), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/people/1'), 'grpc')).result).toBe('deny');
    // Input pruning follows the policy's alias of http (`http_request := input.attributes.request.http`)
    // to what it reads through it: the header it decodes, the method, the path.
    expect(a.policy.summary.rego_input).toBe('attributes.request.http.headers.authorization, attributes.request.http.method, attributes.request.http.path');
  });

  it('a malformed bearer token does not crash: the call is undefined, the Check denies, the reason names the error', async () => {
    const { a, lines } = await authorizer('tutorial-bad.rego', TUTORIAL, 'envoy/authz/allow');
    for (const bad of ['Bearer not.a-jwt', 'Bearer a.b.c', `Bearer ${b64url({ alg: 'HS256', enc: 'x' })}.${b64url({ role: 'guest' })}.c2ln`, 'Bearer ....']) {
      const d = await a.check(attrs('GET', '/people/1', bad), 'grpc');
      expect(d.result, bad).toBe('deny');
      expect(d.status, bad).toBe(403);
      expect(d.reason, bad).toMatch(/^rego envoy\/authz\/allow = false \(built-in error, result undefined: io\.jwt\.decode: /);
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision' && l['decision'] === 'deny');
    expect(logged.length).toBe(4);
    expect(String(logged[0]!['reason'])).toContain('io.jwt.decode: ');
    // A good token still works afterwards.
    expect((await a.check(attrs('GET', '/people/1', `Bearer ${hsToken({ role: 'guest' })}`), 'grpc')).result).toBe('allow');
  });

  it('decode_verify in the policy: valid, wrong secret, expired, wrong aud', async () => {
    const { a } = await authorizer('verifying.rego', VERIFYING, 'envoy/verified/allow');
    // Input pruning keeps the header the policy names.
    expect(a.policy.summary.rego_input).toBe('attributes.request.http.headers.authorization');
    const ok = { role: 'admin', aud: 'api', nbf: now - 5, exp: now + 300 };
    expect((await a.check(attrs('GET', '/', `Bearer ${hsToken(ok)}`), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs('GET', '/', `Bearer ${signed({ alg: 'HS256' }, ok, 'nope')}`), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/', `Bearer ${hsToken({ ...ok, exp: now - 1 })}`), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/', `Bearer ${hsToken({ ...ok, aud: 'other' })}`), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/', `Bearer ${hsToken({ ...ok, role: 'guest' })}`), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/', `Bearer ${hsToken({ ...ok, nbf: now + 600, exp: now + 900 })}`), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('GET', '/', 'Bearer garbage'), 'grpc')).result).toBe('deny');
  });

  it('a built-in of opa-wasm itself that throws: the Check denies with the error, the server keeps deciding', async () => {
    // opa-wasm's regex.split compiles the pattern with JavaScript's RegExp, which throws on "(".
    const rego = 'package re\n\nimport rego.v1\n\nallow if count(regex.split(input.attributes.request.http.headers["x-re"], "abc")) > 0\n';
    const { a } = await authorizer('throws.rego', rego, 're/allow');
    const bad = await a.check({ ...attrs('GET', '/'), request: { http: { method: 'GET', path: '/', headers: { 'x-re': '(' } } } }, 'grpc');
    expect(bad).toMatchObject({ result: 'deny', status: 403 });
    expect(bad.reason).toBe('rego re/allow evaluation failed (denied): SyntaxError in a built-in (message withheld: it may quote request data)');
    expect((await a.check({ ...attrs('GET', '/'), request: { http: { method: 'GET', path: '/', headers: { 'x-re': 'b' } } } }, 'grpc')).result).toBe('allow');
  });
});

describe('the running server (HTTP check protocol) with the tutorial policy', () => {
  it('allows the guest, denies a malformed token with 403 and keeps serving', async () => {
    const lines: string[] = [];
    const s = await startAuthzServer(
      { log_level: 'info', server: { grpc: { enabled: false }, http: { host: '127.0.0.1', port: 0, path_prefix: '/check' }, admin: { enabled: false } }, policy: { rego: { file: regoFile('server-tutorial.rego', TUTORIAL), entrypoint: 'envoy/authz/allow' } } },
      { logSink: (l) => lines.push(l), shutdownGraceMs: 100 },
    );
    try {
      const base = `http://127.0.0.1:${s.ports.http}/check`;
      const get = (path: string, authorization?: string) => fetch(`${base}${path}`, authorization ? { headers: { authorization } } : {});
      expect((await get('/people/7', `Bearer ${hsToken({ role: 'guest' })}`)).status).toBe(200);
      const bad = await get('/people/7', 'Bearer eyJ.broken');
      expect(bad.status).toBe(403);
      const body = (await bad.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ code: 'forbidden' });
      expect(JSON.stringify(body)).not.toContain('io.jwt'); // no internals to the client
      expect((await get('/people/7', `Bearer ${hsToken({ role: 'guest' })}`)).status).toBe(200);
      const denied = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'decision' && l['decision'] === 'deny');
      expect(String(denied?.['reason'])).toMatch(/io\.jwt\.decode: encoded JWT must have 3 sections, found 2/);
      expect(JSON.stringify(denied)).not.toContain('eyJ.broken'); // the token is not logged
    } finally {
      await s.close();
    }
  });
});

describe('loading a policy that needs host built-ins', () => {
  it('time.now_ns: now, in nanoseconds, one value per evaluation', async () => {
    const file = regoFile('clock.rego', 'package clock\n\nimport rego.v1\n\nresult := {"allow": time.now_ns() == time.now_ns(), "reason": sprintf("%d", [time.now_ns()])}\n');
    const p = await RegoPolicy.load({ files: [file], entrypoint: 'clock/result' }, () => Promise.resolve(opa));
    expect(p.builtins).toEqual(['time.now_ns']);
    const before = BigInt(Date.now()) * 1_000_000n;
    const out = p.evaluate({ attrs: attrs('GET', '/'), identity: { kind: 'anonymous' }, signals: {} });
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(out.allowed).toBe(true);
    const ns = BigInt(/: (\d+)$/.exec(out.reason)![1]!);
    expect(ns >= before && ns <= after, `${before} <= ${ns} <= ${after}`).toBe(true);
  });

  it('supplies only the io.jwt built-ins the policy calls', async () => {
    const p = await RegoPolicy.load({ files: [regoFile('needs.rego', TUTORIAL)], entrypoint: 'envoy/authz/allow' }, () => Promise.resolve(opa));
    expect(p.builtins).toEqual(['io.jwt.decode']);
    const q = await RegoPolicy.load({ files: [regoFile('needs-none.rego', 'package n\n\nimport rego.v1\n\nallow if input.a == sprintf("%d", [1])\n')], entrypoint: 'n/allow' }, () => Promise.resolve(opa));
    expect(q.builtins).toEqual([]);
  });

  it('a built-in no evaluator implements is rejected at load, by name', async () => {
    const file = regoFile('unsupported.rego', 'package u\n\nimport rego.v1\n\nallow if {\n  certs := crypto.x509.parse_certificates(input.cert)\n  count(certs) > 0\n}\n');
    await expect(RegoPolicy.load({ files: [file], entrypoint: 'u/allow' }, () => Promise.resolve(opa))).rejects.toThrow(/uses built-in function crypto\.x509\.parse_certificates that the in-process evaluator \(opa-wasm\) does not implement/);
  });
});
