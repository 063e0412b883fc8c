#!/usr/bin/env node
// Generates ../fields.generated.ts: fully unrolled Montgomery arithmetic for the fixed primes the
// JWT verifier needs (P-256 and P-384 base and scalar fields, Curve25519's field and Ed25519's
// group order). Run `node filters/jwt/crypto/gen/fields.mjs` after changing it; the output is
// committed so the build needs no generation step.
//
// Representation: an element is N little-endian limbs of W = 29 bits, each stored in an i64
// (8 bytes), normalized (0 <= limb < 2^29). Values are kept in [0, 2p) ("lazily reduced"; the
// relaxed sparse fields P-256, P-384 and 2^255 - 19: in [0, 2^(e+2)), see add/sub below) and in
// Montgomery form x*R mod p with R = 2^(29N).
//
// Multiplication is product scanning with the Montgomery reduction interleaved: column k sums
// its limb products (< 2^58 each) in an i64 local with no carries, plus the reduction terms of
// the factors m_j fixed by earlier columns and the carry of column k-1 (at most 2N terms of
// < 2^58: below 2^63 for N <= 14). For the sparse primes (P-256, P-384, 2^255-19) m*p is added
// as a few shifted copies of m, because p is a short sum of +-2^e terms, and -p^-1 mod 2^29 is 1
// for the NIST primes so m needs no multiplication; the dense primes (group orders) multiply m
// by each limb of p. With inputs below 2p the result (ab + mp)/R stays below 2p, since 8p <= R.
// Addition and subtraction reduce to [0, 2p) with a branch-free conditional subtraction.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const W = 29;
const WB = BigInt(W);
const MASK = (1n << WB) - 1n;

function limbs(v, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(v & MASK);
    v >>= WB;
  }
  if (v !== 0n) throw new Error('value does not fit');
  return out;
}

function modinv(a, m) {
  let [x0, x1, r0, r1] = [1n, 0n, ((a % m) + m) % m, m];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [x0, x1] = [x1, x0 - q * x1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((x0 % m) + m) % m;
}

/**
 * One prime field. `terms`: p as a sum of c*2^e (sparse form) or null to use p's limbs (dense).
 */
function field({ name, doc, p, terms, relaxed = false }) {
  const bits = p.toString(2).length;
  const N = Math.ceil((bits + 3) / W); // 4p < 2^(WN-1) keeps lazy results below 2p
  const R = 1n << (WB * BigInt(N));
  if (4n * p * 2n > R) throw new Error(`${name}: R too small`);
  if (2n * BigInt(N) * (1n << (2n * WB)) >= 1n << 63n) throw new Error(`${name}: column overflow`);
  const nprime = (-modinv(p, 1n << WB)) & MASK;
  if (terms) {
    const sum = terms.reduce((acc, [e, c]) => acc + c * (1n << BigInt(e)), 0n);
    if (sum !== p) throw new Error(`${name}: terms do not sum to p`);
  }
  const P = limbs(p, N);
  const P2 = limbs(2n * p, N);
  const R2 = limbs((R * R) % p, N);
  const ONE = limbs(R % p, N);
  const U = name.toUpperCase();
  const hex = (v) => '0x' + v.toString(16);
  const arr = (l) => `memory.data<i64>([${l.map(hex).join(', ')}])`;
  const out = [];
  out.push(`// ${doc}`);
  out.push(`// p = 0x${p.toString(16)}`);
  out.push(`export const ${U}_LIMBS: i32 = ${N};`);
  out.push(`export const ${U}_BYTES: i32 = ${Math.ceil(bits / 8)};`);
  out.push(`/** p */\nexport const ${U}_P: usize = ${arr(P)};`);
  out.push(`/** 2p */\nexport const ${U}_P2: usize = ${arr(P2)};`);
  out.push(`/** R^2 mod p: Montgomery form of x is mul(x, R2). */\nexport const ${U}_R2: usize = ${arr(R2)};`);
  out.push(`/** R mod p: Montgomery form of 1. */\nexport const ${U}_ONE: usize = ${arr(ONE)};`);
  out.push(`/** R^3 mod p: mul(x^-1, R3) turns the inverse of a Montgomery representative into Montgomery form. */\nexport const ${U}_R3: usize = ${arr(limbs((R * R * R) % p, N))};`);
  out.push(`/** -p^-1 mod 2^${W}. */\nexport const ${U}_NPRIME: i64 = ${hex(nprime)};`);
  const be = (v) => {
    const bytes = [];
    for (let i = 0; i < Math.ceil(bits / 8); i++) bytes.unshift(Number((v >> BigInt(8 * i)) & 0xffn));
    return `memory.data<u8>([${bytes.map((b) => '0x' + b.toString(16).padStart(2, '0')).join(', ')}])`;
  };
  out.push(`/** p as ${Math.ceil(bits / 8)} big-endian bytes. */\nexport const ${U}_P_BYTES: usize = ${be(p)};`);
  out.push(`/** p - 2 as big-endian bytes (the inversion exponent). */\nexport const ${U}_PM2_BYTES: usize = ${be(p - 2n)};`);

  // Product scanning with interleaved Montgomery reduction: column k sums the limb products
  // a_i*b_j (i+j = k), the reduction terms m_j*p contributes to column k, and the carry from
  // column k-1. Columns 0..N-1 each fix one m_k (making the column divisible by 2^W); columns
  // N..2N-1 are the result limbs.
  const scan = (lines, productsOf) => {
    lines.push('  let c: i64 = 0, t: i64;');
    for (let k = 0; k < 2 * N; k++) {
      // Independent products first and the carry last, so only the final additions wait for the
      // previous column.
      const parts = [...productsOf(k)];
      const post = [];
      if (terms) {
        for (const [e, coef] of terms) {
          const q = Math.floor(e / W), sh = e % W;
          const j = k - q;
          if (j < 0 || j >= N) continue;
          const abs = coef < 0n ? -coef : coef;
          let term = abs === 1n ? `m${j}` : `m${j} * ${abs}`;
          if (sh) term = `(${term} << ${sh})`;
          (j === k ? post : parts).push((coef < 0n ? '- ' : '+ ') + term);
        }
      } else {
        for (let j = 0; j < N; j++) {
          const i = k - j;
          if (i < 0 || i >= N || P[i] === 0n) continue;
          (j === k ? post : parts).push(`+ m${j} * ${hex(P[i])}`);
        }
      }
      parts.push('c');
      let expr = parts.map((x) => (x.startsWith('+ ') || x.startsWith('- ') ? x : '+ ' + x)).join(' ');
      expr = expr.startsWith('+ ') ? expr.slice(2) : '0 ' + expr;
      lines.push(`  t = ${expr};`);
      if (k < N) {
        lines.push(nprime === 1n ? `  const m${k} = t & ${hex(MASK)};` : `  const m${k} = (t * ${hex(nprime)}) & ${hex(MASK)};`);
        // With n' = 1 the only same-column term is -m_k, which just clears the low bits that the
        // arithmetic shift drops anyway.
        const trivial = nprime === 1n && post.length === 1 && post[0] === `- m${k}`;
        if (post.length && !trivial) lines.push(`  t = t ${post.join(' ')};`);
        lines.push(`  c = t >> ${W};`);
      } else {
        lines.push(`  store<i64>(r, t & ${hex(MASK)}, ${8 * (k - N)});`);
        if (k < 2 * N - 1) lines.push(`  c = t >> ${W};`);
      }
    }
  };

  {
    const lines = [`/** r = a*b/R mod p (inputs and output in [0, 2p)); r may alias a or b. */`, `export function ${name}_mul(r: usize, a: usize, b: usize): void {`];
    for (let i = 0; i < N; i++) lines.push(`  const a${i} = load<i64>(a, ${8 * i}), b${i} = load<i64>(b, ${8 * i});`);
    scan(lines, (k) => {
      const ps = [];
      for (let i = 0; i < N; i++) {
        const j = k - i;
        if (j >= 0 && j < N) ps.push(`a${i} * b${j}`);
      }
      return ps;
    });
    lines.push('}');
    out.push(lines.join('\n'));
  }
  {
    const lines = [`/** r = a*a/R mod p; r may alias a. */`, `export function ${name}_sqr(r: usize, a: usize): void {`];
    for (let i = 0; i < N; i++) lines.push(`  const a${i} = load<i64>(a, ${8 * i});`);
    for (let i = 1; i < N; i++) lines.push(`  const d${i} = a${i} << 1;`);
    scan(lines, (k) => {
      const ps = [];
      for (let i = 0; i < N; i++) {
        const j = k - i;
        if (j > i && j < N) ps.push(`a${i} * d${j}`);
        if (j === i) ps.push(`a${i} * a${i}`);
      }
      return ps;
    });
    lines.push('}');
    out.push(lines.join('\n'));
  }
  // Strict fields keep values in [0, 2p). add/sub/canon: one carry chain normalizes the sum s, a
  // second computes s - c (c = 2p or p) from the normalized limbs (it runs right behind the
  // first), and the sign of s - c selects the result without a branch: s when s < c, else s - c.
  //
  // Relaxed fields (sparse p = 2^e - K with the 2^e bit in the top limb, and R >= 32p) keep values
  // in [0, 2^(e+2)) with normalized limbs instead, which the multiplication accepts (ab < 2^(2e+4)
  // <= pR, result < ab/R + p < 2^(e+1)). add and sub then need a single carry chain: the multiple
  // H of 2^e in the top limb of the inputs is folded back as H*K (2^e = K mod p; K has a few +-2^i
  // terms, so H*K is a few shifts), and 2p is added so the negative terms of K cannot make the
  // value negative:
  //   add: a + b - H 2^e + H K + 2p, H = (a_top + b_top) >> (e mod W)
  //   sub: a - b + 8p - H 2^e + H K + 2p, H = (a_top - b_top + (8p)_top) >> (e mod W)
  // Both stay in (0, 2^e + 2^(e+1) + small) within [0, 2^(e+2)) (the bounds are checked below).
  // canon subtracts 4p, 2p and p conditionally; isZero compares with 0, p, .., 4p.
  const condSub = (lines, c, src = 's', dst = null, tag = '') => {
    lines.push(`  let bw${tag}: i64 = 0;`);
    for (let i = 0; i < N; i++) {
      lines.push(`  bw${tag} += ${src}${i} - ${hex(c[i])};`);
      lines.push(i < N - 1 ? `  const d${tag}${i} = bw${tag} & ${hex(MASK)}; bw${tag} >>= ${W};` : `  const d${tag}${i} = bw${tag} & ${hex(MASK)};`);
    }
    lines.push(`  const keep${tag} = bw${tag} >> 63; // all ones when the value < c: keep it`);
    for (let i = 0; i < N; i++) {
      if (dst) lines.push(`  const ${dst}${i} = (${src}${i} & keep${tag}) | (d${tag}${i} & ~keep${tag});`);
      else lines.push(`  store<i64>(r, (${src}${i} & keep${tag}) | (d${tag}${i} & ~keep${tag}), ${8 * i});`);
    }
  };
  let multiples = [0n, p];
  if (relaxed) {
    const [e, lead] = terms[0];
    if (lead !== 1n || terms.slice(1).some(([x]) => x >= e)) throw new Error(`${name}: relaxed needs p = 2^e - K`);
    const q = Math.floor(e / W), off = e % W;
    if (q !== N - 1) throw new Error(`${name}: 2^e must fall in the top limb`);
    const E = 1n << BigInt(e);
    if (R < 32n * p) throw new Error(`${name}: relaxed needs R >= 32p`);
    const B = E << 2n; // value bound
    if (B * B > p * R) throw new Error(`${name}: mul bound`);
    const K = terms.slice(1).map(([x, c]) => [x, -c]); // 2^e - p
    const kNeg = K.filter(([, c]) => c < 0n).reduce((acc, [x, c]) => acc - c * (1n << BigInt(x)), 0n);
    const kPos = K.filter(([, c]) => c > 0n).reduce((acc, [x, c]) => acc + c * (1n << BigInt(x)), 0n);
    const P8 = limbs(8n * p, N);
    const topUnit = 1n << BigInt(W * q);
    const hMaxAdd = ((B >> BigInt(W * q)) * 2n) >> BigInt(off);
    const hMaxSub = ((B >> BigInt(W * q)) + P8[q]) >> BigInt(off);
    // Bounds: add: a + b - H 2^e in [0, 2^e + 2 topUnit); sub: a - b + 8p - H 2^e in [-topUnit, 2^e + 2 topUnit).
    for (const [hMax, low] of [[hMaxAdd, 0n], [hMaxSub, -topUnit]]) {
      if (low - hMax * kNeg + 2n * p <= 0n) throw new Error(`${name}: relaxed lower bound`);
      if (E + 2n * topUnit + hMax * kPos + 2n * p >= B) throw new Error(`${name}: relaxed upper bound`);
    }
    if (8n * p <= B) throw new Error(`${name}: 8p must exceed the bound`);
    const foldTerms = (i) => {
      const out = [];
      for (const [x, c] of K) {
        if (Math.floor(x / W) !== i) continue;
        const sh = x % W;
        const mag = c < 0n ? -c : c;
        const h = mag === 1n ? 'H' : `H * ${mag}`;
        const t = sh ? `((${h}) << ${sh})` : mag === 1n ? 'H' : `(${h})`;
        out.push(c < 0n ? ` - ${t}` : ` + ${t}`);
      }
      if (i === q) out.push(` - (H << ${off})`);
      return out.join('');
    };
    const single = (lines, op) => {
      if (op === '+') lines.push(`  const H = (load<i64>(a, ${8 * q}) + load<i64>(b, ${8 * q})) >> ${off};`);
      else lines.push(`  const H = (load<i64>(a, ${8 * q}) - load<i64>(b, ${8 * q}) + ${hex(P8[q])}) >> ${off};`);
      lines.push('  let c: i64 = 0;');
      for (let i = 0; i < N; i++) {
        const k = op === '+' ? P2[i] : P8[i] + P2[i];
        lines.push(`  c += load<i64>(a, ${8 * i}) ${op} load<i64>(b, ${8 * i}) + ${hex(k)}${foldTerms(i)};`);
        lines.push(i < N - 1 ? `  store<i64>(r, c & ${hex(MASK)}, ${8 * i}); c >>= ${W};` : `  store<i64>(r, c, ${8 * i});`);
      }
    };
    // r may alias a or b: limb i of the inputs is read before limb i of r is written, and H first.
    out.push([`/** r = a + b, in [0, 2^${e + 2}) (relaxed); r may alias a or b. */`, `export function ${name}_add(r: usize, a: usize, b: usize): void {`, ...(() => { const l = []; single(l, '+'); return l; })(), '}'].join('\n'));
    out.push([`/** r = a - b, in [0, 2^${e + 2}) (relaxed); r may alias a or b. */`, `export function ${name}_sub(r: usize, a: usize, b: usize): void {`, ...(() => { const l = []; single(l, '-'); return l; })(), '}'].join('\n'));
    {
      const lines = [`/** r = a mod p for a in [0, 2^${e + 2}): the canonical value; r may alias a. */`, `export function ${name}_canon(r: usize, a: usize): void {`];
      for (let i = 0; i < N; i++) lines.push(`  const s${i} = load<i64>(a, ${8 * i});`);
      condSub(lines, limbs(4n * p, N), 's', 'u', 'A');
      condSub(lines, P2, 'u', 'v', 'B');
      condSub(lines, P, 'v', null, 'C');
      lines.push('}');
      out.push(lines.join('\n'));
    }
    multiples = [0n, p, 2n * p, 3n * p, 4n * p].filter((m) => m < B);
  } else {
    const lines = [`/** r = a + b, reduced to [0, 2p); r may alias a or b. */`, `export function ${name}_add(r: usize, a: usize, b: usize): void {`, '  let c: i64 = 0;'];
    for (let i = 0; i < N; i++) {
      lines.push(`  c += load<i64>(a, ${8 * i}) + load<i64>(b, ${8 * i});`);
      lines.push(i < N - 1 ? `  const s${i} = c & ${hex(MASK)}; c >>= ${W};` : `  const s${i} = c;`);
    }
    condSub(lines, P2);
    lines.push('}');
    out.push(lines.join('\n'));
    // a - b + 2p is in (0, 4p).
    const sl = [`/** r = a - b, reduced to [0, 2p); r may alias a or b. */`, `export function ${name}_sub(r: usize, a: usize, b: usize): void {`, '  let c: i64 = 0;'];
    for (let i = 0; i < N; i++) {
      sl.push(`  c += load<i64>(a, ${8 * i}) - load<i64>(b, ${8 * i}) + ${hex(P2[i])};`);
      sl.push(i < N - 1 ? `  const s${i} = c & ${hex(MASK)}; c >>= ${W};` : `  const s${i} = c;`);
    }
    condSub(sl, P2);
    sl.push('}');
    out.push(sl.join('\n'));
    const cl = [`/** r = a mod p for a in [0, 2p): the canonical value; r may alias a. */`, `export function ${name}_canon(r: usize, a: usize): void {`];
    for (let i = 0; i < N; i++) cl.push(`  const s${i} = load<i64>(a, ${8 * i});`);
    condSub(cl, P);
    cl.push('}');
    out.push(cl.join('\n'));
  }
  {
    // Zero mod p means one of the multiples of p the representation allows; the first limb
    // rules out almost every nonzero value at once.
    const ml = multiples.map((m) => limbs(m, N));
    const lines = [`/** True when a is zero mod p (a is one of ${multiples.length} multiples of p). */`, `export function ${name}_isZero(a: usize): bool {`];
    lines.push('  const l0 = load<i64>(a, 0);');
    lines.push(`  if (${[...new Set(ml.map((l) => l[0]))].map((v) => `l0 != ${hex(v)}`).join(' && ')}) return false;`);
    for (const l of ml) lines.push(`  if (${l.map((v, i) => `load<i64>(a, ${8 * i}) == ${hex(v)}`).join(' && ')}) return true;`);
    lines.push('  return false;');
    lines.push('}');
    out.push(lines.join('\n'));
  }
  if (!terms) {
    // Montgomery reduction of a double-width value: r = t/R mod p for t < R*p given as 2N limbs.
    const lines = [`/** r = t/R mod p, in [0, 2p), for t < R*p given as ${2 * N} normalized limbs at t. */`, `export function ${name}_redcWide(r: usize, t0: usize): void {`];
    scan(lines, (k) => [`load<i64>(t0, ${8 * k})`]);
    lines.push('}');
    out.push(lines.join('\n'));
  }
  return out.join('\n\n');
}

const P256 = (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n;
const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P384 = (1n << 384n) - (1n << 128n) - (1n << 96n) + (1n << 32n) - 1n;
const N384 = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const P25519 = (1n << 255n) - 19n;
const L25519 = (1n << 252n) + 27742317777372353535851937790883648493n;

const sections = [
  field({ name: 'p256', doc: 'P-256 base field (FIPS 186-4 D.1.2.3)', p: P256, terms: [[256, 1n], [224, -1n], [192, 1n], [96, 1n], [0, -1n]], relaxed: true }),
  field({ name: 'n256', doc: 'P-256 group order', p: N256, terms: null }),
  field({ name: 'p384', doc: 'P-384 base field (FIPS 186-4 D.1.2.4)', p: P384, terms: [[384, 1n], [128, -1n], [96, -1n], [32, 1n], [0, -1n]], relaxed: true }),
  field({ name: 'n384', doc: 'P-384 group order', p: N384, terms: null }),
  field({ name: 'f25519', doc: 'Curve25519 base field, p = 2^255 - 19 (RFC 7748)', p: P25519, terms: [[255, 1n], [0, -19n]], relaxed: true }),
  field({ name: 'l25519', doc: 'Ed25519 group order L (RFC 8032 section 5.1)', p: L25519, terms: null }),
];

const header = `// GENERATED by filters/jwt/crypto/gen/fields.mjs: do not edit by hand.
// Unrolled Montgomery arithmetic for fixed primes: elements are N limbs of ${W} bits in i64 slots,
// values in [0, 2p), Montgomery form x*R mod p with R = 2^(${W}N). See the generator for the bounds.
/* eslint-disable */
`;
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'fields.generated.ts');
writeFileSync(target, header + '\n' + sections.join('\n\n') + '\n');
console.log(`wrote ${target}`);
