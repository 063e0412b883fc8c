/**
 * Phase 1, identity: who is calling. The workload (mTLS peer SPIFFE id, or a trusted proxy's
 * XFCC header) and the end user (a bearer JWT from one of the configured issuers). A token that
 * is present but does not verify is always a failure (401); a missing token is one only when
 * `identity.jwt.required` is set.
 */
import { header, sourceIp, type CheckAttributes } from '../attributes.js';
import type { AuthzConfig } from '../config/types.js';
import { bearerToken, JwtVerifier } from './jwt.js';
import type { Identity, IdentityOutcome, WorkloadIdentity } from './types.js';
import { workloadFrom, workloadFromXfcc } from './workload.js';

export * from './types.js';
export { bearerToken, JwtVerifier } from './jwt.js';
export { parseSpiffeId, parseXfcc, workloadFrom, workloadFromXfcc } from './workload.js';

export interface IdentityResult {
  outcome: IdentityOutcome;
  /** Things worth a debug log line (an ignored XFCC header, a foreign trust domain...). */
  notes: string[];
}

export class IdentityResolver {
  readonly jwt: JwtVerifier;

  constructor(private readonly config: AuthzConfig['identity']) {
    this.jwt = new JwtVerifier(config.jwt);
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
    const notes: string[] = [];
    const identity: Identity = { kind: 'anonymous' };
    const workload = this.workload(attrs, notes);
    if (workload) {
      identity.kind = 'workload';
      identity.workload = workload;
    }
    if (!this.jwt.enabled) return { outcome: { ok: true, identity }, notes };
    const token = bearerToken(header(attrs, 'authorization'));
    if (token === undefined) {
      if (this.config.jwt.required) return { outcome: { ok: false, failure: { problem: 'missing', reason: 'bearer token required' } }, notes };
      return { outcome: { ok: true, identity }, notes };
    }
    const verified = await this.jwt.verify(token, nowMs);
    if (!verified.ok) return { outcome: { ok: false, failure: { problem: 'invalid', reason: verified.reason } }, notes };
    identity.kind = 'jwt';
    identity.jwt = verified.jwt;
    return { outcome: { ok: true, identity }, notes };
  }
}
