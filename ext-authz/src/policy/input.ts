import { parsedPath, parsedQuery, type CheckAttributes } from '../attributes.js';
import { principalOf, type Identity } from '../identity/types.js';
import { fieldPrefixes, selectionWriter, type InputSelection } from './input-paths.js';

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

/** `input.risk`'s source: the score and reasons, and the per-signal list built only when written. */
export interface RiskSource {
  score: number;
  reasons: string[];
  signals(): NonNullable<PolicyInput['risk']>['signals'];
}

/** What the input document is made of; its parts are built only when a policy reads them. */
export interface PolicyInputSource {
  attrs: CheckAttributes;
  identity: Identity;
  signals: Record<string, Record<string, unknown>>;
  /** Absent when no signal is configured (then the document has no `risk`). */
  risk?: RiskSource;
}

type IdentityInput = PolicyInput['identity'];
type Jwt = NonNullable<Identity['jwt']>;
type Workload = NonNullable<Identity['workload']>;
type ApiKey = NonNullable<Identity['apiKey']>;

function jwtInput(j: Jwt): NonNullable<IdentityInput['jwt']> {
  const jwt: NonNullable<IdentityInput['jwt']> = { issuer: j.issuer, principal: j.principal, audiences: j.audiences, claims: j.claims as Record<string, unknown> };
  if (j.subject !== undefined) jwt.subject = j.subject;
  if (j.presenter !== undefined) jwt.presenter = j.presenter;
  if (j.from !== undefined) jwt.from = j.from;
  return jwt;
}

function apiKeyInput(k: ApiKey): NonNullable<IdentityInput['api_key']> {
  return { id: k.id, principal: k.principal, labels: k.labels };
}

function workloadInput(w: Workload): NonNullable<IdentityInput['workload']> {
  const workload: NonNullable<IdentityInput['workload']> = { id: w.id, principal: w.principal, from: w.from };
  if (w.trustDomain) workload.trust_domain = w.trustDomain;
  if (w.namespace) workload.namespace = w.namespace;
  if (w.serviceAccount) workload.service_account = w.serviceAccount;
  return workload;
}

function identityInput(identity: Identity): IdentityInput {
  const id: IdentityInput = { kind: identity.kind };
  const principal = principalOf(identity);
  if (principal !== undefined) id.principal = principal;
  if (identity.jwt) id.jwt = jwtInput(identity.jwt);
  if (identity.apiKey) id.api_key = apiKeyInput(identity.apiKey);
  if (identity.workload) id.workload = workloadInput(identity.workload);
  return id;
}

function riskInput(r: RiskSource): NonNullable<PolicyInput['risk']> {
  return { score: r.score, reasons: r.reasons, signals: r.signals() };
}

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

/** The whole document of a source (what a policy that reads `input` as a whole gets). */
export function policyInputOf(s: PolicyInputSource): PolicyInput {
  return policyInput(s.attrs, s.identity, s.signals, s.risk && riskInput(s.risk));
}

/**
 * A part of the document: its whole value (undefined: absent), and for an object part its fields,
 * each built on its own, so that writing a few of them does not build the rest. An object part's
 * fields name every key its value can have.
 */
interface DocumentPart {
  value(s: PolicyInputSource): unknown;
  object?: { present(s: PolicyInputSource): boolean; fields: Record<string, DocumentPart> };
}

const part = (value: DocumentPart['value']): DocumentPart => ({ value });
const always = () => true;

const JWT: DocumentPart = {
  value: (s) => s.identity.jwt && jwtInput(s.identity.jwt),
  object: {
    present: (s) => s.identity.jwt !== undefined,
    fields: {
      issuer: part((s) => s.identity.jwt!.issuer),
      subject: part((s) => s.identity.jwt!.subject),
      principal: part((s) => s.identity.jwt!.principal),
      audiences: part((s) => s.identity.jwt!.audiences),
      presenter: part((s) => s.identity.jwt!.presenter),
      claims: part((s) => s.identity.jwt!.claims),
      from: part((s) => s.identity.jwt!.from),
    },
  },
};

/** The input document, part by part (see PolicyInput). */
const DOCUMENT: DocumentPart = {
  value: policyInputOf,
  object: {
    present: always,
    fields: {
      attributes: part((s) => s.attrs),
      parsed_path: part((s) => parsedPath(s.attrs.request.http.path)),
      parsed_query: part((s) => parsedQuery(s.attrs.request.http.path)),
      identity: {
        value: (s) => identityInput(s.identity),
        object: {
          present: always,
          fields: {
            kind: part((s) => s.identity.kind),
            principal: part((s) => principalOf(s.identity)),
            jwt: JWT,
            api_key: part((s) => s.identity.apiKey && apiKeyInput(s.identity.apiKey)),
            workload: part((s) => s.identity.workload && workloadInput(s.identity.workload)),
          },
        },
      },
      signals: part((s) => s.signals),
      risk: {
        value: (s) => s.risk && riskInput(s.risk),
        object: {
          present: (s) => s.risk !== undefined,
          fields: {
            score: part((s) => s.risk!.score),
            reasons: part((s) => s.risk!.reasons),
            signals: part((s) => s.risk!.signals()),
          },
        },
      },
    },
  },
};

const hasOwn = Object.prototype.hasOwnProperty;

/** Writes a part's selected JSON for a source; undefined when the part is absent. */
type PartWriter = (s: PolicyInputSource) => string | undefined;

function partWriter(p: DocumentPart, selection: InputSelection): PartWriter {
  if (selection === true || !p.object) {
    const write = selectionWriter(selection);
    return (s) => write(p.value(s));
  }
  const { present, fields } = p.object;
  // A selected key the part never has is absent from the full document too: nothing to write.
  const writers = [...selection]
    .filter(([key]) => hasOwn.call(fields, key))
    .map(([key, sub]) => ({ ...fieldPrefixes(key), write: partWriter(fields[key]!, sub) }));
  return (s) => {
    if (!present(s)) return undefined;
    let out = '';
    for (let i = 0; i < writers.length; i++) {
      const w = writers[i]!;
      const json = w.write(s);
      if (json === undefined) continue;
      out = out === '' ? w.first + json : out + w.next + json;
    }
    return out === '' ? '{}' : `${out}}`;
  };
}

/** Writes the input document of a source as JSON text. */
export type PolicyInputWriter = (source: PolicyInputSource) => string;

/**
 * A writer of the input document as JSON text with only the parts `selection` keeps (see
 * input-paths.ts), straight from the source: parts the policy never reads are not built at all
 * (`input.identity.kind` does not build the identity object, `input.risk.score` not the signal
 * list). Built once per policy. With the full selection it writes `JSON.stringify(policyInputOf(source))`.
 */
export function policyInputWriter(selection: InputSelection): PolicyInputWriter {
  // The whole document: one native stringify is cheaper than writing it part by part.
  if (selection === true) return (s) => JSON.stringify(policyInputOf(s));
  const write = partWriter(DOCUMENT, selection);
  return (s) => write(s)!;
}

/** `policyInputWriter(selection)(source)`, for one-off use. */
export function policyInputJson(source: PolicyInputSource, selection: InputSelection): string {
  return policyInputWriter(selection)(source);
}
