// JSON Web Key Sets (RFC 7517) into ready-to-use key objects. Keys are parsed and validated
// once, when the configuration (or a fetched JWKS) is loaded, and kept for every request.
// A key that cannot be used is skipped with a reason, as jwt_authn does; a set with no usable
// key is an error. Pure: no host calls.
import { base64UrlDecode, parseJson, JsonValue } from "@meshward/sdk/assembly";
import {
  RsaPublicKey, EcPublicKey, Ed25519PublicKey, HmacKey, Curve, HashAlg,
} from "./crypto/index";
import { JwsAlg, parseAlg } from "./token";

export enum KeyType { RSA, EC, OKP, OCT }

export class Jwk {
  kid: string = "";
  /** -1 when the key does not name an algorithm (then any algorithm of its type may use it). */
  alg: i32 = -1;
  type: KeyType = KeyType.RSA;
  curve: Curve = Curve.P256;
  rsa: RsaPublicKey | null = null;
  /** The RSA modulus and exponent as given (for verification by the host). */
  rsaN: Uint8Array = new Uint8Array(0);
  rsaE: Uint8Array = new Uint8Array(0);
  ec: EcPublicKey | null = null;
  ed25519: Ed25519PublicKey | null = null;
  /** The raw HMAC secret; HmacKey objects are made per hash on first use. */
  secret: Uint8Array = new Uint8Array(0);
  hmacKeys: Array<HmacKey | null> = [null, null, null];

  /** Whether this key may verify a token signed with `alg` (RFC 7518 key types). */
  accepts(alg: JwsAlg): bool {
    if (this.alg >= 0 && this.alg != alg) return false;
    switch (alg) {
      case JwsAlg.RS256: case JwsAlg.RS384: case JwsAlg.RS512:
      case JwsAlg.PS256: case JwsAlg.PS384: case JwsAlg.PS512:
        return this.type == KeyType.RSA;
      case JwsAlg.ES256: return this.type == KeyType.EC && this.curve == Curve.P256;
      case JwsAlg.ES384: return this.type == KeyType.EC && this.curve == Curve.P384;
      case JwsAlg.EdDSA: return this.type == KeyType.OKP;
      default: return this.type == KeyType.OCT;
    }
  }

  hmacKey(hash: HashAlg): HmacKey {
    let k = this.hmacKeys[<i32>hash];
    if (k === null) {
      k = new HmacKey(hash, this.secret);
      this.hmacKeys[<i32>hash] = k;
    }
    return k;
  }
}

export class JwksResult {
  keys: Array<Jwk> = new Array<Jwk>();
  /** Empty when at least one key is usable. */
  error: string = "";
  /** Keys skipped and why, for the log. */
  skipped: Array<string> = new Array<string>();
}

function bytesOf(key: JsonValue, name: string): Uint8Array | null {
  const v = key.get(name);
  if (v === null || !v.isString()) return null;
  const raw = base64UrlDecode(v.stringValue);
  return raw === null ? null : Uint8Array.wrap(raw);
}

function str(key: JsonValue, name: string): string {
  const v = key.get(name);
  return v !== null && v.isString() ? v.stringValue : "";
}

function parseKey(key: JsonValue, out: JwksResult, index: i32): void {
  const where = "key " + index.toString();
  if (!key.isObject()) { out.skipped.push(where + ": not an object"); return; }
  const jwk = new Jwk();
  jwk.kid = str(key, "kid");
  const algName = str(key, "alg");
  if (algName.length > 0) {
    jwk.alg = parseAlg(algName);
    if (jwk.alg < 0) { out.skipped.push(where + ": unsupported alg \"" + algName + "\""); return; }
  }
  const use = str(key, "use");
  if (use.length > 0 && use != "sig") { out.skipped.push(where + ": use is not \"sig\""); return; }
  const kty = str(key, "kty");
  if (kty == "RSA") {
    jwk.type = KeyType.RSA;
    const n = bytesOf(key, "n");
    const e = bytesOf(key, "e");
    if (n === null || e === null) { out.skipped.push(where + ": RSA key needs base64url n and e"); return; }
    // Below 2048 bits RSA is not safe for signatures (NIST SP 800-131A).
    let bits = n.length * 8;
    for (let i = 0; i < n.length && n[i] == 0; i++) bits -= 8;
    if (bits < 2048) { out.skipped.push(where + ": RSA modulus under 2048 bits"); return; }
    jwk.rsa = RsaPublicKey.fromBytes(n, e);
    if (jwk.rsa === null) { out.skipped.push(where + ": invalid RSA key"); return; }
    jwk.rsaN = n;
    jwk.rsaE = e;
  } else if (kty == "EC") {
    jwk.type = KeyType.EC;
    const crv = str(key, "crv");
    if (crv == "P-256") jwk.curve = Curve.P256;
    else if (crv == "P-384") jwk.curve = Curve.P384;
    else { out.skipped.push(where + ": unsupported EC curve \"" + crv + "\""); return; }
    const x = bytesOf(key, "x");
    const y = bytesOf(key, "y");
    if (x === null || y === null) { out.skipped.push(where + ": EC key needs base64url x and y"); return; }
    jwk.ec = EcPublicKey.fromBytes(jwk.curve, x, y);
    if (jwk.ec === null) { out.skipped.push(where + ": invalid EC key (not on the curve)"); return; }
    jwk.ec!.precompute();
  } else if (kty == "OKP") {
    jwk.type = KeyType.OKP;
    if (str(key, "crv") != "Ed25519") { out.skipped.push(where + ": unsupported OKP curve"); return; }
    const x = bytesOf(key, "x");
    if (x === null) { out.skipped.push(where + ": OKP key needs base64url x"); return; }
    jwk.ed25519 = Ed25519PublicKey.fromBytes(x);
    if (jwk.ed25519 === null) { out.skipped.push(where + ": invalid Ed25519 key"); return; }
    jwk.ed25519!.precompute();
  } else if (kty == "oct") {
    jwk.type = KeyType.OCT;
    const k = bytesOf(key, "k");
    if (k === null || k.length == 0) { out.skipped.push(where + ": oct key needs a non-empty base64url k"); return; }
    jwk.secret = k;
  } else {
    out.skipped.push(where + ": unsupported kty \"" + kty + "\"");
    return;
  }
  out.keys.push(jwk);
}

/** Parses a JWKS document (`{"keys": [...]}`), or a single JWK as jwt_authn also accepts. */
export function parseJwks(text: string): JwksResult {
  const out = new JwksResult();
  const r = parseJson(text, 16);
  if (!r.ok()) { out.error = "invalid JSON: " + r.error; return out; }
  const doc = r.value!;
  if (!doc.isObject()) { out.error = "a JWKS must be a JSON object"; return out; }
  const keys = doc.get("keys");
  if (keys === null) {
    parseKey(doc, out, 0);
  } else if (!keys.isArray()) {
    out.error = "\"keys\" must be an array";
    return out;
  } else {
    for (let i = 0; i < keys.items.length; i++) parseKey(keys.items[i], out, i);
  }
  if (out.keys.length == 0) {
    out.error = "no usable key" + (out.skipped.length > 0 ? " (" + out.skipped.join("; ") + ")" : "");
  }
  return out;
}

