// Ed25519 signature verification (RFC 8032 section 5.1.7), for JWS "EdDSA" with crv Ed25519
// (RFC 8037).
//
// Decisions on the encodings RFC 8032 leaves to the verifier (these match Wycheproof's
// expectations):
//  - S must be canonical: S < L, else the signature is rejected (RFC 8032 5.1.7 step 1).
//  - The public key A is decoded strictly (5.1.3): a y coordinate >= p, or x = 0 with the sign
//    bit set, or a y with no matching x, is rejected. A small-order or mixed-order A that
//    decodes is not rejected for that reason.
//  - R is not decoded on its own: the verifier computes P = [S]B - [k]A and compares the
//    canonical encoding of P with the 32 bytes of R. So any non-canonical R encoding (y >= p, or
//    x = 0 with the sign bit set) fails, as does an R that is not a curve point.
//  - The check is the cofactorless equation [S]B = R + [k]A (5.1.7 allows it in place of the
//    cofactored [8][S]B = [8]R + [8][k]A; they differ only for R or A with a small-order
//    component, which honest signers never produce).
//
// Points use extended twisted Edwards coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z,
// with the a = -1 formulas of Hisil, Wong, Carter and Dawson (2008); they are complete on this
// curve, so no special cases are needed. [S]B uses a fixed-base comb (6-bit signed windows, a
// 149 KB table of affine points built on first use); [k](-A) a width-5 NAF over -A, -3A, ...,
// -15A. Decoding A takes one exponentiation (square root), encoding P one inversion. A cached key
// (Ed25519PublicKey) is decoded once and, from its second use, has a comb table of A (5-bit
// windows, 86 KiB), so [k](-A) needs no doublings either.
import { Field25519, FieldL25519, feCopy, feEqual, feFromBytes, feFromMont, feInv, feIsZero, feSetSmall } from "./field";
import { compareLimbs, limbsFromBytes, limbsToBytes, LIMB_BITS } from "./bigint";
import { HashAlg, sharedHasher } from "./sha2";

const COMB_BITS: i32 = 6;
const SCALAR_BITS: i32 = 253; // S, k < L < 2^253
const COMB_WINDOWS: i32 = (SCALAR_BITS + 1 + COMB_BITS - 1) / COMB_BITS;
const COMB_HALF: i32 = 1 << (COMB_BITS - 1);
const NAF_WIDTH: i32 = 5;
const NAF_POINTS: i32 = 1 << (NAF_WIDTH - 2);

const F = new Field25519();
const L = new FieldL25519();
const LIMBS: i32 = 9;
const EB: usize = <usize>LIMBS << 3;

// Scratch (elements of EB bytes). Never re-entered.
const SCRATCH = new StaticArray<u64>(LIMBS * (24 + 4 * 3 + 4 * NAF_POINTS));
const S0 = changetype<usize>(SCRATCH);
const T0 = S0, T1 = S0 + EB, T2 = S0 + 2 * EB, T3 = S0 + 3 * EB, T4 = S0 + 4 * EB, T5 = S0 + 5 * EB;
const T6 = S0 + 6 * EB, T7 = S0 + 7 * EB, T8 = S0 + 8 * EB;
const D = S0 + 9 * EB; // d
const D2 = S0 + 10 * EB; // 2d
const SQRTM1 = S0 + 11 * EB;
const ZERO = S0 + 12 * EB;
const BX = S0 + 13 * EB, BY = S0 + 14 * EB;
const AX = S0 + 15 * EB, AY = S0 + 16 * EB;
const SC_S = S0 + 17 * EB, SC_K = S0 + 18 * EB, SC_T = S0 + 19 * EB; // scalars (plain limbs)
const WIDE = S0 + 20 * EB; // 2 elements: 18 limbs for the 512-bit hash
const ACC = S0 + 24 * EB; // extended point (4 elements)
const TMP = ACC + 4 * EB; // cached point (4 elements)
const PT = TMP + 4 * EB; // extended point (4 elements)
const ATAB = PT + 4 * EB; // NAF_POINTS cached points (4 elements each)

const NAF = new StaticArray<i8>(300);
const COMB = new StaticArray<i8>(64);
const BYTES32 = new StaticArray<u8>(32);
const DIGEST = new StaticArray<u8>(64);
const ENC = new StaticArray<u8>(32);

let initialized = false;
let table: StaticArray<u32> | null = null;
let buildWork: StaticArray<u64> | null = null;

function fromHex(dst: usize, hex: string): void {
  const b = changetype<usize>(BYTES32);
  for (let i = 0; i < 32; i++) store<u8>(b + <usize>i, <u8>parseInt(hex.substr(2 * i, 2), 16));
  feFromBytes<Field25519>(F, dst, b, 32);
}

function init(): void {
  if (initialized) return;
  // Constants (RFC 8032 section 5.1): d = -121665/121666, sqrt(-1) = 2^((p-1)/4), and the base
  // point B = (x, 4/5) with x even.
  fromHex(D, "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3");
  F.add(D2, D, D);
  fromHex(SQRTM1, "2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0");
  fromHex(BX, "216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a");
  fromHex(BY, "6666666666666666666666666666666666666666666666666666666666666658");
  initialized = true;
}

// Chain scratch (three elements), separate from T0..T8 which decodePoint is using.
const CHAIN = new StaticArray<u64>(3 * LIMBS);

/** r = a squared n times (r may alias a). */
function sqrN(r: usize, a: usize, n: i32): void {
  F.sqr(r, a);
  for (let i = 1; i < n; i++) F.sqr(r, r);
}

/**
 * r = z^((p - 5) / 8) = z^(2^252 - 3), the square-root exponent, by an addition chain over
 * z^(2^k - 1): 251 squarings and 11 multiplications. r must not alias z.
 */
function powP58(r: usize, z: usize): void {
  const c = changetype<usize>(CHAIN);
  const t = c, z9 = c + EB, a = c + 2 * EB; // a: the running z^(2^k - 1)
  F.sqr(t, z); // z^2
  sqrN(z9, t, 2); // z^8
  F.mul(z9, z9, z); // z^9
  F.mul(t, z9, t); // z^11
  F.sqr(t, t); // z^22
  F.mul(a, t, z9); // z^31 = z^(2^5 - 1)
  sqrN(t, a, 5);
  F.mul(a, t, a); // 2^10 - 1
  memory.copy(z9, a, EB); // keep z^(2^10 - 1)
  sqrN(t, a, 10);
  F.mul(a, t, a); // 2^20 - 1
  sqrN(t, a, 20);
  F.mul(a, t, a); // 2^40 - 1
  sqrN(t, a, 10);
  F.mul(a, t, z9); // 2^50 - 1
  memory.copy(z9, a, EB); // keep z^(2^50 - 1)
  sqrN(t, a, 50);
  F.mul(a, t, a); // 2^100 - 1
  sqrN(t, a, 100);
  F.mul(a, t, a); // 2^200 - 1
  sqrN(t, a, 50);
  F.mul(a, t, z9); // 2^250 - 1
  sqrN(t, a, 2); // 2^252 - 4
  F.mul(r, t, z); // 2^252 - 3
}

/** Reverses 32 little-endian bytes at `src` into BYTES32 (big-endian) and returns it. */
function reversed32(src: usize): usize {
  const b = changetype<usize>(BYTES32);
  for (let i = 0; i < 32; i++) store<u8>(b + <usize>i, load<u8>(src + <usize>(31 - i)));
  return b;
}

/** Plain value parity of a Montgomery element. */
function isOdd(a: usize): bool {
  feFromMont<Field25519>(F, T8, a);
  return (load<u64>(T8) & 1) != 0;
}

/**
 * Decodes a point (RFC 8032 5.1.3) from 32 bytes at `src` into affine (x, y) Montgomery
 * elements. False for non-canonical y, x = 0 with the sign bit set, or no square root.
 */
function decodePoint(x: usize, y: usize, src: usize): bool {
  const be = reversed32(src);
  const sign = (load<u8>(be) >> 7) & 1;
  store<u8>(be, load<u8>(be) & 0x7f);
  if (!feFromBytes<Field25519>(F, y, be, 32)) return false; // y >= p
  const u = T0, v = T1, t = T2, v3 = T3, one = T4;
  feSetSmall<Field25519>(F, one, 1);
  F.sqr(u, y);
  F.mul(v, u, D);
  F.sub(u, u, one); // u = y^2 - 1
  F.add(v, v, one); // v = d y^2 + 1
  // x = u v^3 (u v^7)^((p-5)/8)
  F.sqr(v3, v);
  F.mul(v3, v3, v); // v^3
  F.sqr(t, v3);
  F.mul(t, t, v);
  F.mul(t, t, u); // u v^7
  powP58(x, t);
  F.mul(x, x, v3);
  F.mul(x, x, u);
  // v x^2 == u: x; == -u: x * sqrt(-1); else no root
  F.sqr(t, x);
  F.mul(t, t, v);
  if (!feEqual<Field25519>(F, t, u)) {
    F.add(t, t, u);
    if (!feIsZero<Field25519>(F, t)) return false;
    F.mul(x, x, SQRTM1);
  }
  const xIsZero = feIsZero<Field25519>(F, x);
  if (xIsZero && sign == 1) return false;
  if (isOdd(x) != (sign == 1)) F.sub(x, ZERO, x);
  return true;
}

/** Encodes the extended point p (RFC 8032 5.1.2) into 32 bytes at `dst`. */
function encodePoint(dst: usize, p: usize): void {
  const zi = T0, x = T1, y = T2;
  feInv<Field25519>(F, zi, p + 2 * EB);
  F.mul(x, p, zi);
  F.mul(y, p + EB, zi);
  feFromMont<Field25519>(F, T3, y);
  const be = changetype<usize>(BYTES32);
  limbsToBytes(be, 32, T3, LIMBS);
  for (let i = 0; i < 32; i++) store<u8>(dst + <usize>i, load<u8>(be + <usize>(31 - i)));
  if (isOdd(x)) store<u8>(dst + 31, load<u8>(dst + 31) | 0x80);
}

// --- point arithmetic (extended coordinates) ---------------------------------------------------

/** r = 2p; T is computed only when `withT` (the next operation is an addition). r may alias p. */
function dbl(r: usize, p: usize, withT: bool): void {
  const a = T0, b = T1, c = T2, e = T3, g = T4, h = T5, f = T6;
  F.sqr(a, p);
  F.sqr(b, p + EB);
  F.sqr(c, p + 2 * EB);
  F.add(c, c, c);
  F.add(h, a, b);
  F.add(e, p, p + EB);
  F.sqr(e, e);
  F.sub(e, h, e); // E = A + B - (X + Y)^2
  F.sub(g, a, b); // G = A - B
  F.add(f, c, g); // F = C + G
  F.mul(r, e, f);
  F.mul(r + EB, g, h);
  if (withT) F.mul(r + 3 * EB, e, h);
  F.mul(r + 2 * EB, f, g);
}

/**
 * r = p + q where q is in cached form (Y - X, Y + X, 2d T, 2 Z), or affine niels form
 * (y - x, y + x, 2d x y) when `affine` (Z = 1). r may alias p.
 */
function addCached(r: usize, p: usize, q: usize, affine: bool, withT: bool): void {
  const a = T0, b = T1, c = T2, d = T3, e = T4, f = T5, g = T6, h = T7;
  F.sub(a, p + EB, p);
  F.mul(a, a, q);
  F.add(b, p + EB, p);
  F.mul(b, b, q + EB);
  F.mul(c, p + 3 * EB, q + 2 * EB);
  if (affine) F.add(d, p + 2 * EB, p + 2 * EB);
  else F.mul(d, p + 2 * EB, q + 3 * EB);
  F.sub(e, b, a);
  F.sub(f, d, c);
  F.add(g, d, c);
  F.add(h, b, a);
  F.mul(r, e, f);
  F.mul(r + EB, g, h);
  if (withT) F.mul(r + 3 * EB, e, h);
  F.mul(r + 2 * EB, f, g);
}

/** Cached form of the extended point p into c. */
function toCached(c: usize, p: usize): void {
  F.sub(c, p + EB, p);
  F.add(c + EB, p + EB, p);
  F.mul(c + 2 * EB, p + 3 * EB, D2);
  F.add(c + 3 * EB, p + 2 * EB, p + 2 * EB);
}

/** In-place negation of a cached (or affine niels) point: swap Y-X and Y+X, negate 2dT. */
function negateCached(c: usize): void {
  memory.copy(T8, c, EB);
  memory.copy(c, c + EB, EB);
  memory.copy(c + EB, T8, EB);
  F.sub(c + 2 * EB, ZERO, c + 2 * EB);
}

function setIdentity(p: usize): void {
  memory.fill(p, 0, 4 * EB);
  feSetSmall<Field25519>(F, p + EB, 1);
  feSetSmall<Field25519>(F, p + 2 * EB, 1);
}

/**
 * A comb table of the affine point (px, py) (Montgomery coordinates) with windows of `bits`: for
 * window j and d = 1..2^(bits-1), d * 2^(bits j) * P in affine niels form (u32 limbs). Used for B
 * and for a cached key's A (Ed25519PublicKey).
 */
function buildTable(px: usize, py: usize, bits: i32): StaticArray<u32> {
  const COMB_HALF = 1 << (bits - 1);
  const COMB_WINDOWS = (SCALAR_BITS + 1 + bits - 1) / bits;
  const tab = new StaticArray<u32>(COMB_WINDOWS * COMB_HALF * 3 * LIMBS);
  // Working space, held in a global while in use (only raw pointers into it are used below).
  const work = new StaticArray<u64>((COMB_HALF * 4 + COMB_HALF + 12) * LIMBS);
  buildWork = work;
  const pp = changetype<usize>(work);
  const pr = pp + <usize>(COMB_HALF * 4) * EB, bp = pr + <usize>COMB_HALF * EB;
  const cp = bp + 4 * EB, tp = cp + 4 * EB;
  // base = B (extended: Z = 1, T = x y)
  feCopy<Field25519>(F, bp, px);
  feCopy<Field25519>(F, bp + EB, py);
  feSetSmall<Field25519>(F, bp + 2 * EB, 1);
  F.mul(bp + 3 * EB, px, py);
  let out = changetype<usize>(tab);
  for (let j = 0; j < COMB_WINDOWS; j++) {
    toCached(cp, bp);
    memory.copy(pp, bp, 4 * EB);
    for (let d = 1; d < COMB_HALF; d++) addCached(pp + <usize>d * 4 * EB, pp + <usize>(d - 1) * 4 * EB, cp, false, true);
    // Batch inversion of Z.
    feCopy<Field25519>(F, pr, pp + 2 * EB);
    for (let d = 1; d < COMB_HALF; d++) F.mul(pr + <usize>d * EB, pr + <usize>(d - 1) * EB, pp + <usize>d * 4 * EB + 2 * EB);
    const inv = tp, zi = tp + EB, x = tp + 2 * EB, y = tp + 3 * EB;
    feInv<Field25519>(F, inv, pr + <usize>(COMB_HALF - 1) * EB);
    for (let d = COMB_HALF - 1; d >= 0; d--) {
      const pt = pp + <usize>d * 4 * EB;
      if (d > 0) {
        F.mul(zi, inv, pr + <usize>(d - 1) * EB);
        F.mul(inv, inv, pt + 2 * EB);
      } else {
        feCopy<Field25519>(F, zi, inv);
      }
      F.mul(x, pt, zi);
      F.mul(y, pt + EB, zi);
      // niels: (y - x, y + x, 2d x y), canonical, as u32 limbs
      const o = out + <usize>(d * 3 * LIMBS) * 4;
      F.sub(T5, y, x);
      F.add(T6, y, x);
      F.mul(T7, x, y);
      F.mul(T7, T7, D2);
      F.canon(T5, T5);
      F.canon(T6, T6);
      F.canon(T7, T7);
      for (let k = 0; k < LIMBS; k++) {
        store<u32>(o + (<usize>k << 2), <u32>load<u64>(T5 + (<usize>k << 3)));
        store<u32>(o + (<usize>(LIMBS + k) << 2), <u32>load<u64>(T6 + (<usize>k << 3)));
        store<u32>(o + (<usize>(2 * LIMBS + k) << 2), <u32>load<u64>(T7 + (<usize>k << 3)));
      }
    }
    out += <usize>(COMB_HALF * 3 * LIMBS) * 4;
    for (let k = 0; k < bits; k++) dbl(bp, bp, k == bits - 1);
  }
  buildWork = null;
  return tab;
}

/** `width` bits of the plain limb scalar at `k` from bit `pos`. */
function bitsAt(k: usize, pos: i32, width: i32): i32 {
  const li = pos / LIMB_BITS;
  const off = pos % LIMB_BITS;
  if (li >= LIMBS) return 0;
  let v = load<u64>(k + (<usize>li << 3)) >> <u64>off;
  if (off + width > LIMB_BITS && li + 1 < LIMBS) v |= load<u64>(k + (<usize>(li + 1) << 3)) << <u64>(LIMB_BITS - off);
  return <i32>(v & ((<u64>1 << <u64>width) - 1));
}

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian limbs in L.p. */
function scalarFromLE(dst: usize, src: usize): bool {
  limbsFromBytes(dst, LIMBS, reversed32(src), 32);
  return compareLimbs(dst, L.p, LIMBS) < 0;
}

export function initEd25519(): void {
  init();
  if (table === null) table = buildTable(BX, BY, COMB_BITS);
}

/**
 * Ed25519 verification (RFC 8032 5.1.7): `pub` 32 bytes, `sig` 64 bytes (R || S), any message.
 * False for any malformed input.
 */
export function verifyEd25519(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
  if (pub.length != 32 || sig.length != 64) return false;
  initEd25519();
  // S < L (checked before the work of decoding A)
  if (!scalarFromLE(SC_S, sig.dataStart + 32)) return false;
  if (!decodePoint(AX, AY, pub.dataStart)) return false;
  return verifyDecoded(pub.dataStart, AX, AY, null, msg, sig);
}

/** acc += [k]P (or [k](-P) when `negate`) over P's comb table with windows of `bits`. */
function combAdd(acc: usize, tab: StaticArray<u32>, k: usize, bits: i32, negate: bool): void {
  const half = 1 << (bits - 1);
  const windows = (SCALAR_BITS + 1 + bits - 1) / bits;
  const comb = changetype<usize>(COMB);
  let carry = 0;
  for (let j = 0; j < windows; j++) {
    let v = bitsAt(k, j * bits, bits) + carry;
    if (v > half) { v -= 1 << bits; carry = 1; } else { carry = 0; }
    store<i8>(comb + <usize>j, <i8>v);
  }
  const tp = changetype<usize>(tab);
  for (let j = 0; j < windows; j++) {
    const d = <i32>load<i8>(comb + <usize>j);
    if (d == 0) continue;
    const e = tp + <usize>((j * half + (abs<i32>(d) - 1)) * 3 * LIMBS) * 4;
    for (let i = 0; i < LIMBS; i++) {
      store<u64>(TMP + (<usize>i << 3), <u64>load<u32>(e + (<usize>i << 2)));
      store<u64>(TMP + EB + (<usize>i << 3), <u64>load<u32>(e + (<usize>(LIMBS + i) << 2)));
      store<u64>(TMP + 2 * EB + (<usize>i << 3), <u64>load<u32>(e + (<usize>(2 * LIMBS + i) << 2)));
    }
    if ((d < 0) != negate) negateCached(TMP);
    addCached(acc, acc, TMP, true, true);
  }
}

/**
 * Verification once S (in SC_S, checked < L) and A (decoded, at ax, ay; its 32-byte encoding at
 * `pub`) are known. `atable`: A's comb table (KEY_COMB_BITS), or null for the width-5 NAF.
 */
function verifyDecoded(pub: usize, ax: usize, ay: usize, atable: StaticArray<u32> | null, msg: Uint8Array, sig: Uint8Array): bool {
  // k = SHA-512(R || A || M) mod L
  const h = sharedHasher(HashAlg.SHA512)!;
  h.updatePtr(sig.dataStart, 32);
  h.updatePtr(pub, 32);
  h.updatePtr(msg.dataStart, msg.length);
  const digest = changetype<usize>(DIGEST);
  h.finishInto(digest);
  // The digest is a little-endian integer: reverse it in place, read it as 18 limbs.
  for (let i = 0; i < 32; i++) {
    const a = load<u8>(digest + <usize>i);
    store<u8>(digest + <usize>i, load<u8>(digest + <usize>(63 - i)));
    store<u8>(digest + <usize>(63 - i), a);
  }
  limbsFromBytes(WIDE, 2 * LIMBS, digest, 64);
  L.redcWide(SC_T, WIDE); // k / R
  L.mul(SC_K, SC_T, L.r2); // k mod L (plain), in [0, 2L)
  L.canon(SC_K, SC_K);

  const acc = ACC;
  if (atable !== null) {
    // acc = [k](-A) over A's comb table
    setIdentity(acc);
    combAdd(acc, atable, SC_K, KEY_COMB_BITS, true);
  } else {
    nafNegMul(acc, ax, ay);
  }
  // acc += [S]B (comb)
  combAdd(acc, table!, SC_S, COMB_BITS, false);

  // encode([S]B - [k]A) == R
  const enc = changetype<usize>(ENC);
  encodePoint(enc, acc);
  for (let j = 0; j < 32; j++) if (load<u8>(enc + <usize>j) != load<u8>(sig.dataStart + <usize>j)) return false;
  return true;
}

/** acc = [k](-A) (k in SC_K) by a width-5 NAF over -A, -3A, ..., -15A. */
function nafNegMul(acc: usize, ax: usize, ay: usize): void {
  // Odd multiples of -A in cached form: ATAB[i] = (2i + 1)(-A)
  const pt = PT;
  F.sub(pt, ZERO, ax);
  feCopy<Field25519>(F, pt + EB, ay);
  feSetSmall<Field25519>(F, pt + 2 * EB, 1);
  F.mul(pt + 3 * EB, pt, ay);
  toCached(ATAB, pt);
  const a2 = ACC; // temporarily: 2(-A) as cached in TMP
  dbl(a2, pt, true);
  toCached(TMP, a2);
  for (let i = 1; i < NAF_POINTS; i++) {
    addCached(pt, pt, TMP, false, true);
    toCached(ATAB + <usize>i * 4 * EB, pt);
  }

  // acc = [k](-A) by width-5 NAF
  const naf = changetype<usize>(NAF);
  const len = SCALAR_BITS + 1;
  memory.fill(naf, 0, <usize>len);
  let carry = 0;
  let i = 0;
  while (i < len) {
    const bit = bitsAt(SC_K, i, 1);
    if (bit == carry) { i++; continue; }
    let v = bitsAt(SC_K, i, NAF_WIDTH) + carry;
    if (v >= 1 << (NAF_WIDTH - 1)) { v -= 1 << NAF_WIDTH; carry = 1; } else { carry = 0; }
    store<i8>(naf + <usize>i, <i8>v);
    i += NAF_WIDTH;
  }
  setIdentity(acc);
  let top = len - 1;
  while (top >= 0 && load<i8>(naf + <usize>top) == 0) top--;
  for (let j = top; j >= 0; j--) {
    const d = <i32>load<i8>(naf + <usize>j);
    if (j != top) {
      // T is needed only when an addition follows (the comb additions follow j = 0).
      dbl(acc, acc, d != 0 || j == 0);
    }
    if (d > 0) {
      addCached(acc, acc, ATAB + <usize>((d - 1) >> 1) * 4 * EB, false, true);
    } else if (d < 0) {
      memory.copy(TMP, ATAB + <usize>((-d - 1) >> 1) * 4 * EB, 4 * EB);
      negateCached(TMP);
      addCached(acc, acc, TMP, false, true);
    }
  }
  if (top < 0) setIdentity(acc);
}

/** Window of a cached key's comb table: 51 windows x 16 points, 86 KiB. */
const KEY_COMB_BITS: i32 = 5;

/**
 * An Ed25519 public key decoded once (strictly, as verifyEd25519 does), for reuse across
 * verifications (the JWT filter keeps one per JWKS key): it skips the square root of the
 * decoding, and from its second verification on (or after `precompute()`) it holds a comb table
 * of A (86 KiB, built in a few milliseconds), so [k]A costs one addition per 5-bit window instead
 * of ~253 doublings. Call `precompute()` where a pause does not matter (e.g. when a JWKS is loaded).
 */
export class Ed25519PublicKey {
  /** The 32-byte encoding, then x and y (Montgomery limbs). */
  private enc: StaticArray<u8> = new StaticArray<u8>(32);
  private coords: StaticArray<u64> = new StaticArray<u64>(2 * LIMBS);
  private table: StaticArray<u32> | null = null;
  private uses: i32 = 0;

  private constructor() {}

  /** Decodes a 32-byte key; null when it is not a valid encoding of a curve point. */
  static fromBytes(pub: Uint8Array): Ed25519PublicKey | null {
    if (pub.length != 32) return null;
    init();
    const key = new Ed25519PublicKey();
    memory.copy(changetype<usize>(key.enc), pub.dataStart, 32);
    const c = changetype<usize>(key.coords);
    return decodePoint(c, c + EB, pub.dataStart) ? key : null;
  }

  /** Builds the key's comb table now (otherwise built on its second verification). */
  precompute(): void {
    if (this.table !== null) return;
    const c = changetype<usize>(this.coords);
    this.table = buildTable(c, c + EB, KEY_COMB_BITS);
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

  /** Ed25519 verification with this key (`sig` 64 bytes, R || S). */
  verify(msg: Uint8Array, sig: Uint8Array): bool {
    if (sig.length != 64) return false;
    initEd25519();
    if (!scalarFromLE(SC_S, sig.dataStart + 32)) return false;
    if (this.table === null && this.uses >= 1) this.precompute();
    this.uses++;
    const c = changetype<usize>(this.coords);
    return verifyDecoded(changetype<usize>(this.enc), c, c + EB, this.table, msg, sig);
  }
}

/** verifyEd25519 with a decoded key (Ed25519PublicKey.fromBytes). */
export function verifyEd25519Key(key: Ed25519PublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  return key.verify(msg, sig);
}
