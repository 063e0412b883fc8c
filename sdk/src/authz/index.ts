/**
 * `@meshward/sdk/authz`: the extension API of Meshward's ext_authz server. A risk signal is a
 * plug-in: it reads one kind of evidence about a request and scores it from 0 (nothing suspicious)
 * to 100, with short reason codes. The server (`@meshward/ext-authz`) weighs every signal's score
 * with its configured `weight` and adds them up (capped at 100); its built-in signals use this same
 * contract.
 *
 *   import { defineSignal } from '@meshward/sdk/authz';
 *   export const mySignal = defineSignal<{ header: string }>({
 *     name: 'my_signal', defaultWeight: 40,
 *     parse: (m, { reader, path }) => ({ header: reader.string(m['header'], `${path}.header`) ?? 'x-my' }),
 *     create: (c) => ({ name: 'my_signal', evaluate: (ctx) => ({ score: ctx.attrs.request.http.headers[c.header] ? 100 : 0 }) }),
 *   });
 *   // then: startAuthzServer(config, { signals: [mySignal] }) and `signals: { my_signal: {...} }`
 *
 * Types only, plus the identity function `defineSignal`: nothing here depends on the server.
 */

// ---- the request, as Envoy's AttributeContext in proto3 JSON names (as OPA-Envoy's input) --------

export interface SocketAddress {
  address?: string;
  port_value?: number;
}

export interface Peer {
  address?: { socket_address?: SocketAddress };
  service?: string;
  labels?: Record<string, string>;
  /** The peer certificate's URI SAN (e.g. a SPIFFE id) or subject, when the connection is mTLS. */
  principal?: string;
  /** The URL-encoded PEM of the peer certificate (only with `include_peer_certificate`). */
  certificate?: string;
}

export interface HttpRequestAttributes {
  id?: string;
  method?: string;
  /** Lowercase names; repeated headers joined with ",". */
  headers: Record<string, string>;
  /** The path with the query string, as Envoy forwards it (`:path`). */
  path?: string;
  host?: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  size?: string;
  protocol?: string;
  body?: string;
}

export interface CheckAttributes {
  source?: Peer;
  destination?: Peer;
  request: {
    /** RFC 3339 time Envoy received the request, when known. */
    time?: string;
    http: HttpRequestAttributes;
  };
  context_extensions?: Record<string, string>;
  metadata_context?: unknown;
  route_metadata_context?: unknown;
  tls_session?: { sni?: string };
}

// ---- who is calling -------------------------------------------------------------------------

/** The claims of a verified JWT. */
export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

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
  claims: JwtClaims;
  /** Who verified it: the server (`bearer`), Envoy's jwt_authn, or Meshward's JWT filter (`payload_header`). */
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

/**
 * The request attributes policies match on, computed once per request. Absent attributes are
 * undefined: they match no value and every `not_` value.
 */
export interface Facts {
  sourceIp?: string;
  /** The peer identity without `spiffe://`, e.g. `cluster.local/ns/shop/sa/cart`. */
  sourcePrincipal?: string;
  sourceNamespace?: string;
  /** `<iss>/<sub>` of the verified JWT (or the API key's principal). */
  requestPrincipal?: string;
  audiences: string[];
  presenter?: string;
  claims?: Record<string, unknown>;
  destinationIp?: string;
  destinationPort?: string;
  host?: string;
  method?: string;
  /** Without the query string. */
  path?: string;
  headers: Record<string, string>;
  sni?: string;
  /** Envoy's per-route `context_extensions` (gRPC mode). */
  contextExtensions?: Record<string, string>;
  /** The API key the request authenticated with. */
  apiKeyId?: string;
  apiKeyLabels?: Record<string, string>;
  /** The risk phase's result (set before the policy runs). */
  risk?: { score: number; reasons: string[] };
}

// ---- risk history -----------------------------------------------------------------------------

export interface WindowCount {
  /** Events in the window (including the one just added, for `hit`). */
  count: number;
  /** Time (ms) of the oldest event still in the window; undefined when empty. */
  oldestMs?: number;
}

export interface MemberCheck {
  /** The member is in the set. */
  known: boolean;
  /** How many members the set has. */
  size: number;
}

/**
 * The risk history's operations answered synchronously: what `RiskState.sync` offers when the
 * history is in this process. Same meaning, arguments and results as RiskState's methods.
 */
export interface SyncRiskState {
  hit(key: string, windowMs: number, nowMs: number): WindowCount;
  count(key: string, windowMs: number, nowMs: number): WindowCount;
  get(key: string, nowMs: number): string | undefined;
  set(key: string, value: string, ttlMs: number, nowMs: number): void;
  isMember(key: string, member: string, nowMs: number): MemberCheck;
  addMember(key: string, member: string, ttlMs: number, nowMs: number): void;
}

/**
 * What signals remember between requests (sliding windows, last values, sets), in memory or
 * shared by every replica through Redis. Times are the decision's time (`nowMs`).
 */
export interface RiskState {
  /**
   * The same operations without promises, when the history is in this process (the memory
   * backend); undefined for a shared one (Redis). A signal that uses it when present answers
   * synchronously, which saves each Check the promises (optional: the methods below always work).
   */
  readonly sync?: SyncRiskState;
  /** `memory` or `redis`: where answers come from right now (redis falls back to memory). */
  readonly backend: string;
  /** Adds an event at `nowMs` to the sliding window `key` and counts the window. */
  hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount>;
  /** Counts the sliding window `key` without adding to it. */
  count(key: string, windowMs: number, nowMs: number): Promise<WindowCount>;
  get(key: string, nowMs: number): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number, nowMs: number): Promise<void>;
  /** Whether `member` is in the set `key`, and the set's size. */
  isMember(key: string, member: string, nowMs: number): Promise<MemberCheck>;
  /** Adds `member` to the set `key` (which expires `ttlMs` after its last change). */
  addMember(key: string, member: string, ttlMs: number, nowMs: number): Promise<void>;
  close(): Promise<void>;
}

// ---- the plug-in contract ---------------------------------------------------------------------

/** Reads a config section: every problem is recorded with its field path, and reading goes on. */
export interface ConfigReader {
  fail(path: string, message: string): undefined;
  /** A mapping with only the given keys; undefined (and a problem) otherwise. */
  mapping(value: unknown, path: string, keys: readonly string[], required?: boolean): Record<string, unknown> | undefined;
  string(value: unknown, path: string, options?: { required?: boolean; nonEmpty?: boolean }): string | undefined;
  boolean(value: unknown, path: string, fallback: boolean): boolean;
  integer(value: unknown, path: string, fallback: number, range?: { min?: number; max?: number }): number;
  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T;
  list(value: unknown, path: string, options?: { required?: boolean; nonEmpty?: boolean }): unknown[] | undefined;
  strings(value: unknown, path: string, check?: (s: string) => string | undefined, options?: { nonEmpty?: boolean }): string[];
  url(value: unknown, path: string, options?: { required?: boolean; schemes?: string[] }): string | undefined;
}

export interface SignalContext {
  attrs: CheckAttributes;
  identity: Identity;
  facts: Facts;
  /** The decision time (ms since the epoch); use it instead of Date.now() so tests can move time. */
  nowMs: number;
  /** Risk history: in memory, or shared by every replica through Redis. */
  state: RiskState;
  /** Whose history this request adds to: the JWT principal, else the workload; undefined when anonymous. */
  principal?: string;
}

/** A hard outcome that bypasses the score: refuse now (403) or slow down (429 + Retry-After). */
export type SignalAction = { kind: 'deny' } | { kind: 'throttle'; retryAfterSeconds: number };

export interface SignalOutcome {
  /** 0-100: how suspicious this signal finds the request (before weighting). */
  score: number;
  /** Short codes for the decision log and upstream headers, e.g. `new_device`; never secrets. */
  reasons?: string[];
  /** Visible to policies as `input.signals.<name>` (JSON values only). */
  data?: Record<string, unknown>;
  action?: SignalAction;
}

export interface RiskSignal {
  readonly name: string;
  evaluate(ctx: SignalContext): SignalOutcome | Promise<SignalOutcome>;
  /** After an allow: learn from the request (remember a device, a location). */
  learn?(ctx: SignalContext): void | Promise<void>;
  /** A bearer token that did not verify, from `ctx.facts.sourceIp` (identity is anonymous here). */
  onAuthFailure?(ctx: SignalContext): void | Promise<void>;
}

export interface SignalConfigContext {
  /** Records problems with their field path; reading goes on so every problem is reported. */
  reader: ConfigReader;
  /** The section's path, e.g. `signals.velocity`: join field names to it for messages. */
  path: string;
  /** Folder relative file paths are resolved against. */
  baseDir: string;
  /**
   * Reads a file named by the config (relative to the config's folder). The file is watched: when
   * it changes the whole config is parsed again and, if valid, swapped in (hot reload).
   */
  readFile(value: unknown, path: string): { file: string; text: string } | undefined;
  /** The same for a binary file (a database). */
  readBytes(value: unknown, path: string): { file: string; bytes: Buffer } | undefined;
}

export interface SignalPlugin<C = unknown> {
  /** Lowercase, `_`-separated: the config key under `signals:` and the key in `input.signals`. */
  readonly name: string;
  /** 0-100: the most this signal adds to the total score, unless the config sets `weight`. */
  readonly defaultWeight: number;
  /** Validates the section (without the common `weight` and `enabled` fields). */
  parse(raw: Record<string, unknown>, ctx: SignalConfigContext): C | undefined;
  create(config: C): RiskSignal;
}

/** Typed helper for writing a plug-in (keeps `C` checked between parse and create). */
export function defineSignal<C>(plugin: SignalPlugin<C>): SignalPlugin<C> {
  return plugin;
}
