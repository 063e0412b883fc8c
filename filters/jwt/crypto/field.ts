// Prime-field wrappers over the generated kernels (fields.generated.ts), and helpers written once
// for all of them (generic functions: AssemblyScript instantiates one copy per field class, with
// direct, inlinable calls).
//
// An element is `limbs` 29-bit limbs in 8-byte slots at a pointer, normalized, in Montgomery
// form, kept in [0, 2p), or in [0, 2^(e+2)) for the "relaxed" P-256 and P-384 base fields
// (p = 2^e - K; see gen/fields.mjs), whose addition and subtraction then need one carry chain
// instead of two. Use `canon` before comparing or encoding, `isZero` for a zero test.
import {
  P256_LIMBS, P256_BYTES, P256_P, P256_R2, P256_ONE, P256_R3, P256_NPRIME, P256_P_BYTES, P256_PM2_BYTES, p256_mul, p256_sqr, p256_add, p256_sub, p256_canon, p256_isZero,
  N256_LIMBS, N256_BYTES, N256_P, N256_R2, N256_ONE, N256_R3, N256_NPRIME, N256_P_BYTES, N256_PM2_BYTES, n256_mul, n256_sqr, n256_add, n256_sub, n256_canon, n256_isZero,
  P384_LIMBS, P384_BYTES, P384_P, P384_R2, P384_ONE, P384_R3, P384_NPRIME, P384_P_BYTES, P384_PM2_BYTES, p384_mul, p384_sqr, p384_add, p384_sub, p384_canon, p384_isZero,
  N384_LIMBS, N384_BYTES, N384_P, N384_R2, N384_ONE, N384_R3, N384_NPRIME, N384_P_BYTES, N384_PM2_BYTES, n384_mul, n384_sqr, n384_add, n384_sub, n384_canon, n384_isZero,
  F25519_LIMBS, F25519_BYTES, F25519_P, F25519_R2, F25519_ONE, F25519_R3, F25519_NPRIME, F25519_P_BYTES, F25519_PM2_BYTES, f25519_mul, f25519_sqr, f25519_add, f25519_sub, f25519_canon, f25519_isZero,
  L25519_LIMBS, L25519_BYTES, L25519_P, L25519_R2, L25519_ONE, L25519_R3, L25519_NPRIME, L25519_P_BYTES, L25519_PM2_BYTES, l25519_mul, l25519_sqr, l25519_add, l25519_sub, l25519_canon, l25519_isZero, l25519_redcWide,
} from "./fields.generated";
import { compareLimbs, limbsFromBytes, limbsToBytes } from "./bigint";

/** The largest limb count of any field here (P-384). */
export const MAX_FIELD_LIMBS: i32 = 14;

// ---------------------------------------------------------------------------------------------
// Field classes: one per prime, same members.

export class FieldP256 {
  readonly limbs: i32 = P256_LIMBS;
  readonly bytes: i32 = P256_BYTES;
  readonly p: usize = P256_P;
  readonly r2: usize = P256_R2;
  readonly one: usize = P256_ONE;
  readonly r3: usize = P256_R3;
  readonly nprime: i64 = P256_NPRIME;
  readonly pBytes: usize = P256_P_BYTES;
  readonly pm2Bytes: usize = P256_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { p256_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { p256_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { p256_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { p256_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { p256_canon(r, a); }
  @inline isZero(a: usize): bool { return p256_isZero(a); }
}

export class FieldN256 {
  readonly limbs: i32 = N256_LIMBS;
  readonly bytes: i32 = N256_BYTES;
  readonly p: usize = N256_P;
  readonly r2: usize = N256_R2;
  readonly one: usize = N256_ONE;
  readonly r3: usize = N256_R3;
  readonly nprime: i64 = N256_NPRIME;
  readonly pBytes: usize = N256_P_BYTES;
  readonly pm2Bytes: usize = N256_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { n256_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { n256_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { n256_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { n256_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { n256_canon(r, a); }
  @inline isZero(a: usize): bool { return n256_isZero(a); }
}

export class FieldP384 {
  readonly limbs: i32 = P384_LIMBS;
  readonly bytes: i32 = P384_BYTES;
  readonly p: usize = P384_P;
  readonly r2: usize = P384_R2;
  readonly one: usize = P384_ONE;
  readonly r3: usize = P384_R3;
  readonly nprime: i64 = P384_NPRIME;
  readonly pBytes: usize = P384_P_BYTES;
  readonly pm2Bytes: usize = P384_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { p384_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { p384_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { p384_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { p384_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { p384_canon(r, a); }
  @inline isZero(a: usize): bool { return p384_isZero(a); }
}

export class FieldN384 {
  readonly limbs: i32 = N384_LIMBS;
  readonly bytes: i32 = N384_BYTES;
  readonly p: usize = N384_P;
  readonly r2: usize = N384_R2;
  readonly one: usize = N384_ONE;
  readonly r3: usize = N384_R3;
  readonly nprime: i64 = N384_NPRIME;
  readonly pBytes: usize = N384_P_BYTES;
  readonly pm2Bytes: usize = N384_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { n384_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { n384_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { n384_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { n384_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { n384_canon(r, a); }
  @inline isZero(a: usize): bool { return n384_isZero(a); }
}

export class Field25519 {
  readonly limbs: i32 = F25519_LIMBS;
  readonly bytes: i32 = F25519_BYTES;
  readonly p: usize = F25519_P;
  readonly r2: usize = F25519_R2;
  readonly one: usize = F25519_ONE;
  readonly r3: usize = F25519_R3;
  readonly nprime: i64 = F25519_NPRIME;
  readonly pBytes: usize = F25519_P_BYTES;
  readonly pm2Bytes: usize = F25519_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { f25519_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { f25519_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { f25519_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { f25519_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { f25519_canon(r, a); }
  @inline isZero(a: usize): bool { return f25519_isZero(a); }
}

export class FieldL25519 {
  readonly limbs: i32 = L25519_LIMBS;
  readonly bytes: i32 = L25519_BYTES;
  readonly p: usize = L25519_P;
  readonly r2: usize = L25519_R2;
  readonly one: usize = L25519_ONE;
  readonly r3: usize = L25519_R3;
  readonly nprime: i64 = L25519_NPRIME;
  readonly pBytes: usize = L25519_P_BYTES;
  readonly pm2Bytes: usize = L25519_PM2_BYTES;
  @inline mul(r: usize, a: usize, b: usize): void { l25519_mul(r, a, b); }
  @inline sqr(r: usize, a: usize): void { l25519_sqr(r, a); }
  @inline add(r: usize, a: usize, b: usize): void { l25519_add(r, a, b); }
  @inline sub(r: usize, a: usize, b: usize): void { l25519_sub(r, a, b); }
  @inline canon(r: usize, a: usize): void { l25519_canon(r, a); }
  @inline isZero(a: usize): bool { return l25519_isZero(a); }
  /** r = t/R mod L for a double-width t (18 limbs) below R*L. */
  @inline redcWide(r: usize, t: usize): void { l25519_redcWide(r, t); }
}

// ---------------------------------------------------------------------------------------------
// Generic helpers

/** The integer 1 (not in Montgomery form): multiplying by it leaves the Montgomery domain. */
const PLAIN_ONE: usize = memory.data<u64>([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

// Scratch for the helpers below (never re-entered).
const TMP_A = new StaticArray<u64>(MAX_FIELD_LIMBS + 2);
const TMP_B = new StaticArray<u64>(MAX_FIELD_LIMBS + 2);
const POW_TABLE = new StaticArray<u64>(16 * MAX_FIELD_LIMBS);

/** Copies one element. */
@inline export function feCopy<F>(f: F, r: usize, a: usize): void {
  memory.copy(r, a, <usize>f.limbs << 3);
}

/** Sets r to the Montgomery form of a small integer v (0 or 1 used here). */
export function feSetSmall<F>(f: F, r: usize, v: u64): void {
  memory.fill(r, 0, <usize>f.limbs << 3);
  store<u64>(r, v);
  f.mul(r, r, f.r2);
}

/**
 * Reads a canonical big-endian integer (`len` bytes at `src`, len <= f.bytes) as a plain
 * (non-Montgomery) element. False when the value is >= p.
 */
export function feFromBytesPlain<F>(f: F, r: usize, src: usize, len: i32): bool {
  if (len > f.bytes) return false;
  if (!limbsFromBytes(r, f.limbs, src, len)) return false;
  const p = changetype<usize>(TMP_A);
  limbsFromBytes(p, f.limbs, f.pBytes, f.bytes);
  return compareLimbs(r, p, f.limbs) < 0;
}

/** Reads a canonical big-endian integer into Montgomery form. False when the value is >= p. */
export function feFromBytes<F>(f: F, r: usize, src: usize, len: i32): bool {
  if (!feFromBytesPlain<F>(f, r, src, len)) return false;
  f.mul(r, r, f.r2);
  return true;
}

/** Writes the canonical value of the Montgomery element a as f.bytes big-endian bytes. */
export function feToBytes<F>(f: F, dst: usize, a: usize): void {
  const t = changetype<usize>(TMP_B);
  f.mul(t, a, PLAIN_ONE);
  f.canon(t, t);
  limbsToBytes(dst, f.bytes, t, f.limbs);
}

/** r = the canonical plain integer of the Montgomery element a (limbs). */
export function feFromMont<F>(f: F, r: usize, a: usize): void {
  f.mul(r, a, PLAIN_ONE);
  f.canon(r, r);
}

/**
 * True when a is zero mod p, without canonicalization: the generated check compares with the few
 * multiples of p the representation allows and usually decides on the first limb (the point
 * additions ask this on every call).
 */
@inline export function feIsZero<F>(f: F, a: usize): bool {
  return f.isZero(a);
}

/** True when a and b are equal mod p. */
export function feEqual<F>(f: F, a: usize, b: usize): bool {
  const x = changetype<usize>(TMP_A), y = changetype<usize>(TMP_B);
  f.canon(x, a);
  f.canon(y, b);
  return compareLimbs(x, y, f.limbs) == 0;
}

/** r = a^e (Montgomery domain) for the big-endian exponent of `len` bytes at `e` (4-bit window). */
export function fePow<F>(f: F, r: usize, a: usize, e: usize, len: i32): void {
  const eb = <usize>f.limbs << 3;
  const tab = changetype<usize>(POW_TABLE);
  // tab[i] = a^i for i = 1..15 (tab[0] unused)
  memory.copy(tab + eb, a, eb);
  f.sqr(tab + 2 * eb, a);
  for (let i = 3; i < 16; i++) f.mul(tab + <usize>i * eb, tab + <usize>(i - 1) * eb, a);
  let started = false;
  for (let i = 0; i < len; i++) {
    const byte = <i32>load<u8>(e + <usize>i);
    for (let half = 0; half < 2; half++) {
      const nib = half == 0 ? byte >> 4 : byte & 15;
      if (started) {
        f.sqr(r, r); f.sqr(r, r); f.sqr(r, r); f.sqr(r, r);
        if (nib != 0) f.mul(r, r, tab + <usize>nib * eb);
      } else if (nib != 0) {
        memory.copy(r, tab + <usize>nib * eb, eb);
        started = true;
      }
    }
  }
  if (!started) feSetSmall<F>(f, r, 1);
}

/** r = a^-1 by Fermat's little theorem (a^(p-2)); zero maps to zero. */
export function feInvFermat<F>(f: F, r: usize, a: usize): void {
  fePow<F>(f, r, a, f.pm2Bytes, f.bytes);
}

// ---------------------------------------------------------------------------------------------
// Inversion by batched divsteps (Bernstein and Yang, "Fast constant-time gcd computation and
// modular inversion", 2019), variable-time: inputs here are public.
//
// divstep(delta, f, g): if delta > 0 and g is odd: (1 - delta, g, (g - f) / 2)
//                       else:                      (1 + delta, f, (g + (g mod 2) f) / 2)
// From f = p (odd), g = x, repeated divsteps reach g = 0 with f = +-1 = +-gcd. Tracking d, e with
// f = d x and g = e x (mod p) gives x^-1 = +-d. The steps are batched 29 at a time: the decisions
// of 29 steps depend only on delta and the low 29 bits of f and g, so they run on one 64-bit
// word, collecting a matrix [u v; q r] with |entries| <= 2^29 such that
// 2^29 (f', g') = (u f + v g, q f + r g); the matrix is then applied to the full numbers (the
// division by 2^29 drops one limb) and to d, e modulo p (adding the multiple of p that makes
// the sum divisible by 2^29, as Montgomery reduction does).
//
// Numbers are signed: MAX_FIELD_LIMBS + 1 limbs of 29 bits in i64 slots, the top limb carries
// the sign.

const DV_F = new StaticArray<i64>(MAX_FIELD_LIMBS + 2);
const DV_G = new StaticArray<i64>(MAX_FIELD_LIMBS + 2);
const DV_D = new StaticArray<i64>(MAX_FIELD_LIMBS + 2);
const DV_E = new StaticArray<i64>(MAX_FIELD_LIMBS + 2);
const DV_T = new StaticArray<i64>(MAX_FIELD_LIMBS + 2);
const DV_CHECK = new StaticArray<u64>(MAX_FIELD_LIMBS + 2);
const DV_X = new StaticArray<u64>(MAX_FIELD_LIMBS + 2);
const ZERO_ELEMENT = new StaticArray<u64>(MAX_FIELD_LIMBS + 2);

const M29: i64 = (1 << 29) - 1;

/** How many inversions fell back to Fermat (expected to stay 0; tests check it). */
export let inversionFallbacks: i32 = 0;

@inline function ldi(p: usize, i: i32): i64 { return load<i64>(p + (<usize>i << 3)); }
@inline function sti(p: usize, i: i32, v: i64): void { store<i64>(p + (<usize>i << 3), v); }

/**
 * out = (u x + v y) / 2^29 for signed numbers of L limbs (the sum is divisible by 2^29). out may
 * alias y: limb i is written only after limb i + 1 has been read.
 */
function combineShift(out: usize, x: usize, y: usize, u: i64, v: i64, L: i32): void {
  let c: i64 = (u * ldi(x, 0) + v * ldi(y, 0)) >> 29;
  for (let i = 1; i < L; i++) {
    c += u * ldi(x, i) + v * ldi(y, i);
    sti(out, i - 1, c & M29);
    c >>= 29;
  }
  sti(out, L - 1, c);
}

/**
 * out = (u x + v y) / 2^29 mod p, in [0, p), for x, y in [0, p) (L limbs; p has L - 1): the
 * multiple t p that makes the sum divisible by 2^29 is added first. out may alias y.
 */
function combineModShift(out: usize, x: usize, y: usize, u: i64, v: i64, p: usize, nprime: i64, L: i32): void {
  const low = u * ldi(x, 0) + v * ldi(y, 0);
  const t = ((low & M29) * nprime) & M29;
  let c: i64 = (low + t * <i64>load<u64>(p)) >> 29;
  for (let i = 1; i < L; i++) {
    c += u * ldi(x, i) + v * ldi(y, i);
    if (i < L - 1) c += t * <i64>load<u64>(p + (<usize>i << 3));
    sti(out, i - 1, c & M29);
    c >>= 29;
  }
  sti(out, L - 1, c);
  // |result| < 2p: bring it into [0, p).
  while (ldi(out, L - 1) < 0) addLimbs(out, p, L, 1);
  while (ldi(out, L - 1) > 0 || !lessThan(out, p, L - 1)) addLimbs(out, p, L, -1);
}

/** Carry-normalizes a signed number of n limbs (limbs 0..n-2 into [0, 2^29), limb n-1 signed). */
function normalizeSigned(x: usize, n: i32): void {
  let c: i64 = 0;
  for (let i = 0; i < n - 1; i++) {
    const v = ldi(x, i) + c;
    sti(x, i, v & M29);
    c = v >> 29;
  }
  sti(x, n - 1, ldi(x, n - 1) + c);
}

/** x += sign * p for a signed x of n limbs (p has n - 1 limbs), normalized. */
function addLimbs(x: usize, p: usize, n: i32, sign: i64): void {
  for (let i = 0; i < n - 1; i++) sti(x, i, ldi(x, i) + sign * <i64>load<u64>(p + (<usize>i << 3)));
  normalizeSigned(x, n);
}

/** x < p for a normalized non-negative x (n limbs). */
function lessThan(x: usize, p: usize, n: i32): bool {
  for (let i = n - 1; i >= 0; i--) {
    const a = ldi(x, i), b = <i64>load<u64>(p + (<usize>i << 3));
    if (a != b) return a < b;
  }
  return false;
}

/** True when the signed number x (L limbs) is zero. */
function isZeroSigned(x: usize, L: i32): bool {
  for (let i = 0; i < L; i++) if (ldi(x, i) != 0) return false;
  return true;
}

/**
 * r = a^-1 (a in Montgomery form, r too); zero maps to zero. Divsteps on the canonical
 * representative X = a R mod p give X^-1 = a^-1 R^-1, and mul(X^-1, R^3) = a^-1 R. The result is
 * checked (a * r == 1) and recomputed with Fermat's theorem if the check ever failed.
 */
export function feInv<F>(f: F, r: usize, a: usize): void {
  const N = f.limbs, L = N + 1;
  const p = f.p;
  const x = changetype<usize>(DV_X);
  f.canon(x, a);
  let zero = true;
  for (let i = 0; i < N; i++) if (load<u64>(x + (<usize>i << 3)) != 0) { zero = false; break; }
  if (zero) { memory.fill(r, 0, <usize>N << 3); return; }
  const fp = changetype<usize>(DV_F), gp = changetype<usize>(DV_G), dp = changetype<usize>(DV_D), ep = changetype<usize>(DV_E);
  const tp = changetype<usize>(DV_T);
  for (let i = 0; i < N; i++) {
    sti(fp, i, <i64>load<u64>(p + (<usize>i << 3)));
    sti(gp, i, <i64>load<u64>(x + (<usize>i << 3)));
    sti(dp, i, 0);
    sti(ep, i, 0);
  }
  sti(fp, N, 0); sti(gp, N, 0); sti(dp, N, 0); sti(ep, N, 0);
  sti(ep, 0, 1);
  let delta: i32 = 1;
  let ok = false;
  // 2^29 per batch; a generous cap (the proven bound is about 2.9 bits per input bit).
  const maxBatches = (N * 29 * 3) / 29 + 4;
  for (let batch = 0; batch < maxBatches; batch++) {
    // 29 divsteps on the low words.
    let fl: i64 = ldi(fp, 0) + (ldi(fp, 1) << 29) + (ldi(fp, 2) << 58);
    let gl: i64 = ldi(gp, 0) + (ldi(gp, 1) << 29) + (ldi(gp, 2) << 58);
    let u: i64 = 1, v: i64 = 0, q: i64 = 0, rr: i64 = 1;
    for (let i = 0; i < 29; i++) {
      if (delta > 0 && (gl & 1) != 0) {
        delta = 1 - delta;
        const nf = gl;
        gl = (gl - fl) >> 1;
        fl = nf;
        const nu = q << 1, nv = rr << 1;
        q = q - u;
        rr = rr - v;
        u = nu;
        v = nv;
      } else {
        delta = 1 + delta;
        const c = gl & 1;
        gl = (gl + c * fl) >> 1;
        q = q + c * u;
        rr = rr + c * v;
        u <<= 1;
        v <<= 1;
      }
    }
    // Apply the matrix: f, g exactly; d, e modulo p.
    combineShift(tp, fp, gp, u, v, L);
    combineShift(gp, fp, gp, q, rr, L);
    memory.copy(fp, tp, <usize>L << 3);
    combineModShift(tp, dp, ep, u, v, p, f.nprime, L);
    combineModShift(ep, dp, ep, q, rr, p, f.nprime, L);
    memory.copy(dp, tp, <usize>L << 3);
    if (isZeroSigned(gp, L)) { ok = true; break; }
  }
  if (ok) {
    // f = +-1; the inverse of X is d or -d.
    const y = changetype<usize>(DV_CHECK);
    let fIsOne = ldi(fp, 0) == 1;
    for (let i = 1; i < L; i++) if (ldi(fp, i) != 0) fIsOne = false;
    for (let i = 0; i < N; i++) store<u64>(y + (<usize>i << 3), <u64>ldi(dp, i));
    if (!fIsOne) f.sub(y, changetype<usize>(ZERO_ELEMENT), y); // -d
    f.mul(r, y, f.r3);
    // Check a * r == 1 (Montgomery one), with X standing for a (r may alias a); any failure
    // falls back to Fermat below.
    f.mul(y, r, x);
    f.canon(y, y);
    ok = compareLimbs(y, f.one, N) == 0;
  }
  if (!ok) {
    inversionFallbacks++;
    feInvFermat<F>(f, r, x);
  }
}
