/**
 * OPA's `io.jwt.*` token built-ins for Rego compiled to wasm. opa-wasm has no implementation of
 * them (OPA lists them as SDK-dependent), so the host supplies them; opa-wasm calls built-ins
 * synchronously, hence node:crypto's one-shot `verify` and `createHmac`, not jose's async API.
 *
 * Semantics follow OPA's Go implementation (topdown/tokens.go) and its policy reference:
 * - a built-in *error* (malformed token, unparsable key, bad constraints) is thrown as
 *   `JwtBuiltinError`; the caller turns it into an undefined result, as OPA does outside strict mode;
 * - a well-formed token whose signature or claims do not check out is *not* an error:
 *   `verify_*` returns false, `decode_verify` returns `[false, {}, {}]`.
 * Pure: no host calls, no clock except `now` passed in.
 */
import { createHmac, createPublicKey, constants, timingSafeEqual, verify, X509Certificate, type KeyObject } from 'node:crypto';

export class JwtBuiltinError extends Error {}

interface Token {
  /** The three encoded parts as they appear in the token. */
  header: string;
  payload: string;
  signature: string;
}

type Json = Record<string, unknown>;

/** Splits a compact JWS into its three parts (OPA: no `.` or not exactly 3 parts is an error). */
function splitToken(jwt: unknown): Token {
  if (typeof jwt !== 'string') throw new JwtBuiltinError(`operand 1 must be string but got ${typeName(jwt)}`);
  if (!jwt.includes('.')) throw new JwtBuiltinError('encoded JWT had no period separators');
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new JwtBuiltinError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

/** base64url with or without `=` padding, as OPA's base64url.decode accepts; anything else is an error. */
function base64url(s: string, what: string): Buffer {
  const m = /^([A-Za-z0-9_-]*)(={0,2})$/.exec(s);
  const body = m?.[1] ?? '';
  const pad = m?.[2] ?? '';
  const ok = m !== null && (pad ? (body.length + pad.length) % 4 === 0 : body.length % 4 !== 1);
  if (!ok) throw new JwtBuiltinError(`JWT ${what} had invalid encoding: illegal base64url data`);
  return Buffer.from(body, 'base64url');
}

function jsonObject(bytes: Buffer, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new JwtBuiltinError(`bad JWT ${what}: not valid JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new JwtBuiltinError(`bad JWT ${what}: not a JSON object`);
  return v as Json;
}

/** The JOSE header; a JWE (an `enc` member) is an error, as in OPA. */
function decodeHeader(token: Token): Json {
  const header = jsonObject(base64url(token.header, 'header'), 'header');
  if (Object.hasOwn(header, 'enc')) throw new JwtBuiltinError('JWT is a JWE object, which is not supported');
  return header;
}

/** `io.jwt.decode(jwt)` → `[header, payload, signature as hex]`, unverified. A `cty: JWT` token decodes its nested token. */
export function jwtDecode(jwt: unknown): [Json, Json, string] {
  const token = splitToken(jwt);
  const header = decodeHeader(token);
  const payloadBytes = base64url(token.payload, 'payload');
  if (header['cty'] === 'JWT') return jwtDecode(payloadBytes.toString('utf8'));
  const payload = jsonObject(payloadBytes, 'payload');
  return [header, payload, base64url(token.signature, 'signature').toString('hex')];
}

// ---- keys ----------------------------------------------------------------------------------

interface VerificationKey {
  key: KeyObject;
  /** From a JWK's `alg`/`kid`; a PEM key has neither. */
  alg?: string;
  kid?: string;
}

/**
 * Parsed keys by their text. A policy's key is usually a constant, and parsing a PEM or JWK (an
 * RSA key especially) would otherwise be repeated in every Check. Bounded; errors are not kept.
 */
const parsedKeys = new Map<string, VerificationKey[]>();
const PARSED_KEYS_MAX = 64;

/** A PEM certificate, a PEM public key, or a JWK / JWK set (JSON text), as OPA accepts for `cert`. */
export function keysFrom(certificate: unknown): VerificationKey[] {
  if (typeof certificate !== 'string') throw new JwtBuiltinError(`operand 2 must be string but got ${typeName(certificate)}`);
  let keys = parsedKeys.get(certificate);
  if (!keys) {
    keys = parseKeys(certificate);
    if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.clear();
    parsedKeys.set(certificate, keys);
  }
  return keys;
}

function parseKeys(certificate: string): VerificationKey[] {
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/.exec(certificate);
  if (pem) {
    if (certificate.slice(pem.index + pem[0].length).trim() !== '') throw new JwtBuiltinError('extra data after a PEM certificate block');
    try {
      if (pem[1] === 'CERTIFICATE') return [{ key: new X509Certificate(pem[0]).publicKey }];
      if (pem[1] === 'PUBLIC KEY') return [{ key: createPublicKey(pem[0]) }];
    } catch (e) {
      throw new JwtBuiltinError(`failed to parse a PEM ${pem[1]!.toLowerCase()}: ${(e as Error).message}`);
    }
    throw new JwtBuiltinError('failed to extract a Key from the PEM certificate');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(certificate);
  } catch {
    throw new JwtBuiltinError('failed to parse a JWK key (set): not a PEM block and not JSON');
  }
  const jwks = parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as Json)['keys']) ? ((parsed as Json)['keys'] as unknown[]) : [parsed];
  return jwks.map((jwk, i) => {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new JwtBuiltinError(`failed to parse a JWK key (set): key ${i} is not an object`);
    const j = jwk as Json;
    let key: KeyObject;
    try {
      // Only public key types (RSA, EC, OKP); a private JWK yields its public half, as in OPA.
      if (j['kty'] === 'oct') throw new Error('symmetric (oct) keys are not supported here; use a secret');
      key = createPublicKey({ key: j as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch (e) {
      throw new JwtBuiltinError(`failed to parse a JWK key (set): key ${i}: ${(e as Error).message}`);
    }
    return { key, ...(typeof j['alg'] === 'string' ? { alg: j['alg'] } : {}), ...(typeof j['kid'] === 'string' ? { kid: j['kid'] } : {}) };
  });
}

// ---- signatures ----------------------------------------------------------------------------

type Hash = 'sha256' | 'sha384' | 'sha512';
const HASH_BYTES: Readonly<Record<Hash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
interface Algorithm {
  hash: Hash;
  kind: 'hmac' | 'rsa' | 'pss' | 'ecdsa' | 'eddsa';
}

/** The JWS algorithms OPA verifies (RFC 7518 and EdDSA). */
export const JWS_ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  HS256: { hash: 'sha256', kind: 'hmac' }, HS384: { hash: 'sha384', kind: 'hmac' }, HS512: { hash: 'sha512', kind: 'hmac' },
  RS256: { hash: 'sha256', kind: 'rsa' }, RS384: { hash: 'sha384', kind: 'rsa' }, RS512: { hash: 'sha512', kind: 'rsa' },
  PS256: { hash: 'sha256', kind: 'pss' }, PS384: { hash: 'sha384', kind: 'pss' }, PS512: { hash: 'sha512', kind: 'pss' },
  ES256: { hash: 'sha256', kind: 'ecdsa' }, ES384: { hash: 'sha384', kind: 'ecdsa' }, ES512: { hash: 'sha512', kind: 'ecdsa' },
  EdDSA: { hash: 'sha512', kind: 'eddsa' },
};

/** Whether `signature` is valid over `signed` with a public key; a key of the wrong type is just "not valid". */
function publicKeyVerifies(alg: Algorithm, key: KeyObject, signed: Buffer, signature: Buffer): boolean {
  try {
    switch (alg.kind) {
      case 'rsa':
        return key.asymmetricKeyType === 'rsa' && verify(alg.hash, signed, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'pss':
        // The salt is as long as the hash (RFC 7518 3.5). Stricter than OPA, whose Go verifier
        // detects any salt length (Wycheproof's SaltLenChanged case).
        return (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && verify(alg.hash, signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[alg.hash] }, signature);
      case 'ecdsa':
        // JWS ECDSA signatures are r || s (IEEE P1363), not DER, of exactly twice the curve's
        // size (RFC 7518 3.4). Stricter than OPA, which also accepts r and s padded with leading
        // zeros (Wycheproof's SignatureTooLong/BufferOverflow cases: not forgeries, but malleable).
        return key.asymmetricKeyType === 'ec' && verify(alg.hash, signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'eddsa':
        return (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') && verify(null, signed, key, signature);
      case 'hmac':
        return false; // a public key never verifies an HMAC (no key confusion)
    }
  } catch {
    return false;
  }
}

function hmacVerifies(hash: Hash, secret: string, signed: Buffer, signature: Buffer): boolean {
  const mac = createHmac(hash, secret).update(signed).digest();
  return mac.length === signature.length && timingSafeEqual(mac, signature);
}

/**
 * Whether some key verifies the token with `alg`, picking keys as OPA does: a key whose `kid` is
 * the header's decides alone; otherwise each key without an `alg`, or with the header's `alg`, is tried.
 */
function keysVerify(alg: Algorithm, headerAlg: unknown, kid: unknown, keys: VerificationKey[], signed: Buffer, signature: Buffer): boolean {
  if (typeof kid === 'string' && kid !== '') {
    const byKid = keys.find((k) => k.kid === kid);
    if (byKid) return publicKeyVerifies(alg, byKid.key, signed, signature);
  }
  return keys.some((k) => (k.alg === undefined || k.alg === headerAlg) && publicKeyVerifies(alg, k.key, signed, signature));
}

/** `io.jwt.verify_<alg>(jwt, certificate)` for a public-key algorithm: true when the signature is valid. */
export function jwtVerifyPublicKey(algName: string, jwt: unknown, certificate: unknown): boolean {
  const alg = JWS_ALGORITHMS[algName]!;
  const token = splitToken(jwt);
  const keys = keysFrom(certificate);
  const signature = base64url(token.signature, 'signature');
  const header = decodeHeader(token);
  return keysVerify(alg, header['alg'], header['kid'], keys, Buffer.from(`${token.header}.${token.payload}`), signature);
}

/** `io.jwt.verify_hs<n>(jwt, secret)`: true when the HMAC is valid. */
export function jwtVerifyHmac(algName: string, jwt: unknown, secret: unknown): boolean {
  const alg = JWS_ALGORITHMS[algName]!;
  const token = splitToken(jwt);
  if (typeof secret !== 'string') throw new JwtBuiltinError(`operand 2 must be string but got ${typeName(secret)}`);
  const signature = base64url(token.signature, 'signature');
  return hmacVerifies(alg.hash, secret, Buffer.from(`${token.header}.${token.payload}`), signature);
}

// ---- decode_verify -------------------------------------------------------------------------

interface Constraints {
  keys?: VerificationKey[];
  secret?: string;
  alg?: string;
  iss?: string;
  aud?: string;
  /** Nanoseconds since the epoch. */
  timeNs: number;
}

/** The constraints object; unknown keys, wrong types, and not exactly one of cert/secret are errors (as in OPA). */
export function parseConstraints(c: unknown, nowNs: number): Constraints {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new JwtBuiltinError(`operand 2 must be object but got ${typeName(c)}`);
  const out: Constraints = { timeNs: nowNs };
  for (const [k, v] of Object.entries(c as Json)) {
    const str = (): string => {
      if (typeof v !== 'string') throw new JwtBuiltinError(`${k} constraint: must be a string`);
      return v;
    };
    switch (k) {
      case 'cert': out.keys = keysFrom(str()); break;
      case 'secret': out.secret = str(); break;
      case 'alg': out.alg = str(); break;
      case 'iss': out.iss = str(); break;
      case 'aud': out.aud = str(); break;
      case 'time':
        if (typeof v !== 'number') throw new JwtBuiltinError('time constraint: must be a number');
        out.timeNs = v;
        break;
      default: throw new JwtBuiltinError(`unknown token validation constraint: ${k}`);
    }
  }
  const keyConstraints = (out.keys ? 1 : 0) + (out.secret !== undefined && out.secret !== '' ? 1 : 0);
  if (keyConstraints > 1) throw new JwtBuiltinError('duplicate key constraints');
  if (keyConstraints < 1) throw new JwtBuiltinError('no key constraint');
  return out;
}

const UNVERIFIED = (): [false, Json, Json] => [false, {}, {}];

/** A token `aud` (string or array of strings) names the constraint's audience; with no `aud` constraint it never does. */
function audienceMatches(aud: unknown, want: string | undefined): boolean {
  if (want === undefined) return false;
  if (typeof aud === 'string') return aud === want;
  return Array.isArray(aud) && aud.some((a) => a === want);
}

/**
 * `io.jwt.decode_verify(jwt, constraints)` → `[valid, header, payload]` (`[false, {}, {}]` when not
 * valid). Checks, in OPA's order: `alg`, the signature (cert keys or secret), then `iss` (must
 * equal when constrained), `aud` (a token with `aud` needs a matching `aud` constraint; an `aud`
 * constraint needs a token `aud`), `exp` (time must be before it) and `nbf` (time not before it),
 * with `time` in nanoseconds (default now). A `cty: JWT` token verifies its nested token too.
 */
export function jwtDecodeVerify(jwt: unknown, constraintsArg: unknown, nowNs: number): [boolean, Json, Json] {
  const constraints = parseConstraints(constraintsArg, nowNs);
  let current: unknown = jwt;
  let header: Json;
  let payloadBytes: Buffer;
  for (;;) {
    const token = splitToken(current);
    header = decodeHeader(token);
    const headerAlg = header['alg'];
    if (constraints.alg !== undefined && constraints.alg !== headerAlg) return UNVERIFIED();
    // An algorithm OPA does not verify (`none` included) is not valid, as in OPA.
    const alg = typeof headerAlg === 'string' && Object.hasOwn(JWS_ALGORITHMS, headerAlg) ? JWS_ALGORITHMS[headerAlg] : undefined;
    if (!alg) return UNVERIFIED();
    const signed = Buffer.from(`${token.header}.${token.payload}`);
    const signature = base64url(token.signature, 'signature');
    const valid = constraints.keys
      ? alg.kind !== 'hmac' && keysVerify(alg, headerAlg, header['kid'], constraints.keys, signed, signature)
      : alg.kind === 'hmac' && hmacVerifies(alg.hash, constraints.secret!, signed, signature);
    if (!valid) return UNVERIFIED();
    payloadBytes = base64url(token.payload, 'payload');
    if (typeof header['cty'] === 'string' && header['cty'].toUpperCase() === 'JWT') {
      current = payloadBytes.toString('utf8');
      continue;
    }
    break;
  }
  const payload = jsonObject(payloadBytes, 'payload');
  if (constraints.iss !== undefined && payload['iss'] !== constraints.iss) return UNVERIFIED();
  if (Object.hasOwn(payload, 'aud') ? !audienceMatches(payload['aud'], constraints.aud) : constraints.aud !== undefined) return UNVERIFIED();
  const nowSeconds = constraints.timeNs / 1e9;
  if (Object.hasOwn(payload, 'exp')) {
    if (typeof payload['exp'] !== 'number') throw new JwtBuiltinError('exp value must be a number');
    if (nowSeconds >= payload['exp']) return UNVERIFIED();
  }
  if (Object.hasOwn(payload, 'nbf')) {
    if (typeof payload['nbf'] !== 'number') throw new JwtBuiltinError('nbf value must be a number');
    if (nowSeconds < payload['nbf']) return UNVERIFIED();
  }
  return [true, header, payload];
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** The `io.jwt.*` built-ins by OPA name, each taking the JSON arguments opa-wasm passes. */
export function jwtBuiltins(now: () => number = () => Date.now() * 1e6): Record<string, (...args: unknown[]) => unknown> {
  const builtins: Record<string, (...args: unknown[]) => unknown> = {
    'io.jwt.decode': (jwt) => jwtDecode(jwt),
    'io.jwt.decode_verify': (jwt, constraints) => jwtDecodeVerify(jwt, constraints, now()),
  };
  for (const [name, alg] of Object.entries(JWS_ALGORITHMS)) {
    const fn = `io.jwt.verify_${name.toLowerCase()}`;
    builtins[fn] = alg.kind === 'hmac' ? (jwt, secret) => jwtVerifyHmac(name, jwt, secret) : (jwt, cert) => jwtVerifyPublicKey(name, jwt, cert);
  }
  return builtins;
}
