import type { JSONWebKeySet } from 'jose';
import type { Cidr } from '../cidr.js';
import type { IntentionsConfig } from '../policy/intentions.js';
import type { NativePolicy } from '../policy/native.js';
import type { ConfiguredSignal } from '../signals/api.js';
import type { StateConfig } from '../state/index.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface ListenerConfig {
  enabled: boolean;
  host: string;
  /** 0 picks a free port (the started server reports the one it got). */
  port: number;
}

/** Which HTTP/2 implementation serves gRPC (docs/ext-authz.md, `server.grpc.transport`). */
export type GrpcTransport = 'lean' | 'grpc-js';
export const GRPC_TRANSPORTS: readonly GrpcTransport[] = ['lean', 'grpc-js'];

export interface GrpcListenerConfig extends ListenerConfig {
  transport: GrpcTransport;
}

export interface HttpListenerConfig extends ListenerConfig {
  /** Stripped from the front of every check request's path (Envoy's `http_service.path_prefix`). */
  pathPrefix: string;
  /** Header whose rightmost address is the client IP (e.g. `x-forwarded-for`); unset: unknown. */
  clientIpHeader?: string;
}

export type JwksSource =
  | { kind: 'remote'; uri: string; cacheMaxAgeMs: number; timeoutMs: number; cooldownMs: number }
  | { kind: 'local'; jwks: JSONWebKeySet; origin: string }
  /** OIDC discovery: `<issuer>/.well-known/openid-configuration` names the `jwks_uri`. */
  | { kind: 'discovery'; discoveryUri: string; cacheMaxAgeMs: number; timeoutMs: number; cooldownMs: number; discoveryCacheMs: number; maxBackoffMs: number };

export interface JwtIssuerConfig {
  issuer: string;
  /** Accepted `aud` values (any one must be present); empty accepts any audience. */
  audiences: string[];
  algorithms: string[];
  jwks: JwksSource;
  /** Accepted JOSE `typ` header values (lowercase, without `application/`). */
  typ: string[];
  /** A token without a `typ` header is refused. */
  requireTyp: boolean;
}

export interface JwtConfig {
  /** A request without a bearer token is refused with 401. */
  required: boolean;
  /** A request without a bearer token that no ALLOW policy matches gets 401 (a challenge) instead of 403. */
  challengeAnonymous: boolean;
  clockSkewSeconds: number;
  requireExpiration: boolean;
  /** Verified tokens kept (by hash) so a repeated token skips the signature check; 0 turns it off. */
  verifiedCacheSize: number;
  /** How long a verified token is served from the cache at most (never past its exp). */
  verifiedCacheMs: number;
  issuers: JwtIssuerConfig[];
}

export interface WorkloadConfig {
  /** Use `source.principal` of the CheckRequest (the mTLS peer's URI SAN). */
  sourcePrincipal: boolean;
  /** SPIFFE trust domains accepted; empty accepts any. */
  trustDomains: string[];
  /** `x-forwarded-client-cert` is read only when the source address is in one of these. */
  xfccTrustedProxies: Cidr[];
}

/** One API key: only the SHA-256 of the key is ever stored. */
export interface ApiKeyEntry {
  id: string;
  /** SHA-256 of the key, 32 bytes. */
  sha256: Buffer;
  principal: string;
  labels: Record<string, string>;
  /** `inline` or the file it came from. */
  origin: string;
}

export interface ApiKeysConfig {
  /** The request header carrying the key. */
  header: string;
  keys: ApiKeyEntry[];
}

/** Identity that a filter in front of ext_authz already verified (Envoy jwt_authn, Meshward's JWT filter). */
export interface VerifiedUpstreamConfig {
  /** jwt_authn's `payload_in_metadata` key, read from metadata_context namespace `jwtAuthnNamespace`. */
  jwtAuthnMetadataKey?: string;
  jwtAuthnNamespace: string;
  /** The JWT filter's `forward_payload_header` (base64url JSON); trusted only with the operator's promise. */
  payloadHeader?: string;
  /** `iss` values accepted from these sources. */
  issuers: string[];
}

export interface IpBlocklistConfig {
  cidrs: Cidr[];
  /** Where the blocks came from (file paths and/or `inline`). */
  origins: string[];
}

/** Rego decisions kept by input, by default (`policy.rego.decision_cache_size`). */
export const REGO_DECISION_CACHE_SIZE = 4096;

export interface RegoConfig {
  /** `.rego` files compiled with `opa build -t wasm` at start. */
  files: string[];
  /** A prebuilt bundle (`opa build -t wasm` output, .tar.gz) instead of `files`. */
  bundle?: string;
  /** The decision, e.g. `meshward/authz/allow`: true allows; `{ allow: true }` too. */
  entrypoint: string;
  /** JSON loaded as `data`. */
  dataFile?: string;
  /**
   * Decisions kept by input (entries; 0: none). Used only for a policy that calls no host
   * built-in: its result then depends on nothing but the input parts it reads and its data.
   * Default 4096.
   */
  decisionCacheSize?: number;
}

export interface UpstreamHeaders {
  principal?: string;
  workload?: string;
  decisionId?: string;
  /** The risk score (0-100) on allow. */
  riskScore?: string;
  /** The risk reasons, comma-separated, on allow. */
  riskReasons?: string;
  /** header name -> claim name */
  claims: Record<string, string>;
}

export interface AuthzConfig {
  logLevel: LogLevel;
  server: {
    grpc: GrpcListenerConfig;
    http: HttpListenerConfig;
    admin: ListenerConfig;
  };
  identity: {
    jwt: JwtConfig;
    workload: WorkloadConfig;
    apiKeys?: ApiKeysConfig;
    verifiedUpstream?: VerifiedUpstreamConfig;
  };
  signals: {
    ipBlocklist?: IpBlocklistConfig;
    /** Every configured signal (ip_blocklist included), in config order. */
    list: ConfiguredSignal[];
  };
  risk: RiskConfig;
  state: StateConfig;
  reload: ReloadConfig;
  policy: {
    policies: NativePolicy[];
    intentions?: IntentionsConfig;
    rego?: RegoConfig;
  };
  response: {
    upstreamHeaders: UpstreamHeaders;
    removeAuthorization: boolean;
  };
  /** Folder relative paths were resolved against. */
  baseDir: string;
  /** Every file the config read (policy files, lists, Rego): watched for hot reload. */
  files: string[];
  /** What the config was parsed from, so a reload can parse it again. */
  origin: { raw: unknown; file?: string };
}

export type DenialKind = 'deny' | 'step_up' | 'throttle' | 'read_only';

/** From `risk.thresholds`: at `score` or above, answer `decision` (the highest matching threshold wins). */
export interface RiskThreshold {
  score: number;
  decision: DenialKind;
  acrValues?: string;
  maxAge?: number;
  retryAfterSeconds?: number;
}

export interface RiskConfig {
  /** Sorted by score, highest first. */
  thresholds: RiskThreshold[];
  /** Defaults for step-up decisions (RFC 9470 acr_values / max_age). */
  stepUp: { acrValues?: string; maxAge?: number };
  /** Default Retry-After for throttle decisions that do not come from a velocity window. */
  retryAfterSeconds: number;
}

export interface ReloadConfig {
  /** Watch the config file and every file it names; re-parse and swap on change. */
  enabled: boolean;
  intervalMs: number;
}

export const DEFAULT_PORTS = { grpc: 9191, http: 9192, admin: 9193 } as const;

/** Asymmetric algorithms only: shared-secret (HS*) tokens and `none` are never accepted. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const DEFAULT_JWT_ALGORITHMS: string[] = [...JWT_ALGORITHMS];

/** RFC 7519 `JWT` and RFC 9068 access tokens `at+jwt`; compared lowercase without `application/`. */
export const DEFAULT_JWT_TYPES: string[] = ['jwt', 'at+jwt'];
