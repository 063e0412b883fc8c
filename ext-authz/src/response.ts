/**
 * Phase 4, response: turns the outcome of the earlier phases into what Envoy applies. Both
 * protocols render the same Decision.
 *
 * - allow: 200; identity headers set on the upstream request (overwriting whatever the client
 *   sent under those names), configured identity headers with no value removed, and the
 *   `authorization` header removed once its token has been verified (`remove_authorization`).
 * - unauthenticated: 401 with `WWW-Authenticate: Bearer realm="meshward"` (plus
 *   `error="invalid_token"` when a token was present) and a JSON body.
 * - deny: 403 with a JSON body. Bodies are `{"code": "...", "decision_id": "..."}`: the reason
 *   stays in the decision log, correlated by the id.
 * - step_up: 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"` and
 *   the `acr_values` / `max_age` the client must come back with (RFC 9470).
 * - throttle: 429 with `Retry-After`.
 * - read_only: 403 (code `read_only`) for a non-safe method when the risk allows reading only.
 *
 * Allows carry the risk score and reasons upstream (headers) and every answer carries them in
 * gRPC dynamic metadata, for access logs.
 */
import type { AuthzConfig } from './config/types.js';
import { principalOf, type Identity } from './identity/types.js';
import type { Denial, StepUpChallenge } from './policy/decisions.js';

export type DecisionResult = 'allow' | 'deny' | 'unauthenticated' | 'step_up' | 'throttle' | 'read_only';

export interface RiskSummary {
  score: number;
  reasons: string[];
}

export type { StepUpChallenge };

export interface Decision {
  id: string;
  result: DecisionResult;
  /** 200, 401, 403 or 429. */
  status: number;
  /** The risk phase's result, when it ran. */
  risk?: RiskSummary;
  /** For the decision log. */
  reason: string;
  policy?: string;
  identity: Identity;
  /** Allow: headers to set on the upstream request. */
  upstreamHeaders: Record<string, string>;
  /** Allow: headers to remove from the upstream request. */
  removeHeaders: string[];
  /** Deny/401: headers of the response the client gets. */
  responseHeaders: Record<string, string>;
  /** Deny/401: the response body. */
  body?: string;
}

/**
 * True when `s` needs no cleaning: 1-4096 characters, none a control character, and no
 * whitespace at either end (what trim would remove). Most values (principals, ids, scores) are;
 * they are returned as they are, without a regex pass and a copy per header per Check.
 */
function plainHeaderValue(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 4096) return false;
  // Ends: printable ASCII other than space (trim removes Unicode spaces too: leave those to it).
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(n - 1);
  if (first <= 0x20 || first >= 0x7f || last <= 0x20 || last >= 0x7f) return false;
  for (let i = 1; i < n - 1; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** Header values must not carry control characters (CR/LF would split headers). */
export function headerValue(v: unknown): string | undefined {
  let s: string | undefined;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
  else if (Array.isArray(v)) {
    const parts = v.filter((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean').map(String);
    s = parts.length ? parts.join(',') : undefined;
  }
  if (s === undefined) return undefined;
  if (plainHeaderValue(s)) return s;
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '').trim();
  return clean === '' ? undefined : clean.slice(0, 4096);
}

/** Sets header `name` upstream to `value` cleaned, or removes it when there is no value to send. */
function putHeader(set: Record<string, string>, remove: string[], name: string | undefined, value: unknown): void {
  if (name === undefined) return;
  const v = headerValue(value);
  if (v === undefined) remove.push(name);
  else set[name] = v;
}

export class ResponseBuilder {
  constructor(private readonly config: AuthzConfig['response']) {}

  /** Every header name this server may set upstream (for Envoy's allowed_upstream_headers and for docs). */
  get identityHeaderNames(): string[] {
    const h = this.config.upstreamHeaders;
    return [h.principal, h.workload, h.decisionId, h.riskScore, h.riskReasons, ...Object.keys(h.claims)].filter((x): x is string => x !== undefined);
  }

  allow(id: string, identity: Identity, reason: string, policy: string | undefined, risk?: RiskSummary): Decision {
    const h = this.config.upstreamHeaders;
    const set: Record<string, string> = {};
    const remove: string[] = [];
    putHeader(set, remove, h.principal, principalOf(identity));
    putHeader(set, remove, h.workload, identity.workload?.id);
    // The id is this server's own UUID: nothing to clean.
    if (h.decisionId !== undefined) set[h.decisionId] = id;
    for (const name in h.claims) putHeader(set, remove, name, identity.jwt?.claims[h.claims[name]!]);
    // A score is a number: its text needs no cleaning.
    if (h.riskScore !== undefined) {
      if (risk) set[h.riskScore] = String(risk.score);
      else remove.push(h.riskScore);
    }
    putHeader(set, remove, h.riskReasons, risk?.reasons.length ? risk.reasons.join(',') : undefined);
    if (this.config.removeAuthorization && identity.jwt) remove.push('authorization');
    if (this.config.removeAuthorization && identity.apiKey) remove.push(identity.apiKey.header);
    // Optional fields set after, not spread in: one object shape for every allow.
    const d: Decision = { id, result: 'allow', status: 200, reason, identity, upstreamHeaders: set, removeHeaders: remove, responseHeaders: {} };
    if (policy !== undefined) d.policy = policy;
    if (risk) d.risk = risk;
    return d;
  }

  deny(id: string, identity: Identity, reason: string, policy: string | undefined, risk?: RiskSummary): Decision {
    return this.refusal('deny', 403, 'forbidden', id, identity, reason, policy, risk, {});
  }

  /** The answer for a refusal that applies (see policy/decisions.ts). */
  refuse(denial: Denial, id: string, identity: Identity, reason: string, policy: string | undefined, risk?: RiskSummary): Decision {
    switch (denial.kind) {
      case 'deny':
        return this.deny(id, identity, reason, policy, risk);
      case 'read_only':
        return this.readOnly(id, identity, reason, policy, risk);
      case 'throttle':
        return this.throttle(id, identity, reason, policy, denial.retryAfterSeconds, risk);
      case 'step_up':
        return this.stepUp(id, identity, reason, policy, denial.challenge, risk);
    }
  }

  /** A non-safe method refused because the request may only read. */
  readOnly(id: string, identity: Identity, reason: string, policy: string | undefined, risk?: RiskSummary): Decision {
    return this.refusal('read_only', 403, 'read_only', id, identity, reason, policy, risk, {});
  }

  throttle(id: string, identity: Identity, reason: string, policy: string | undefined, retryAfterSeconds: number, risk?: RiskSummary): Decision {
    return this.refusal('throttle', 429, 'throttled', id, identity, reason, policy, risk, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }

  /** RFC 9470: the token is valid but its authentication is not strong or recent enough. */
  stepUp(id: string, identity: Identity, reason: string, policy: string | undefined, challenge: StepUpChallenge, risk?: RiskSummary): Decision {
    // Without a token there is no authentication to find insufficient (RFC 6750: no error code
    // then); the challenge still says what the token must carry.
    const withToken = identity.jwt !== undefined;
    const params = ['realm="meshward"'];
    if (withToken) params.push('error="insufficient_user_authentication"', 'error_description="A different authentication level is required"');
    if (challenge.acrValues) params.push(`acr_values="${challenge.acrValues}"`);
    if (challenge.maxAge !== undefined) params.push(`max_age=${challenge.maxAge}`);
    const code = withToken ? 'insufficient_user_authentication' : 'unauthenticated';
    return this.refusal('step_up', 401, code, id, identity, reason, policy, risk, { 'www-authenticate': `Bearer ${params.join(', ')}` });
  }

  private refusal(
    result: DecisionResult,
    status: number,
    code: string,
    id: string,
    identity: Identity,
    reason: string,
    policy: string | undefined,
    risk: RiskSummary | undefined,
    extra: Record<string, string>,
  ): Decision {
    return {
      id,
      result,
      status,
      reason,
      ...(policy !== undefined ? { policy } : {}),
      ...(risk ? { risk } : {}),
      identity,
      upstreamHeaders: {},
      removeHeaders: [],
      responseHeaders: { ...this.denyHeaders(id), ...extra },
      body: JSON.stringify({ code, decision_id: id }),
    };
  }

  unauthenticated(id: string, identity: Identity, problem: 'missing' | 'invalid', reason: string, policy?: string, scheme: 'Bearer' | 'ApiKey' = 'Bearer'): Decision {
    // An unknown API key: a scheme of its own (there is no registered one; RFC 9110 §11.6.1 allows any token).
    const challenge =
      scheme === 'ApiKey' ? 'ApiKey realm="meshward"' : problem === 'invalid' ? 'Bearer realm="meshward", error="invalid_token"' : 'Bearer realm="meshward"';
    const code = scheme === 'ApiKey' ? 'invalid_api_key' : problem === 'invalid' ? 'invalid_token' : 'unauthenticated';
    return {
      id,
      result: 'unauthenticated',
      status: 401,
      reason,
      ...(policy !== undefined ? { policy } : {}),
      identity,
      upstreamHeaders: {},
      removeHeaders: [],
      responseHeaders: { ...this.denyHeaders(id), 'www-authenticate': challenge },
      body: JSON.stringify({ code, decision_id: id }),
    };
  }

  private denyHeaders(id: string): Record<string, string> {
    return { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-meshward-decision-id': id };
  }
}
