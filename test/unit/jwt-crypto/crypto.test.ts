/**
 * The JWT filter's crypto (filters/jwt/crypto) in the crypto-probe fixture, beyond Wycheproof:
 *  - SHA-2 known answers (FIPS 180-4 example messages; expected values from Node's crypto),
 *    every length around the block boundaries, one-shot and incremental;
 *  - signatures made by Node's crypto (OpenSSL) with fresh keys of several sizes, including
 *    moduli whose bit length is not a multiple of 8 and e = 3, valid and corrupted;
 *  - malformed inputs of every size: always a clean "0", never a trap.
 */
import { constants, createHash, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, openProbe, type Probe } from './probe.js';

const sha = (alg: string, m: Buffer) => createHash(alg).update(m).digest('hex');
const b64u = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');

describe('filters/jwt/crypto through build/crypto-probe.wasm', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await openProbe();
  });
  afterAll(() => probe?.close());

  it('SHA-256/384/512: FIPS 180-4 example messages and a million "a"', async () => {
    const messages = [
      '',
      'abc',
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', // 448 bits
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu', // 896 bits
    ].map((s) => Buffer.from(s));
    messages.push(Buffer.alloc(1_000_000, 'a'));
    for (const [alg, op] of [['sha256', 'sha256'], ['sha384', 'sha384'], ['sha512', 'sha512']] as const) {
      const out = await probe.run(messages.map((m) => `${op} ${hex(m)}`));
      expect(out).toEqual(messages.map((m) => sha(alg, m)));
    }
    // The FIPS 180-4 appendix values themselves, for "abc".
    expect((await probe.run([`sha256 ${hex(Buffer.from('abc'))}`]))[0]).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('SHA-2 at every length from 0 to 300 bytes, one-shot and fed in chunks of 1, 7, 64 and 129', async () => {
    const msgs = Array.from({ length: 301 }, (_, n) => randomBytes(n));
    for (const alg of ['256', '384', '512']) {
      const want = msgs.map((m) => sha(`sha${alg}`, m));
      expect(await probe.run(msgs.map((m) => `sha${alg} ${hex(m)}`))).toEqual(want);
      for (const chunk of [1, 7, 64, 129]) {
        expect(await probe.run(msgs.map((m) => `shachunks${alg} ${chunk} ${hex(m)}`))).toEqual(want);
      }
    }
  });

  it('HMAC: keys shorter than, equal to and longer than the block, against Node', async () => {
    const lines: string[] = [];
    const want: string[] = [];
    for (const [alg, block] of [['256', 64], ['384', 128], ['512', 128]] as const) {
      for (const klen of [0, 1, 20, block - 1, block, block + 1, 3 * block]) {
        for (const mlen of [0, 1, 55, 56, 64, 111, 112, 128, 1000]) {
          const key = randomBytes(klen);
          const msg = randomBytes(mlen);
          lines.push(`hmac${alg} ${hex(key)} ${hex(msg)}`);
          want.push(createHmac(`sha${alg}`, key).update(msg).digest('hex'));
        }
      }
    }
    expect(await probe.run(lines)).toEqual(want);
  });

  it('constantTimeEqual', async () => {
    expect(await probe.run(['eq - -', 'eq 00 00', 'eq 00 01', 'eq 0000 00', 'eq 80ff 80ff', 'eq 80ff 80fe', 'eq 0080ff 0180ff'])).toEqual(['1', '1', '0', '0', '1', '0', '0']);
  });

  it('RSA public operation s^e mod n: edge-shaped moduli of 512 to 8192 bits against BigInt', async () => {
    const big = (b: Buffer) => BigInt('0x' + (b.length ? b.toString('hex') : '0'));
    const bytesOf = (v: bigint, len: number) => Buffer.from(v.toString(16).padStart(2 * len, '0'), 'hex');
    const modpow = (b: bigint, e: bigint, m: bigint) => {
      let r = 1n;
      b %= m;
      for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
      return r;
    };
    const lines: string[] = [];
    const want: string[] = [];
    for (const bits of [512, 513, 1000, 1024, 2047, 2048, 2049, 3071, 3072, 4096, 4097, 8192]) {
      const len = Math.ceil(bits / 8);
      const top = 1n << BigInt(bits - 1);
      const moduli = [
        (1n << BigInt(bits)) - 1n, // all ones
        top + 1n, // a lone top bit
        top | (big(randomBytes(len)) & (top - 1n)) | 1n, // random
        top | ((1n << BigInt(bits - 2)) - 1n), // 0b1011...1
      ];
      for (const n of moduli) {
        const ss = [0n, 1n, 2n, n - 1n, n - 2n, big(randomBytes(len)) % n, big(randomBytes(len)) % n];
        const es = [3n, 65537n, big(randomBytes(32)) | 1n];
        for (const sv of ss) {
          for (const e of es) {
            lines.push(`modpow ${hex(bytesOf(n, len))} ${hex(bytesOf(e, 32))} ${hex(bytesOf(sv, len))}`);
            want.push(bytesOf(modpow(sv, e, n), len).toString('hex'));
          }
        }
        // s >= n is refused
        lines.push(`modpow ${hex(bytesOf(n, len))} 03 ${hex(bytesOf(n, len))}`);
        want.push('-');
      }
    }
    expect(await probe.run(lines)).toEqual(want);
  });

  it('RSA: signatures by Node with fresh keys (1024 to 4096 bits, odd sizes, e = 3 and 65537)', async () => {
    const lines: string[] = [];
    const want: string[] = [];
    const add = (line: string, ok: boolean) => {
      lines.push(line);
      want.push(ok ? '1' : '0');
    };
    const sizes: Array<[number, number]> = [[1024, 65537], [2047, 65537], [2048, 3], [2049, 65537], [2056, 65537], [3072, 65537], [4096, 65537]];
    for (const [bits, e] of sizes) {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e });
      const jwk = publicKey.export({ format: 'jwk' });
      const key = `${hex(b64u(jwk.n))} ${hex(b64u(jwk.e))}`;
      for (const alg of ['256', '384', '512']) {
        const msg = randomBytes(1 + (bits % 97));
        const pkcs = sign(`sha${alg}`, msg, privateKey);
        add(`rs${alg} ${key} ${hex(msg)} ${hex(pkcs)}`, true);
        const bad = Buffer.from(pkcs);
        bad[bad.length >> 1]! ^= 1;
        add(`rs${alg} ${key} ${hex(msg)} ${hex(bad)}`, false);
        add(`rs${alg} ${key} ${hex(Buffer.concat([msg, Buffer.from([0])]))} ${hex(pkcs)}`, false);
        // PSS with the salt as long as the hash (JWS PS256/384/512) — needs room in the modulus.
        if (bits >= 1024 + (alg === '512' ? 8 : 0)) {
          const pss = sign(`sha${alg}`, msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg) / 8 });
          add(`ps${alg} ${key} ${hex(msg)} ${hex(pss)}`, true);
          add(`rs${alg} ${key} ${hex(msg)} ${hex(pss)}`, false); // wrong scheme
          add(`ps${alg} ${key} ${hex(msg)} ${hex(pkcs)}`, false);
          const pss0 = sign(`sha${alg}`, msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 });
          add(`ps${alg} ${key} ${hex(msg)} ${hex(pss0)} 0`, true); // explicit salt length
          add(`ps${alg} ${key} ${hex(msg)} ${hex(pss0)}`, false); // JWS salt length expected
        }
      }
    }
    expect(await probe.run(lines)).toEqual(want);
  }, 60_000);

  it('ECDSA P-256/P-384 and Ed25519: signatures by Node with fresh keys, valid and corrupted', async () => {
    const lines: string[] = [];
    const want: string[] = [];
    const ec = (curve: string, op: string, hashAlg: string) => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const jwk = publicKey.export({ format: 'jwk' });
      const key = `${hex(b64u(jwk.x))} ${hex(b64u(jwk.y))}`;
      for (let i = 0; i < 8; i++) {
        const msg = randomBytes(i * 37);
        const sig = sign(hashAlg, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        lines.push(`${op} ${key} ${hex(msg)} ${hex(sig)}`);
        want.push('1');
        const bad = Buffer.from(sig);
        bad[i * 5]! ^= 0x40;
        lines.push(`${op} ${key} ${hex(msg)} ${hex(bad)}`);
        want.push('0');
      }
    };
    for (let k = 0; k < 3; k++) {
      ec('P-256', 'es256', 'sha256');
      ec('P-384', 'es384', 'sha384');
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const pub = b64u((publicKey as KeyObject).export({ format: 'jwk' }).x);
      for (let i = 0; i < 8; i++) {
        const msg = randomBytes(i * 41);
        const sig = sign(null, msg, privateKey);
        lines.push(`ed25519 ${hex(pub)} ${hex(msg)} ${hex(sig)}`);
        want.push('1');
        const bad = Buffer.from(sig);
        bad[i * 7]! ^= 0x02;
        lines.push(`ed25519 ${hex(pub)} ${hex(msg)} ${hex(bad)}`);
        want.push('0');
      }
    }
    expect(await probe.run(lines)).toEqual(want);
    // The same through cached key objects (EcPublicKey, Ed25519PublicKey): each key is used 16
    // times, so all but its first verification run on the key's precomputed table.
    expect(await probe.run(lines.map((l) => l.replace(/^(es256|es384|ed25519) /, '$1k ')))).toEqual(want);
  });

  it('ECDSA edge cases are refused on every path: r or s = 0, n, >= n; keys off the curve or with coordinates >= p', async () => {
    const curves = [
      { curve: 'P-256', op: 'es256', hash: 'sha256', size: 32, n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n },
      { curve: 'P-384', op: 'es384', hash: 'sha384', size: 48, n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n, p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n },
    ];
    const lines: string[] = [];
    const want: string[] = [];
    for (const c of curves) {
      const be = (v: bigint) => Buffer.from(v.toString(16).padStart(2 * c.size, '0'), 'hex');
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: c.curve });
      const jwk = publicKey.export({ format: 'jwk' });
      const [x, y] = [b64u(jwk.x), b64u(jwk.y)];
      const msg = randomBytes(100);
      const sig = sign(c.hash, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const r = BigInt('0x' + sig.subarray(0, c.size).toString('hex'));
      const sv = BigInt('0x' + sig.subarray(c.size).toString('hex'));
      const key = `${hex(x)} ${hex(y)}`;
      const sigs: Array<[Buffer, string]> = [
        [sig, '1'],
        [Buffer.concat([be(r), be(c.n - sv)]), '1'], // (r, n - s) is valid too (ECDSA malleability)
        [Buffer.concat([be(0n), be(sv)]), '0'],
        [Buffer.concat([be(r), be(0n)]), '0'],
        [Buffer.concat([be(c.n), be(sv)]), '0'],
        [Buffer.concat([be(r), be(c.n)]), '0'],
        [Buffer.concat([be(r + c.n < 2n ** BigInt(8 * c.size) ? r + c.n : c.n + 1n), be(sv)]), '0'], // r + n: same x mod n, still refused
        [Buffer.concat([be(r), be(sv + c.n < 2n ** BigInt(8 * c.size) ? sv + c.n : c.n + 1n)]), '0'],
        [Buffer.concat([be(2n ** BigInt(8 * c.size) - 1n), be(sv)]), '0'],
        [Buffer.concat([be(r), be(2n ** BigInt(8 * c.size) - 1n)]), '0'],
      ];
      // Each signature through a fresh key, and twice through the cached key object (the second
      // use runs on the key's table).
      for (const [s, w] of sigs) {
        for (const op of [c.op, `${c.op}k`, `${c.op}k`]) {
          lines.push(`${op} ${key} ${hex(msg)} ${hex(s)}`);
          want.push(w);
        }
      }
      // Keys: y + 1 (off the curve), x + p and y + p (same point mod p, not canonical), (0, 0),
      // the coordinates swapped; each refused by EcPublicKey.fromBytes and by verification.
      const X = BigInt('0x' + x.toString('hex'));
      const Y = BigInt('0x' + y.toString('hex'));
      const top = 2n ** BigInt(8 * c.size);
      const badKeys: Array<[bigint, bigint]> = [[X, (Y + 1n) % c.p], [X, c.p - Y + 1n], [0n, 0n], [Y, X]];
      if (X + c.p < top) badKeys.push([X + c.p, Y]);
      if (Y + c.p < top) badKeys.push([X, Y + c.p]);
      badKeys.push([c.p, Y], [X, c.p]);
      for (const [bx, by] of badKeys) {
        const k = `${hex(be(bx))} ${hex(be(by))}`;
        lines.push(`eckey${c.op.slice(2)} ${k}`, `${c.op} ${k} ${hex(msg)} ${hex(sig)}`, `${c.op}k ${k} ${hex(msg)} ${hex(sig)}`);
        want.push('0', '0', '0');
      }
      lines.push(`eckey${c.op.slice(2)} ${key}`);
      want.push('1');
    }
    expect(await probe.run(lines)).toEqual(want);
  });

  it('malformed inputs of every size give "0" and never trap', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const n = b64u(jwk.n);
    const msg = Buffer.from('payload');
    const sig = sign('sha256', msg, privateKey);
    const ecKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ej = ecKeys.publicKey.export({ format: 'jwk' });
    const [x, y] = [b64u(ej.x), b64u(ej.y)];
    const esig = sign('sha256', msg, { key: ecKeys.privateKey, dsaEncoding: 'ieee-p1363' });
    const lines: string[] = [];
    const sizes = [0, 1, 2, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97, 255, 256, 257, 513, 1025];
    for (const s of sizes) {
      const junk = randomBytes(s);
      const ff = Buffer.alloc(s, 0xff);
      const zero = Buffer.alloc(s);
      for (const v of [junk, ff, zero]) {
        lines.push(`rs256 ${hex(n)} 010001 ${hex(msg)} ${hex(v)}`); // bad signature size/value
        lines.push(`rs256 ${hex(v)} 010001 ${hex(msg)} ${hex(sig)}`); // bad modulus
        lines.push(`rs256 ${hex(n)} ${hex(v)} ${hex(msg)} ${hex(sig)}`); // bad exponent
        lines.push(`ps256 ${hex(n)} 010001 ${hex(msg)} ${hex(v)}`);
        lines.push(`ps512 ${hex(v)} 03 ${hex(msg)} ${hex(v)}`);
        lines.push(`es256 ${hex(x)} ${hex(y)} ${hex(msg)} ${hex(v)}`);
        lines.push(`es256 ${hex(v)} ${hex(y)} ${hex(msg)} ${hex(esig)}`);
        lines.push(`es256 ${hex(x)} ${hex(v)} ${hex(msg)} ${hex(esig)}`);
        lines.push(`es384 ${hex(v)} ${hex(v)} ${hex(msg)} ${hex(v)}`);
        lines.push(`ed25519 ${hex(v)} ${hex(msg)} ${hex(v)}`);
        lines.push(`hmacverify256 ${hex(v)} ${hex(msg)} ${hex(v)}`);
        // Key objects: malformed keys and signatures of every size.
        lines.push(`rs256k ${hex(n)} 010001 ${hex(msg)} ${hex(v)}`, `rs256k ${hex(v)} 010001 ${hex(msg)} ${hex(sig)}`);
        lines.push(`ps256k ${hex(v)} ${hex(v)} ${hex(msg)} ${hex(v)}`);
        lines.push(`es256k ${hex(x)} ${hex(y)} ${hex(msg)} ${hex(v)}`, `es256k ${hex(v)} ${hex(y)} ${hex(msg)} ${hex(esig)}`);
        lines.push(`es384k ${hex(v)} ${hex(v)} ${hex(msg)} ${hex(v)}`, `eckey256 ${hex(v)} ${hex(v)}`, `eckey384 ${hex(v)} ${hex(v)}`);
        lines.push(`ed25519k ${hex(v)} ${hex(msg)} ${hex(v)}`, `hmacverify256k ${hex(v)} ${hex(msg)} ${hex(v)}`);
      }
    }
    // Exponents the key rules refuse: even, 1, as long as the modulus; and an even modulus.
    for (const e of ['00', '01', '0001', '02', '010000', hex(n)]) lines.push(`rs256 ${hex(n)} ${e} ${hex(msg)} ${hex(sig)}`);
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    lines.push(`rs256 ${hex(even)} 010001 ${hex(msg)} ${hex(sig)}`);
    // PSS salt lengths outside 0..64 and larger than the encoded message allows.
    lines.push(`ps256 ${hex(n)} 010001 ${hex(msg)} ${hex(sig)} 65`, `ps256 ${hex(n)} 010001 ${hex(msg)} ${hex(sig)} -1`);
    const out = await probe.run(lines);
    const nonZero = out.map((r, i) => (r === '0' ? '' : `${lines[i]!.slice(0, 80)}... -> ${r}`)).filter(Boolean);
    expect(nonZero).toEqual([]);
    // The host path's encoders (DER keys and signatures, protobuf arguments) on the same junk: the
    // Node host has no verify_signature, so a well-sized key reaches the call ("unavailable") and
    // any other input is refused before it ("0"); nothing traps.
    const hostLines: string[] = [];
    for (const s of sizes) {
      const v = randomBytes(s);
      hostLines.push(`frs256 ${hex(v)} ${hex(v)} ${hex(msg)} ${hex(v)}`, `frs512k ${hex(n)} ${hex(v)} ${hex(msg)} ${hex(v)}`);
      hostLines.push(`fes256 ${hex(v)} ${hex(v)} ${hex(msg)} ${hex(v)}`, `fes384k ${hex(v)} ${hex(y)} ${hex(msg)} ${hex(esig)}`);
      hostLines.push(`fes256 ${hex(x)} ${hex(y)} ${hex(msg)} ${hex(v)}`, `fraw384 ${hex(v)} ${hex(v)} ${hex(v)}`);
    }
    const hostOut = await probe.run(hostLines);
    const unexpected = hostOut.map((r, i) => (r === '0' || r === 'unavailable' ? '' : `${hostLines[i]!.slice(0, 60)}... -> ${r}`)).filter(Boolean);
    expect(unexpected).toEqual([]);
    // And the valid ones still verify after all that.
    expect(await probe.run([`rs256 ${hex(n)} 010001 ${hex(msg)} ${hex(sig)}`, `es256 ${hex(x)} ${hex(y)} ${hex(msg)} ${hex(esig)}`])).toEqual(['1', '1']);
  });

  it('P-256, P-384 and 2^255 - 19 field kernels (relaxed range [0, 2^(e+2))) against BigInt at the edges of the range', async () => {
    for (const c of [
      { bits: 256, limbs: 9, p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n },
      { bits: 384, limbs: 14, p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n },
      { bits: 255, limbs: 9, p: 2n ** 255n - 19n },
    ]) {
      const bound = 2n ** BigInt(c.bits + 2); // every kernel result stays below it
      const R = 2n ** BigInt(29 * c.limbs);
      const outBytes = Math.ceil((29 * c.limbs) / 8);
      const be = (v: bigint) => v.toString(16).padStart(2 * outBytes, '0');
      const mod = (v: bigint) => ((v % c.p) + c.p) % c.p;
      const rInv = (() => {
        // R^-1 mod p by Fermat (p prime).
        let r = 1n, b = R % c.p, e = c.p - 2n;
        while (e > 0n) { if (e & 1n) r = (r * b) % c.p; b = (b * b) % c.p; e >>= 1n; }
        return r;
      })();
      const rand = (limit: bigint) => BigInt('0x' + randomBytes(outBytes).toString('hex')) % limit;
      const edges = [0n, 1n, c.p - 1n, c.p, c.p + 1n, 2n * c.p - 1n, 2n * c.p, 3n * c.p, 4n * c.p - 1n, 4n * c.p, bound - 1n, bound - 2n ** BigInt(c.bits), 2n ** BigInt(c.bits), 2n ** BigInt(c.bits + 1) - 1n];
      const values = [...edges, ...Array.from({ length: 24 }, () => rand(bound))];
      const lines: string[] = [];
      const checks: Array<(out: string) => string | null> = [];
      for (const a of values) {
        for (const b of [...edges, rand(bound), rand(bound)]) {
          for (const [op, want] of [['add', mod(a + b)], ['sub', mod(a - b)], ['mul', mod(a * b * rInv)]] as const) {
            lines.push(`fe${op}${c.bits} ${be(a)} ${be(b)}`);
            checks.push((out) => {
              const v = BigInt('0x' + out);
              if (v >= bound) return `${op}(${a.toString(16)}, ${b.toString(16)}) = ${out} is out of range`;
              return mod(v) === want ? null : `${op}(${a.toString(16)}, ${b.toString(16)}) = ${out}, want ${want.toString(16)} mod p`;
            });
          }
        }
        lines.push(`fecanon${c.bits} ${be(a)}`, `feiszero${c.bits} ${be(a)}`);
        checks.push((out) => (BigInt('0x' + out) === mod(a) ? null : `canon(${a.toString(16)}) = ${out}`));
        checks.push((out) => (out === (mod(a) === 0n ? '1' : '0') ? null : `isZero(${a.toString(16)}) = ${out}`));
      }
      const out = await probe.run(lines);
      const failures = out.map((o, i) => checks[i]!(o)).filter((x): x is string => x !== null);
      expect(failures.slice(0, 10)).toEqual([]);
    }
  }, 60_000);

  it('key objects: the table is built on the second use or by precompute(), with the documented size', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const j = p256.publicKey.export({ format: 'jwk' });
    const key = `${hex(b64u(j.x))} ${hex(b64u(j.y))}`;
    const msg = randomBytes(50);
    const sig = sign('sha256', msg, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    const stats = async () => Number(/tableBytes=(\d+)/.exec((await probe.run(['keystats']))[0]!)![1]);
    const start = await stats();
    expect(await probe.run([`es256k ${key} ${hex(msg)} ${hex(sig)}`])).toEqual(['1']);
    expect(await stats()).toBe(start); // first use: no table yet
    expect(await probe.run([`es256k ${key} ${hex(msg)} ${hex(sig)}`])).toEqual(['1']);
    expect(await stats()).toBe(start + 43 * 32 * 2 * 9 * 4); // 97 KiB: 43 windows x 32 points x (x, y)
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    expect(
      await probe.run([`ecpre256 ${key}`, `ecpre384 ${hex(b64u(p384.x))} ${hex(b64u(p384.y))}`, `edpre ${hex(b64u(ed.x))}`, `ecpre256 ${key.replace(/^../, '00')}`]),
    ).toEqual([`0 ${43 * 32 * 2 * 9 * 4}`, `0 ${77 * 16 * 2 * 14 * 4}`, `0 ${51 * 16 * 3 * 9 * 4}`, 'invalid']);
  });

  it('a host without verify_signature: the host path reports "unavailable" (the filter falls back to wasm)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const msg = Buffer.from('payload');
    const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const line = `${hex(b64u(jwk.x))} ${hex(b64u(jwk.y))} ${hex(msg)} ${hex(sig)}`;
    expect(await probe.run(['favailable', `fes256 ${line}`, `es256 ${line}`])).toEqual(['0', 'unavailable', '1']);
  });

  it('every modular inversion took the fast path (the Fermat fallback never ran)', async () => {
    expect(await probe.run(['stats'])).toEqual(['inversionFallbacks=0']);
  });
});
