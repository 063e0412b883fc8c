// RS256/RS384/RS512 verified by Envoy's `verify_signature` foreign function when the host has it:
// measured in Envoy 1.40 at about 23 µs against 77 µs for the in-wasm RSA code (bench/jwt-crypto.mjs
// and test/e2e/jwt-foreign-verify.test.ts). ECDSA and EdDSA stay in wasm (faster there, or not
// offered by the host). Any host refusal falls back to the in-wasm code, never to "valid".
import { HashAlg } from "./crypto/index";
import { ForeignKey, ForeignVerifyStatus, foreignVerifyAvailable, foreignVerifyRsaPkcs1 } from "./crypto/foreign";
import { Jwk } from "./jwks";
import { RsaPkcs1Offload } from "./verify";

export class HostRsaVerifier implements RsaPkcs1Offload {
  /** DER keys built once per JWKS key. */
  private keys: Map<Jwk, ForeignKey | null> = new Map<Jwk, ForeignKey | null>();

  /** The verifier when the host offers verify_signature; null otherwise. */
  static ifAvailable(): HostRsaVerifier | null {
    return foreignVerifyAvailable() ? new HostRsaVerifier() : null;
  }

  verify(hash: HashAlg, key: Jwk, msg: Uint8Array, sig: Uint8Array): i32 {
    let fk: ForeignKey | null = null;
    if (this.keys.has(key)) fk = this.keys.get(key);
    else {
      if (this.keys.size > 1000) this.keys.clear(); // key sets rotate; old Jwk objects go
      fk = ForeignKey.rsa(key.rsaN, key.rsaE);
      this.keys.set(key, fk);
    }
    if (fk === null) return -1;
    const r = foreignVerifyRsaPkcs1(hash, fk, msg, sig);
    if (r == ForeignVerifyStatus.Valid) return 1;
    if (r == ForeignVerifyStatus.Invalid) return 0;
    return -1;
  }
}
