// One request against a rule's requirement: find each provider's token, verify it, and combine
// the outcomes as jwt_authn does (provider_name, requires_any, requires_all, allow_missing,
// allow_missing_or_failed). Pure: the request arrives as plain data.
import { headerAll, headerFirst } from "@meshward/sdk/assembly";
import { parseCookies, parseQuery } from "./request";
import { HeaderLocation, JwtConfig, Provider, Requirement, RequirementKind } from "./config";
import { Jwt, parseJwt } from "./token";
import { JwtStatus } from "./status";
import { verifyToken } from "./verify";

export class RequestView {
  /** Header pairs with lowercase names. */
  headers: Array<string[]> = new Array<string[]>();
  /** `:path` with its query. */
  path: string = "";
  private parsedParams: Array<string[]> | null = null;
  private parsedCookies: Array<string[]> | null = null;

  /** Query parameters, decoded, in order (parsed on first use: most tokens come in a header). */
  params(): Array<string[]> {
    if (this.parsedParams === null) this.parsedParams = parseQuery(this.path);
    return this.parsedParams!;
  }

  cookies(): Array<string[]> {
    if (this.parsedCookies === null) this.parsedCookies = parseCookies(headerAll(this.headers, "cookie"));
    return this.parsedCookies!;
  }
}

/** A token that verified, where it came from (so it can be removed), and its claims. */
export class VerifiedToken {
  constructor(public provider: Provider, public jwt: Jwt, public header: string) {}
}

export class AuthResult {
  status: JwtStatus = JwtStatus.Ok;
  verified: Array<VerifiedToken> = new Array<VerifiedToken>();
}

/** Verifies tokens, optionally through a cache of already verified ones. */
export interface TokenVerifier {
  verify(token: string, provider: Provider): Jwt;
}

export class DirectVerifier implements TokenVerifier {
  constructor(public nowSeconds: i64, public maxTokenBytes: i32) {}
  verify(token: string, provider: Provider): Jwt {
    return verifyToken(token, provider, this.nowSeconds, this.maxTokenBytes);
  }
}

function isJwtChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c == 0x2d || c == 0x5f || c == 0x2e || c == 0x3d;
}

/** The token in a header value after the prefix: the run of base64url and '.' characters. */
function tokenFromHeader(value: string, loc: HeaderLocation): string | null {
  // Case-sensitive, as jwt_authn: `bearer <token>` is not found under the prefix `Bearer `.
  if (!value.startsWith(loc.prefix)) return null;
  let start = loc.prefix.length;
  if (loc.prefix.length == 0) {
    while (start < value.length && value.charCodeAt(start) == 0x20) start++;
  }
  let end = start;
  while (end < value.length && isJwtChar(value.charCodeAt(end))) end++;
  return end > start ? value.substring(start, end) : null;
}

export class FoundToken {
  constructor(public token: string, public header: string) {}
}

export function findToken(req: RequestView, provider: Provider): FoundToken | null {
  for (let i = 0; i < provider.fromHeaders.length; i++) {
    const loc = provider.fromHeaders[i];
    const value = headerFirst(req.headers, loc.name);
    if (value === null) continue;
    const t = tokenFromHeader(value, loc);
    if (t !== null) return new FoundToken(t, loc.name);
  }
  for (let i = 0; i < provider.fromParams.length; i++) {
    const params = req.params();
    for (let j = 0; j < params.length; j++) {
      if (params[j][0] == provider.fromParams[i] && params[j][1].length > 0) return new FoundToken(params[j][1], "");
    }
  }
  for (let i = 0; i < provider.fromCookies.length; i++) {
    const cookies = req.cookies();
    for (let j = 0; j < cookies.length; j++) {
      if (cookies[j][0] == provider.fromCookies[i] && cookies[j][1].length > 0) return new FoundToken(cookies[j][1], "");
    }
  }
  return null;
}

function verifyProvider(req: RequestView, provider: Provider, verifier: TokenVerifier, out: AuthResult): JwtStatus {
  const found = findToken(req, provider);
  if (found === null) return JwtStatus.Missing;
  const jwt = verifier.verify(found.token, provider);
  if (jwt.status == JwtStatus.Ok) out.verified.push(new VerifiedToken(provider, jwt, found.header));
  return jwt.status;
}

/**
 * allow_missing*: every token present is verified by a provider whose issuer it names (as
 * jwt_authn does: a token found in a shared location such as `authorization` belongs to the
 * provider of its `iss`). A present token no provider claims is an unknown issuer.
 */
function verifyAllPresent(req: RequestView, config: JwtConfig, verifier: TokenVerifier, out: AuthResult): JwtStatus {
  let status = JwtStatus.Ok;
  const seen = new Array<string>();
  const claimed = new Array<string>();
  for (let i = 0; i < config.providers.length; i++) {
    const provider = config.providers[i];
    const found = findToken(req, provider);
    if (found === null) continue;
    if (!seen.includes(found.token)) seen.push(found.token);
    if (claimed.includes(found.token)) continue;
    const peek = parseJwt(found.token, config.maxTokenBytes);
    if (peek.status == JwtStatus.Ok && provider.issuer.length > 0 && peek.iss != provider.issuer) continue;
    claimed.push(found.token);
    const jwt = peek.status == JwtStatus.Ok ? verifier.verify(found.token, provider) : peek;
    if (jwt.status == JwtStatus.Ok) out.verified.push(new VerifiedToken(provider, jwt, found.header));
    else if (status == JwtStatus.Ok) status = jwt.status;
  }
  if (status == JwtStatus.Ok && claimed.length < seen.length) status = JwtStatus.UnknownIssuer;
  return status;
}

function evaluate(req: RequestView, config: JwtConfig, r: Requirement, verifier: TokenVerifier, out: AuthResult): JwtStatus {
  switch (r.kind) {
    case RequirementKind.Provider:
      return verifyProvider(req, r.provider!, verifier, out);
    case RequirementKind.AllowMissing:
      return verifyAllPresent(req, config, verifier, out);
    case RequirementKind.AllowMissingOrFailed:
      verifyAllPresent(req, config, verifier, out);
      return JwtStatus.Ok;
    case RequirementKind.All: {
      for (let i = 0; i < r.children.length; i++) {
        const s = evaluate(req, config, r.children[i], verifier, out);
        if (s != JwtStatus.Ok) return s;
      }
      return JwtStatus.Ok;
    }
    default: {
      // requires_any: the first success wins; otherwise a real failure outranks "missing".
      let failure = JwtStatus.Missing;
      for (let i = 0; i < r.children.length; i++) {
        const s = evaluate(req, config, r.children[i], verifier, out);
        if (s == JwtStatus.Ok) return s;
        if (failure == JwtStatus.Missing) failure = s;
      }
      return failure;
    }
  }
}

export function authenticate(req: RequestView, config: JwtConfig, requirement: Requirement, verifier: TokenVerifier): AuthResult {
  const out = new AuthResult();
  out.status = evaluate(req, config, requirement, verifier, out);
  return out;
}
