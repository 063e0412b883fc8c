import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtConfig, JwtIssuerConfig } from '../config/types.js';
import { DiscoveredJwks, type DiscoveryLog } from './discovery.js';
import type { JwtIdentity } from './types.js';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type JwtOutcome = { ok: true; jwt: JwtIdentity } | { ok: false; reason: string };

/** The bearer token of an `authorization` header value; '' when the scheme is Bearer but no token follows. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  // The usual form, `Bearer <token>`, without the regex's match array, substring and trim (this
  // runs on every Check): the same answer when the token starts and ends with a printable ASCII
  // character (nothing to trim) and holds no line terminator (which `.` does not match).
  const n = authorization.length;
  if (n > 7 && authorization.startsWith('Bearer ')) {
    const first = authorization.charCodeAt(7);
    const last = authorization.charCodeAt(n - 1);
    if (
      first > 0x20 && first < 0x7f && last > 0x20 && last < 0x7f &&
      authorization.indexOf('\n') < 0 && authorization.indexOf('\r') < 0 && authorization.indexOf('\u2028') < 0 && authorization.indexOf('\u2029') < 0
    ) {
      return authorization.slice(7);
    }
  }
  const m = /^\s*bearer(?:\s+(.*))?$/i.exec(authorization);
  if (!m) return undefined;
  return (m[1] ?? '').trim();
}

interface IssuerEntry {
  config: JwtIssuerConfig;
  keys: JWTVerifyGetKey;
  discovery?: DiscoveredJwks;
}

/** `typ` as compared: lowercase, without `application/` (RFC 7515 §4.1.9). */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/**
 * RFC 8725 §3.11: a token of another kind (an ID token's `typ`, a logout token `logout+jwt`...)
 * must not be accepted as an access token. Returns why the header's `typ` is refused, if it is.
 */
export function typProblem(typ: unknown, config: Pick<JwtIssuerConfig, 'typ' | 'requireTyp'>): string | undefined {
  if (typ === undefined) return config.requireTyp ? 'jwt has no "typ" header' : undefined;
  if (typeof typ !== 'string') return 'jwt "typ" header is not a string';
  if (!config.typ.includes(normalizeTyp(typ))) return `jwt type "${typ.slice(0, 40)}" not accepted`;
  return undefined;
}

/** jose error codes -> short reasons for the decision log (never the token). */
function reasonOf(e: unknown): string {
  const err = e as { code?: string; claim?: string; reason?: string; message?: string };
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'jwt expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `jwt claim "${err.claim ?? '?'}" invalid (${err.reason ?? 'check failed'})`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'jwt signature invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'jwt algorithm not allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key in the issuer JWKS matches the jwt';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'several keys in the issuer JWKS match the jwt';
    case 'ERR_JWKS_TIMEOUT':
      return 'issuer JWKS fetch timed out';
    case 'ERR_JWKS_INVALID':
      return 'issuer JWKS is invalid';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'jwt malformed';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'jwt uses an unsupported algorithm or key';
    case 'ERR_OIDC_DISCOVERY':
      return `issuer discovery failed: ${err.message ?? ''}`;
    default:
      // Fetch failures (connection refused, non-2xx) surface as plain errors.
      return `jwt verification failed (${err.code ?? err.message?.slice(0, 120) ?? 'unknown error'})`;
  }
}

function audiencesOf(payload: JWTPayload): string[] {
  const aud = payload.aud;
  if (aud === undefined) return [];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [aud];
}

/**
 * The verified-token cache's key for a token (or a long token's digest): its last characters,
 * which are its signature's and so differ from token to token. A lookup hashes this key, not the
 * whole token (a token arrives as a new string on every Check, so V8 hashed all of its ~600
 * characters each time); a hit counts only when the whole token is equal.
 */
function cacheKeyOf(kept: string): string {
  return kept.length <= CACHE_KEY_CHARS ? kept : kept.slice(kept.length - CACHE_KEY_CHARS);
}
const CACHE_KEY_CHARS = 32;

/**
 * Verifies bearer JWTs against the configured issuers (several; remote or local JWKS). Verified
 * tokens are cached (bounded count, and never past `exp` or the cache age), so a
 * client sending the same token again costs a hash instead of a signature check.
 */
export class JwtVerifier {
  private readonly issuers = new Map<string, IssuerEntry>();
  /** Verified tokens by cacheKeyOf(token); `token` is what a hit must equal (the token, or its digest). */
  private readonly verified = new Map<string, { token: string; jwt: JwtIdentity; untilMs: number }>();
  /** Verified-token cache hits and misses (misses: tokens that had to be verified). */
  readonly cacheStats = { hits: 0, misses: 0 };

  constructor(
    private readonly config: JwtConfig,
    log?: DiscoveryLog,
  ) {
    for (const iss of config.issuers) {
      const src = iss.jwks;
      if (src.kind === 'discovery') {
        const discovery = new DiscoveredJwks(iss.issuer, src, log);
        this.issuers.set(iss.issuer, { config: iss, keys: discovery.getKey, discovery });
        continue;
      }
      const keys =
        src.kind === 'remote'
          ? createRemoteJWKSet(new URL(src.uri), {
              cacheMaxAge: src.cacheMaxAgeMs,
              timeoutDuration: src.timeoutMs,
              cooldownDuration: src.cooldownMs,
            })
          : createLocalJWKSet(src.jwks);
      this.issuers.set(iss.issuer, { config: iss, keys });
    }
  }

  /** Fetches every discovery document now (in the background), so problems are logged at start. */
  prefetchDiscovery(): void {
    for (const e of this.issuers.values()) e.discovery?.prefetch();
  }

  /** Per issuer with `discovery: true`: whether its document is usable, fetches and failures (metrics). */
  discoveryStatus(): Array<{ issuer: string; usable: boolean; fetches: number; failures: number }> {
    const out = [];
    for (const e of this.issuers.values()) {
      if (e.discovery) out.push({ issuer: e.discovery.issuer, usable: e.discovery.usable, fetches: e.discovery.fetches, failures: e.discovery.failures });
    }
    return out;
  }

  /** The discovery state of an issuer configured with `discovery: true` (tests). */
  discoveryOf(issuer: string): DiscoveredJwks | undefined {
    return this.issuers.get(issuer)?.discovery;
  }

  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  async verify(token: string, nowMs: number = Date.now()): Promise<JwtOutcome> {
    return this.verifyEager(token, nowMs);
  }

  /**
   * verify(), answering synchronously when it can (a token in the verified cache, or one refused
   * before any key is needed), so that a Check whose every phase is synchronous costs no promise.
   */
  verifyEager(token: string, nowMs: number = Date.now()): JwtOutcome | Promise<JwtOutcome> {
    if (token === '') return { ok: false, reason: 'empty bearer token' };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: `jwt longer than ${MAX_TOKEN_LENGTH} characters` };
    if (this.config.verifiedCacheSize <= 0) return this.verifyToken(token, undefined, nowMs);
    // Short tokens are kept as they are; long ones as their digest, so the cache's memory stays bounded.
    const kept = token.length <= 2048 ? token : createHash('sha256').update(token).digest('base64');
    const cacheKey = cacheKeyOf(kept);
    const hit = this.verified.get(cacheKey);
    if (hit !== undefined && hit.token === kept) {
      if (hit.untilMs > nowMs) {
        this.cacheStats.hits++;
        return { ok: true, jwt: hit.jwt };
      }
      this.verified.delete(cacheKey);
    }
    this.cacheStats.misses++;
    return this.verifyToken(token, { key: cacheKey, kept }, nowMs);
  }

  /** Verifies a token that is not in the cache (and caches it under `cache`, when given). */
  private async verifyToken(token: string, cache: { key: string; kept: string } | undefined, nowMs: number): Promise<JwtOutcome> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return { ok: false, reason: 'jwt malformed' };
    }
    const iss = unverified.iss;
    if (typeof iss !== 'string' || iss === '') return { ok: false, reason: 'jwt has no "iss" claim' };
    const entry = this.issuers.get(iss);
    // The issuer name is attacker-chosen: keep it out of the reason beyond a bounded length.
    if (!entry) return { ok: false, reason: `jwt issuer not configured (${iss.slice(0, 100)})` };
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
    } catch {
      return { ok: false, reason: 'jwt malformed' };
    }
    const badTyp = typProblem(typ, entry.config);
    if (badTyp) return { ok: false, reason: badTyp };
    try {
      const { payload } = await jwtVerify(token, entry.keys, {
        issuer: iss,
        algorithms: entry.config.algorithms,
        clockTolerance: this.config.clockSkewSeconds,
        ...(entry.config.audiences.length ? { audience: entry.config.audiences } : {}),
        ...(this.config.requireExpiration ? { requiredClaims: ['exp'] } : {}),
      });
      const subject = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
      const jwt: JwtIdentity = {
        issuer: iss,
        principal: `${iss}/${subject ?? ''}`,
        audiences: audiencesOf(payload),
        claims: payload,
      };
      if (subject) jwt.subject = subject;
      if (typeof payload['azp'] === 'string') jwt.presenter = payload['azp'];
      if (cache) {
        // Until the cache age, and never past exp (with the same skew jwtVerify allowed).
        const exp = typeof payload.exp === 'number' ? payload.exp * 1000 + this.config.clockSkewSeconds * 1000 : Infinity;
        const untilMs = Math.min(nowMs + this.config.verifiedCacheMs, exp);
        if (!this.verified.has(cache.key) && this.verified.size >= this.config.verifiedCacheSize) this.verified.delete(this.verified.keys().next().value as string);
        this.verified.set(cache.key, { token: cache.kept, jwt, untilMs });
      }
      return { ok: true, jwt };
    } catch (e) {
      return { ok: false, reason: reasonOf(e) };
    }
  }
}
