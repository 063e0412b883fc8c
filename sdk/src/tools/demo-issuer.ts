// The demo identity provider: the issuer whose tokens the demo gateway accepts on /api/* (JWT
// filter) and /secure/* (ext_authz), and that `meshward token` signs for. Its keys are made on
// first use and kept in <MESHWARD_HOME>/demo-issuer/keys.json (never in the repository: anyone
// holding them can mint tokens for a gateway that trusts this issuer; it is for local demos only).
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, constants, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { meshwardHome } from './paths.js';

export const DEMO_ISSUER = 'https://demo.meshward.local';
export const DEMO_AUDIENCE = 'demo-gateway';

export const DEMO_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512'] as const;
export type DemoAlg = (typeof DEMO_ALGS)[number];

type PrivateJwk = Record<string, string>;

interface StoredKeys {
  rsa: PrivateJwk;
  es256: PrivateJwk;
  es384: PrivateJwk;
  ed25519: PrivateJwk;
  hmac: PrivateJwk;
}

const KIDS: Record<keyof StoredKeys, string> = { rsa: 'demo-rsa', es256: 'demo-es256', es384: 'demo-es384', ed25519: 'demo-ed25519', hmac: 'demo-hs' };

function keyNameFor(alg: DemoAlg): keyof StoredKeys {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'rsa';
  if (alg === 'ES256') return 'es256';
  if (alg === 'ES384') return 'es384';
  if (alg === 'EdDSA') return 'ed25519';
  return 'hmac';
}

function generate(): StoredKeys {
  const jwk = (k: KeyObject) => k.export({ format: 'jwk' }) as PrivateJwk;
  return {
    rsa: jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    es256: jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    es384: jwk(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
    ed25519: jwk(generateKeyPairSync('ed25519').privateKey),
    hmac: { kty: 'oct', k: randomBytes(32).toString('base64url') },
  };
}

function loadOrCreate(dir: string): StoredKeys {
  const file = join(dir, 'keys.json');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // Written whole then renamed: a second process starting at the same time reads a complete file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(generate(), null, 2), { mode: 0o600 });
    if (!existsSync(file)) renameSync(tmp, file);
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredKeys>;
  for (const name of Object.keys(KIDS) as Array<keyof StoredKeys>) {
    if (!parsed[name]) throw new Error(`${file}: key "${name}" is missing; delete the file to make new demo keys`);
  }
  return parsed as StoredKeys;
}

export interface MintOptions {
  sub?: string;
  /** Extra claims (they override the defaults, except iss which is the demo issuer's). */
  claims?: Record<string, unknown>;
  alg?: DemoAlg;
  /** Seconds from now until `exp`; negative makes an already expired token. Default 3600. */
  expiresIn?: number;
  /** `aud` (default the demo gateway's). */
  audience?: string | string[];
}

export interface DemoIssuer {
  issuer: string;
  audience: string;
  /** The public key set (what a gateway trusts). */
  jwks: { keys: Array<Record<string, string>> };
  mint(options?: MintOptions): string;
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function publicJwk(name: keyof StoredKeys, k: PrivateJwk): Record<string, string> {
  if (name === 'hmac') return { kty: 'oct', kid: KIDS.hmac, k: k['k']!, use: 'sig' };
  const pub = createPublicKey({ key: k as never, format: 'jwk' }).export({ format: 'jwk' }) as Record<string, string>;
  return { ...pub, kid: KIDS[name], use: 'sig' };
}

function signInput(alg: DemoAlg, key: PrivateJwk, input: string): Buffer {
  const data = Buffer.from(input);
  if (alg.startsWith('HS')) return createHmac(HASH[alg.slice(2)]!, Buffer.from(key['k']!, 'base64url')).update(data).digest();
  const privateKey = createPrivateKey({ key: key as never, format: 'jwk' });
  if (alg === 'EdDSA') return sign(null, data, privateKey);
  const hash = HASH[alg.slice(2)]!;
  if (alg.startsWith('PS')) return sign(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  if (alg.startsWith('ES')) return sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return sign(hash, data, privateKey);
}

/** The demo issuer, with keys from `<home>/demo-issuer/` (made on first use). */
export function demoIssuer(home: string = meshwardHome()): DemoIssuer {
  const stored = loadOrCreate(join(home, 'demo-issuer'));
  const names = Object.keys(KIDS) as Array<keyof StoredKeys>;
  return {
    issuer: DEMO_ISSUER,
    audience: DEMO_AUDIENCE,
    jwks: { keys: names.map((n) => publicJwk(n, stored[n])) },
    mint(o: MintOptions = {}): string {
      const alg = o.alg ?? 'ES256';
      if (!DEMO_ALGS.includes(alg)) throw new Error(`unsupported alg "${String(alg)}" (one of ${DEMO_ALGS.join(', ')})`);
      const name = keyNameFor(alg);
      const now = Math.floor(Date.now() / 1000);
      const payload = { sub: o.sub ?? 'alice', aud: o.audience ?? DEMO_AUDIENCE, iat: now, exp: now + (o.expiresIn ?? 3600), ...o.claims, iss: DEMO_ISSUER };
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${b64({ alg, typ: 'JWT', kid: KIDS[name] })}.${b64(payload)}`;
      return `${input}.${signInput(alg, stored[name], input).toString('base64url')}`;
    },
  };
}

/** "1h", "30m", "45s", "2d", "3600" or "-5m" (already expired) → seconds. */
export function parseDurationSeconds(text: string): number {
  const m = /^(-?)(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (examples: 3600, 45s, 30m, 1h, 2d, -5m)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[3] as '' | 's' | 'm' | 'h' | 'd'];
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit;
}
