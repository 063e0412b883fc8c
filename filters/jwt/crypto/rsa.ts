// RSASSA-PKCS1-v1_5 and RSASSA-PSS signature verification (RFC 8017 sections 8.1.2, 8.2.2,
// 9.1.2, 9.2), for JWS RS256/384/512 and PS256/384/512 (RFC 7518 section 3.3 and 3.5).
import { HashAlg, hashLength, hashPtrInto, sharedHasher } from "./sha2";
import { MontModulus, bitLengthBytes, firstNonZero } from "./bigint";
import { constantTimeEqualPtr } from "./hmac";

/** Largest public exponent accepted, in bits (65537 is 17 bits; the cost grows with the size). */
export const MAX_EXPONENT_BITS: i32 = 256;

/**
 * A parsed RSA public key: modulus and exponent from big-endian bytes (a JWK's `n` and `e` after
 * base64url decoding). Parse once and reuse it for every signature made with that key.
 */
export class RsaPublicKey {
  readonly modulus: MontModulus;
  /** The exponent without leading zero bytes. */
  readonly e: Uint8Array;

  private constructor(modulus: MontModulus, e: Uint8Array) {
    this.modulus = modulus;
    this.e = e;
  }

  /**
   * Null when the key is unusable: modulus even or outside 512..8192 bits; exponent even, <= 1,
   * longer than MAX_EXPONENT_BITS, or not below the modulus.
   */
  static fromBytes(n: Uint8Array, e: Uint8Array): RsaPublicKey | null {
    const modulus = MontModulus.fromBytes(n);
    if (modulus === null) return null;
    const es = firstNonZero(e);
    const elen = e.length - es;
    if (elen == 0) return null;
    const ebits = bitLengthBytes(e.dataStart + <usize>es, elen);
    if (ebits < 2 || ebits > MAX_EXPONENT_BITS || ebits >= modulus.bits) return null;
    if ((e[e.length - 1] & 1) == 0) return null;
    return new RsaPublicKey(modulus, e.slice(es));
  }

  /** Modulus length in bytes: the only accepted signature length. */
  get size(): i32 {
    return this.modulus.bytes;
  }
}

// Scratch for the recovered encoded message (up to 8192-bit moduli).
const EM = new StaticArray<u8>(1024);
const EXPECTED = new StaticArray<u8>(1024);
const DIGEST = new StaticArray<u8>(64);
const MPRIME = new StaticArray<u8>(8 + 64 + 64);

/**
 * RSAVP1: s = OS2IP(sig), requires len(sig) = k and s < n, and writes I2OSP(s^e mod n, k) to EM.
 */
function recoverMessage(key: RsaPublicKey, sig: Uint8Array): bool {
  const k = key.modulus.bytes;
  if (sig.length != k) return false;
  return key.modulus.powPublic(changetype<usize>(EM), sig.dataStart, sig.length, key.e);
}

// DER encodings of DigestInfo up to the digest (RFC 8017 section 9.2, note 1): SEQUENCE {
// SEQUENCE { OID, NULL }, OCTET STRING }.
const DI_SHA256: usize = memory.data<u8>([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]);
const DI_SHA384: usize = memory.data<u8>([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]);
const DI_SHA512: usize = memory.data<u8>([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]);
const DI_PREFIX_LEN: i32 = 19;

/**
 * RSASSA-PKCS1-v1_5 verification. The expected encoded message EM' = 00 01 FF..FF 00 ||
 * DigestInfo(hash(msg)) is built in full and compared with the recovered one byte for byte, so
 * no ASN.1 is parsed and only the one DER encoding is accepted (also rejected: the legacy
 * encoding without the NULL parameters).
 */
export function verifyPkcs1(alg: HashAlg, key: RsaPublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  const hLen = hashLength(alg);
  if (hLen == 0) return false;
  const k = key.modulus.bytes;
  const tLen = DI_PREFIX_LEN + hLen;
  if (k < tLen + 11) return false; // at least 8 bytes of FF padding
  if (!recoverMessage(key, sig)) return false;
  const ex = changetype<usize>(EXPECTED);
  store<u8>(ex, 0x00);
  store<u8>(ex + 1, 0x01);
  const psEnd = k - tLen - 1;
  memory.fill(ex + 2, 0xff, <usize>(psEnd - 2));
  store<u8>(ex + <usize>psEnd, 0x00);
  const prefix = alg == HashAlg.SHA256 ? DI_SHA256 : alg == HashAlg.SHA384 ? DI_SHA384 : DI_SHA512;
  memory.copy(ex + <usize>(psEnd + 1), prefix, <usize>DI_PREFIX_LEN);
  hashPtrInto(alg, msg.dataStart, msg.length, ex + <usize>(psEnd + 1 + DI_PREFIX_LEN));
  return constantTimeEqualPtr(changetype<usize>(EM), ex, k);
}

/**
 * RSASSA-PSS verification with MGF1 over the same hash and a salt of `saltLen` bytes (JWS PS256
 * uses SHA-256 and 32). Implements EMSA-PSS-VERIFY (RFC 8017 section 9.1.2) step by step.
 */
export function verifyPss(alg: HashAlg, key: RsaPublicKey, msg: Uint8Array, sig: Uint8Array, saltLen: i32): bool {
  const hLen = hashLength(alg);
  if (hLen == 0 || saltLen < 0 || saltLen > 64) return false;
  const k = key.modulus.bytes;
  if (!recoverMessage(key, sig)) return false;
  // emBits = modBits - 1; when modBits - 1 is a multiple of 8 the leading byte of the k-byte
  // representative must be zero and EM is the rest.
  const emBits = key.modulus.bits - 1;
  const emLen = (emBits + 7) >> 3;
  let em = changetype<usize>(EM);
  if (emLen < k) {
    if (load<u8>(em) != 0) return false;
    em += 1;
  }
  // 3. emLen >= hLen + sLen + 2
  if (emLen < hLen + saltLen + 2) return false;
  // 4. rightmost octet 0xbc
  if (load<u8>(em + <usize>(emLen - 1)) != 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const h = em + <usize>dbLen;
  // 6. the leftmost 8*emLen - emBits bits of maskedDB must be zero
  const unusedBits = 8 * emLen - emBits;
  const topMask = <u8>(<u32>0xff >>> <u32>unusedBits);
  if ((load<u8>(em) & ~topMask) != 0) return false;
  // 7-8. DB = maskedDB xor MGF1(H, dbLen), in place
  mgf1Xor(alg, h, hLen, em, dbLen);
  // 9. clear the unused leftmost bits
  store<u8>(em, load<u8>(em) & topMask);
  // 10. DB = PS (zeros) || 0x01 || salt
  const psLen = emLen - hLen - saltLen - 2;
  for (let i = 0; i < psLen; i++) if (load<u8>(em + <usize>i) != 0) return false;
  if (load<u8>(em + <usize>psLen) != 0x01) return false;
  // 11-13. H' = Hash(00*8 || mHash || salt)
  const mp = changetype<usize>(MPRIME);
  memory.fill(mp, 0, 8);
  hashPtrInto(alg, msg.dataStart, msg.length, mp + 8);
  memory.copy(mp + 8 + <usize>hLen, em + <usize>(dbLen - saltLen), <usize>saltLen);
  const hp = changetype<usize>(DIGEST);
  hashPtrInto(alg, mp, 8 + hLen + saltLen, hp);
  // 14. H == H'
  return constantTimeEqualPtr(h, hp, hLen);
}

/** XORs MGF1(seed, len) (RFC 8017 B.2.1) into `len` bytes at `dst`. */
function mgf1Xor(alg: HashAlg, seed: usize, seedLen: i32, dst: usize, len: i32): void {
  const hLen = hashLength(alg);
  const block = changetype<usize>(DIGEST);
  const counter = memory.data(4);
  let done = 0;
  for (let c: u32 = 0; done < len; c++) {
    store<u8>(counter, <u8>(c >>> 24));
    store<u8>(counter + 1, <u8>(c >>> 16));
    store<u8>(counter + 2, <u8>(c >>> 8));
    store<u8>(counter + 3, <u8>c);
    const hasher = sharedHasher(alg)!;
    hasher.updatePtr(seed, seedLen);
    hasher.updatePtr(counter, 4);
    hasher.finishInto(block);
    const take = min(hLen, len - done);
    for (let i = 0; i < take; i++) {
      const p = dst + <usize>(done + i);
      store<u8>(p, load<u8>(p) ^ load<u8>(block + <usize>i));
    }
    done += take;
  }
}
