import type { Identity } from '@meshward/sdk/authz';

// The identity shapes are the SDK's (`@meshward/sdk/authz`), so signal plug-ins see the same types.
export type { JwtClaims, JwtIdentity, ApiKeyIdentity, WorkloadIdentity, Identity } from '@meshward/sdk/authz';

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
