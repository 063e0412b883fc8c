/**
 * Phase 1, identity: who is calling. The workload (mTLS peer SPIFFE id, or a trusted proxy's
 * XFCC header) and the end user (a bearer JWT from one of the configured issuers). A token that
 * is present but does not verify is always a failure (401); a missing token is one only when
 * `identity.jwt.required` is set.
 */
import { header, sourceIp, type CheckAttributes } from '../attributes.js';
import type { AuthzConfig } from '../config/types.js';
import { ApiKeyStore } from './api-keys.js';
import type { DiscoveryLog } from './discovery.js';
import { bearerToken, JwtVerifier, type JwtOutcome } from './jwt.js';
import { verifiedUpstreamJwt } from './upstream.js';
import type { Identity, IdentityOutcome, JwtIdentity, WorkloadIdentity } from './types.js';
import { workloadFrom, workloadFromXfcc } from './workload.js';

export * from './types.js';
export { bearerToken, JwtVerifier, normalizeTyp, typProblem } from './jwt.js';
export { ApiKeyStore, hashApiKey } from './api-keys.js';
export { DiscoveredJwks, checkDiscoveryDocument, discoveryUriOf } from './discovery.js';
export { jwtFromPayload, verifiedUpstreamJwt } from './upstream.js';
export { parseSpiffeId, parseXfcc, workloadFrom, workloadFromXfcc } from './workload.js';

export interface IdentityResult {
  outcome: IdentityOutcome;
  /** Things worth a debug log line (an ignored XFCC header, a foreign trust domain...). */
  notes: string[];
}

export class IdentityResolver {
  readonly jwt: JwtVerifier;
  private apiKeys: ApiKeyStore | undefined;

  constructor(
    private readonly config: AuthzConfig['identity'],
    log?: DiscoveryLog,
  ) {
    this.jwt = new JwtVerifier(config.jwt, log);
    this.apiKeys = config.apiKeys ? new ApiKeyStore(config.apiKeys) : undefined;
  }

  /** Swaps the API keys (hot reload of the config or its key file); the rest of identity needs a restart. */
  setApiKeys(config: AuthzConfig['identity']['apiKeys']): void {
    this.apiKeys = config ? new ApiKeyStore(config) : undefined;
  }

  private workload(attrs: CheckAttributes, notes: string[]): WorkloadIdentity | undefined {
    const w = this.config.workload;
    const peer = attrs.source?.principal;
    if (w.sourcePrincipal && peer) {
      const got = workloadFrom(peer, w, 'peer');
      if (typeof got !== 'string') return got;
      notes.push(`peer principal ignored: ${got}`);
    }
    const xfcc = workloadFromXfcc(header(attrs, 'x-forwarded-client-cert'), sourceIp(attrs), w);
    if (typeof xfcc === 'string') notes.push(xfcc);
    else if (xfcc) return xfcc;
    return undefined;
  }

  async resolve(attrs: CheckAttributes, nowMs: number = Date.now()): Promise<IdentityResult> {
    return this.resolveEager(attrs, nowMs);
  }

  /** resolve(), answering synchronously unless a token must be verified with its keys. */
  resolveEager(attrs: CheckAttributes, nowMs: number = Date.now()): IdentityResult | Promise<IdentityResult> {
    const notes: string[] = [];
    const identity: Identity = { kind: 'anonymous' };
    const fail = (problem: 'missing' | 'invalid', reason: string, scheme?: 'ApiKey'): IdentityResult => ({
      outcome: { ok: false, failure: { problem, reason, ...(scheme ? { scheme } : {}) } },
      notes,
    });
    const workload = this.workload(attrs, notes);
    if (workload) {
      identity.kind = 'workload';
      identity.workload = workload;
    }
    const keys = this.apiKeys;
    if (keys) {
      const presented = header(attrs, keys.header);
      if (presented !== undefined) {
        const entry = keys.match(presented.trim());
        // Never the key in the reason: it goes to the log.
        if (!entry) return fail('invalid', 'api key not recognized', 'ApiKey');
        identity.kind = 'api_key';
        identity.apiKey = { id: entry.id, principal: entry.principal, labels: entry.labels, header: keys.header };
      }
    }
    const skew = this.config.jwt.clockSkewSeconds;
    const upstream = this.config.verifiedUpstream ? verifiedUpstreamJwt(attrs, this.config.verifiedUpstream, nowMs, skew) : undefined;
    if (upstream) {
      if (!upstream.ok) return fail('invalid', upstream.reason);
      identity.kind = 'jwt';
      identity.jwt = upstream.jwt;
      return { outcome: { ok: true, identity }, notes };
    }
    const token = this.jwt.enabled ? bearerToken(header(attrs, 'authorization')) : undefined;
    if (token === undefined) {
      // `required` asks for an authenticated caller: a verified API key is one.
      if (this.config.jwt.required && !identity.apiKey) return fail('missing', 'bearer token required');
      return { outcome: { ok: true, identity }, notes };
    }
    const withToken = (verified: JwtOutcome): IdentityResult => {
      if (!verified.ok) return fail('invalid', verified.reason);
      identity.kind = 'jwt';
      identity.jwt = bearerJwtIdentity(verified.jwt);
      return { outcome: { ok: true, identity }, notes };
    };
    const verified = this.jwt.verifyEager(token, nowMs);
    return verified instanceof Promise ? verified.then(withToken) : withToken(verified);
  }
}

/**
 * This request's own copy of a verified token's identity (the verifier caches one per token),
 * marked as verified here. Written field by field, in the verifier's order: the object spread
 * `{ ...jwt, from: 'bearer' }` of the cached (old-generation) object made V8 keep every copy
 * through two scavenges and promote it, about 120 bytes per Check (`--trace-gc-nvp`: ~100 KB per
 * scavenge with the spread, none with this literal), which filled the old generation towards
 * the next mark-compact pause.
 */
export function bearerJwtIdentity(jwt: JwtIdentity): JwtIdentity {
  const copy: JwtIdentity = { issuer: jwt.issuer, principal: jwt.principal, audiences: jwt.audiences, claims: jwt.claims };
  if (jwt.subject !== undefined) copy.subject = jwt.subject;
  if (jwt.presenter !== undefined) copy.presenter = jwt.presenter;
  copy.from = 'bearer';
  return copy;
}
