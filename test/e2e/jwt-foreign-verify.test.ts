// Envoy's `verify_signature` foreign function (the host path of filters/jwt/crypto/foreign.ts)
// against the in-wasm verifiers, in real Envoy: the crypto-probe fixture filter runs both on the
// same keys, messages and signatures, and the verdicts must agree for valid signatures and for
// every kind of invalid one. It also records what Envoy 1.40 cannot do through that function
// (RSA-PSS, Ed25519), which is why the in-wasm path stays available for every algorithm.
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
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

const hex = (b: Uint8Array | Buffer): string => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));
const b64u = (s: string): Buffer => Buffer.from(s, 'base64url');

const msg = Buffer.from('eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE5MDAwMDAwMDB9');

/** Flips one bit of a copy. */
function flip(b: Buffer, index: number): Buffer {
  const c = Buffer.from(b);
  c[index] = c[index]! ^ 1;
  return c;
}

const otherMsg = flip(msg, 40);

interface Case {
  name: string;
  wasm: string; // probe line for the in-wasm path
  hostLine: string; // probe line for the host path
  valid: boolean;
}

function rsaCases(bits: number, hash: 'sha256' | 'sha384' | 'sha512'): Case[] {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const other = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
  const jwk = publicKey.export({ format: 'jwk' });
  const otherJwk = other.export({ format: 'jwk' });
  const sig = sign(hash, msg, privateKey);
  const alg = hash.slice(3);
  const key = `${hex(b64u(jwk.n!))} ${hex(b64u(jwk.e!))}`;
  const line = (k: string, m: Buffer, s: Buffer) => ({ wasm: `rs${alg} ${k} ${hex(m)} ${hex(s)}`, hostLine: `frs${alg} ${k} ${hex(m)} ${hex(s)}` });
  const name = `RS${alg} (RSA-${bits})`;
  return [
    { name: `${name} valid`, valid: true, ...line(key, msg, sig) },
    { name: `${name} other message`, valid: false, ...line(key, otherMsg, sig) },
    { name: `${name} flipped signature bit`, valid: false, ...line(key, msg, flip(sig, 17)) },
    { name: `${name} other key`, valid: false, ...line(`${hex(b64u(otherJwk.n!))} ${hex(b64u(otherJwk.e!))}`, msg, sig) },
    { name: `${name} truncated signature`, valid: false, ...line(key, msg, sig.subarray(1)) },
  ];
}

function ecCases(curve: 'P-256' | 'P-384'): Case[] {
  const size = curve === 'P-256' ? 32 : 48;
  const hash = curve === 'P-256' ? 'sha256' : 'sha384';
  const op = curve === 'P-256' ? 'es256' : 'es384';
  const order = curve === 'P-256' ? 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551' : 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973';
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' });
  const sig = sign(hash, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const key = `${hex(b64u(jwk.x!))} ${hex(b64u(jwk.y!))}`;
  const line = (k: string, m: Buffer, s: Buffer) => ({ wasm: `${op} ${k} ${hex(m)} ${hex(s)}`, hostLine: `f${op} ${k} ${hex(m)} ${hex(s)}` });
  const r = sig.subarray(0, size);
  const s = sig.subarray(size);
  const n = Buffer.from(order, 'hex');
  // s' = n - s is also a valid ECDSA signature (ECDSA is malleable; JWS does not forbid it).
  const negS = Buffer.from((BigInt('0x' + order) - BigInt('0x' + s.toString('hex'))).toString(16).padStart(2 * size, '0'), 'hex');
  // A point not on the curve: y + 1.
  const badY = Buffer.from((BigInt('0x' + b64u(jwk.y!).toString('hex')) + 1n).toString(16).padStart(2 * size, '0').slice(-2 * size), 'hex');
  const name = `ES${size === 32 ? 256 : 384} (${curve})`;
  return [
    { name: `${name} valid`, valid: true, ...line(key, msg, sig) },
    { name: `${name} valid with s' = n - s`, valid: true, ...line(key, msg, Buffer.concat([r, negS])) },
    { name: `${name} other message`, valid: false, ...line(key, otherMsg, sig) },
    { name: `${name} flipped bit in r`, valid: false, ...line(key, msg, flip(sig, 3)) },
    { name: `${name} flipped bit in s`, valid: false, ...line(key, msg, flip(sig, size + 3)) },
    { name: `${name} r = 0`, valid: false, ...line(key, msg, Buffer.concat([Buffer.alloc(size), s])) },
    { name: `${name} s = 0`, valid: false, ...line(key, msg, Buffer.concat([r, Buffer.alloc(size)])) },
    { name: `${name} r = n`, valid: false, ...line(key, msg, Buffer.concat([n, s])) },
    { name: `${name} s = n`, valid: false, ...line(key, msg, Buffer.concat([r, n])) },
    { name: `${name} r = 2^bits - 1 (>= n)`, valid: false, ...line(key, msg, Buffer.concat([Buffer.alloc(size, 0xff), s])) },
    { name: `${name} signature one byte short`, valid: false, ...line(key, msg, sig.subarray(1)) },
    { name: `${name} DER signature instead of r || s`, valid: false, ...line(key, msg, sign(hash, msg, privateKey)) },
    { name: `${name} key not on the curve`, valid: false, ...line(`${hex(b64u(jwk.x!))} ${hex(badY)}`, msg, sig) },
  ];
}

function spki(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

describe('verify_signature (Envoy foreign function) vs the in-wasm verifiers, in real Envoy', () => {
  let upstream: EchoUpstream;
  let envoy: EnvoyInstance;

  async function probe(lines: string[]): Promise<string[]> {
    const res = await fetch(envoy.url('/'), { method: 'POST', body: lines.join('\n') + '\n' });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    return text.split('\n');
  }

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    envoy = await startEnvoy({
      config: (p) =>
        httpProxyBootstrap({
          listenerPort: p['listener']!,
          adminPort: p['admin']!,
          upstreamPort: upstream.port,
          httpFilters: [wasmHttpFilter({ name: 'crypto-probe', wasmPath: join(buildDir, 'crypto-probe.wasm') })],
        }),
    });
  });
  afterAll(async () => {
    await stopAllEnvoys();
    await upstream?.close();
  });

  it('Envoy offers verify_signature', async () => {
    expect(await probe(['favailable'])).toEqual(['1']);
  });

  it('host and wasm agree on RS256/RS384/RS512 and ES256/ES384, valid and invalid, for fresh and cached keys', async () => {
    const cases = [...rsaCases(2048, 'sha256'), ...rsaCases(2048, 'sha384'), ...rsaCases(3072, 'sha512'), ...ecCases('P-256'), ...ecCases('P-384')];
    const got = [];
    for (const c of cases) {
      const [hop, ...hrest] = c.hostLine.split(' ');
      const [wop, ...wrest] = c.wasm.split(' ');
      // Cached key objects: the second use of an EcPublicKey runs its precomputed table.
      const wasmK = `${wop}k ${wrest.join(' ')}`;
      const out = await probe([c.wasm, c.hostLine, wasmK, wasmK, `${hop}k ${hrest.join(' ')}`]);
      got.push({ name: c.name, wasm: out[0], host: out[1], wasmCached: out[2] === out[3] ? out[3] : 'first and second use differ', hostCached: out[4] });
    }
    const want = cases.map((c) => {
      const v = c.valid ? '1' : '0';
      return { name: c.name, wasm: v, host: v, wasmCached: v, hostCached: v };
    });
    expect(got).toEqual(want);
  });

  it('the raw call: a key Envoy cannot parse fails the verification with an error text, no key at all is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = sign('sha256', msg, privateKey); // DER signature, what BoringSSL expects
    const key = spki(publicKey);
    const out = await probe([
      `fraw256 ${hex(key)} ${hex(der)} ${hex(msg)}`,
      `fraw256 ${hex(key)} ${hex(der)} ${hex(otherMsg)}`,
      `fraw256 ${hex(key.subarray(0, key.length - 5))} ${hex(der)} ${hex(msg)}`,
      'ferror',
      `fraw256 - ${hex(der)} ${hex(msg)}`,
    ]);
    expect(out.slice(0, 3)).toEqual(['1', '0', '0']);
    expect(out[3]).toMatch(/\S/); // Envoy's reason, e.g. "Failed to initialize digest verify."
    expect(out[4]).toBe('refused');
  });

  it('Envoy 1.40 cannot verify RSA-PSS or Ed25519 through verify_signature (the in-wasm path does)', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pss = sign('sha256', msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    const ed = generateKeyPairSync('ed25519');
    const edSig = sign(null, msg, ed.privateKey);
    const edJwk = ed.publicKey.export({ format: 'jwk' });
    const out = await probe([
      `ps256 ${hex(b64u(jwk.n!))} ${hex(b64u(jwk.e!))} ${hex(msg)} ${hex(pss)}`,
      `fraw256 ${hex(spki(rsa.publicKey))} ${hex(pss)} ${hex(msg)}`,
      `ed25519 ${hex(b64u(edJwk.x!))} ${hex(msg)} ${hex(edSig)}`,
      `fraw256 ${hex(spki(ed.publicKey))} ${hex(edSig)} ${hex(msg)}`,
      `fraw512 ${hex(spki(ed.publicKey))} ${hex(edSig)} ${hex(msg)}`,
    ]);
    expect(out).toEqual(['1', '0', '1', '0', '0']);
  });
});
