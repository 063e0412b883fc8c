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
  /** Who verified it: this server (`bearer`), Envoy's jwt_authn, or Meshward's JWT filter (`payload_header`). */
  from?: 'bearer' | 'jwt_authn' | 'payload_header';
}

/** The API key a request presented (never the key itself). */
export interface ApiKeyIdentity {
  id: string;
  principal: string;
  labels: Record<string, string>;
  /** The header it came in (removed upstream with the other credentials). */
  header: string;
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
  /** The strongest credential present: a JWT, else an API key, else the workload, else none. */
  kind: 'jwt' | 'api_key' | 'workload' | 'anonymous';
  jwt?: JwtIdentity;
  apiKey?: ApiKeyIdentity;
  workload?: WorkloadIdentity;
}

/** Why authentication failed; becomes a 401 with `WWW-Authenticate: Bearer`. */
export interface AuthnFailure {
  /** `missing`: no token where one is required; `invalid`: a token that does not verify. */
  problem: 'missing' | 'invalid';
  /** For the decision log only (never contains the token). */
  reason: string;
  /** The challenge scheme: `Bearer` (default) or `ApiKey` for a key that is not recognized. */
  scheme?: 'Bearer' | 'ApiKey';
}

export type IdentityOutcome = { ok: true; identity: Identity } | { ok: false; failure: AuthnFailure };

/** The principal to show upstream and in logs: the JWT's, else the API key's, else the workload's. */
export function principalOf(identity: Identity): string | undefined {
  return identity.jwt?.principal ?? identity.apiKey?.principal ?? identity.workload?.principal;
}
