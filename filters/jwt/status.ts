// Verification outcomes and the reply texts Envoy's jwt_authn uses for them, so a client (and a
// dashboard keyed on bodies) cannot tell our filter from the native one.

export enum JwtStatus {
  Ok,
  Missing,
  BadFormat,
  HeaderBadBase64,
  HeaderBadJson,
  HeaderBadAlg,
  HeaderUnsupportedAlg,
  HeaderBadKid,
  HeaderUnknownCrit,
  PayloadBadBase64,
  PayloadBadJson,
  PayloadBadIss,
  PayloadBadSub,
  PayloadBadAud,
  PayloadBadExp,
  PayloadBadNbf,
  PayloadBadIat,
  PayloadRangeExp,
  PayloadRangeNbf,
  PayloadRangeIat,
  SignatureBadBase64,
  TooLarge,
  UnknownIssuer,
  NotYetValid,
  Expired,
  ExpirationRequired,
  LifetimeTooLong,
  AudienceNotAllowed,
  NoMatchingKey,
  VerificationFailed,
  JwksFetchFailed,
  /** Ours: the token verified but a rule's claim requirement (`when`) does not hold. */
  ClaimsNotAllowed,
}

export function statusMessage(s: JwtStatus): string {
  switch (s) {
    case JwtStatus.Ok: return "OK";
    case JwtStatus.Missing: return "Jwt is missing";
    case JwtStatus.BadFormat: return "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
    case JwtStatus.HeaderBadBase64: return "Jwt header is an invalid Base64url encoded";
    case JwtStatus.HeaderBadJson: return "Jwt header is an invalid JSON";
    case JwtStatus.HeaderBadAlg: return "Jwt header [alg] field is required and must be a string";
    case JwtStatus.HeaderUnsupportedAlg: return "Jwt header [alg] is not supported";
    case JwtStatus.HeaderBadKid: return "Jwt header [kid] field is not a string";
    // Not in jwt_authn (it ignores `crit`); RFC 7515 4.1.11 says an unknown one must be refused.
    case JwtStatus.HeaderUnknownCrit: return "Jwt header [crit] names an unsupported extension";
    case JwtStatus.PayloadBadBase64: return "Jwt payload is an invalid Base64url encoded";
    case JwtStatus.PayloadBadJson: return "Jwt payload is an invalid JSON";
    case JwtStatus.PayloadBadIss: return "Jwt payload [iss] field is not a string";
    case JwtStatus.PayloadBadSub: return "Jwt payload [sub] field is not a string";
    case JwtStatus.PayloadBadAud: return "Jwt payload [aud] field is not a string or string list";
    case JwtStatus.PayloadBadExp: return "Jwt payload [exp] field is not an integer";
    case JwtStatus.PayloadRangeExp: return "Jwt payload [exp] field is not a positive 64 bit integer";
    case JwtStatus.PayloadBadNbf: return "Jwt payload [nbf] field is not an integer";
    case JwtStatus.PayloadRangeNbf: return "Jwt payload [nbf] field is not a positive 64 bit integer";
    case JwtStatus.PayloadBadIat: return "Jwt payload [iat] field is not an integer";
    case JwtStatus.PayloadRangeIat: return "Jwt payload [iat] field is not a positive 64 bit integer";
    case JwtStatus.SignatureBadBase64: return "Jwt signature is an invalid Base64url encoded";
    case JwtStatus.TooLarge: return "Jwt is too large";
    case JwtStatus.UnknownIssuer: return "Jwt issuer is not configured";
    case JwtStatus.NotYetValid: return "Jwt not yet valid";
    case JwtStatus.Expired: return "Jwt is expired";
    case JwtStatus.ExpirationRequired: return "Jwt expiration is required";
    case JwtStatus.LifetimeTooLong: return "Jwt lifetime is too long";
    case JwtStatus.AudienceNotAllowed: return "Audiences in Jwt are not allowed";
    case JwtStatus.NoMatchingKey: return "Jwks doesn't have key to match kid or alg from Jwt";
    case JwtStatus.JwksFetchFailed: return "Jwks remote fetch is failed";
    case JwtStatus.ClaimsNotAllowed: return "Jwt claims are not allowed";
    default: return "Jwt verification fails";
  }
}

/** jwt_authn answers 403 for an audience mismatch and 401 for everything else. */
export function statusHttpCode(s: JwtStatus): u32 {
  return s == JwtStatus.AudienceNotAllowed || s == JwtStatus.ClaimsNotAllowed ? 403 : 401;
}
