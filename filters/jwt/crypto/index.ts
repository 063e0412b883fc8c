// Signature verification and hashing for the JWT filter: pure AssemblyScript, no host calls.
//
//   sha256(data) / sha384 / sha512, hash(alg, data), new Sha256() incremental
//   hmac(alg, key, msg), verifyHmac(alg, key, msg, tag), constantTimeEqual(a, b)
//   verifyRsaPkcs1(alg, n, e, msg, sig)            RS256 / RS384 / RS512
//   verifyRsaPss(alg, n, e, msg, sig)              PS256 / PS384 / PS512 (salt = hash length)
//   verifyEcdsa(Curve.P256 | Curve.P384, x, y, msg, sig)   ES256 / ES384 (sig = r || s)
//   verifyEd25519(pub, msg, sig)                   EdDSA (Ed25519)
//
// Keys and signatures are raw big-endian bytes as in a JWK after base64url decoding (n, e, x, y)
// and a JWS signature. Every verify function returns false for malformed input of any size and
// never traps. Keys used repeatedly can be parsed once: RsaPublicKey.fromBytes(n, e) with
// verifyRsaPkcs1Key / verifyRsaPssKey, HmacKey for HMAC, EcPublicKey.fromBytes(curve, x, y) and
// Ed25519PublicKey.fromBytes(pub) with .verify(msg, sig) (these two build a precomputed table of
// the key's point from their second use, ~3x faster; see README.md).
//
// Envoy's verify_signature foreign function (RS*, ES*) is in ./foreign (a host call, so not
// re-exported here).
//
// The work is single-threaded and uses module-level scratch buffers: do not call these from
// several threads (a proxy-wasm VM is single-threaded).
export { HashAlg, hashLength, Hasher, Sha256, Sha512, newHasher, hash, sha256, sha384, sha512 } from "./sha2";
export { HmacKey, hmac, verifyHmac, constantTimeEqual } from "./hmac";
export { RsaPublicKey, MAX_EXPONENT_BITS } from "./rsa";
export { MIN_MODULUS_BITS, MAX_MODULUS_BITS } from "./bigint";
export { Curve, verifyEcdsa, warmUpEcdsa, EcPublicKey, verifyEcdsaKey } from "./ecdsa";
export { verifyEd25519, initEd25519, Ed25519PublicKey, verifyEd25519Key } from "./ed25519";
export { inversionFallbacks } from "./field";

import { HashAlg, hashLength } from "./sha2";
import { RsaPublicKey, verifyPkcs1, verifyPss } from "./rsa";

/**
 * RSASSA-PKCS1-v1_5 with SHA-256/384/512 (JWS RS256/RS384/RS512). `n` and `e` big-endian
 * (leading zero bytes allowed). The signature must be exactly the modulus length.
 */
export function verifyRsaPkcs1(alg: HashAlg, n: Uint8Array, e: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
  const key = RsaPublicKey.fromBytes(n, e);
  if (key === null) return false;
  return verifyPkcs1(alg, key, msg, sig);
}

/** RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash (JWS PS256/384/512). */
export function verifyRsaPss(alg: HashAlg, n: Uint8Array, e: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
  return verifyRsaPssSalt(alg, n, e, msg, sig, hashLength(alg));
}

/** RSASSA-PSS with an explicit salt length (0..64 bytes). */
export function verifyRsaPssSalt(alg: HashAlg, n: Uint8Array, e: Uint8Array, msg: Uint8Array, sig: Uint8Array, saltLen: i32): bool {
  const key = RsaPublicKey.fromBytes(n, e);
  if (key === null) return false;
  return verifyPss(alg, key, msg, sig, saltLen);
}

/** verifyRsaPkcs1 with a parsed key. */
export function verifyRsaPkcs1Key(alg: HashAlg, key: RsaPublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  return verifyPkcs1(alg, key, msg, sig);
}

/** verifyRsaPss with a parsed key (salt length = hash length). */
export function verifyRsaPssKey(alg: HashAlg, key: RsaPublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  return verifyPss(alg, key, msg, sig, hashLength(alg));
}
