/**
 * OIDC discovery for a JWT issuer: `<issuer>/.well-known/openid-configuration` names the issuer's
 * `jwks_uri`. The document's `issuer` must equal the configured one exactly (OpenID Connect
 * Discovery 1.0 §4.3): a mismatch means the document speaks for someone else, so tokens of that
 * issuer fail closed until a later fetch agrees. The document is cached; failed fetches are retried
 * with exponential backoff, and meanwhile tokens of the issuer fail at once (no fetch per request).
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

export type DiscoveryLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

export interface DiscoverySettings {
  discoveryUri: string;
  /** How long a fetched discovery document is used before it is fetched again. */
  discoveryCacheMs: number;
  /** The longest wait between two failed fetches (the wait starts at 1 s and doubles). */
  maxBackoffMs: number;
  timeoutMs: number;
  /** For the JWKS itself (as for a configured jwks_uri). */
  cacheMaxAgeMs: number;
  cooldownMs: number;
}

/** `<issuer>/.well-known/openid-configuration` (a trailing slash of the issuer is not doubled). */
export function discoveryUriOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** A thrown discovery problem; `code` lets the verifier turn it into a decision-log reason. */
export class DiscoveryError extends Error {
  readonly code = 'ERR_OIDC_DISCOVERY';
}

/** Checks a discovery document: its `issuer` must be ours and its `jwks_uri` an http(s) URL. */
export function checkDiscoveryDocument(doc: unknown, issuer: string): { jwksUri: string } | string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'discovery document is not a JSON object';
  const d = doc as Record<string, unknown>;
  if (d['issuer'] !== issuer) {
    const got = typeof d['issuer'] === 'string' ? `"${d['issuer'].slice(0, 200)}"` : 'none';
    return `discovery document issuer ${got} does not match the configured issuer "${issuer}"`;
  }
  const uri = d['jwks_uri'];
  if (typeof uri !== 'string') return 'discovery document has no jwks_uri';
  try {
    const u = new URL(uri);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `discovery document jwks_uri is not http(s): "${uri.slice(0, 200)}"`;
  } catch {
    return `discovery document jwks_uri is not a URL: "${uri.slice(0, 200)}"`;
  }
  return { jwksUri: uri };
}

const FIRST_BACKOFF_MS = 1000;

export class DiscoveredJwks {
  private jwksUri: string | undefined;
  private keys: JWTVerifyGetKey | undefined;
  private fetchedAtMs = 0;
  private failure: { reason: string; retryAtMs: number; backoffMs: number } | undefined;
  private inflight: Promise<void> | undefined;
  /** Discovery fetches made, and how many failed (tests and metrics look at them). */
  fetches = 0;
  failures = 0;

  constructor(
    readonly issuer: string,
    private readonly settings: DiscoverySettings,
    private readonly log: DiscoveryLog = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The key resolver jwtVerify calls: discovery first (cached), then the discovered JWKS. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const keys = await this.resolve();
    try {
      return await keys(header, token);
    } catch (e) {
      const code = (e as { code?: string }).code;
      // The JWKS could not be fetched or read: the discovery document may be outdated (keys moved).
      // Fetch it again within a second, but not once per failing request.
      if (code !== 'ERR_JWKS_NO_MATCHING_KEY' && code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' && code !== 'ERR_JOSE_NOT_SUPPORTED') {
        this.fetchedAtMs = Math.min(this.fetchedAtMs, this.now() - this.settings.discoveryCacheMs + FIRST_BACKOFF_MS);
      }
      throw e;
    }
  };

  /** The current JWKS resolver, fetching the discovery document when needed. Throws DiscoveryError. */
  async resolve(): Promise<JWTVerifyGetKey> {
    const now = this.now();
    const fresh = this.keys !== undefined && now - this.fetchedAtMs < this.settings.discoveryCacheMs;
    if (!fresh) {
      if (this.failure && now < this.failure.retryAtMs) {
        // Within the backoff: use the last good document if there is one, else fail closed now.
        if (this.keys) return this.keys;
        throw new DiscoveryError(this.failure.reason);
      }
      this.inflight ??= this.refresh().finally(() => (this.inflight = undefined));
      await this.inflight;
    }
    if (!this.keys) throw new DiscoveryError(this.failure?.reason ?? 'discovery document not available');
    return this.keys;
  }

  /** Starts a fetch without waiting (at start, so a misconfiguration is logged before traffic). */
  prefetch(): void {
    this.resolve().catch(() => {});
  }

  private async refresh(): Promise<void> {
    this.fetches++;
    const { discoveryUri, timeoutMs } = this.settings;
    let doc: unknown;
    try {
      const res = await fetch(discoveryUri, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = await res.json();
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e as Error).message.slice(0, 200);
      // A network failure keeps a previously good document (if any) in use until the next try.
      this.failed(`OIDC discovery fetch failed (${why})`, this.keys !== undefined);
      return;
    }
    const checked = checkDiscoveryDocument(doc, this.issuer);
    if (typeof checked === 'string') {
      // A document that speaks for another issuer (or names no keys) is never used: fail closed.
      this.keys = undefined;
      this.jwksUri = undefined;
      this.failed(checked, false);
      return;
    }
    if (checked.jwksUri !== this.jwksUri) {
      this.jwksUri = checked.jwksUri;
      this.keys = createRemoteJWKSet(new URL(checked.jwksUri), {
        cacheMaxAge: this.settings.cacheMaxAgeMs,
        timeoutDuration: this.settings.timeoutMs,
        cooldownDuration: this.settings.cooldownMs,
      });
      this.log('info', 'jwt issuer discovered', { issuer: this.issuer, jwks_uri: checked.jwksUri });
    }
    this.fetchedAtMs = this.now();
    this.failure = undefined;
  }

  /** Whether tokens of this issuer can be verified now (a good document is in use). */
  get usable(): boolean {
    return this.keys !== undefined;
  }

  private failed(reason: string, keepingOld: boolean): void {
    this.failures++;
    const backoffMs = Math.min(this.settings.maxBackoffMs, this.failure ? this.failure.backoffMs * 2 : FIRST_BACKOFF_MS);
    this.failure = { reason, retryAtMs: this.now() + backoffMs, backoffMs };
    this.log('error', keepingOld ? `${reason}; using the previous discovery document` : `${reason}; tokens of this issuer are refused`, {
      issuer: this.issuer,
      discovery_uri: this.settings.discoveryUri,
      retry_in_ms: backoffMs,
    });
  }
}
