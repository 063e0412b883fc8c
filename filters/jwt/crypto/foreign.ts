// Signature verification by the host: Envoy's `verify_signature` foreign function (registered in
// source/extensions/common/wasm/foreign.cc, present in Envoy 1.40), called through
// proxy_call_foreign_function. Unlike the rest of this folder this module makes a host call, so
// index.ts does not re-export it: a filter imports "./crypto/foreign" when it wants this path.
//
// Envoy's side: the argument is a serialized protobuf `VerifySignatureArguments`
// (source/extensions/common/wasm/ext/verify_signature.proto):
//   1 hash_function string ("sha256", "sha384", "sha512"; also sha1/sha224, never used here)
//   2 public_key     bytes  (DER SubjectPublicKeyInfo)       } exactly one of the two
//   5 public_key_pem string (PEM)                             }
//   3 signature      bytes
//   4 text           bytes  (the signed message; Envoy hashes it)
// and the answer a `VerifySignatureResult` { 1 result bool, 2 error string }. Envoy imports the key
// and calls BoringSSL's EVP_DigestVerify with the named digest and the key type's default
// scheme, so what works is:
//   RSA keys: RSASSA-PKCS1-v1_5 (RS256/RS384/RS512). Not PSS (no padding parameter is passed).
//   EC keys:  ECDSA with a DER signature (ES256/ES384 after converting JWS's r || s to DER).
//   Ed25519:  not usable (BoringSSL refuses a digest for Ed25519 keys; the e2e test shows it).
// A key that Envoy cannot import makes the call fail with BadArgument.
//
// The JWS checks that are ours stay ours: the ECDSA signature length (exactly 2 x the order size)
// and the curve's hash are checked here before the call; r, s in [1, n-1] is checked by
// BoringSSL (and the e2e test covers it).
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { callForeignFunction } from "@meshward/sdk/assembly";
import { HashAlg } from "./sha2";
import { Curve } from "./ecdsa";

/** Outcome of a host verification. */
export enum ForeignVerifyStatus {
  /** The host verified the signature. */
  Valid = 0,
  /** The host ran the verification and it failed (or the input was refused before the call). */
  Invalid = 1,
  /** The host has no `verify_signature` function (not Envoy, or an Envoy without it). */
  Unavailable = 2,
  /** The host refused the arguments (typically: it could not import the key). */
  Refused = 3,
}

/** The name Envoy registers. */
export const VERIFY_SIGNATURE = "verify_signature";

let availability: i32 = -1; // -1 unknown, 0 no, 1 yes
let lastError: string = "";

/**
 * True when the host offers `verify_signature` (asked once per VM: an empty argument list is
 * refused with BadArgument by Envoy's function, and NotFound means the host has none).
 */
export function foreignVerifyAvailable(): bool {
  if (availability < 0) {
    const r = callForeignFunction(VERIFY_SIGNATURE, new ArrayBuffer(0)).result;
    availability = r == WasmResultValues.NotFound || r == WasmResultValues.Unimplemented ? 0 : 1;
  }
  return availability == 1;
}

/** The host's error text of the last failed verification ("" when none), for debug logs. */
export function lastForeignError(): string {
  return lastError;
}

/** What the key is, which decides the scheme the host applies. */
export enum ForeignKeyType {
  Rsa = 0,
  EcP256 = 1,
  EcP384 = 2,
}

/**
 * A public key encoded once as DER SubjectPublicKeyInfo for the host (keep one per JWKS key, as
 * with RsaPublicKey / EcPublicKey). The constructors check sizes only; the host validates the key
 * itself on each call.
 */
export class ForeignKey {
  constructor(readonly type: ForeignKeyType, readonly der: Uint8Array) {}

  /** An RSA key from its modulus and exponent (big-endian, as in a JWK); null when empty or over 8192 bits. */
  static rsa(n: Uint8Array, e: Uint8Array): ForeignKey | null {
    if (stripped(n) == 0 || stripped(e) == 0 || n.length > 1024 + 1 || e.length > 1024) return null;
    const w = new DerWriter();
    const rsaKey = w.seq(w.cat(w.integer(n), w.integer(e)));
    const algId = w.seq(w.cat(RSA_OID, DER_NULL));
    return new ForeignKey(ForeignKeyType.Rsa, w.seq(w.cat(algId, w.bitString(rsaKey))));
  }

  /** An EC key from its affine coordinates (big-endian, full length: 32 bytes for P-256, 48 for P-384). */
  static ec(curve: Curve, x: Uint8Array, y: Uint8Array): ForeignKey | null {
    const size = curve == Curve.P256 ? 32 : curve == Curve.P384 ? 48 : 0;
    if (size == 0 || x.length != size || y.length != size) return null;
    const w = new DerWriter();
    const point = new Uint8Array(1 + 2 * size);
    point[0] = 4; // uncompressed
    point.set(x, 1);
    point.set(y, 1 + size);
    const algId = w.seq(w.cat(EC_OID, curve == Curve.P256 ? P256_OID : P384_OID));
    return new ForeignKey(curve == Curve.P256 ? ForeignKeyType.EcP256 : ForeignKeyType.EcP384, w.seq(w.cat(algId, w.bitString(point))));
  }
}

/** RS256/RS384/RS512 by the host. `key` must be an RSA ForeignKey. */
export function foreignVerifyRsaPkcs1(alg: HashAlg, key: ForeignKey, msg: Uint8Array, sig: Uint8Array): ForeignVerifyStatus {
  if (key.type != ForeignKeyType.Rsa) return ForeignVerifyStatus.Invalid;
  return callVerifySignature(hashName(alg), key.der, sig, msg);
}

/**
 * ES256/ES384 by the host: `sig` is JWS's r || s (exactly twice the order size), converted to
 * DER here. The hash is the curve's (SHA-256 for P-256, SHA-384 for P-384).
 */
export function foreignVerifyEcdsa(key: ForeignKey, msg: Uint8Array, sig: Uint8Array): ForeignVerifyStatus {
  let size = 0;
  let alg = HashAlg.SHA256;
  if (key.type == ForeignKeyType.EcP256) size = 32;
  else if (key.type == ForeignKeyType.EcP384) { size = 48; alg = HashAlg.SHA384; }
  else return ForeignVerifyStatus.Invalid;
  if (sig.length != 2 * size) return ForeignVerifyStatus.Invalid;
  const w = new DerWriter();
  const der = w.seq(w.cat(w.integer(sig.subarray(0, size)), w.integer(sig.subarray(size))));
  return callVerifySignature(hashName(alg), key.der, der, msg);
}

/**
 * The raw call: `hash` as Envoy names it ("sha256", ...), the key as DER SubjectPublicKeyInfo,
 * the signature in the form BoringSSL expects for the key type, the signed text.
 */
export function callVerifySignature(hash: string, spkiDer: Uint8Array, signature: Uint8Array, text: Uint8Array): ForeignVerifyStatus {
  lastError = "";
  const hashBytes = Uint8Array.wrap(String.UTF8.encode(hash));
  const args = new ProtoWriter(hashBytes.length + spkiDer.length + signature.length + text.length + 24);
  args.bytesField(1, hashBytes);
  args.bytesField(2, spkiDer);
  args.bytesField(3, signature);
  args.bytesField(4, text);
  const res = callForeignFunction(VERIFY_SIGNATURE, args.finish());
  if (res.result == WasmResultValues.NotFound || res.result == WasmResultValues.Unimplemented) {
    availability = 0;
    return ForeignVerifyStatus.Unavailable;
  }
  availability = 1;
  if (res.result != WasmResultValues.Ok) {
    lastError = "verify_signature refused the arguments (result " + (<i32>res.result).toString() + ")";
    return ForeignVerifyStatus.Refused;
  }
  return decodeResult(Uint8Array.wrap(res.data)) ? ForeignVerifyStatus.Valid : ForeignVerifyStatus.Invalid;
}

function hashName(alg: HashAlg): string {
  if (alg == HashAlg.SHA384) return "sha384";
  if (alg == HashAlg.SHA512) return "sha512";
  return "sha256";
}

/**
 * Reads VerifySignatureResult: true only when field 1 (result) is present and nonzero; the error
 * text (field 2) goes to lastError. Malformed answers count as a failed verification.
 */
function decodeResult(b: Uint8Array): bool {
  let ok = false;
  let i = 0;
  while (i < b.length) {
    const tag = b[i++];
    if (tag == 0x08) { // field 1, varint
      let v: u64 = 0, shift: u64 = 0;
      while (i < b.length && shift < 64) {
        const c = b[i++];
        v |= <u64>(c & 0x7f) << shift;
        shift += 7;
        if ((c & 0x80) == 0) break;
      }
      ok = v != 0;
    } else if (tag == 0x12) { // field 2, length-delimited
      let len: i32 = 0, shift: i32 = 0;
      while (i < b.length && shift < 28) {
        const c = b[i++];
        len |= (<i32>c & 0x7f) << shift;
        shift += 7;
        if ((c & 0x80) == 0) break;
      }
      if (len < 0 || i + len > b.length) return false;
      lastError = String.UTF8.decodeUnsafe(b.dataStart + <usize>i, <usize>len);
      i += len;
    } else {
      return false;
    }
  }
  return ok;
}

// --- encodings ---------------------------------------------------------------------------------

function bytesOf(a: Array<u8>): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

// rsaEncryption 1.2.840.113549.1.1.1, id-ecPublicKey 1.2.840.10045.2.1, prime256v1
// 1.2.840.10045.3.1.7, secp384r1 1.3.132.0.34 (RFC 3279, RFC 5480), each as a DER OID.
const RSA_OID = bytesOf([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
const EC_OID = bytesOf([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
const P256_OID = bytesOf([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const P384_OID = bytesOf([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]);
const DER_NULL = bytesOf([0x05, 0x00]);

/** Length of a big-endian integer without its leading zero bytes. */
function stripped(v: Uint8Array): i32 {
  let i = 0;
  while (i < v.length && v[i] == 0) i++;
  return v.length - i;
}

/** Minimal DER: lengths up to 65535 bytes (an 8192-bit RSA key is far below). */
class DerWriter {
  tlv(tag: u8, content: Uint8Array): Uint8Array {
    const n = content.length;
    const head = n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
    const out = new Uint8Array(head + n);
    out[0] = tag;
    if (n < 0x80) out[1] = <u8>n;
    else if (n < 0x100) { out[1] = 0x81; out[2] = <u8>n; }
    else { out[1] = 0x82; out[2] = <u8>(n >> 8); out[3] = <u8>n; }
    out.set(content, head);
    return out;
  }

  seq(content: Uint8Array): Uint8Array {
    return this.tlv(0x30, content);
  }

  /** A non-negative INTEGER from big-endian bytes: minimal (leading zeros dropped, 00 added before a high bit). */
  integer(v: Uint8Array): Uint8Array {
    let i = 0;
    while (i < v.length - 1 && v[i] == 0) i++;
    const body = v.length == 0 ? new Uint8Array(1) : v.subarray(i);
    if (body[0] < 0x80) return this.tlv(0x02, body);
    const padded = new Uint8Array(body.length + 1);
    padded.set(body, 1);
    return this.tlv(0x02, padded);
  }

  bitString(content: Uint8Array): Uint8Array {
    const withUnused = new Uint8Array(content.length + 1); // 0 unused bits
    withUnused.set(content, 1);
    return this.tlv(0x03, withUnused);
  }

  cat(a: Uint8Array, b: Uint8Array): Uint8Array {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }
}

/** Protobuf writer for length-delimited fields (all VerifySignatureArguments needs). */
class ProtoWriter {
  private buf: Uint8Array;
  private pos: i32 = 0;

  constructor(capacity: i32) {
    this.buf = new Uint8Array(capacity);
  }

  private byte(b: u8): void {
    if (this.pos == this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2 + 16);
      bigger.set(this.buf, 0);
      this.buf = bigger;
    }
    this.buf[this.pos++] = b;
  }

  private varint(v: u32): void {
    while (v >= 0x80) {
      this.byte(<u8>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    this.byte(<u8>v);
  }

  bytesField(field: u32, value: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(<u32>value.length);
    if (this.pos + value.length > this.buf.length) {
      const bigger = new Uint8Array(this.pos + value.length + 16);
      bigger.set(this.buf.subarray(0, this.pos), 0);
      this.buf = bigger;
    }
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  finish(): ArrayBuffer {
    return this.buf.buffer.slice(0, this.pos);
  }
}

/**
 * Whether the host path is the faster default for this key type, from bench/jwt-crypto.mjs in
 * Envoy 1.40 (cached key objects on both sides, 2-core AMD EPYC VM): RS256 with RSA-2048, host
 * ≈ 23-27 µs vs in-wasm ≈ 77-83 µs (RSA-4096: 77 vs 322); ES256 host ≈ 65 µs vs in-wasm ≈ 49 µs;
 * ES384 host ≈ 560 µs vs in-wasm ≈ 157 µs.
 * So: RSA keys go to the host when it offers verify_signature; EC keys stay in wasm. PS256/384/512
 * and EdDSA have no host path at all, HMAC never needs one.
 */
export function foreignPreferred(type: ForeignKeyType): bool {
  return type == ForeignKeyType.Rsa;
}
