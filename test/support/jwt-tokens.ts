// Keys, JWKS and token minting for the JWT filter tests: node:crypto only, so tests can also
// build tokens no library would (alg none, bad encodings, confused algorithms).
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { constants } from 'node:crypto';

export type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'HS256' | 'HS384' | 'HS512' | 'EdDSA';

export interface TestKey {
  kid: string;
  /** Private key (asymmetric) or the secret (HMAC). */
  privateKey: KeyObject | Buffer;
  jwk: Record<string, string>;
}

export const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function asymmetric(kid: string, kind: 'rsa' | 'ec' | 'ed25519', curve?: string): TestKey {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : kind === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: curve! })
        : generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { kid, privateKey: pair.privateKey, jwk: { ...jwk, kid } };
}

export function makeKeys() {
  const secret = randomBytes(32);
  return {
    rsa: asymmetric('rsa1', 'rsa'),
    rsaOther: asymmetric('rsa1', 'rsa'), // same kid, different key: a forged signature
    ec256: asymmetric('ec256', 'ec', 'P-256'),
    ec384: asymmetric('ec384', 'ec', 'P-384'),
    ed: asymmetric('ed1', 'ed25519'),
    hmac: { kid: 'hs1', privateKey: secret, jwk: { kty: 'oct', kid: 'hs1', k: b64url(secret) } } as TestKey,
  };
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Signs `signingInput` with `alg` (JWS encodings: P1363 for ECDSA, PSS salt = hash length). */
export function signWith(alg: Alg, key: KeyObject | Buffer, signingInput: string): Buffer {
  const data = Buffer.from(signingInput);
  const bits = alg.slice(2);
  if (alg.startsWith('HS')) return createHmac(HASH[bits]!, key as Buffer).update(data).digest();
  if (alg === 'EdDSA') return sign(null, data, key as KeyObject);
  if (alg.startsWith('ES')) return sign(HASH[bits]!, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return sign(HASH[bits]!, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  }
  return sign(HASH[bits]!, data, key as KeyObject);
}

export interface MintOptions {
  header?: Record<string, unknown>;
  /** Replaces the header's encoding entirely (malformed-input cases). */
  rawHeader?: string;
  rawPayload?: string;
  signature?: (sig: Buffer) => Buffer | string;
}

export function mint(alg: Alg, key: TestKey, payload: Record<string, unknown>, o: MintOptions = {}): string {
  const header = b64url(JSON.stringify({ alg, typ: 'JWT', kid: key.kid, ...o.header }));
  const body = b64url(JSON.stringify(payload));
  const input = `${o.rawHeader ?? header}.${o.rawPayload ?? body}`;
  const sig = signWith(alg, key.privateKey, input);
  const out = o.signature ? o.signature(sig) : sig;
  return `${input}.${typeof out === 'string' ? out : b64url(out)}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
