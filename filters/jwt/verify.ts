// Checking a token against one provider: parse, issuer, time, audiences, then the signature with
// the provider's keys. Pure: the caller passes the time. Checks run in jwt_authn's order so the
// same bad token yields the same status in both filters.
import { HashAlg, verifyRsaPkcs1Key, verifyRsaPssKey, verifyEcdsaKey, verifyEd25519Key } from "./crypto/index";
import { Provider } from "./config";
import { Jwk, KeyType } from "./jwks";
import { Jwt, JwsAlg, parseJwt } from "./token";
import { JwtStatus } from "./status";

function hashOf(alg: JwsAlg): HashAlg {
  switch (alg) {
    case JwsAlg.RS384: case JwsAlg.PS384: case JwsAlg.ES384: case JwsAlg.HS384: return HashAlg.SHA384;
    case JwsAlg.RS512: case JwsAlg.PS512: case JwsAlg.HS512: return HashAlg.SHA512;
    default: return HashAlg.SHA256;
  }
}

/** An outside verifier for RSASSA-PKCS1-v1_5 (the host's, which is faster for RSA). */
export interface RsaPkcs1Offload {
  /** 1 valid, 0 invalid, -1 not done (the in-wasm code then decides). */
  verify(hash: HashAlg, key: Jwk, msg: Uint8Array, sig: Uint8Array): i32;
}

let rsaOffload: RsaPkcs1Offload | null = null;

/** Routes RS256/RS384/RS512 through `offload` (null: always in wasm). */
export function offloadRsaPkcs1(offload: RsaPkcs1Offload | null): void {
  rsaOffload = offload;
}

export function verifyWithKey(jwt: Jwt, key: Jwk): bool {
  const msg = jwt.signingInput;
  const sig = jwt.signature;
  switch (jwt.alg) {
    case JwsAlg.RS256: case JwsAlg.RS384: case JwsAlg.RS512: {
      const offload = rsaOffload;
      if (offload !== null) {
        const r = offload.verify(hashOf(jwt.alg), key, msg, sig);
        if (r >= 0) return r == 1;
      }
      return verifyRsaPkcs1Key(hashOf(jwt.alg), key.rsa!, msg, sig);
    }
    case JwsAlg.PS256: case JwsAlg.PS384: case JwsAlg.PS512:
      return verifyRsaPssKey(hashOf(jwt.alg), key.rsa!, msg, sig);
    case JwsAlg.ES256: case JwsAlg.ES384:
      return verifyEcdsaKey(key.ec!, msg, sig);
    case JwsAlg.EdDSA:
      return verifyEd25519Key(key.ed25519!, msg, sig);
    default:
      // HS*: HmacKey.verify compares in constant time.
      return key.type == KeyType.OCT && key.hmacKey(hashOf(jwt.alg)).verify(msg, sig);
  }
}

/** Time, issuer and audience checks (no signature). */
export function checkClaims(jwt: Jwt, provider: Provider, nowSeconds: i64): JwtStatus {
  if (provider.issuer.length > 0 && jwt.iss != provider.issuer) return JwtStatus.UnknownIssuer;
  const skew = provider.clockSkewSeconds;
  if (jwt.hasNbf && nowSeconds + skew < jwt.nbf) return JwtStatus.NotYetValid;
  if (jwt.hasExp && nowSeconds > jwt.exp + skew) return JwtStatus.Expired;
  if (!jwt.hasExp && (provider.requireExpiration || provider.maxLifetimeSeconds > 0)) return JwtStatus.ExpirationRequired;
  if (provider.maxLifetimeSeconds > 0) {
    // Lifetime counts from iat when present, else from now: a token valid for longer is refused.
    const start = jwt.hasIat ? jwt.iat : nowSeconds;
    if (jwt.exp - start > provider.maxLifetimeSeconds) return JwtStatus.LifetimeTooLong;
  }
  if (provider.audiences.length > 0) {
    let allowed = false;
    for (let i = 0; i < jwt.audiences.length && !allowed; i++) {
      allowed = provider.audiences.includes(jwt.audiences[i]);
    }
    if (!allowed) return JwtStatus.AudienceNotAllowed;
  }
  return JwtStatus.Ok;
}

/** The signature check over the keys that may have made it (kid and alg must both fit). */
export function checkSignature(jwt: Jwt, provider: Provider): JwtStatus {
  // A remote provider whose keys could never be fetched.
  if (provider.keys.length == 0) return JwtStatus.JwksFetchFailed;
  let candidates = 0;
  for (let i = 0; i < provider.keys.length; i++) {
    const key = provider.keys[i];
    if (jwt.kid.length > 0 && key.kid.length > 0 && key.kid != jwt.kid) continue;
    if (key.alg >= 0 && key.alg != jwt.alg) continue;
    // Counted before the key-type check, as jwt_authn does: a key of the wrong type for the
    // token's alg (RS/HS confusion) is a failed verification, not a missing key.
    candidates++;
    if (key.accepts(jwt.alg) && verifyWithKey(jwt, key)) return JwtStatus.Ok;
  }
  return candidates == 0 ? JwtStatus.NoMatchingKey : JwtStatus.VerificationFailed;
}

export function verifyToken(token: string, provider: Provider, nowSeconds: i64, maxTokenBytes: i32): Jwt {
  const jwt = parseJwt(token, maxTokenBytes);
  if (jwt.status != JwtStatus.Ok) return jwt;
  jwt.status = checkClaims(jwt, provider, nowSeconds);
  if (jwt.status != JwtStatus.Ok) return jwt;
  jwt.status = checkSignature(jwt, provider);
  return jwt;
}
