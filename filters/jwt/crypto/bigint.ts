// Fixed-width big-integer arithmetic for signature verification.
//
// Numbers are little-endian arrays of 29-bit limbs, each in a 64-bit slot (so limb products,
// < 2^58, can be summed lazily without carry handling). This file holds:
//  - byte <-> limb conversion and comparisons shared with the prime-field code
//    (fields.generated.ts uses the same limb format with a fixed limb count per prime);
//  - `MontModulus`: Montgomery arithmetic modulo a runtime-sized odd modulus (RSA, 512 to
//    8192 bits) and public-exponent modular exponentiation.
//
// All values handled here are public (keys, signatures), so the code may branch on them; none of
// it is meant for secret data.

export const LIMB_BITS: i32 = 29;
export const LIMB_MASK: u64 = (<u64>1 << 29) - 1;

/** Largest RSA modulus accepted, in bits. */
export const MAX_MODULUS_BITS: i32 = 8192;
/** Smallest RSA modulus accepted, in bits (policy for weaker keys belongs to the caller). */
export const MIN_MODULUS_BITS: i32 = 512;

/** Limbs (a multiple of 4, for the 4-row kernels) needed for a modulus of `bits` bits. */
function limbsFor(bits: i32): i32 {
  const n = (bits + LIMB_BITS - 1) / LIMB_BITS;
  return (n + 3) & ~3;
}

const MAX_LIMBS: i32 = ((MAX_MODULUS_BITS + 28) / 29 + 3) & ~3;

// ---------------------------------------------------------------------------------------------
// Byte and limb helpers (shared with the field code)

/**
 * Reads the big-endian unsigned integer of `len` bytes at `src` into `limbs` limbs at `dst`.
 * Returns false (leaving dst partly written) when the value does not fit.
 */
export function limbsFromBytes(dst: usize, limbs: i32, src: usize, len: i32): bool {
  let acc: u64 = 0;
  let bits: i32 = 0;
  let k = 0;
  for (let i = len - 1; i >= 0; i--) {
    acc |= <u64>load<u8>(src + <usize>i) << <u64>bits;
    bits += 8;
    if (bits >= LIMB_BITS) {
      if (k >= limbs) {
        if ((acc & LIMB_MASK) != 0) return false;
      } else {
        store<u64>(dst + (<usize>k << 3), acc & LIMB_MASK);
      }
      k++;
      acc >>= <u64>LIMB_BITS;
      bits -= LIMB_BITS;
    }
  }
  if (bits > 0) {
    if (k >= limbs) {
      if (acc != 0) return false;
    } else {
      store<u64>(dst + (<usize>k << 3), acc);
    }
    k++;
  }
  for (; k < limbs; k++) store<u64>(dst + (<usize>k << 3), 0);
  return true;
}

/**
 * Writes the value of `limbs` normalized limbs at `src` as `len` big-endian bytes at `dst`.
 * Returns false when the value needs more than `len` bytes.
 */
export function limbsToBytes(dst: usize, len: i32, src: usize, limbs: i32): bool {
  let acc: u64 = 0;
  let bits: i32 = 0;
  let k = 0;
  for (let i = len - 1; i >= 0; i--) {
    if (bits < 8) {
      if (k < limbs) acc |= load<u64>(src + (<usize>k << 3)) << <u64>bits;
      k++;
      bits += LIMB_BITS;
    }
    store<u8>(dst + <usize>i, <u8>acc);
    acc >>= 8;
    bits -= 8;
  }
  if (acc != 0) return false;
  for (; k < limbs; k++) if (load<u64>(src + (<usize>k << 3)) != 0) return false;
  return true;
}

/** Compares two `limbs`-limb normalized numbers: -1, 0 or 1. */
export function compareLimbs(a: usize, b: usize, limbs: i32): i32 {
  for (let i = limbs - 1; i >= 0; i--) {
    const x = load<u64>(a + (<usize>i << 3)), y = load<u64>(b + (<usize>i << 3));
    if (x != y) return x > y ? 1 : -1;
  }
  return 0;
}

/** True when all `limbs` limbs at `a` are zero. */
export function isZeroLimbs(a: usize, limbs: i32): bool {
  for (let i = 0; i < limbs; i++) if (load<u64>(a + (<usize>i << 3)) != 0) return false;
  return true;
}

/** Number of significant bits of the big-endian number at `p` (`len` bytes). */
export function bitLengthBytes(p: usize, len: i32): i32 {
  for (let i = 0; i < len; i++) {
    const b = load<u8>(p + <usize>i);
    if (b != 0) return (len - i - 1) * 8 + (32 - clz<i32>(<i32>b));
  }
  return 0;
}

/** Index of the first non-zero byte of `a` (a.length when all are zero). */
export function firstNonZero(a: Uint8Array): i32 {
  let i = 0;
  while (i < a.length && a[i] == 0) i++;
  return i;
}

// ---------------------------------------------------------------------------------------------
// Montgomery arithmetic modulo a runtime-sized odd modulus

// Scratch shared by every modulus (the filter is single-threaded and these never re-enter).
const T = new StaticArray<u64>(2 * MAX_LIMBS + 8);
const U = new StaticArray<i64>(2 * MAX_LIMBS + 8);
const X1 = new StaticArray<u64>(MAX_LIMBS + 4);
const X2 = new StaticArray<u64>(MAX_LIMBS + 4);
const X3 = new StaticArray<u64>(MAX_LIMBS + 4);
const MV = new StaticArray<u64>(8);

@inline function ld(p: usize, i: i32): u64 { return load<u64>(p + (<usize>i << 3)); }
@inline function st(p: usize, i: i32, v: u64): void { store<u64>(p + (<usize>i << 3), v); }

/** Propagates carries through t[from, to) into t[to]; afterwards those limbs are < 2^29. */
function normalize(t: usize, from: i32, to: i32): void {
  let c: u64 = 0;
  for (let j = from; j < to; j++) {
    const v = ld(t, j) + c;
    st(t, j, v & LIMB_MASK);
    c = v >> <u64>LIMB_BITS;
  }
  st(t, to, ld(t, to) + c);
}

/**
 * Signed carry propagation over the i64 limbs p[from, to): each becomes < 2^29 (non-negative) and
 * the carry is added to p[to], which keeps the sign. A `from` below 0 is clamped.
 */
function carryRange(p: usize, from: i32, to: i32): void {
  let c: i64 = 0;
  for (let j = max(from, 0); j < to; j++) {
    const o = p + (<usize>j << 3);
    const v = load<i64>(o) + c;
    store<i64>(o, v & <i64>LIMB_MASK);
    c = v >> LIMB_BITS;
  }
  const o = p + (<usize>to << 3);
  store<i64>(o, load<i64>(o) + c);
}

/** Folds the limb p[top+3] into p[top+2] (as p[top+3] * 2^29) and clears it. */
@inline function foldTop(p: usize, top: i32): void {
  const o = p + (<usize>(top + 3) << 3);
  const v = load<i64>(o);
  if (v != 0) {
    store<i64>(o - 8, load<i64>(o - 8) + (v << LIMB_BITS));
    store<i64>(o, 0);
  }
}

/**
 * A modulus prepared for Montgomery arithmetic: R = 2^(29 * limbs). Create with
 * `MontModulus.fromBytes`; keep it to reuse (a JWT filter can cache one per key).
 */
export class MontModulus {
  /** Limb count (multiple of 4); numbers mod n use this many limbs. */
  readonly limbs: i32;
  /** Modulus size in bits and in bytes (big-endian, without leading zeros). */
  readonly bits: i32;
  readonly bytes: i32;
  /** The modulus, `limbs` limbs. */
  readonly n: StaticArray<u64>;
  /** -n^-1 mod 2^29. */
  readonly n0: u64;
  /** Index of the modulus' most significant non-zero limb. */
  private top: i32;
  private topApprox: f64;

  private constructor(limbs: i32, bits: i32, n: StaticArray<u64>) {
    this.limbs = limbs;
    this.bits = bits;
    this.bytes = (bits + 7) >> 3;
    this.n = n;
    const np = changetype<usize>(n);
    // Newton iteration for n^-1 mod 2^64 (each step doubles the correct low bits).
    const n0 = ld(np, 0);
    let inv: u64 = n0; // correct to 3 bits for odd n
    for (let i = 0; i < 5; i++) inv *= 2 - n0 * inv;
    this.n0 = (0 - inv) & LIMB_MASK;
    let top = limbs - 1;
    while (top > 0 && ld(np, top) == 0) top--;
    this.top = top;
    // n's leading three limbs as a float, scaled by 2^(-29 * (top - 1)), for quotient estimates.
    this.topApprox = <f64>ld(np, top) * 536870912.0 + <f64>ld(np, top - 1) + <f64>ld(np, top - 2) / 536870912.0;
  }

  /**
   * Prepares the modulus given as big-endian bytes (leading zero bytes are ignored). Null when it
   * is even, or outside [MIN_MODULUS_BITS, MAX_MODULUS_BITS].
   */
  static fromBytes(be: Uint8Array): MontModulus | null {
    const start = firstNonZero(be);
    const len = be.length - start;
    if (len == 0) return null;
    const bits = bitLengthBytes(be.dataStart + <usize>start, len);
    if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) return null;
    if ((be[be.length - 1] & 1) == 0) return null;
    const limbs = limbsFor(bits);
    const n = new StaticArray<u64>(limbs);
    if (!limbsFromBytes(changetype<usize>(n), limbs, be.dataStart + <usize>start, len)) return null;
    return new MontModulus(limbs, bits, n);
  }

  /**
   * r = a*b/R mod n for a, b < n (limbs at the pointers); r may alias a or b. Four rows of the
   * schoolbook product and of the reduction are fused per pass over the accumulator, which is
   * normalized every 16 rows so no 64-bit slot overflows.
   */
  mul(r: usize, a: usize, b: usize): void {
    const N = this.limbs;
    const n = changetype<usize>(this.n);
    const n0 = this.n0;
    const t = changetype<usize>(T);
    memory.fill(t, 0, <usize>(2 * N + 4) << 3);
    const b0 = ld(b, 0), b1 = ld(b, 1), b2 = ld(b, 2), b3 = ld(b, 3);
    const q0 = ld(n, 0), q1 = ld(n, 1), q2 = ld(n, 2), q3 = ld(n, 3);
    for (let i = 0; i < N; i += 4) {
      const ti = t + (<usize>i << 3);
      const x0 = ld(a, i), x1 = ld(a, i + 1), x2 = ld(a, i + 2), x3 = ld(a, i + 3);
      // The four Montgomery factors, each from its column once the earlier rows are in.
      let u = load<u64>(ti) + x0 * b0;
      const m0 = (u * n0) & LIMB_MASK;
      let c = (u + m0 * q0) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 8) + c + x0 * b1 + m0 * q1 + x1 * b0;
      const m1 = (u * n0) & LIMB_MASK;
      c = (u + m1 * q0) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 16) + c + x0 * b2 + m0 * q2 + x1 * b1 + m1 * q1 + x2 * b0;
      const m2 = (u * n0) & LIMB_MASK;
      c = (u + m2 * q0) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 24) + c + x0 * b3 + m0 * q3 + x1 * b2 + m1 * q2 + x2 * b1 + m2 * q1 + x3 * b0;
      const m3 = (u * n0) & LIMB_MASK;
      c = (u + m3 * q0) >> <u64>LIMB_BITS;
      let pb1 = b3, pn1 = q3, pb2 = b2, pn2 = q2, pb3 = b1, pn3 = q1;
      for (let j = 4; j < N; j++) {
        const o = ti + (<usize>j << 3);
        const bj = ld(b, j), nj = ld(n, j);
        store<u64>(o, load<u64>(o) + x0 * bj + m0 * nj + x1 * pb1 + m1 * pn1 + x2 * pb2 + m2 * pn2 + x3 * pb3 + m3 * pn3);
        pb3 = pb2; pn3 = pn2; pb2 = pb1; pn2 = pn1; pb1 = bj; pn1 = nj;
      }
      let o = ti + (<usize>N << 3);
      store<u64>(o, load<u64>(o) + x1 * pb1 + m1 * pn1 + x2 * pb2 + m2 * pn2 + x3 * pb3 + m3 * pn3);
      o += 8;
      store<u64>(o, load<u64>(o) + x2 * pb1 + m2 * pn1 + x3 * pb2 + m3 * pn2);
      o += 8;
      store<u64>(o, load<u64>(o) + x3 * pb1 + m3 * pn1);
      store<u64>(ti + 32, load<u64>(ti + 32) + c);
      if ((i & 15) == 12) normalize(t, i + 4, i + N + 3);
    }
    this.finish(r, t);
  }

  /** r = a*a/R mod n for a < n; r may alias a. */
  sqr(r: usize, a: usize): void {
    const N = this.limbs;
    const n = changetype<usize>(this.n);
    const n0 = this.n0;
    const t = changetype<usize>(T);
    memory.fill(t, 0, <usize>(2 * N + 4) << 3);
    // 1. Off-diagonal products a_i*a_j (i < j), four rows per pass: T[i+c] gets
    //    a_i a_c + a_(i+1) a_(c-1) + a_(i+2) a_(c-2) + a_(i+3) a_(c-3), each term only where its
    //    row index is below its column index.
    for (let i = 0; i < N; i += 4) {
      const x0 = ld(a, i), x1 = ld(a, i + 1), x2 = ld(a, i + 2), x3 = ld(a, i + 3);
      const ti = t + (<usize>i << 3);
      if (i + 4 < N) {
        // Head: columns i+1 .. i+6, where not all four rows have started yet.
        const a1 = ld(a, i + 4), a2 = ld(a, i + 5), a3 = ld(a, i + 6);
        let o = ti + (<usize>(i + 1) << 3);
        store<u64>(o, load<u64>(o) + x0 * x1);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * x2);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * x3 + x1 * x2);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * a1 + x1 * x3);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * a2 + x1 * a1 + x2 * x3);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * a3 + x1 * a2 + x2 * a1);
      } else {
        // The last four rows: only their own pairs.
        let o = ti + (<usize>(i + 1) << 3);
        store<u64>(o, load<u64>(o) + x0 * x1);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * x2);
        o += 8;
        store<u64>(o, load<u64>(o) + x0 * x3 + x1 * x2);
        o += 8;
        store<u64>(o, load<u64>(o) + x1 * x3);
        o += 8;
        store<u64>(o, load<u64>(o) + x2 * x3);
      }
      if (i + 7 < N) {
        for (let c = i + 7; c < N; c++) {
          const o = ti + (<usize>c << 3);
          const q = a + (<usize>c << 3);
          store<u64>(o, load<u64>(o) + x0 * load<u64>(q) + x1 * load<u64>(q - 8) + x2 * load<u64>(q - 16) + x3 * load<u64>(q - 24));
        }
        // Tail: c = N .. N+2 (rows 1..3 only).
        const p1 = ld(a, N - 1), p2 = ld(a, N - 2), p3 = ld(a, N - 3);
        let o = ti + (<usize>N << 3);
        store<u64>(o, load<u64>(o) + x1 * p1 + x2 * p2 + x3 * p3);
        o += 8;
        store<u64>(o, load<u64>(o) + x2 * p1 + x3 * p2);
        o += 8;
        store<u64>(o, load<u64>(o) + x3 * p1);
      }
      // A column gets at most N/2 products (< 2^58 each): normalize only for N > 120.
      if (N > 120 && (i & 15) == 12) normalize(t, 0, 2 * N);
    }
    // 2. Double, add the squares a_i^2, normalize.
    //    One pass with two carry chains: c1 normalizes the triangle, c2 carries the doubled sum.
    let c: u64 = 0;
    let c1: u64 = 0;
    for (let i = 0; i < N; i++) {
      const ai = ld(a, i);
      const sq = ai * ai;
      let v = ld(t, 2 * i) + c1;
      c1 = v >> <u64>LIMB_BITS;
      const lo = ((v & LIMB_MASK) << 1) + (sq & LIMB_MASK) + c;
      st(t, 2 * i, lo & LIMB_MASK);
      v = ld(t, 2 * i + 1) + c1;
      c1 = v >> <u64>LIMB_BITS;
      const hi = ((v & LIMB_MASK) << 1) + (sq >> <u64>LIMB_BITS) + (lo >> <u64>LIMB_BITS);
      st(t, 2 * i + 1, hi & LIMB_MASK);
      c = hi >> <u64>LIMB_BITS;
    }
    st(t, 2 * N, c + (c1 << 1));
    // 3. Montgomery reduction, eight rows per pass over the accumulator (four for a last block
    //    when N is not a multiple of 8). The modulus limbs are loaded where needed rather than
    //    rotated through locals, which keeps the inner loop at about three instructions per
    //    limb product.
    const mv = changetype<usize>(MV);
    let i = 0;
    for (; i + 8 <= N; i += 8) {
      const ti = t + (<usize>i << 3);
      // The eight factors m_r, each from its column once the earlier rows are in (unrolled).
      const n1 = ld(n, 1), n2 = ld(n, 2), n3 = ld(n, 3), n4 = ld(n, 4), n5 = ld(n, 5), n6 = ld(n, 6), n7 = ld(n, 7);
      const nz = ld(n, 0);
      let u = load<u64>(ti, 0);
      const m0 = (u * n0) & LIMB_MASK;
      let c8 = (u + m0 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 8) + c8 + m0 * n1;
      const m1 = (u * n0) & LIMB_MASK;
      c8 = (u + m1 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 16) + c8 + m0 * n2 + m1 * n1;
      const m2 = (u * n0) & LIMB_MASK;
      c8 = (u + m2 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 24) + c8 + m0 * n3 + m1 * n2 + m2 * n1;
      const m3 = (u * n0) & LIMB_MASK;
      c8 = (u + m3 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 32) + c8 + m0 * n4 + m1 * n3 + m2 * n2 + m3 * n1;
      const m4 = (u * n0) & LIMB_MASK;
      c8 = (u + m4 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 40) + c8 + m0 * n5 + m1 * n4 + m2 * n3 + m3 * n2 + m4 * n1;
      const m5 = (u * n0) & LIMB_MASK;
      c8 = (u + m5 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 48) + c8 + m0 * n6 + m1 * n5 + m2 * n4 + m3 * n3 + m4 * n2 + m5 * n1;
      const m6 = (u * n0) & LIMB_MASK;
      c8 = (u + m6 * nz) >> <u64>LIMB_BITS;
      u = load<u64>(ti, 56) + c8 + m0 * n7 + m1 * n6 + m2 * n5 + m3 * n4 + m4 * n3 + m5 * n2 + m6 * n1;
      const m7 = (u * n0) & LIMB_MASK;
      c8 = (u + m7 * nz) >> <u64>LIMB_BITS;
      for (let j = 8; j < N; j++) {
        const o = ti + (<usize>j << 3);
        const q = n + (<usize>j << 3);
        store<u64>(o, load<u64>(o) + m0 * load<u64>(q) + m1 * load<u64>(q - 8) + m2 * load<u64>(q - 16) + m3 * load<u64>(q - 24) +
          m4 * load<u64>(q - 32) + m5 * load<u64>(q - 40) + m6 * load<u64>(q - 48) + m7 * load<u64>(q - 56));
      }
      // Columns N .. N+6 get the rows whose products reach past the top limb (unrolled).
      const qn = n + (<usize>N << 3);
      const l1 = load<u64>(qn - 8), l2 = load<u64>(qn - 16), l3 = load<u64>(qn - 24), l4 = load<u64>(qn - 32), l5 = load<u64>(qn - 40), l6 = load<u64>(qn - 48), l7 = load<u64>(qn - 56);
      let o = ti + (<usize>N << 3);
      store<u64>(o, load<u64>(o) + m1 * l1 + m2 * l2 + m3 * l3 + m4 * l4 + m5 * l5 + m6 * l6 + m7 * l7);
      o += 8;
      store<u64>(o, load<u64>(o) + m2 * l1 + m3 * l2 + m4 * l3 + m5 * l4 + m6 * l5 + m7 * l6);
      o += 8;
      store<u64>(o, load<u64>(o) + m3 * l1 + m4 * l2 + m5 * l3 + m6 * l4 + m7 * l5);
      o += 8;
      store<u64>(o, load<u64>(o) + m4 * l1 + m5 * l2 + m6 * l3 + m7 * l4);
      o += 8;
      store<u64>(o, load<u64>(o) + m5 * l1 + m6 * l2 + m7 * l3);
      o += 8;
      store<u64>(o, load<u64>(o) + m6 * l1 + m7 * l2);
      o += 8;
      store<u64>(o, load<u64>(o) + m7 * l1);
      store<u64>(ti + 64, load<u64>(ti + 64) + c8);
      // Up to 8 products per column per pass: normalize every 48 rows.
      if (i % 48 == 40) normalize(t, i + 8, 2 * N);
    }
    if (i < N) {
      // last four rows (N = 8k + 4)
      const ti = t + (<usize>i << 3);
      c = 0;
      for (let r = 0; r < 4; r++) {
        let u = ld(ti, r) + c;
        for (let k = 0; k < r; k++) u += ld(mv, k) * ld(n, r - k);
        const m = (u * n0) & LIMB_MASK;
        st(mv, r, m);
        c = (u + m * ld(n, 0)) >> <u64>LIMB_BITS;
      }
      const m0 = ld(mv, 0), m1 = ld(mv, 1), m2 = ld(mv, 2), m3 = ld(mv, 3);
      for (let j = 4; j < N; j++) {
        const o = ti + (<usize>j << 3);
        const q = n + (<usize>j << 3);
        store<u64>(o, load<u64>(o) + m0 * load<u64>(q) + m1 * load<u64>(q - 8) + m2 * load<u64>(q - 16) + m3 * load<u64>(q - 24));
      }
      for (let j = N; j < N + 3; j++) {
        let v: u64 = 0;
        for (let r = j - N + 1; r < 4; r++) v += ld(mv, r) * ld(n, j - r);
        st(ti, j, ld(ti, j) + v);
      }
      st(ti, 4, ld(ti, 4) + c);
    }
    this.finish(r, t);
  }

  /** Moves the reduced value t[N, 2N] (below 2n) to r, subtracting n once if needed. */
  private finish(r: usize, t: usize): void {
    const N = this.limbs;
    const n = changetype<usize>(this.n);
    let c: u64 = 0;
    for (let j = 0; j < N; j++) {
      const v = ld(t, N + j) + c;
      st(r, j, v & LIMB_MASK);
      c = v >> <u64>LIMB_BITS;
    }
    c += ld(t, 2 * N);
    if (c != 0 || compareLimbs(r, n, N) >= 0) {
      let br: i64 = 0;
      for (let j = 0; j < N; j++) {
        const v = <i64>ld(r, j) - <i64>ld(n, j) + br;
        st(r, j, <u64>v & LIMB_MASK);
        br = v >> LIMB_BITS;
      }
    }
  }

  /**
   * r = x*R mod n for x < n, by long division: N steps of "shift left one limb, subtract q*n",
   * the quotient digit q estimated from the leading limbs in floating point. The window slides
   * down a buffer instead of moving limbs, and subtraction is lazy (no carries: limbs are
   * normalized every 8 steps, the leading ones before each estimate), two steps per pass, so the
   * work is passes of independent multiply-subtracts. An estimate off by one only leaves the
   * running value in [-n, 2n); the next estimate absorbs that and the end corrects it. Window
   * limbs: 0..top+2 (top+2 holds the sign and what a value up to 2n needs after a shift).
   */
  toMont(r: usize, x: usize): void {
    const N = this.limbs;
    const n = changetype<usize>(this.n);
    const u = changetype<usize>(U);
    const top = this.top;
    memory.fill(u, 0, <usize>(2 * N + 6) << 3);
    for (let j = 0; j <= top; j++) store<i64>(u + (<usize>(N + j) << 3), <i64>ld(x, j));
    // Two steps per pass: the first quotient digit is applied to the leading limbs at once (the
    // second estimate needs them), and to the rest together with the second digit.
    for (let step = 1; step <= N; step += 2) {
      const w1 = u + (<usize>(N - step) << 3); // window u[N-step ..]
      const q1 = this.estimate(w1);
      for (let j = top - 3; j <= top; j++) {
        const o = w1 + (<usize>j << 3);
        store<i64>(o, load<i64>(o) - q1 * <i64>ld(n, j));
      }
      const w2 = w1 - 8;
      const q2 = this.estimate(w2);
      store<i64>(w2, load<i64>(w2) - q2 * <i64>ld(n, 0));
      for (let j = 1; j <= top - 3; j++) {
        const o = w2 + (<usize>j << 3);
        const q = n + (<usize>j << 3);
        store<i64>(o, load<i64>(o) - q2 * <i64>load<u64>(q) - q1 * <i64>load<u64>(q - 8));
      }
      for (let j = top - 2; j <= top; j++) {
        const o = w2 + (<usize>j << 3);
        store<i64>(o, load<i64>(o) - q2 * <i64>ld(n, j));
      }
      if (((step + 1) & 7) == 0) carryRange(w2, 0, top + 2);
    }
    // Normalize fully, then bring the value (in [-n, 2n)) into [0, n).
    foldTop(u, top);
    carryRange(u, 0, top + 2);
    const hi = u + (<usize>(top + 1) << 3);
    for (let guard = 0; guard < 8; guard++) {
      const sign = load<i64>(hi + 8);
      if (sign < 0) { this.addSubN(u, top, 1); continue; }
      if (sign > 0 || load<i64>(hi) > 0 || compareLimbs(u, n, top + 1) >= 0) { this.addSubN(u, top, -1); continue; }
      break;
    }
    for (let j = 0; j < N; j++) st(r, j, <u64>load<i64>(u + (<usize>j << 3)));
  }

  /**
   * Quotient digit for the window at w (value below about 2n * 2^29): folds the limb that slid
   * above the window, normalizes the leading limbs (the lower limbs' pending carries are too
   * small to matter) and divides their value by the modulus' leading limbs in floating point.
   */
  private estimate(w: usize): i64 {
    const top = this.top;
    foldTop(w, top);
    carryRange(w, top - 3, top + 2);
    const num = <f64>load<i64>(w + (<usize>(top + 2) << 3)) * 1.5474250491067253e26 + // 2^87
      <f64>load<i64>(w + (<usize>(top + 1) << 3)) * 288230376151711744.0 + // 2^58
      <f64>load<i64>(w + (<usize>top << 3)) * 536870912.0 +
      <f64>load<i64>(w + (<usize>(top - 1) << 3)) +
      <f64>load<i64>(w + (<usize>(top - 2) << 3)) / 536870912.0;
    return <i64>Math.floor(num / this.topApprox);
  }

  /** u += sign * n over the window limbs 0..top+2 (normalized). */
  private addSubN(u: usize, top: i32, sign: i64): void {
    const n = changetype<usize>(this.n);
    for (let j = 0; j <= top; j++) {
      const o = u + (<usize>j << 3);
      store<i64>(o, load<i64>(o) + sign * <i64>ld(n, j));
    }
    carryRange(u, 0, top + 2);
  }

  /**
   * Computes s^e mod n for s given as `len` big-endian bytes at `sp`, writing the result as
   * `this.bytes` big-endian bytes to `out`. `e` is the big-endian exponent without leading zeros
   * (callers validate it: odd, > 1). Returns false when s >= n.
   */
  powPublic(out: usize, sp: usize, len: i32, e: Uint8Array): bool {
    const N = this.limbs;
    const s = changetype<usize>(X1);
    const x = changetype<usize>(X2);
    const acc = changetype<usize>(X3);
    if (!limbsFromBytes(s, N, sp, len)) return false;
    if (compareLimbs(s, changetype<usize>(this.n), N) >= 0) return false;
    this.toMont(x, s); // x = s*R
    memory.copy(acc, x, <usize>N << 3);
    const ebits = bitLengthBytes(e.dataStart, e.length);
    // Left to right over the bits below the leading one. The last step multiplies by plain s,
    // which also leaves the Montgomery domain: (s^(e-1)*R) * s / R = s^e (e is odd).
    for (let i = ebits - 2; i >= 0; i--) {
      this.sqr(acc, acc);
      const bit = (e[e.length - 1 - (i >> 3)] >> <u8>(i & 7)) & 1;
      if (bit != 0) this.mul(acc, acc, i == 0 ? s : x);
    }
    if (ebits == 1 || (e[e.length - 1] & 1) == 0) {
      // Not reached for validated exponents; convert out of Montgomery form for completeness.
      memory.fill(x, 0, <usize>N << 3);
      st(x, 0, 1);
      this.mul(acc, acc, x);
    }
    return limbsToBytes(out, this.bytes, acc, N);
  }
}
