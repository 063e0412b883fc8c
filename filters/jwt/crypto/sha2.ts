// SHA-256, SHA-384 and SHA-512 (FIPS 180-4), one-shot and incremental.
//
// Hashers work on raw (pointer, length) ranges internally so HMAC, MGF1 and the signature
// schemes can hash without copying; the Uint8Array methods are thin wrappers. A hasher allocates
// its state once; `reset()` makes it reusable.

/** The hash functions JWS uses. */
export enum HashAlg {
  SHA256 = 0,
  SHA384 = 1,
  SHA512 = 2,
}

/** Digest length in bytes of `alg` (32, 48, 64), or 0 for an unknown value. */
export function hashLength(alg: HashAlg): i32 {
  if (alg == HashAlg.SHA256) return 32;
  if (alg == HashAlg.SHA384) return 48;
  if (alg == HashAlg.SHA512) return 64;
  return 0;
}

/** Common interface of the SHA-2 hashers (used by HMAC, MGF1 and the signature schemes). */
export class Hasher {
  /** Output length in bytes. */
  digestLength: i32 = 0;
  /** Block length in bytes (64 for SHA-256, 128 for SHA-384/512). */
  blockLength: i32 = 0;

  reset(): Hasher { return this; }
  /** Absorbs `len` bytes at `ptr`. */
  updatePtr(ptr: usize, len: i32): Hasher { return this; }
  /** Writes the digest (digestLength bytes) to `out`; the hasher must be reset before reuse. */
  finishInto(out: usize): void {}

  update(data: Uint8Array): Hasher {
    return this.updatePtr(data.dataStart, data.length);
  }

  /** Absorbs data[start, end) (clamped to the array). */
  updateRange(data: Uint8Array, start: i32, end: i32): Hasher {
    if (start < 0) start = 0;
    if (end > data.length) end = data.length;
    if (end <= start) return this;
    return this.updatePtr(data.dataStart + <usize>start, end - start);
  }

  /** Finishes and returns the digest; the hasher must be reset before reuse. */
  digest(): Uint8Array {
    const out = new Uint8Array(this.digestLength);
    this.finishInto(out.dataStart);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4 section 6.2)

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K256: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// Message schedule scratch (64 words), shared: hashing is never re-entered.
const W256: usize = memory.data(64 * 4, 16);

@inline function bswap32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}

/** Compresses one 64-byte block at `p` into the state at `h` (8 words). */
function compress256(h: usize, p: usize): void {
  const w = W256;
  for (let t = 0; t < 16; t++) {
    store<u32>(w + (<usize>t << 2), bswap32(load<u32>(p + (<usize>t << 2))));
  }
  for (let t = 16; t < 64; t++) {
    const q = w + (<usize>t << 2);
    const w15 = load<u32>(q - 60);
    const w2 = load<u32>(q - 8);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(q, load<u32>(q - 64) + s0 + load<u32>(q - 28) + s1);
  }
  let a = load<u32>(h, 0), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
  let e = load<u32>(h, 16), f = load<u32>(h, 20), g = load<u32>(h, 24), hh = load<u32>(h, 28);
  for (let t = 0; t < 64; t++) {
    const o = <usize>t << 2;
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = hh + S1 + ch + load<u32>(K256 + o) + load<u32>(w + o);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    hh = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(h, load<u32>(h, 0) + a, 0);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
  store<u32>(h, load<u32>(h, 20) + f, 20);
  store<u32>(h, load<u32>(h, 24) + g, 24);
  store<u32>(h, load<u32>(h, 28) + hh, 28);
}

export class Sha256 extends Hasher {
  private state: StaticArray<u32> = new StaticArray<u32>(8);
  private buf: StaticArray<u8> = new StaticArray<u8>(64);
  private bufLen: i32 = 0;
  private total: u64 = 0;

  constructor() {
    super();
    this.digestLength = 32;
    this.blockLength = 64;
    this.reset();
  }

  reset(): Hasher {
    const h = changetype<usize>(this.state);
    store<u32>(h, 0x6a09e667, 0); store<u32>(h, 0xbb67ae85, 4);
    store<u32>(h, 0x3c6ef372, 8); store<u32>(h, 0xa54ff53a, 12);
    store<u32>(h, 0x510e527f, 16); store<u32>(h, 0x9b05688c, 20);
    store<u32>(h, 0x1f83d9ab, 24); store<u32>(h, 0x5be0cd19, 28);
    this.bufLen = 0;
    this.total = 0;
    return this;
  }

  updatePtr(ptr: usize, len: i32): Hasher {
    if (len <= 0) return this;
    const h = changetype<usize>(this.state);
    const buf = changetype<usize>(this.buf);
    this.total += <u64>len;
    let off = 0;
    if (this.bufLen > 0) {
      const take = min(64 - this.bufLen, len);
      memory.copy(buf + <usize>this.bufLen, ptr, <usize>take);
      this.bufLen += take;
      off = take;
      if (this.bufLen < 64) return this;
      compress256(h, buf);
      this.bufLen = 0;
    }
    while (len - off >= 64) {
      compress256(h, ptr + <usize>off);
      off += 64;
    }
    if (off < len) {
      memory.copy(buf, ptr + <usize>off, <usize>(len - off));
      this.bufLen = len - off;
    }
    return this;
  }

  finishInto(out: usize): void {
    const h = changetype<usize>(this.state);
    const buf = changetype<usize>(this.buf);
    const bits = this.total << 3;
    let n = this.bufLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 56) {
      memory.fill(buf + <usize>n, 0, <usize>(64 - n));
      compress256(h, buf);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(56 - n));
    store<u32>(buf, bswap32(<u32>(bits >>> 32)), 56);
    store<u32>(buf, bswap32(<u32>bits), 60);
    compress256(h, buf);
    for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap32(load<u32>(h + (<usize>i << 2))));
    this.bufLen = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// SHA-512 and SHA-384 (FIPS 180-4 sections 6.4 and 6.5)

// The first 64 bits of the fractional parts of the cube roots of the first 80 primes.
const K512: usize = memory.data<u64>([
  0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
  0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
  0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
  0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
  0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
  0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
  0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
  0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
  0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
  0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
  0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
  0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
  0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
  0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
  0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
  0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
]);

const W512: usize = memory.data(80 * 8, 16);

@inline function bswap64(x: u64): u64 {
  const a = (x >> 8) & 0x00ff00ff00ff00ff;
  const b = (x & 0x00ff00ff00ff00ff) << 8;
  const c = a | b;
  const d = (c >> 16) & 0x0000ffff0000ffff;
  const e = (c & 0x0000ffff0000ffff) << 16;
  return rotr<u64>(d | e, 32);
}

function compress512(h: usize, p: usize): void {
  const w = W512;
  for (let t = 0; t < 16; t++) {
    store<u64>(w + (<usize>t << 3), bswap64(load<u64>(p + (<usize>t << 3))));
  }
  for (let t = 16; t < 80; t++) {
    const q = w + (<usize>t << 3);
    const w15 = load<u64>(q - 120);
    const w2 = load<u64>(q - 16);
    const s0 = rotr<u64>(w15, 1) ^ rotr<u64>(w15, 8) ^ (w15 >> 7);
    const s1 = rotr<u64>(w2, 19) ^ rotr<u64>(w2, 61) ^ (w2 >> 6);
    store<u64>(q, load<u64>(q - 128) + s0 + load<u64>(q - 56) + s1);
  }
  let a = load<u64>(h, 0), b = load<u64>(h, 8), c = load<u64>(h, 16), d = load<u64>(h, 24);
  let e = load<u64>(h, 32), f = load<u64>(h, 40), g = load<u64>(h, 48), hh = load<u64>(h, 56);
  for (let t = 0; t < 80; t++) {
    const o = <usize>t << 3;
    const S1 = rotr<u64>(e, 14) ^ rotr<u64>(e, 18) ^ rotr<u64>(e, 41);
    const ch = (e & f) ^ (~e & g);
    const t1 = hh + S1 + ch + load<u64>(K512 + o) + load<u64>(w + o);
    const S0 = rotr<u64>(a, 28) ^ rotr<u64>(a, 34) ^ rotr<u64>(a, 39);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    hh = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  store<u64>(h, load<u64>(h, 0) + a, 0);
  store<u64>(h, load<u64>(h, 8) + b, 8);
  store<u64>(h, load<u64>(h, 16) + c, 16);
  store<u64>(h, load<u64>(h, 24) + d, 24);
  store<u64>(h, load<u64>(h, 32) + e, 32);
  store<u64>(h, load<u64>(h, 40) + f, 40);
  store<u64>(h, load<u64>(h, 48) + g, 48);
  store<u64>(h, load<u64>(h, 56) + hh, 56);
}

/** SHA-512, or SHA-384 when constructed with `is384 = true`. */
export class Sha512 extends Hasher {
  private state: StaticArray<u64> = new StaticArray<u64>(8);
  private buf: StaticArray<u8> = new StaticArray<u8>(128);
  private bufLen: i32 = 0;
  private total: u64 = 0;
  private is384: bool;

  constructor(is384: bool = false) {
    super();
    this.is384 = is384;
    this.digestLength = is384 ? 48 : 64;
    this.blockLength = 128;
    this.reset();
  }

  reset(): Hasher {
    const h = changetype<usize>(this.state);
    if (this.is384) {
      store<u64>(h, 0xcbbb9d5dc1059ed8, 0); store<u64>(h, 0x629a292a367cd507, 8);
      store<u64>(h, 0x9159015a3070dd17, 16); store<u64>(h, 0x152fecd8f70e5939, 24);
      store<u64>(h, 0x67332667ffc00b31, 32); store<u64>(h, 0x8eb44a8768581511, 40);
      store<u64>(h, 0xdb0c2e0d64f98fa7, 48); store<u64>(h, 0x47b5481dbefa4fa4, 56);
    } else {
      store<u64>(h, 0x6a09e667f3bcc908, 0); store<u64>(h, 0xbb67ae8584caa73b, 8);
      store<u64>(h, 0x3c6ef372fe94f82b, 16); store<u64>(h, 0xa54ff53a5f1d36f1, 24);
      store<u64>(h, 0x510e527fade682d1, 32); store<u64>(h, 0x9b05688c2b3e6c1f, 40);
      store<u64>(h, 0x1f83d9abfb41bd6b, 48); store<u64>(h, 0x5be0cd19137e2179, 56);
    }
    this.bufLen = 0;
    this.total = 0;
    return this;
  }

  updatePtr(ptr: usize, len: i32): Hasher {
    if (len <= 0) return this;
    const h = changetype<usize>(this.state);
    const buf = changetype<usize>(this.buf);
    this.total += <u64>len;
    let off = 0;
    if (this.bufLen > 0) {
      const take = min(128 - this.bufLen, len);
      memory.copy(buf + <usize>this.bufLen, ptr, <usize>take);
      this.bufLen += take;
      off = take;
      if (this.bufLen < 128) return this;
      compress512(h, buf);
      this.bufLen = 0;
    }
    while (len - off >= 128) {
      compress512(h, ptr + <usize>off);
      off += 128;
    }
    if (off < len) {
      memory.copy(buf, ptr + <usize>off, <usize>(len - off));
      this.bufLen = len - off;
    }
    return this;
  }

  finishInto(out: usize): void {
    const h = changetype<usize>(this.state);
    const buf = changetype<usize>(this.buf);
    // Message length in bits as a 128-bit big-endian number; lengths here fit in 64 bits.
    const bits = this.total << 3;
    let n = this.bufLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 112) {
      memory.fill(buf + <usize>n, 0, <usize>(128 - n));
      compress512(h, buf);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(120 - n));
    store<u64>(buf, bswap64(bits), 120);
    compress512(h, buf);
    const words = this.is384 ? 6 : 8;
    for (let i = 0; i < words; i++) store<u64>(out + (<usize>i << 3), bswap64(load<u64>(h + (<usize>i << 3))));
    this.bufLen = 0;
  }
}

/** A new hasher for `alg`, or null for an unknown value. */
export function newHasher(alg: HashAlg): Hasher | null {
  if (alg == HashAlg.SHA256) return new Sha256();
  if (alg == HashAlg.SHA384) return new Sha512(true);
  if (alg == HashAlg.SHA512) return new Sha512(false);
  return null;
}

// Reusable hashers for the one-shot functions and the signature schemes (never re-entered).
let shared256: Sha256 | null = null;
let shared384: Sha512 | null = null;
let shared512: Sha512 | null = null;

/** A shared, freshly reset hasher for `alg` (null for an unknown value). Do not keep it. */
export function sharedHasher(alg: HashAlg): Hasher | null {
  if (alg == HashAlg.SHA256) {
    let h = shared256;
    if (h === null) { h = new Sha256(); shared256 = h; }
    return h.reset();
  }
  if (alg == HashAlg.SHA384) {
    let h = shared384;
    if (h === null) { h = new Sha512(true); shared384 = h; }
    return h.reset();
  }
  if (alg == HashAlg.SHA512) {
    let h = shared512;
    if (h === null) { h = new Sha512(false); shared512 = h; }
    return h.reset();
  }
  return null;
}

/** Hashes `len` bytes at `ptr` with `alg` into `out` (hashLength(alg) bytes). */
export function hashPtrInto(alg: HashAlg, ptr: usize, len: i32, out: usize): void {
  const h = sharedHasher(alg);
  if (h === null) return;
  h.updatePtr(ptr, len);
  h.finishInto(out);
}

/** One-shot digest of `data` with `alg` (empty array for an unknown alg). */
export function hash(alg: HashAlg, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(hashLength(alg));
  if (out.length == 0) return out;
  hashPtrInto(alg, data.dataStart, data.length, out.dataStart);
  return out;
}

export function sha256(data: Uint8Array): Uint8Array { return hash(HashAlg.SHA256, data); }
export function sha384(data: Uint8Array): Uint8Array { return hash(HashAlg.SHA384, data); }
export function sha512(data: Uint8Array): Uint8Array { return hash(HashAlg.SHA512, data); }
