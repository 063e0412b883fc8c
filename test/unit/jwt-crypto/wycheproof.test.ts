/**
 * The JWT filter's signature verification (filters/jwt/crypto) against Project Wycheproof's
 * vectors, run inside a filter (the crypto-probe fixture) in the Node host. The vectors are read
 * at test time from ../shared/vectors/wycheproof (never copied into the repository); one request
 * carries a whole test group.
 *
 * Expected results: `valid` must verify, `invalid` must not. `acceptable` vectors are decided per
 * flag in ACCEPTABLE below and asserted that way; an acceptable vector with a flag not listed
 * there fails the test, so each new kind gets a deliberate decision.
 *
 * json_web_signature_test.json and json_web_key_test.json are JOSE-level tests (alg "none", key
 * use/key_ops, JSON serialization, ES512): they belong to the JWT filter's own tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, openProbe, readVectors, type Probe } from './probe.js';

/** Our decision for each `acceptable` flag: true = accept, false = reject. */
const ACCEPTABLE: Record<string, boolean> = {
  // PKCS#1 v1.5 DigestInfo without the NULL parameters (legacy encoders). Rejected: the verifier
  // builds the one DER encoding RFC 8017 specifies and compares the whole encoded message.
  MissingNull: false,
};

interface Test {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface MacTest {
  tcId: number;
  comment: string;
  key: string;
  msg: string;
  tag: string;
  result: 'valid' | 'invalid';
}
interface Group<T> {
  tests: T[];
  publicKey?: { uncompressed?: string; pk?: string; modulus?: string; publicExponent?: string };
  sLen?: number;
  keySize?: number;
  tagSize?: number;
}
interface VectorFile<T> {
  numberOfTests: number;
  testGroups: Group<T>[];
}

type LineOf = (g: Group<Test>, t: Test) => string;

const ecKey = (bytes: number) => (g: Group<Test>) => {
  const u = g.publicKey!.uncompressed!; // 04 || x || y
  return `${u.slice(2, 2 + 2 * bytes)} ${u.slice(2 + 2 * bytes)}`;
};
const rsaKey = (g: Group<Test>) => `${g.publicKey!.modulus} ${g.publicKey!.publicExponent}`;

const SIGNATURE_FILES: Record<string, LineOf> = {
  'ecdsa_secp256r1_sha256_p1363_test.json': (g, t) => `es256 ${ecKey(32)(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'ecdsa_secp384r1_sha384_p1363_test.json': (g, t) => `es384 ${ecKey(48)(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'ed25519_test.json': (g, t) => `ed25519 ${g.publicKey!.pk} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_2048_sha256_test.json': (g, t) => `rs256 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_2048_sha384_test.json': (g, t) => `rs384 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_2048_sha512_test.json': (g, t) => `rs512 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_3072_sha256_test.json': (g, t) => `rs256 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_4096_sha256_test.json': (g, t) => `rs256 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  // The group's sLen (32) is passed explicitly; it is also PS256's default.
  'rsa_pss_2048_sha256_mgf1_32_test.json': (g, t) => `ps256 ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)} ${g.sLen}`,
  // The same vectors through key objects parsed once and reused (EcPublicKey switches to its
  // precomputed table from the key's second use, so each group runs both paths).
  'ecdsa_secp256r1_sha256_p1363_test.json [cached key]': (g, t) => `es256k ${ecKey(32)(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'ecdsa_secp384r1_sha384_p1363_test.json [cached key]': (g, t) => `es384k ${ecKey(48)(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'ed25519_test.json [cached key]': (g, t) => `ed25519k ${g.publicKey!.pk} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_signature_2048_sha256_test.json [cached key]': (g, t) => `rs256k ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
  'rsa_pss_2048_sha256_mgf1_32_test.json [cached key]': (g, t) => `ps256k ${rsaKey(g)} ${hex(t.msg)} ${hex(t.sig)}`,
};

const MAC_FILES: Record<string, { alg: string; fullBits: number }> = {
  'hmac_sha256_test.json': { alg: '256', fullBits: 256 },
  'hmac_sha384_test.json': { alg: '384', fullBits: 384 },
  'hmac_sha512_test.json': { alg: '512', fullBits: 512 },
};

const report: Array<{ file: string; vectors: number; passed: number; note: string }> = [];

describe('Wycheproof vectors through build/crypto-probe.wasm', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await openProbe();
  });
  afterAll(() => {
    probe?.close();
    if (report.length > 0) {
      const lines = report.map((r) => `  ${r.file.padEnd(42)} ${String(r.vectors).padStart(4)} vectors, ${String(r.passed).padStart(4)} passed${r.note ? '  (' + r.note + ')' : ''}`);
      console.log(`Wycheproof results (filters/jwt/crypto in the Node host):\n${lines.join('\n')}`);
    }
  });

  for (const [file, lineOf] of Object.entries(SIGNATURE_FILES)) {
    it(file, async () => {
      const data = readVectors<VectorFile<Test>>(file.split(' ')[0]!);
      let vectors = 0;
      let passed = 0;
      let acceptable = 0;
      const failures: string[] = [];
      for (const g of data.testGroups) {
        const out = await probe.run(g.tests.map((t) => lineOf(g, t)));
        g.tests.forEach((t, i) => {
          vectors++;
          let want: string;
          if (t.result === 'acceptable') {
            acceptable++;
            const decisions = t.flags.map((f) => ACCEPTABLE[f]);
            if (decisions.some((d) => d === undefined)) {
              failures.push(`tcId ${t.tcId}: acceptable with undecided flag(s) ${t.flags.join(',')}`);
              return;
            }
            want = decisions.every((d) => d) ? '1' : '0';
          } else {
            want = t.result === 'valid' ? '1' : '0';
          }
          if (out[i] === want) passed++;
          else failures.push(`tcId ${t.tcId} (${t.result}, ${t.flags.join(',')}${t.comment ? ': ' + t.comment : ''}): got ${out[i]}`);
        });
      }
      report.push({ file, vectors, passed, note: acceptable ? `${acceptable} acceptable, rejected per ACCEPTABLE` : '' });
      expect(vectors).toBe(data.numberOfTests);
      expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
    });
  }

  for (const [file, { alg, fullBits }] of Object.entries(MAC_FILES)) {
    it(`${file} (HMAC values, and full-length-only verification as JWS requires)`, async () => {
      const data = readVectors<VectorFile<MacTest>>(file);
      let vectors = 0;
      let passed = 0;
      const failures: string[] = [];
      for (const g of data.testGroups) {
        const tagBytes = g.tagSize! / 8;
        const macs = await probe.run(g.tests.map((t) => `hmac${alg} ${hex(t.key)} ${hex(t.msg)}`));
        const verdicts = await probe.run(g.tests.map((t) => `hmacverify${alg} ${hex(t.key)} ${hex(t.msg)} ${hex(t.tag)}`));
        g.tests.forEach((t, i) => {
          vectors++;
          const mac = macs[i]!;
          // The MAC truncated to the group's tag size matches exactly for valid vectors.
          const matches = mac.length === fullBits / 4 && t.tag.length === 2 * tagBytes && mac.slice(0, 2 * tagBytes) === t.tag;
          // verifyHmac accepts full-length tags only (JWS HS256/384/512).
          const wantVerify = t.result === 'valid' && g.tagSize === fullBits ? '1' : '0';
          if (matches === (t.result === 'valid') && verdicts[i] === wantVerify) passed++;
          else failures.push(`tcId ${t.tcId} (${t.result}, tag ${g.tagSize} bits, ${t.comment}): mac ${mac}, verify ${verdicts[i]}`);
        });
      }
      report.push({ file, vectors, passed, note: 'truncated-tag groups: values checked, verification rejects them' });
      expect(vectors).toBe(data.numberOfTests);
      expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
    });
  }
  it('every modular inversion took the fast path (the Fermat fallback never ran)', async () => {
    expect(await probe.run(['stats'])).toEqual(['inversionFallbacks=0']);
  });
});
