import { parsedPath, parsedQuery, type CheckAttributes } from '../attributes.js';
import { principalOf, type Identity } from '../identity/types.js';
import { selectionWriter, type InputSelection } from './input-paths.js';

/**
 * The document a Rego policy sees as `input`: the CheckRequest's attributes as Envoy sent them
 * (as OPA-Envoy's `input.attributes`), OPA-Envoy's `parsed_path` and `parsed_query`, plus what
 * the identity and signal phases found.
 */
export interface PolicyInput {
  attributes: CheckAttributes;
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  identity: {
    kind: Identity['kind'];
    /** The JWT's `<iss>/<sub>`, else the API key's principal, else the workload principal; absent when anonymous. */
    principal?: string;
    /** The API key the request presented (its id, principal and labels; never the key). */
    api_key?: { id: string; principal: string; labels: Record<string, string> };
    jwt?: {
      issuer: string;
      subject?: string;
      principal: string;
      audiences: string[];
      presenter?: string;
      claims: Record<string, unknown>;
      /** Who verified it: `bearer` (this server), `jwt_authn` or `payload_header`. */
      from?: string;
    };
    workload?: {
      id: string;
      principal: string;
      trust_domain?: string;
      namespace?: string;
      service_account?: string;
      from: 'peer' | 'xfcc';
    };
  };
  signals: Record<string, Record<string, unknown>>;
  /** The risk score (0-100), its reasons, and each signal's share. */
  risk?: {
    score: number;
    reasons: string[];
    signals: Array<{ name: string; score: number; weight: number; contribution: number; reasons: string[] }>;
  };
}

/** What the input document is made of; its parts are built only when a policy reads them. */
export interface PolicyInputSource {
  attrs: CheckAttributes;
  identity: Identity;
  signals: Record<string, Record<string, unknown>>;
  /** Absent when no signal is configured (then the document has no `risk`). */
  risk?: () => PolicyInput['risk'];
}

function identityInput(identity: Identity): PolicyInput['identity'] {
  const id: PolicyInput['identity'] = { kind: identity.kind };
  const principal = principalOf(identity);
  if (principal !== undefined) id.principal = principal;
  if (identity.jwt) {
    const j = identity.jwt;
    id.jwt = { issuer: j.issuer, principal: j.principal, audiences: j.audiences, claims: j.claims as Record<string, unknown> };
    if (j.subject !== undefined) id.jwt.subject = j.subject;
    if (j.presenter !== undefined) id.jwt.presenter = j.presenter;
    if (j.from !== undefined) id.jwt.from = j.from;
  }
  if (identity.apiKey) id.api_key = { id: identity.apiKey.id, principal: identity.apiKey.principal, labels: identity.apiKey.labels };
  if (identity.workload) {
    const w = identity.workload;
    id.workload = { id: w.id, principal: w.principal, from: w.from };
    if (w.trustDomain) id.workload.trust_domain = w.trustDomain;
    if (w.namespace) id.workload.namespace = w.namespace;
    if (w.serviceAccount) id.workload.service_account = w.serviceAccount;
  }
  return id;
}

/** Each top-level key of the document and how to build it (in the document's key order). */
const PARTS: { [K in keyof PolicyInput]-?: (s: PolicyInputSource) => PolicyInput[K] | undefined } = {
  attributes: (s) => s.attrs,
  parsed_path: (s) => parsedPath(s.attrs.request.http.path),
  parsed_query: (s) => parsedQuery(s.attrs.request.http.path),
  identity: (s) => identityInput(s.identity),
  signals: (s) => s.signals,
  risk: (s) => s.risk?.(),
};
const PART_KEYS = Object.keys(PARTS) as Array<keyof PolicyInput>;

export function policyInput(attrs: CheckAttributes, identity: Identity, signals: Record<string, Record<string, unknown>>, risk?: PolicyInput['risk']): PolicyInput {
  return {
    attributes: attrs,
    parsed_path: parsedPath(attrs.request.http.path),
    parsed_query: parsedQuery(attrs.request.http.path),
    identity: identityInput(identity),
    signals,
    ...(risk ? { risk } : {}),
  };
}

/** Writes the input document of a source as JSON text. */
export type PolicyInputWriter = (source: PolicyInputSource) => string;

/**
 * A writer of the input document as JSON text with only the parts `selection` keeps (see
 * input-paths.ts), straight from the source: parts the policy never reads are not built at all.
 * Built once per policy. With the full selection it writes `JSON.stringify(policyInput(...))`.
 */
export function policyInputWriter(selection: InputSelection): PolicyInputWriter {
  // The whole document: one native stringify is cheaper than writing it part by part.
  if (selection === true) return (s) => JSON.stringify(policyInput(s.attrs, s.identity, s.signals, s.risk?.()));
  const parts = PART_KEYS.filter((key) => selection.has(key)).map((key) => ({ prefix: `"${key}":`, build: PARTS[key], write: selectionWriter(selection.get(key)!) }));
  return (source) => {
    let out = '';
    for (const p of parts) {
      const json = p.write(p.build(source));
      if (json === undefined) continue;
      out += out === '' ? p.prefix + json : `,${p.prefix}${json}`;
    }
    return `{${out}}`;
  };
}

/** `policyInputWriter(selection)(source)`, for one-off use. */
export function policyInputJson(source: PolicyInputSource, selection: InputSelection): string {
  return policyInputWriter(selection)(source);
}
