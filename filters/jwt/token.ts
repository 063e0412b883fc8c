// Parsing a compact JWS (header.payload.signature) into its parts, with every check that needs
// no key: strict base64url, strict JSON (duplicate keys and deep nesting refused), the `alg`
// whitelist, `crit`, and the types of the registered claims. Pure: no host calls.
import { base64UrlDecode, decodeUtf8, parseJson, JsonValue, JsonKind } from "@meshward/sdk/assembly";
import { JwtStatus } from "./status";

export enum JwsAlg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, HS256, HS384, HS512, EdDSA }

export function parseAlg(name: string): i32 {
  if (name == "RS256") return JwsAlg.RS256;
  if (name == "RS384") return JwsAlg.RS384;
  if (name == "RS512") return JwsAlg.RS512;
  if (name == "PS256") return JwsAlg.PS256;
  if (name == "PS384") return JwsAlg.PS384;
  if (name == "PS512") return JwsAlg.PS512;
  if (name == "ES256") return JwsAlg.ES256;
  if (name == "ES384") return JwsAlg.ES384;
  if (name == "HS256") return JwsAlg.HS256;
  if (name == "HS384") return JwsAlg.HS384;
  if (name == "HS512") return JwsAlg.HS512;
  if (name == "EdDSA") return JwsAlg.EdDSA;
  return -1; // includes "none": never accepted
}

const MAX_JSON_DEPTH: i32 = 16;

export class Jwt {
  status: JwtStatus = JwtStatus.Ok;
  alg: JwsAlg = JwsAlg.RS256;
  algName: string = "";
  kid: string = "";
  iss: string = "";
  sub: string = "";
  audiences: Array<string> = new Array<string>();
  hasExp: bool = false;
  exp: i64 = 0;
  hasNbf: bool = false;
  nbf: i64 = 0;
  hasIat: bool = false;
  iat: i64 = 0;
  /** The payload as sent (base64url) and as JSON text. */
  payloadB64: string = "";
  payloadJson: string = "";
  payload: JsonValue = JsonValue.null_();
  /** Bytes the signature covers (`header.payload`, ASCII) and the signature. */
  signingInput: Uint8Array = new Uint8Array(0);
  signature: Uint8Array = new Uint8Array(0);
}

function failed(status: JwtStatus): Jwt {
  const j = new Jwt();
  j.status = status;
  return j;
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = <u8>s.charCodeAt(i);
  return out;
}

function decodeJsonPart(b64: string): JsonValue | null {
  const raw = base64UrlDecode(b64);
  if (raw === null) return null;
  const text = decodeUtf8(raw);
  if (text === null) return null;
  const r = parseJson(text, MAX_JSON_DEPTH);
  if (!r.ok()) return null;
  return r.value;
}

/**
 * A NumericDate (RFC 7519: seconds, fractions allowed and truncated, as jwt_authn does).
 * -1: not a number; -2: negative or beyond 64 bits.
 */
function readNumericDate(v: JsonValue): i64 {
  if (v.kind != JsonKind.Number) return -1;
  const n = Math.floor(v.numberValue);
  if (!(n >= 0) || n > 9.2e18) return -2;
  return <i64>n;
}

export function parseJwt(token: string, maxBytes: i32): Jwt {
  if (token.length > maxBytes) return failed(JwtStatus.TooLarge);
  const dot1 = token.indexOf(".");
  const dot2 = dot1 < 0 ? -1 : token.indexOf(".", dot1 + 1);
  if (dot1 <= 0 || dot2 < 0 || token.indexOf(".", dot2 + 1) >= 0) return failed(JwtStatus.BadFormat);
  // An empty section (e.g. the unsigned `header.payload.` of alg none) is malformed too.
  if (dot2 == dot1 + 1 || dot2 == token.length - 1) return failed(JwtStatus.BadFormat);
  const headerB64 = token.substring(0, dot1);
  const payloadB64 = token.substring(dot1 + 1, dot2);
  const sigB64 = token.substring(dot2 + 1);

  // Header.
  const headerRaw = base64UrlDecode(headerB64);
  if (headerRaw === null) return failed(JwtStatus.HeaderBadBase64);
  const headerText = decodeUtf8(headerRaw);
  if (headerText === null) return failed(JwtStatus.HeaderBadJson);
  const hr = parseJson(headerText, MAX_JSON_DEPTH);
  if (!hr.ok() || !hr.value!.isObject()) return failed(JwtStatus.HeaderBadJson);
  const header = hr.value!;
  const algV = header.get("alg");
  if (algV === null || !algV.isString()) return failed(JwtStatus.HeaderBadAlg);
  const alg = parseAlg(algV.stringValue);
  if (alg < 0) return failed(JwtStatus.HeaderUnsupportedAlg);
  const jwt = new Jwt();
  jwt.alg = <JwsAlg>alg;
  jwt.algName = algV.stringValue;
  const kidV = header.get("kid");
  if (kidV !== null) {
    if (!kidV.isString()) return failed(JwtStatus.HeaderBadKid);
    jwt.kid = kidV.stringValue;
  }
  // No extension is understood, so any `crit` (even an empty or malformed one) is refused.
  if (header.get("crit") !== null) return failed(JwtStatus.HeaderUnknownCrit);
  // `jwk`, `jku`, `x5u`, `x5c` are deliberately never read: keys come from configuration only.

  // Payload.
  const payloadRaw = base64UrlDecode(payloadB64);
  if (payloadRaw === null) return failed(JwtStatus.PayloadBadBase64);
  const payloadText = decodeUtf8(payloadRaw);
  if (payloadText === null) return failed(JwtStatus.PayloadBadJson);
  const pr = parseJson(payloadText, MAX_JSON_DEPTH);
  if (!pr.ok() || !pr.value!.isObject()) return failed(JwtStatus.PayloadBadJson);
  const payload = pr.value!;
  const iss = payload.get("iss");
  if (iss !== null) {
    if (!iss.isString()) return failed(JwtStatus.PayloadBadIss);
    jwt.iss = iss.stringValue;
  }
  const sub = payload.get("sub");
  if (sub !== null) {
    if (!sub.isString()) return failed(JwtStatus.PayloadBadSub);
    jwt.sub = sub.stringValue;
  }
  const aud = payload.get("aud");
  if (aud !== null) {
    if (aud.isString()) jwt.audiences.push(aud.stringValue);
    else if (aud.isArray()) {
      for (let i = 0; i < aud.items.length; i++) {
        if (!aud.items[i].isString()) return failed(JwtStatus.PayloadBadAud);
        jwt.audiences.push(aud.items[i].stringValue);
      }
    } else return failed(JwtStatus.PayloadBadAud);
  }
  const exp = payload.get("exp");
  if (exp !== null) {
    jwt.exp = readNumericDate(exp);
    if (jwt.exp == -1) return failed(JwtStatus.PayloadBadExp);
    if (jwt.exp < 0) return failed(JwtStatus.PayloadRangeExp);
    jwt.hasExp = true;
  }
  const nbf = payload.get("nbf");
  if (nbf !== null) {
    jwt.nbf = readNumericDate(nbf);
    if (jwt.nbf == -1) return failed(JwtStatus.PayloadBadNbf);
    if (jwt.nbf < 0) return failed(JwtStatus.PayloadRangeNbf);
    jwt.hasNbf = true;
  }
  const iat = payload.get("iat");
  if (iat !== null) {
    jwt.iat = readNumericDate(iat);
    if (jwt.iat == -1) return failed(JwtStatus.PayloadBadIat);
    if (jwt.iat < 0) return failed(JwtStatus.PayloadRangeIat);
    jwt.hasIat = true;
  }

  // Signature.
  const sig = base64UrlDecode(sigB64);
  if (sig === null) return failed(JwtStatus.SignatureBadBase64);
  jwt.signature = Uint8Array.wrap(sig);
  jwt.signingInput = asciiBytes(token.substring(0, dot2));
  jwt.payloadB64 = payloadB64;
  jwt.payloadJson = payloadText;
  jwt.payload = payload;
  return jwt;
}
