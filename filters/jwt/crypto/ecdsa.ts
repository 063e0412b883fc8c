// ECDSA verification on P-256 and P-384 (FIPS 186-4 section 6.4, SEC 1 section 4.1.4) with
// signatures in IEEE P1363 form (r || s, each the size of the group order), as JWS ES256 and
// ES384 use (RFC 7518 section 3.4).
//
// Checks: the key (x, y) must be a point of the curve with coordinates below p (an affine point
// is never the point at infinity); 0 < r, s < n; R = u1 G + u2 Q must not be the point at
// infinity and x(R) mod n must equal r (tested as X == r Z^2, and (r + n) Z^2 when r + n < p, so
// no field inversion is needed).
//
// Points are in Jacobian coordinates (X, Y, Z) <-> (X/Z^2, Y/Z^3), Z = 0 for the point at
// infinity, with the a = -3 formulas of the Explicit-Formulas Database (a rearranged
// dbl-2001-b, add-2007-bl, madd-2007-bl; the additions detect P = Q and P = -Q). R is computed
// as:
//  - u2 Q: width-5 NAF of u2 over Q, 3Q, ..., 15Q, made affine with one inversion (about 256
//    doublings and 43 mixed additions);
//  - u1 G: a fixed-base comb, u1 = sum d_j 2^(c j) with signed digits |d_j| <= 2^(c-1), over a
//    table of d 2^(c j) G in affine form built on first use (one mixed addition per window, no
//    doublings): c = 7 for P-256 (37 windows, 167 KiB), 6 for P-384 (65 windows, 228 KiB).
//  - with a cached key (EcPublicKey, from its second use), u2 Q the same way over the key's own
//    comb table: c = 6 for P-256 (43 windows, 97 KiB), 5 for P-384 (77 windows, 135 KiB). Then a
//    verification is ~80 (P-256) or ~142 (P-384) mixed additions and no doublings.
// s^-1 mod n uses the divstep inversion of field.ts. Everything here is public data, so the code
// branches freely.
import { FieldN256, FieldN384, FieldP256, FieldP384, feCopy, feEqual, feFromBytes, feFromBytesPlain, feInv, feIsZero, feSetSmall } from "./field";
import { compareLimbs, limbsFromBytes, LIMB_BITS, LIMB_MASK } from "./bigint";
import { HashAlg, hashPtrInto } from "./sha2";

/** The curves supported. */
export enum Curve {
  P256 = 0,
  P384 = 1,
}

const NAF_WIDTH: i32 = 5;
const NAF_POINTS: i32 = 1 << (NAF_WIDTH - 2); // odd multiples 1..15

// Scratch shared by both curves (never re-entered).
const NAF = new StaticArray<i8>(400);
const COMB = new StaticArray<i8>(100);
const DIGEST = new StaticArray<u8>(64);

/** `width` bits (<= 24) of the limb number at `k` starting at bit `pos` (zeros past the end). */
function bitsAt(k: usize, limbs: i32, pos: i32, width: i32): i32 {
  const li = pos / LIMB_BITS;
  const off = pos % LIMB_BITS;
  if (li >= limbs) return 0;
  let v = load<u64>(k + (<usize>li << 3)) >> <u64>off;
  if (off + width > LIMB_BITS && li + 1 < limbs) v |= load<u64>(k + (<usize>(li + 1) << 3)) << <u64>(LIMB_BITS - off);
  return <i32>(v & ((<u64>1 << <u64>width) - 1));
}

/**
 * Width-w NAF of the scalar at `k`: digits (odd, |d| < 2^(w-1), or zero) in NAF[0 .. returned
 * length), least significant first. Nonzero digits are at least w positions apart.
 */
function wnaf(k: usize, limbs: i32, bits: i32, w: i32): i32 {
  const naf = changetype<usize>(NAF);
  const len = bits + 1;
  memory.fill(naf, 0, <usize>len);
  let carry = 0;
  let i = 0;
  while (i < len) {
    const bit = bitsAt(k, limbs, i, 1);
    if (bit == carry) { i++; continue; } // effective bit 0 (0+0, or 1+1 carrying on)
    let v = bitsAt(k, limbs, i, w) + carry; // odd
    if (v >= 1 << (w - 1)) { v -= 1 << w; carry = 1; } else { carry = 0; }
    store<i8>(naf + <usize>i, <i8>v);
    i += w;
  }
  return len;
}

/** Signed base-2^c digits of the scalar at `k` into COMB; returns the digit count. */
function combDigits(k: usize, limbs: i32, bits: i32, c: i32): i32 {
  const out = changetype<usize>(COMB);
  const windows = (bits + 1 + c - 1) / c;
  const half = 1 << (c - 1);
  let carry = 0;
  for (let j = 0; j < windows; j++) {
    let v = bitsAt(k, limbs, j * c, c) + carry;
    if (v > half) { v -= 1 << c; carry = 1; } else { carry = 0; }
    store<i8>(out + <usize>j, <i8>v);
  }
  return windows;
}

/**
 * One short-Weierstrass curve with a = -3 over the field class F, with group order arithmetic in
 * the class S. Instantiated for P-256 and P-384 below.
 */
class WeierstrassCurve<F, S> {
  readonly f: F;
  readonly s: S;
  readonly eb: usize; // bytes per element (limbs * 8)
  readonly bytes: i32; // encoded element size (32, 48)
  readonly orderBits: i32;
  readonly hash: HashAlg;
  readonly comb: i32; // comb window width for G
  private scratch: StaticArray<u64>;
  private b: usize; // curve coefficient b (Montgomery)
  private gx: usize;
  private gy: usize;
  private table: StaticArray<u32> | null = null;
  private buildWork: StaticArray<u64> | null = null;
  // Temporaries (elements) and points.
  private t0: usize; private t1: usize; private t2: usize; private t3: usize; private t4: usize;
  private t5: usize; private t6: usize; private t7: usize; private t8: usize; private t9: usize;
  private zero: usize;
  private qx: usize; private qy: usize; // a fresh key
  private acc: usize; // Jacobian point
  private tmpPoint: usize;
  private qtab: usize; // NAF_POINTS Jacobian points
  private prod: usize; // NAF_POINTS elements (batch inversion)
  private sr: usize; private ss: usize; private se: usize; private sw: usize; private u1: usize; private u2: usize;

  constructor(f: F, s: S, hash: HashAlg, orderBits: i32, comb: i32, b: StaticArray<u8>, gx: StaticArray<u8>, gy: StaticArray<u8>) {
    this.f = f;
    this.s = s;
    this.hash = hash;
    this.orderBits = orderBits;
    this.comb = comb;
    const eb = <usize>f.limbs << 3;
    this.eb = eb;
    this.bytes = f.bytes;
    const slots = 22 + 3 * 2 + 4 * NAF_POINTS; // 22 elements, acc, tmpPoint, qtab, prod
    this.scratch = new StaticArray<u64>(slots * f.limbs);
    let p = changetype<usize>(this.scratch);
    this.t0 = p; p += eb; this.t1 = p; p += eb; this.t2 = p; p += eb; this.t3 = p; p += eb; this.t4 = p; p += eb;
    this.t5 = p; p += eb; this.t6 = p; p += eb; this.t7 = p; p += eb; this.t8 = p; p += eb; this.t9 = p; p += eb;
    this.zero = p; p += eb;
    this.b = p; p += eb; this.gx = p; p += eb; this.gy = p; p += eb;
    this.qx = p; p += eb; this.qy = p; p += eb;
    this.sr = p; p += eb; this.ss = p; p += eb; this.se = p; p += eb; this.sw = p; p += eb;
    this.u1 = p; p += eb; this.u2 = p; p += eb;
    this.acc = p; p += 3 * eb;
    this.tmpPoint = p; p += 3 * eb;
    this.qtab = p; p += 3 * NAF_POINTS * eb;
    this.prod = p;
    feFromBytes<F>(f, this.b, changetype<usize>(b), b.length);
    feFromBytes<F>(f, this.gx, changetype<usize>(gx), gx.length);
    feFromBytes<F>(f, this.gy, changetype<usize>(gy), gy.length);
  }

  // --- point helpers --------------------------------------------------------------------------

  @inline private isInf(p: usize): bool {
    return feIsZero<F>(this.f, p + 2 * this.eb);
  }

  private setInf(r: usize): void {
    memory.fill(r, 0, 3 * this.eb);
  }

  /**
   * r = 2p for a = -3 (dbl-2001-b rearranged to save additions: Z3 = 2YZ, 4 beta = X (4 gamma),
   * 8 gamma^2 = 2 (2 gamma)^2; 4M + 4S); r may alias p: p is read only before the first write
   * to r, so the results go to r directly. The point at infinity (Z = 0) maps to itself.
   */
  private dbl(r: usize, p: usize): void {
    const f = this.f, eb = this.eb;
    const X1 = p, Y1 = p + eb, Z1 = p + 2 * eb;
    const X3 = r, Y3 = r + eb, Z3 = r + 2 * eb;
    const delta = this.t0, g2 = this.t1, beta4 = this.t2, alpha = this.t3, t = this.t7;
    f.sqr(delta, Z1);
    f.sqr(g2, Y1);
    f.add(g2, g2, g2); // 2 gamma
    f.add(t, g2, g2); // 4 gamma
    f.mul(beta4, X1, t); // 4 beta = 4 X gamma
    f.sub(t, X1, delta);
    f.add(alpha, X1, delta);
    f.mul(alpha, alpha, t);
    f.add(t, alpha, alpha);
    f.add(alpha, t, alpha); // alpha = 3 (X - delta)(X + delta)
    f.mul(t, Y1, Z1); // last read of p
    f.add(Z3, t, t); // Z3 = 2 Y Z
    f.sqr(X3, alpha);
    f.sub(X3, X3, beta4);
    f.sub(X3, X3, beta4); // X3 = alpha^2 - 8 beta
    f.sub(t, beta4, X3);
    f.mul(t, t, alpha);
    f.sqr(g2, g2);
    f.add(g2, g2, g2); // 8 gamma^2
    f.sub(Y3, t, g2); // Y3 = alpha (4 beta - X3) - 8 gamma^2
  }

  /** r = p + q for Jacobian points (add-2007-bl, 11M + 5S); r may alias p or q. */
  private add(r: usize, p: usize, q: usize): void {
    const f = this.f, eb = this.eb;
    if (this.isInf(p)) { if (r != q) memory.copy(r, q, 3 * eb); return; }
    if (this.isInf(q)) { if (r != p) memory.copy(r, p, 3 * eb); return; }
    const X1 = p, Y1 = p + eb, Z1 = p + 2 * eb, X2 = q, Y2 = q + eb, Z2 = q + 2 * eb;
    const z1z1 = this.t0, z2z2 = this.t1, u1 = this.t2, u2 = this.t3, s1 = this.t4, s2 = this.t5;
    f.sqr(z1z1, Z1);
    f.sqr(z2z2, Z2);
    f.mul(u1, X1, z2z2);
    f.mul(u2, X2, z1z1);
    f.mul(s1, Y1, Z2);
    f.mul(s1, s1, z2z2);
    f.mul(s2, Y2, Z1);
    f.mul(s2, s2, z1z1);
    const h = u2, rr = s2;
    f.sub(h, u2, u1);
    f.sub(rr, s2, s1);
    if (feIsZero<F>(f, h)) {
      if (feIsZero<F>(f, rr)) this.dbl(r, p);
      else this.setInf(r);
      return;
    }
    const i = this.t6, j = this.t7, v = this.t8, z = this.t9;
    f.add(rr, rr, rr);
    f.add(i, h, h);
    f.sqr(i, i);
    f.mul(j, h, i);
    f.mul(v, u1, i);
    f.add(z, Z1, Z2);
    f.sqr(z, z);
    f.sub(z, z, z1z1);
    f.sub(z, z, z2z2);
    f.mul(z, z, h); // Z3
    const x = z1z1, y = z2z2; // free now
    f.sqr(x, rr);
    f.sub(x, x, j);
    f.sub(x, x, v);
    f.sub(x, x, v); // X3 = r^2 - J - 2V
    f.sub(y, v, x);
    f.mul(y, y, rr);
    f.mul(s1, s1, j);
    f.add(s1, s1, s1);
    f.sub(y, y, s1); // Y3 = r (V - X3) - 2 S1 J
    feCopy<F>(f, r, x);
    feCopy<F>(f, r + eb, y);
    feCopy<F>(f, r + 2 * eb, z);
  }

  /**
   * r = p + (x2, y2) with an affine second point (madd-2007-bl, 7M + 4S); r may alias p (each
   * coordinate of p is read before r's is written; x2, y2 must not be inside r).
   */
  private madd(r: usize, p: usize, x2: usize, y2: usize): void {
    const f = this.f, eb = this.eb;
    if (this.isInf(p)) {
      feCopy<F>(f, r, x2);
      feCopy<F>(f, r + eb, y2);
      feSetSmall<F>(f, r + 2 * eb, 1);
      return;
    }
    const X1 = p, Y1 = p + eb, Z1 = p + 2 * eb;
    const X3 = r, Y3 = r + eb, Z3 = r + 2 * eb;
    const z1z1 = this.t0, u2 = this.t1, s2 = this.t2;
    f.sqr(z1z1, Z1);
    f.mul(u2, x2, z1z1);
    f.mul(s2, y2, Z1);
    f.mul(s2, s2, z1z1);
    const h = u2, rr = s2;
    f.sub(h, u2, X1);
    f.sub(rr, s2, Y1);
    if (feIsZero<F>(f, h)) {
      if (feIsZero<F>(f, rr)) this.dbl(r, p);
      else this.setInf(r);
      return;
    }
    const hh = this.t3, i = this.t4, j = this.t5, v = this.t6, t = this.t7, w = this.t8;
    f.sqr(hh, h);
    f.add(i, hh, hh);
    f.add(i, i, i); // I = 4 HH
    f.mul(j, h, i);
    f.add(rr, rr, rr);
    f.mul(v, X1, i); // last read of X1
    f.mul(t, j, Y1); // Y1 J; last read of Y1
    f.add(w, Z1, h); // last read of Z1
    f.sqr(w, w);
    f.sub(w, w, z1z1);
    f.sub(Z3, w, hh); // Z3 = (Z1 + H)^2 - Z1Z1 - HH
    f.sqr(X3, rr);
    f.sub(X3, X3, j);
    f.sub(X3, X3, v);
    f.sub(X3, X3, v); // X3 = r^2 - J - 2V
    f.sub(w, v, X3);
    f.mul(w, w, rr);
    f.add(t, t, t);
    f.sub(Y3, w, t); // Y3 = r (V - X3) - 2 Y1 J
  }

  /** r = -p (Jacobian); r may alias p. */
  private negate(r: usize, p: usize): void {
    const eb = this.eb;
    if (r != p) { feCopy<F>(this.f, r, p); feCopy<F>(this.f, r + 2 * eb, p + 2 * eb); }
    this.f.sub(r + eb, this.zero, p + eb);
  }

  /**
   * Makes `count` consecutive Jacobian points at pts affine in place (x, y in the first two slots,
   * Z = 1), with one inversion for all (Montgomery's trick). False if one is the point at infinity.
   */
  private toAffine(pts: usize, count: i32): bool {
    const f = this.f, eb = this.eb;
    const prod = this.prod;
    feCopy<F>(f, prod, pts + 2 * eb);
    for (let i = 1; i < count; i++) f.mul(prod + <usize>i * eb, prod + <usize>(i - 1) * eb, pts + <usize>i * 3 * eb + 2 * eb);
    const inv = this.t8, zi = this.t9, zi2 = this.t7;
    if (feIsZero<F>(f, prod + <usize>(count - 1) * eb)) return false;
    feInv<F>(f, inv, prod + <usize>(count - 1) * eb);
    for (let i = count - 1; i >= 0; i--) {
      const pt = pts + <usize>i * 3 * eb;
      if (i > 0) {
        f.mul(zi, inv, prod + <usize>(i - 1) * eb);
        f.mul(inv, inv, pt + 2 * eb);
      } else {
        feCopy<F>(f, zi, inv);
      }
      f.sqr(zi2, zi);
      f.mul(pt, pt, zi2);
      f.mul(zi2, zi2, zi);
      f.mul(pt + eb, pt + eb, zi2);
      feSetSmall<F>(f, pt + 2 * eb, 1);
    }
    return true;
  }

  // --- fixed-base table -----------------------------------------------------------------------

  /**
   * Builds a comb table for the affine point (bx, by) (Montgomery coordinates): for window j and
   * d = 1..2^(c-1), d * 2^(c*j) * B as affine coordinates (canonical, u32 limbs). Also used for a
   * cached public key's table (EcPublicKey).
   */
  buildTable(bx: usize, by: usize, c: i32): StaticArray<u32> {
    const f = this.f, eb = this.eb, limbs = f.limbs;
    const half = 1 << (c - 1);
    const windows = (this.orderBits + 1 + c - 1) / c;
    const table = new StaticArray<u32>(windows * half * 2 * limbs);
    // Working space, held in a field while in use: only raw pointers into it are used below, and
    // a reference kept in a local alone would not keep it alive across allocations.
    const work = new StaticArray<u64>((half * 3 + half + 3 + 4) * limbs);
    this.buildWork = work;
    const pp = changetype<usize>(work);
    const pr = pp + <usize>(half * 3) * eb, bp = pr + <usize>half * eb;
    const inv = bp + 3 * eb, zi = inv + eb, zi2 = zi + eb, tx = zi2 + eb;
    feCopy<F>(f, bp, bx);
    feCopy<F>(f, bp + eb, by);
    feSetSmall<F>(f, bp + 2 * eb, 1);
    let out = changetype<usize>(table);
    for (let j = 0; j < windows; j++) {
      memory.copy(pp, bp, 3 * eb);
      for (let d = 1; d < half; d++) this.add(pp + <usize>d * 3 * eb, pp + <usize>(d - 1) * 3 * eb, bp);
      // Batch inversion of the Z coordinates (Montgomery's trick). No multiple d * 2^(cj) * B
      // with d <= 2^(c-1) is the point at infinity: the order is prime and far larger.
      feCopy<F>(f, pr, pp + 2 * eb);
      for (let d = 1; d < half; d++) f.mul(pr + <usize>d * eb, pr + <usize>(d - 1) * eb, pp + <usize>d * 3 * eb + 2 * eb);
      feInv<F>(f, inv, pr + <usize>(half - 1) * eb);
      for (let d = half - 1; d >= 0; d--) {
        const pt = pp + <usize>d * 3 * eb;
        if (d > 0) {
          f.mul(zi, inv, pr + <usize>(d - 1) * eb);
          f.mul(inv, inv, pt + 2 * eb);
        } else {
          feCopy<F>(f, zi, inv);
        }
        f.sqr(zi2, zi);
        f.mul(tx, pt, zi2); // x = X / Z^2
        f.canon(tx, tx);
        const o = out + <usize>(d * 2 * limbs) * 4;
        for (let k = 0; k < limbs; k++) store<u32>(o + (<usize>k << 2), <u32>load<u64>(tx + (<usize>k << 3)));
        f.mul(zi2, zi2, zi);
        f.mul(tx, pt + eb, zi2); // y = Y / Z^3
        f.canon(tx, tx);
        for (let k = 0; k < limbs; k++) store<u32>(o + (<usize>(limbs + k) << 2), <u32>load<u64>(tx + (<usize>k << 3)));
      }
      out += <usize>(half * 2 * limbs) * 4;
      for (let k = 0; k < c; k++) this.dbl(bp, bp);
    }
    this.buildWork = null;
    return table;
  }

  /** Builds the fixed-base table if it does not exist yet. */
  warm(): void {
    if (this.table === null) this.table = this.buildTable(this.gx, this.gy, this.comb);
  }

  // --- verification ---------------------------------------------------------------------------

  /**
   * Loads and validates a public key (affine x, y big-endian, full length) into Montgomery
   * coordinates at qx, qy: both below p and on the curve.
   */
  loadKey(qx: usize, qy: usize, x: Uint8Array, y: Uint8Array): bool {
    const f = this.f;
    if (x.length != this.bytes || y.length != this.bytes) return false;
    if (!feFromBytes<F>(f, qx, x.dataStart, x.length)) return false; // x < p
    if (!feFromBytes<F>(f, qy, y.dataStart, y.length)) return false; // y < p
    // y^2 == x^3 - 3x + b (an affine point is never the point at infinity)
    const l = this.t0, r = this.t1, t = this.t2;
    f.sqr(l, qy);
    f.sqr(r, qx);
    f.mul(r, r, qx);
    f.add(t, qx, qx);
    f.add(t, t, qx);
    f.sub(r, r, t);
    f.add(r, r, this.b);
    return feEqual<F>(f, l, r);
  }

  /** acc += k B over the comb table of B with window c (signed digits, one mixed addition per window). */
  private combAdd(acc: usize, table: StaticArray<u32>, k: usize, c: i32): void {
    const f = this.f, eb = this.eb, limbs = f.limbs;
    const windows = combDigits(k, limbs, this.orderBits, c);
    const comb = changetype<usize>(COMB);
    const half = 1 << (c - 1);
    const tp = changetype<usize>(table);
    const px = this.tmpPoint, py = this.tmpPoint + eb;
    for (let j = 0; j < windows; j++) {
      const d = <i32>load<i8>(comb + <usize>j);
      if (d == 0) continue;
      const e = tp + <usize>((j * half + (abs<i32>(d) - 1)) * 2 * limbs) * 4;
      for (let i = 0; i < limbs; i++) {
        store<u64>(px + (<usize>i << 3), <u64>load<u32>(e + (<usize>i << 2)));
        store<u64>(py + (<usize>i << 3), <u64>load<u32>(e + (<usize>(limbs + i) << 2)));
      }
      if (d < 0) f.sub(py, this.zero, py);
      this.madd(acc, acc, px, py);
    }
  }

  /** acc = k Q by a width-5 NAF over the odd multiples Q, 3Q, ..., 15Q (made affine once). */
  private nafMul(acc: usize, qx: usize, qy: usize, k: usize): bool {
    const f = this.f, eb = this.eb;
    // Odd multiples of Q, qtab[i] = (2i + 1) Q, made affine with one inversion (Montgomery's
    // trick) so the main loop can use mixed additions.
    const qtab = this.qtab;
    feCopy<F>(f, qtab, qx);
    feCopy<F>(f, qtab + eb, qy);
    feSetSmall<F>(f, qtab + 2 * eb, 1);
    const q2 = this.tmpPoint;
    this.dbl(q2, qtab);
    for (let i = 1; i < NAF_POINTS; i++) this.add(qtab + <usize>i * 3 * eb, qtab + <usize>(i - 1) * 3 * eb, q2);
    if (!this.toAffine(qtab, NAF_POINTS)) return false;
    this.setInf(acc);
    const nafLen = wnaf(k, f.limbs, this.orderBits, NAF_WIDTH);
    const naf = changetype<usize>(NAF);
    let top = nafLen - 1;
    while (top >= 0 && load<i8>(naf + <usize>top) == 0) top--;
    const ny = this.tmpPoint + eb;
    for (let i = top; i >= 0; i--) {
      if (i != top) this.dbl(acc, acc);
      const d = <i32>load<i8>(naf + <usize>i);
      if (d > 0) {
        const q = qtab + <usize>((d - 1) >> 1) * 3 * eb;
        this.madd(acc, acc, q, q + eb);
      } else if (d < 0) {
        const q = qtab + <usize>((-d - 1) >> 1) * 3 * eb;
        f.sub(ny, this.zero, q + eb);
        this.madd(acc, acc, q, ny);
      }
    }
    return true;
  }

  /** Verification with a fresh key: parses and validates (x, y) first. */
  verify(x: Uint8Array, y: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
    if (!this.loadKey(this.qx, this.qy, x, y)) return false;
    return this.verifyLoaded(this.qx, this.qy, null, 0, msg, sig);
  }

  /**
   * Verification with a validated key at (qx, qy) (Montgomery coordinates); `qtable` is the
   * key's comb table of window `qc`, or null to use the width-5 NAF.
   */
  verifyLoaded(qx: usize, qy: usize, qtable: StaticArray<u32> | null, qc: i32, msg: Uint8Array, sig: Uint8Array): bool {
    const f = this.f, s = this.s, eb = this.eb, limbs = f.limbs, nb = this.bytes;
    if (sig.length != 2 * nb) return false;
    // 0 < r, s < n (plain integers in the scalar field's limb format)
    if (!feFromBytesPlain<S>(s, this.sr, sig.dataStart, nb)) return false;
    if (!feFromBytesPlain<S>(s, this.ss, sig.dataStart + <usize>nb, nb)) return false;
    if (feIsZero<S>(s, this.sr) || feIsZero<S>(s, this.ss)) return false;
    // e = H(m) as an integer (hash size equals the order size here), reduced mod n (e < 2n).
    const digest = changetype<usize>(DIGEST);
    hashPtrInto(this.hash, msg.dataStart, msg.length, digest);
    limbsFromBytes(this.se, limbs, digest, nb);
    s.canon(this.se, this.se);
    // w = s^-1 (Montgomery form), u1 = e w, u2 = r w (plain: one operand is plain)
    s.mul(this.sw, this.ss, s.r2);
    feInv<S>(s, this.sw, this.sw);
    s.mul(this.u1, this.se, this.sw);
    s.canon(this.u1, this.u1);
    s.mul(this.u2, this.sr, this.sw);
    s.canon(this.u2, this.u2);

    // acc = u2 Q, then acc += u1 G (comb over G's table)
    const acc = this.acc;
    if (qtable !== null) {
      this.setInf(acc);
      this.combAdd(acc, qtable, this.u2, qc);
    } else if (!this.nafMul(acc, qx, qy, this.u2)) {
      return false;
    }
    let table = this.table;
    if (table === null) { table = this.buildTable(this.gx, this.gy, this.comb); this.table = table; }
    this.combAdd(acc, table, this.u1, this.comb);

    // R != infinity and x(R) mod n == r: compare X with r Z^2 (and (r + n) Z^2 when r + n < p).
    if (this.isInf(acc)) return false;
    const z2 = this.t0, rx = this.t1;
    f.sqr(z2, acc + 2 * eb);
    f.mul(rx, this.sr, f.r2); // r < n < p is a field element
    f.mul(rx, rx, z2);
    if (feEqual<F>(f, rx, acc)) return true;
    // r + n as an integer (limbs), if below p
    const rn = this.t2, pl = this.t3;
    let c: u64 = 0;
    for (let k = 0; k < limbs; k++) {
      const v = load<u64>(this.sr + (<usize>k << 3)) + load<u64>(s.p + (<usize>k << 3)) + c;
      store<u64>(rn + (<usize>k << 3), v & LIMB_MASK);
      c = v >> <u64>LIMB_BITS;
    }
    limbsFromBytes(pl, limbs, f.pBytes, f.bytes);
    if (c != 0 || compareLimbs(rn, pl, limbs) >= 0) return false;
    f.mul(rx, rn, f.r2);
    f.mul(rx, rx, z2);
    return feEqual<F>(f, rx, acc);
  }
}

// Curve constants (FIPS 186-4 appendix D.1.2.3 and D.1.2.4), big-endian.
function hexBytes(h: string): StaticArray<u8> {
  const out = new StaticArray<u8>(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = <u8>parseInt(h.substr(2 * i, 2), 16);
  return out;
}

let p256: WeierstrassCurve<FieldP256, FieldN256> | null = null;
let p384: WeierstrassCurve<FieldP384, FieldN384> | null = null;

function curveP256(): WeierstrassCurve<FieldP256, FieldN256> {
  let c = p256;
  if (c === null) {
    c = new WeierstrassCurve<FieldP256, FieldN256>(new FieldP256(), new FieldN256(), HashAlg.SHA256, 256, 7,
      hexBytes("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
      hexBytes("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
      hexBytes("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"));
    p256 = c;
  }
  return c;
}

function curveP384(): WeierstrassCurve<FieldP384, FieldN384> {
  let c = p384;
  if (c === null) {
    c = new WeierstrassCurve<FieldP384, FieldN384>(new FieldP384(), new FieldN384(), HashAlg.SHA384, 384, 6,
      hexBytes("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef"),
      hexBytes("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7"),
      hexBytes("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"));
    p384 = c;
  }
  return c;
}

/**
 * ECDSA verification: `x`, `y` the public key's affine coordinates (big-endian, full length:
 * 32 bytes for P-256, 48 for P-384), `sig` = r || s (64 or 96 bytes). The message is hashed with
 * SHA-256 (P-256) or SHA-384 (P-384). False for any malformed input.
 */
export function verifyEcdsa(curve: Curve, x: Uint8Array, y: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
  if (curve == Curve.P256) return curveP256().verify(x, y, msg, sig);
  if (curve == Curve.P384) return curveP384().verify(x, y, msg, sig);
  return false;
}

/** Builds the fixed-base tables now rather than on the first verification (optional). */
export function warmUpEcdsa(curve: Curve): void {
  if (curve == Curve.P256) curveP256().warm();
  if (curve == Curve.P384) curveP384().warm();
}

/** Comb window of a cached key's table (see EcPublicKey). */
const KEY_COMB_P256: i32 = 6; // 43 windows x 32 points: 97 KiB
const KEY_COMB_P384: i32 = 5; // 77 windows x 16 points: 135 KiB

/**
 * An ECDSA public key parsed and validated once (coordinates below p, point on the curve), for
 * reuse across verifications (the JWT filter keeps one per JWKS key). From its second
 * verification on (or after `precompute()`), it holds a comb table of multiples of the key's
 * point, so u2 Q costs one mixed addition per window instead of ~256 doublings: 97 KiB for P-256,
 * 135 KiB for P-384, built in a few milliseconds (call `precompute()` where a pause does not
 * matter, e.g. when a JWKS is loaded). A key object used once costs what
 * `verifyEcdsa` costs.
 */
export class EcPublicKey {
  /** Montgomery x then y. */
  private coords: StaticArray<u64>;
  private table: StaticArray<u32> | null = null;
  private uses: i32 = 0;

  private constructor(readonly curve: Curve, limbs: i32) {
    this.coords = new StaticArray<u64>(2 * limbs);
  }

  /** Parses a key (x, y big-endian, full length: 32 bytes for P-256, 48 for P-384); null when invalid. */
  static fromBytes(curve: Curve, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
    if (curve == Curve.P256) {
      const c = curveP256();
      const key = new EcPublicKey(curve, c.f.limbs);
      const p = changetype<usize>(key.coords);
      return c.loadKey(p, p + c.eb, x, y) ? key : null;
    }
    if (curve == Curve.P384) {
      const c = curveP384();
      const key = new EcPublicKey(curve, c.f.limbs);
      const p = changetype<usize>(key.coords);
      return c.loadKey(p, p + c.eb, x, y) ? key : null;
    }
    return null;
  }

  /** Builds the key's comb table now (otherwise built on its second verification). */
  precompute(): void {
    if (this.table !== null) return;
    const p = changetype<usize>(this.coords);
    if (this.curve == Curve.P256) {
      const c = curveP256();
      this.table = c.buildTable(p, p + c.eb, KEY_COMB_P256);
    } else {
      const c = curveP384();
      this.table = c.buildTable(p, p + c.eb, KEY_COMB_P384);
    }
  }

  /** True once the comb table exists. */
  get precomputed(): bool {
    return this.table !== null;
  }

  /** Memory held by the key's table, in bytes (0 before it is built). */
  get tableBytes(): i32 {
    const t = this.table;
    return t === null ? 0 : t.length << 2;
  }

  /** ECDSA verification with this key (message hashed with the curve's hash; sig = r || s). */
  verify(msg: Uint8Array, sig: Uint8Array): bool {
    if (this.table === null && this.uses >= 1) this.precompute();
    this.uses++;
    const p = changetype<usize>(this.coords);
    if (this.curve == Curve.P256) {
      const c = curveP256();
      return c.verifyLoaded(p, p + c.eb, this.table, KEY_COMB_P256, msg, sig);
    }
    const c = curveP384();
    return c.verifyLoaded(p, p + c.eb, this.table, KEY_COMB_P384, msg, sig);
  }
}

/** verifyEcdsa with a parsed key (EcPublicKey.fromBytes). */
export function verifyEcdsaKey(key: EcPublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  return key.verify(msg, sig);
}
