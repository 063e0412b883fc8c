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
 */
import type { AuthzConfig } from './config/types.js';
import { principalOf, type Identity } from './identity/types.js';

export type DecisionResult = 'allow' | 'deny' | 'unauthenticated';

export interface Decision {
  id: string;
  result: DecisionResult;
  /** 200, 401 or 403. */
  status: number;
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
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '').trim();
  return clean === '' ? undefined : clean.slice(0, 4096);
}

export class ResponseBuilder {
  constructor(private readonly config: AuthzConfig['response']) {}

  /** Every header name this server may set upstream (for Envoy's allowed_upstream_headers and for docs). */
  get identityHeaderNames(): string[] {
    const h = this.config.upstreamHeaders;
    return [h.principal, h.workload, h.decisionId, ...Object.keys(h.claims)].filter((x): x is string => x !== undefined);
  }

  allow(id: string, identity: Identity, reason: string, policy: string | undefined): Decision {
    const h = this.config.upstreamHeaders;
    const set: Record<string, string> = {};
    const remove: string[] = [];
    const put = (name: string | undefined, value: unknown) => {
      if (name === undefined) return;
      const v = headerValue(value);
      if (v === undefined) remove.push(name);
      else set[name] = v;
    };
    put(h.principal, principalOf(identity));
    put(h.workload, identity.workload?.id);
    put(h.decisionId, id);
    for (const [name, claim] of Object.entries(h.claims)) put(name, identity.jwt?.claims[claim]);
    if (this.config.removeAuthorization && identity.jwt) remove.push('authorization');
    return {
      id,
      result: 'allow',
      status: 200,
      reason,
      ...(policy !== undefined ? { policy } : {}),
      identity,
      upstreamHeaders: set,
      removeHeaders: remove,
      responseHeaders: {},
    };
  }

  deny(id: string, identity: Identity, reason: string, policy: string | undefined): Decision {
    return {
      id,
      result: 'deny',
      status: 403,
      reason,
      ...(policy !== undefined ? { policy } : {}),
      identity,
      upstreamHeaders: {},
      removeHeaders: [],
      responseHeaders: this.denyHeaders(id),
      body: JSON.stringify({ code: 'forbidden', decision_id: id }),
    };
  }

  unauthenticated(id: string, identity: Identity, problem: 'missing' | 'invalid', reason: string, policy?: string): Decision {
    const challenge = problem === 'invalid' ? 'Bearer realm="meshward", error="invalid_token"' : 'Bearer realm="meshward"';
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
      body: JSON.stringify({ code: problem === 'invalid' ? 'invalid_token' : 'unauthenticated', decision_id: id }),
    };
  }

  private denyHeaders(id: string): Record<string, string> {
    return { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-meshward-decision-id': id };
  }
}
