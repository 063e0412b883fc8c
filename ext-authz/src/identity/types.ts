import type { JWTPayload } from 'jose';

/** A verified JWT: the end user (or client) the request acts for. */
export interface JwtIdentity {
  issuer: string;
  subject?: string;
  /** Istio's request principal: `<iss>/<sub>`. */
  principal: string;
  audiences: string[];
  /** The authorized party (`azp`), when present. */
  presenter?: string;
  /** Every claim of the verified payload. */
  claims: JWTPayload;
}

/** The calling workload, from its mTLS peer certificate (SPIFFE id) or a trusted XFCC header. */
export interface WorkloadIdentity {
  /** As received, e.g. `spiffe://cluster.local/ns/shop/sa/cart`. */
  id: string;
  /** Istio's source principal: the SPIFFE id without `spiffe://` (or the raw value if not SPIFFE). */
  principal: string;
  trustDomain?: string;
  namespace?: string;
  serviceAccount?: string;
  from: 'peer' | 'xfcc';
}

export interface Identity {
  /** The strongest credential present: a JWT, else the workload, else none. */
  kind: 'jwt' | 'workload' | 'anonymous';
  jwt?: JwtIdentity;
  workload?: WorkloadIdentity;
}

/** Why authentication failed; becomes a 401 with `WWW-Authenticate: Bearer`. */
export interface AuthnFailure {
  /** `missing`: no token where one is required; `invalid`: a token that does not verify. */
  problem: 'missing' | 'invalid';
  /** For the decision log only (never contains the token). */
  reason: string;
}

export type IdentityOutcome = { ok: true; identity: Identity } | { ok: false; failure: AuthnFailure };

/** The principal to show upstream and in logs: the JWT's, else the workload's. */
export function principalOf(identity: Identity): string | undefined {
  return identity.jwt?.principal ?? identity.workload?.principal;
}
