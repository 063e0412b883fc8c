// HMAC (RFC 2104 / FIPS 198-1) over SHA-256/384/512, and a constant-time byte comparison.
import { HashAlg, Hasher, hashLength, newHasher } from "./sha2";

/**
 * An HMAC key schedule: the padded key is hashed into the inner and outer hashers once, so a
 * key used for many messages (as a JWT filter does) skips that work after the first.
 */
export class HmacKey {
  readonly alg: HashAlg;
  readonly macLength: i32;
  private inner: Hasher;
  private outer: Hasher;
  private ipad: StaticArray<u8>;
  private opad: StaticArray<u8>;

  constructor(alg: HashAlg, key: Uint8Array) {
    this.alg = alg;
    let inner = newHasher(alg);
    let outer = newHasher(alg);
    // Callers check the algorithm first (see hmac()); fall back to SHA-256 rather than trap.
    if (inner === null) inner = newHasher(HashAlg.SHA256)!;
    if (outer === null) outer = newHasher(HashAlg.SHA256)!;
    const block = inner.blockLength;
    this.ipad = new StaticArray<u8>(block);
    this.opad = new StaticArray<u8>(block);
    this.inner = inner;
    this.outer = outer;
    this.macLength = inner.digestLength;
    const k = new StaticArray<u8>(block); // zero-filled
    const kp = changetype<usize>(k);
    if (key.length > block) {
      // Keys longer than a block are hashed first (RFC 2104 section 2).
      this.inner.reset().updatePtr(key.dataStart, key.length);
      this.inner.finishInto(kp);
    } else if (key.length > 0) {
      memory.copy(kp, key.dataStart, <usize>key.length);
    }
    const ip = changetype<usize>(this.ipad), op = changetype<usize>(this.opad);
    for (let i = 0; i < block; i++) {
      const b = load<u8>(kp + <usize>i);
      store<u8>(ip + <usize>i, b ^ 0x36);
      store<u8>(op + <usize>i, b ^ 0x5c);
    }
    memory.fill(kp, 0, <usize>block);
  }

  /** MAC of `len` bytes at `ptr` into `out` (macLength bytes). */
  macPtrInto(ptr: usize, len: i32, out: usize): void {
    const block = this.inner.blockLength;
    const inner = this.inner.reset();
    inner.updatePtr(changetype<usize>(this.ipad), block);
    inner.updatePtr(ptr, len);
    inner.finishInto(out);
    const outer = this.outer.reset();
    outer.updatePtr(changetype<usize>(this.opad), block);
    outer.updatePtr(out, this.macLength);
    outer.finishInto(out);
  }

  mac(msg: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.macLength);
    this.macPtrInto(msg.dataStart, msg.length, out.dataStart);
    return out;
  }

  /** True when `tag` is exactly the full-length MAC of `msg` (constant-time comparison). */
  verify(msg: Uint8Array, tag: Uint8Array): bool {
    if (tag.length != this.macLength) return false;
    return constantTimeEqual(this.mac(msg), tag);
  }
}

/** HMAC of `msg` under `key` with `alg`; an empty array for an unknown alg. */
export function hmac(alg: HashAlg, key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (hashLength(alg) == 0) return new Uint8Array(0);
  return new HmacKey(alg, key).mac(msg);
}

/**
 * True when `tag` equals the full-length HMAC of `msg` under `key` (JWS HS256/384/512 use full
 * tags; a truncated or extended tag is rejected). The comparison is constant-time.
 */
export function verifyHmac(alg: HashAlg, key: Uint8Array, msg: Uint8Array, tag: Uint8Array): bool {
  if (hashLength(alg) == 0) return false;
  return new HmacKey(alg, key).verify(msg, tag);
}

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on the lengths, never
 * on where the first difference is: every byte is visited and differences are OR-ed together.
 * (Different lengths return false at once; lengths are not secret.)
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return constantTimeEqualPtr(a.dataStart, b.dataStart, a.length);
}

/** constantTimeEqual over two `len`-byte ranges. */
export function constantTimeEqualPtr(a: usize, b: usize, len: i32): bool {
  let diff: u32 = 0;
  for (let i = 0; i < len; i++) {
    diff |= <u32>(load<u8>(a + <usize>i) ^ load<u8>(b + <usize>i));
  }
  // No data-dependent branch: fold the accumulated difference to a 0/1 bit.
  return ((diff - 1) >>> 31) == 1;
}
