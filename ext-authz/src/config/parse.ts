import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCidr, type Cidr } from '../cidr.js';
import { parseNativePolicies, type NativePolicy } from '../policy/native.js';
import { ConfigError, describe, join, Reader, type Mapping } from './reader.js';
import { discoveryUriOf } from '../identity/discovery.js';
import { normalizeTyp } from '../identity/jwt.js';
import { parseApiKeys, parseVerifiedUpstream } from './identity.js';
import { parseIntentions } from '../policy/intentions.js';
import { BUILTIN_SIGNALS } from '../signals/index.js';
import type { ConfiguredSignal, SignalConfigContext, SignalPlugin } from '../signals/api.js';
import { parseCidrText } from '../signals/helpers.js';
import type { StateConfig } from '../state/index.js';
import {
  DEFAULT_JWT_ALGORITHMS,
  DEFAULT_JWT_TYPES,
  DEFAULT_PORTS,
  GRPC_TRANSPORTS,
  JWT_ALGORITHMS,
  LOG_LEVELS,
  REGO_DECISION_CACHE_SIZE,
  type AuthzConfig,
  type HttpListenerConfig,
  type IpBlocklistConfig,
  type JwksSource,
  type JwtIssuerConfig,
  type ListenerConfig,
  type RegoConfig,
  type RiskConfig,
  type RiskThreshold,
  type UpstreamHeaders,
} from './types.js';

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

function headerNameProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) return `"${name}" is not a lowercase HTTP header name`;
  return undefined;
}

function readText(r: Reader, file: string, path: string): string | undefined {
  r.files.add(file);
  try {
    return readFileSync(resolve(r.baseDir, file), 'utf8');
  } catch (e) {
    return r.fail(path, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function filePath(r: Reader, value: unknown, path: string, required = false): string | undefined {
  const s = r.string(value, path, { required });
  if (s === undefined) return undefined;
  if (s === '') return r.fail(path, 'expected a file path');
  return isAbsolute(s) ? s : resolve(r.baseDir, s);
}

function listener(r: Reader, raw: unknown, path: string, defaultPort: number, extraKeys: string[] = []): ListenerConfig & { m?: Mapping } {
  const keys = ['enabled', 'host', 'port', ...extraKeys];
  const m = r.mapping(raw, path, keys);
  return {
    enabled: r.boolean(m?.['enabled'], join(path, 'enabled'), true),
    host: r.string(m?.['host'], join(path, 'host'), { required: false }) || '0.0.0.0',
    port: r.integer(m?.['port'], join(path, 'port'), defaultPort, { min: 0, max: 65535 }),
    m,
  };
}

function parseJwks(r: Reader, m: Mapping, path: string, issuer: string | undefined): JwksSource | undefined {
  const discovery = r.boolean(m['discovery'], join(path, 'discovery'), false);
  const given = ['jwks_uri', 'jwks_file', 'jwks'].filter((k) => m[k] !== undefined);
  if (discovery) {
    if (given.length > 0) return r.fail(path, `discovery: true finds the keys itself; remove ${given.join(', ')}`);
    if (issuer !== undefined && r.url(issuer, join(path, 'issuer')) === undefined) return undefined;
    const cache = r.integer(m['jwks_cache_seconds'], join(path, 'jwks_cache_seconds'), 600, { min: 1 });
    const timeout = r.integer(m['jwks_timeout_ms'], join(path, 'jwks_timeout_ms'), 5000, { min: 1, max: 60_000 });
    const cooldown = r.integer(m['jwks_cooldown_seconds'], join(path, 'jwks_cooldown_seconds'), 30, { min: 0 });
    const docCache = r.integer(m['discovery_cache_seconds'], join(path, 'discovery_cache_seconds'), 3600, { min: 1 });
    const backoff = r.integer(m['discovery_max_backoff_seconds'], join(path, 'discovery_max_backoff_seconds'), 60, { min: 1, max: 3600 });
    if (issuer === undefined) return undefined;
    return {
      kind: 'discovery',
      discoveryUri: discoveryUriOf(issuer),
      cacheMaxAgeMs: cache * 1000,
      timeoutMs: timeout,
      cooldownMs: cooldown * 1000,
      discoveryCacheMs: docCache * 1000,
      maxBackoffMs: backoff * 1000,
    };
  }
  for (const k of ['discovery_cache_seconds', 'discovery_max_backoff_seconds']) {
    if (m[k] !== undefined) r.fail(join(path, k), 'only applies with discovery: true');
  }
  if (given.length === 0) return r.fail(path, 'set one of jwks_uri, jwks_file, jwks, or discovery: true');
  if (given.length > 1) return r.fail(path, `set only one of jwks_uri, jwks_file, jwks (got ${given.join(', ')})`);
  if (m['jwks_uri'] !== undefined) {
    const uri = r.url(m['jwks_uri'], join(path, 'jwks_uri'), { required: true });
    const cache = r.integer(m['jwks_cache_seconds'], join(path, 'jwks_cache_seconds'), 600, { min: 1 });
    const timeout = r.integer(m['jwks_timeout_ms'], join(path, 'jwks_timeout_ms'), 5000, { min: 1, max: 60_000 });
    const cooldown = r.integer(m['jwks_cooldown_seconds'], join(path, 'jwks_cooldown_seconds'), 30, { min: 0 });
    return uri === undefined ? undefined : { kind: 'remote', uri, cacheMaxAgeMs: cache * 1000, timeoutMs: timeout, cooldownMs: cooldown * 1000 };
  }
  for (const k of ['jwks_cache_seconds', 'jwks_timeout_ms', 'jwks_cooldown_seconds']) {
    if (m[k] !== undefined) r.fail(join(path, k), 'only applies with jwks_uri');
  }
  let jwks: unknown;
  let origin = 'inline';
  let where = join(path, 'jwks');
  if (m['jwks_file'] !== undefined) {
    where = join(path, 'jwks_file');
    const file = filePath(r, m['jwks_file'], where, true);
    if (file === undefined) return undefined;
    const text = readText(r, file, where);
    if (text === undefined) return undefined;
    try {
      jwks = JSON.parse(text);
    } catch (e) {
      return r.fail(where, `${file} is not valid JSON (${(e as Error).message})`);
    }
    origin = file;
  } else {
    jwks = m['jwks'];
    // A JWKS may be written as a JSON string in YAML.
    if (typeof jwks === 'string') {
      try {
        jwks = JSON.parse(jwks);
      } catch (e) {
        return r.fail(where, `not valid JSON (${(e as Error).message})`);
      }
    }
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (jwks === null || typeof jwks !== 'object' || !Array.isArray(keys)) return r.fail(where, 'expected a JWK set: {"keys": [...]}');
  if (keys.length === 0) return r.fail(where, 'the JWK set has no keys');
  keys.forEach((k, i) => {
    if (k === null || typeof k !== 'object' || typeof (k as { kty?: unknown }).kty !== 'string') r.fail(`${where} keys[${i}]`, 'a JWK needs a "kty"');
    else if ((k as { kty: string }).kty === 'oct') r.fail(`${where} keys[${i}]`, 'is a symmetric key; only public keys (RSA, EC, OKP) are supported');
    else if ('d' in (k as object)) r.fail(`${where} keys[${i}]`, 'is a private key; give the public key only');
  });
  return { kind: 'local', jwks: jwks as JSONWebKeySet, origin };
}

function parseIssuer(r: Reader, raw: unknown, path: string): JwtIssuerConfig | undefined {
  const m = r.mapping(
    raw,
    path,
    ['issuer', 'audiences', 'algorithms', 'typ', 'require_typ', 'discovery', 'discovery_cache_seconds', 'discovery_max_backoff_seconds', 'jwks_uri', 'jwks_file', 'jwks', 'jwks_cache_seconds', 'jwks_timeout_ms', 'jwks_cooldown_seconds'],
    true,
  );
  if (!m) return undefined;
  const issuer = r.string(m['issuer'], join(path, 'issuer'), { required: true });
  const audiences = r.strings(m['audiences'], join(path, 'audiences'), (s) => (s === '' ? 'empty audience' : undefined));
  const algorithms =
    m['algorithms'] === undefined
      ? [...DEFAULT_JWT_ALGORITHMS]
      : r.strings(
          m['algorithms'],
          join(path, 'algorithms'),
          (a) =>
            a.toLowerCase() === 'none'
              ? 'alg "none" is never accepted'
              : /^HS\d+$/i.test(a)
                ? `${a}: shared-secret algorithms are not supported; use an asymmetric one (${JWT_ALGORITHMS.join(', ')})`
                : (JWT_ALGORITHMS as readonly string[]).includes(a)
                ? undefined
                : `unsupported algorithm "${a}"; expected one of ${JWT_ALGORITHMS.join(', ')}`,
          { nonEmpty: true },
        );
  const typ =
    m['typ'] === undefined
      ? [...DEFAULT_JWT_TYPES]
      : r.strings(m['typ'], join(path, 'typ'), (t) => (/^[A-Za-z0-9!#$&^_.+\/-]+$/.test(t) ? undefined : `"${t}" is not a media type`), { nonEmpty: true }).map(normalizeTyp);
  const requireTyp = r.boolean(m['require_typ'], join(path, 'require_typ'), false);
  const jwks = parseJwks(r, m, path, issuer);
  if (issuer === undefined || jwks === undefined) return undefined;
  return { issuer, audiences, algorithms, jwks, typ, requireTyp };
}

function parseCidrs(r: Reader, value: unknown, path: string): Cidr[] {
  const out: Cidr[] = [];
  r.strings(value, path, (s) => {
    try {
      out.push(parseCidr(s));
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  });
  return out;
}

/** One CIDR or address per line; `#` starts a comment. */
export function parseCidrFile(text: string, file: string): { cidrs: Cidr[]; problems: string[] } {
  return parseCidrText(text, file);
}

function parseSignals(r: Reader, raw: unknown, plugins: ReadonlyArray<SignalPlugin<unknown>>): AuthzConfig['signals'] {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const m = r.mapping(raw, 'signals', [...byName.keys()]);
  const list: ConfiguredSignal[] = [];
  let ipBlocklist: IpBlocklistConfig | undefined;
  for (const [name, section] of Object.entries(m ?? {})) {
    const plugin = byName.get(name);
    if (!plugin) continue; // reported by mapping()
    const path = join('signals', name);
    if (section === null || typeof section !== 'object' || Array.isArray(section)) {
      r.fail(path, `expected a mapping, got ${describe(section)}`);
      continue;
    }
    const { weight: w, enabled: e, ...own } = section as Record<string, unknown>;
    const weight = r.integer(w, join(path, 'weight'), plugin.defaultWeight, { min: 0, max: 100 });
    const enabled = r.boolean(e, join(path, 'enabled'), true);
    const ctx: SignalConfigContext = {
      reader: r,
      path,
      baseDir: r.baseDir,
      readFile: (value, at) => {
        const file = filePath(r, value, at, true);
        if (file === undefined) return undefined;
        const text = readText(r, file, at);
        return text === undefined ? undefined : { file, text };
      },
      readBytes: (value, at) => {
        const file = filePath(r, value, at, true);
        if (file === undefined) return undefined;
        r.files.add(file);
        try {
          return { file, bytes: readFileSync(file) };
        } catch (e) {
          return r.fail(at, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      },
    };
    const before = r.issues.length;
    const config = plugin.parse(own, ctx);
    if (r.issues.length > before || config === undefined || !enabled) continue;
    list.push({ plugin, config, weight });
    if (name === 'ip_blocklist') {
      const origins: string[] = [];
      if (own['file'] !== undefined) origins.push(resolve(r.baseDir, String(own['file'])));
      if (own['cidrs'] !== undefined) origins.push('inline');
      ipBlocklist = { cidrs: (config as { cidrs: Cidr[] }).cidrs, origins };
    }
  }
  return { ...(ipBlocklist ? { ipBlocklist } : {}), list };
}

const DENIALS = ['deny', 'step_up', 'throttle', 'read_only'] as const;
const ACR_VALUES = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

function parseRisk(r: Reader, raw: unknown): RiskConfig {
  const m = r.mapping(raw, 'risk', ['thresholds', 'step_up', 'retry_after_seconds']);
  const stepM = r.mapping(m?.['step_up'], 'risk.step_up', ['acr_values', 'max_age']);
  const acr = (v: unknown, path: string): string | undefined => {
    const s = r.string(v, path);
    if (s !== undefined && !ACR_VALUES.test(s)) return r.fail(path, 'space-separated ACR values without quotes or backslashes');
    return s;
  };
  const stepUp: RiskConfig['stepUp'] = {};
  const defAcr = acr(stepM?.['acr_values'], 'risk.step_up.acr_values');
  if (defAcr) stepUp.acrValues = defAcr;
  if (stepM?.['max_age'] !== undefined) stepUp.maxAge = r.integer(stepM['max_age'], 'risk.step_up.max_age', 0, { min: 0 });
  const thresholds: RiskThreshold[] = [];
  (r.list(m?.['thresholds'], 'risk.thresholds') ?? []).forEach((item, i) => {
    const p = join('risk.thresholds', i);
    const t = r.mapping(item, p, ['score', 'decision', 'acr_values', 'max_age', 'retry_after_seconds'], true);
    if (!t) return;
    if (t['score'] === undefined) r.fail(join(p, 'score'), 'required field missing');
    if (t['decision'] === undefined) r.fail(join(p, 'decision'), `required field missing (${DENIALS.join(', ')})`);
    const threshold: RiskThreshold = {
      score: r.integer(t['score'], join(p, 'score'), 100, { min: 1, max: 100 }),
      decision: r.oneOf(t['decision'], join(p, 'decision'), DENIALS, 'deny'),
    };
    const a = acr(t['acr_values'], join(p, 'acr_values'));
    if (a !== undefined) threshold.acrValues = a;
    if (t['max_age'] !== undefined) threshold.maxAge = r.integer(t['max_age'], join(p, 'max_age'), 0, { min: 0 });
    if (t['retry_after_seconds'] !== undefined) threshold.retryAfterSeconds = r.integer(t['retry_after_seconds'], join(p, 'retry_after_seconds'), 60, { min: 1, max: 86400 });
    for (const [k, only] of [['acr_values', 'step_up'], ['max_age', 'step_up'], ['retry_after_seconds', 'throttle']] as const) {
      if (t[k] !== undefined && threshold.decision !== only) r.fail(join(p, k), `only with decision: ${only}`);
    }
    thresholds.push(threshold);
  });
  const seen = new Set<number>();
  thresholds.forEach((t, i) => {
    if (seen.has(t.score)) r.fail(join(join('risk.thresholds', i), 'score'), `two thresholds at score ${t.score}`);
    seen.add(t.score);
  });
  thresholds.sort((a, b) => b.score - a.score);
  return { thresholds, stepUp, retryAfterSeconds: r.integer(m?.['retry_after_seconds'], 'risk.retry_after_seconds', 60, { min: 1, max: 86400 }) };
}

function parseState(r: Reader, raw: unknown): StateConfig {
  const fallback: StateConfig = { kind: 'memory', maxKeys: 100_000 };
  if (raw === undefined || raw === null || raw === 'memory') return fallback;
  const m: Record<string, unknown> | undefined = typeof raw === 'string' ? { url: raw } : r.mapping(raw, 'state', ['url', 'key_prefix', 'timeout_ms', 'max_keys']);
  if (!m) return fallback;
  const url = r.string(m['url'], typeof raw === 'string' ? 'state' : 'state.url', { required: true });
  const maxKeys = r.integer(m['max_keys'], 'state.max_keys', 100_000, { min: 100 });
  if (url === undefined || url === 'memory') return { kind: 'memory', maxKeys };
  let ok = false;
  try {
    ok = new URL(url).protocol === 'redis:';
  } catch {
    ok = false;
  }
  if (!ok) {
    r.fail(typeof raw === 'string' ? 'state' : 'state.url', `expected memory or a redis://host:port URL, got ${describe(url)}`);
    return fallback;
  }
  return {
    kind: 'redis',
    url,
    keyPrefix: r.string(m['key_prefix'], 'state.key_prefix') ?? 'meshward:risk:',
    timeoutMs: r.integer(m['timeout_ms'], 'state.timeout_ms', 100, { min: 1, max: 10_000 }),
    maxKeys,
  };
}

const ENTRYPOINT = /^[A-Za-z_][A-Za-z0-9_]*([/.][A-Za-z_][A-Za-z0-9_]*)*$/;

function parseRego(r: Reader, raw: unknown, path: string): RegoConfig | undefined {
  const m = r.mapping(raw, path, ['file', 'files', 'bundle', 'entrypoint', 'data_file', 'decision_cache_size']);
  if (!m) return undefined;
  const files: string[] = [];
  const one = filePath(r, m['file'], join(path, 'file'));
  if (one) files.push(one);
  if (m['files'] !== undefined) {
    r.strings(m['files'], join(path, 'files'), undefined, { nonEmpty: true }).forEach((f) => files.push(isAbsolute(f) ? f : resolve(r.baseDir, f)));
  }
  const bundle = filePath(r, m['bundle'], join(path, 'bundle'));
  if (bundle) r.files.add(bundle); // read when the policy is built; watched for hot reload
  if (files.length === 0 && !bundle) r.fail(path, 'set file, files or bundle');
  if (files.length > 0 && bundle) r.fail(path, 'set either rego files or a prebuilt bundle, not both');
  for (const [i, f] of files.entries()) {
    const where = m['file'] !== undefined && i === 0 ? join(path, 'file') : join(path, 'files');
    readText(r, f, where);
  }
  const entrypoint = r.string(m['entrypoint'], join(path, 'entrypoint'), { required: true });
  if (entrypoint !== undefined && !ENTRYPOINT.test(entrypoint)) r.fail(join(path, 'entrypoint'), `expected a rule path like meshward/authz/allow, got "${entrypoint}"`);
  const dataFile = filePath(r, m['data_file'], join(path, 'data_file'));
  if (dataFile) {
    const text = readText(r, dataFile, join(path, 'data_file'));
    if (text !== undefined) {
      try {
        JSON.parse(text);
      } catch (e) {
        r.fail(join(path, 'data_file'), `${dataFile} is not valid JSON (${(e as Error).message})`);
      }
    }
  }
  const decisionCacheSize = r.integer(m['decision_cache_size'], join(path, 'decision_cache_size'), REGO_DECISION_CACHE_SIZE, { min: 0, max: 1_000_000 });
  if (entrypoint === undefined) return undefined;
  return { files, ...(bundle ? { bundle } : {}), entrypoint: entrypoint.replace(/\./g, '/'), ...(dataFile ? { dataFile } : {}), decisionCacheSize };
}

function parsePolicyFile(r: Reader, file: string, path: string): NativePolicy[] {
  const text = readText(r, file, path);
  if (text === undefined) return [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    r.fail(path, `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    return [];
  }
  const inner = new Reader(r.baseDir);
  const m = inner.mapping(doc, '', ['policies'], true);
  const policies = m ? parseNativePolicies(inner, m['policies'], 'policies', file) : [];
  for (const issue of inner.issues) r.fail(`${path} (${file})${issue.path ? ` ${issue.path}` : ''}`, issue.message);
  return policies;
}

function parseUpstreamHeaders(r: Reader, raw: unknown, path: string): UpstreamHeaders {
  const m = r.mapping(raw, path, ['principal', 'workload', 'decision_id', 'risk_score', 'risk_reasons', 'claims']);
  const header = (k: string, fallback: string): string | undefined => {
    const v = m?.[k] === undefined ? fallback : r.string(m[k], join(path, k));
    if (v === undefined || v === '') return undefined;
    const problem = headerNameProblem(v);
    if (problem) return r.fail(join(path, k), problem);
    return v;
  };
  const out: UpstreamHeaders = {
    principal: header('principal', 'x-meshward-principal'),
    workload: header('workload', 'x-meshward-workload'),
    decisionId: header('decision_id', 'x-meshward-decision-id'),
    riskScore: header('risk_score', 'x-meshward-risk-score'),
    riskReasons: header('risk_reasons', 'x-meshward-risk-reasons'),
    claims: {},
  };
  for (const k of ['principal', 'workload', 'decisionId', 'riskScore', 'riskReasons'] as const) if (out[k] === undefined) delete out[k];
  const claims = r.mapping(m?.['claims'], join(path, 'claims'), Object.keys((m?.['claims'] as object) ?? {}));
  for (const [h, claim] of Object.entries(claims ?? {})) {
    const p = join(join(path, 'claims'), h);
    const problem = headerNameProblem(h);
    if (problem) r.fail(p, problem);
    else if (typeof claim !== 'string' || claim === '') r.fail(p, 'expected a claim name');
    else out.claims[h] = claim;
  }
  return out;
}

export interface ParseOptions {
  /** Relative file paths in the config are resolved against this folder (default: the working directory). */
  baseDir?: string;
  /** Named in the error message, e.g. the config file's path. */
  source?: string;
  /** The config file (set by loadConfigFile): watched and re-read on reload. */
  file?: string;
  /** Signal plug-ins besides the built-in ones; each adds a section under `signals:`. */
  signals?: ReadonlyArray<SignalPlugin<unknown>>;
}

/** Validates a configuration tree (as parsed from YAML) and returns it with every default filled in. Throws ConfigError. */
export function parseConfig(raw: unknown, options: ParseOptions = {}): AuthzConfig {
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const r = new Reader(baseDir);
  const root = r.mapping(raw ?? {}, '', ['log_level', 'server', 'identity', 'signals', 'risk', 'state', 'reload', 'policy', 'response']) ?? {};

  const logLevel = r.oneOf(root['log_level'], 'log_level', LOG_LEVELS, 'info');

  const server = r.mapping(root['server'], 'server', ['grpc', 'http', 'admin']);
  const grpc = listener(r, server?.['grpc'], 'server.grpc', DEFAULT_PORTS.grpc, ['transport']);
  const grpcTransport = r.oneOf(grpc.m?.['transport'], 'server.grpc.transport', GRPC_TRANSPORTS, 'lean');
  const httpL = listener(r, server?.['http'], 'server.http', DEFAULT_PORTS.http, ['path_prefix', 'client_ip_header']);
  const admin = listener(r, server?.['admin'], 'server.admin', DEFAULT_PORTS.admin);
  const prefix = r.string(httpL.m?.['path_prefix'], 'server.http.path_prefix') ?? '';
  if (prefix && (!prefix.startsWith('/') || prefix.endsWith('/'))) r.fail('server.http.path_prefix', `expected a path like /authz (leading "/", no trailing "/"), got "${prefix}"`);
  const clientIpHeader = r.string(httpL.m?.['client_ip_header'], 'server.http.client_ip_header');
  if (clientIpHeader !== undefined) {
    const problem = headerNameProblem(clientIpHeader);
    if (problem) r.fail('server.http.client_ip_header', problem);
  }
  const http: HttpListenerConfig = { enabled: httpL.enabled, host: httpL.host, port: httpL.port, pathPrefix: prefix, ...(clientIpHeader ? { clientIpHeader } : {}) };
  if (!grpc.enabled && !http.enabled) r.fail('server', 'enable at least one of grpc and http');
  const enabledPorts = [
    ['server.grpc.port', grpc],
    ['server.http.port', http],
    ['server.admin.port', admin],
  ] as const;
  const seenPorts = new Map<number, string>();
  for (const [p, l] of enabledPorts) {
    if (!l.enabled || l.port === 0) continue;
    const other = seenPorts.get(l.port);
    if (other) r.fail(p, `port ${l.port} is already used by ${other}`);
    else seenPorts.set(l.port, p);
  }

  const identity = r.mapping(root['identity'], 'identity', ['jwt', 'workload', 'api_keys', 'verified_upstream']);
  const readIdentityFile = (value: unknown, at: string) => {
    const file = filePath(r, value, at, true);
    if (file === undefined) return undefined;
    const text = readText(r, file, at);
    return text === undefined ? undefined : { file, text };
  };
  const apiKeys = parseApiKeys(r, identity?.['api_keys'], 'identity.api_keys', readIdentityFile);
  const verifiedUpstream = parseVerifiedUpstream(r, identity?.['verified_upstream'], 'identity.verified_upstream');
  const jwtM = r.mapping(identity?.['jwt'], 'identity.jwt', ['required', 'challenge_anonymous', 'clock_skew_seconds', 'require_expiration', 'verified_cache_size', 'verified_cache_seconds', 'issuers']);
  const issuersRaw = r.list(jwtM?.['issuers'], 'identity.jwt.issuers');
  const issuers = (issuersRaw ?? [])
    .map((x, i) => parseIssuer(r, x, join('identity.jwt.issuers', i)))
    .filter((x): x is JwtIssuerConfig => x !== undefined);
  const seenIss = new Set<string>();
  issuers.forEach((iss, i) => {
    if (seenIss.has(iss.issuer)) r.fail(join(join('identity.jwt.issuers', i), 'issuer'), `issuer "${iss.issuer}" is configured twice`);
    seenIss.add(iss.issuer);
  });
  const required = r.boolean(jwtM?.['required'], 'identity.jwt.required', false);
  if (required && jwtM?.['issuers'] === undefined && identity?.['verified_upstream'] === undefined) {
    r.fail('identity.jwt.issuers', 'identity.jwt.required is true but no issuer is configured (and no identity.verified_upstream)');
  }
  const workloadM = r.mapping(identity?.['workload'], 'identity.workload', ['source_principal', 'trust_domains', 'xfcc']);
  const xfccM = r.mapping(workloadM?.['xfcc'], 'identity.workload.xfcc', ['trusted_proxies']);

  const plugins = [...BUILTIN_SIGNALS, ...(options.signals ?? [])];
  const dupPlugin = plugins.find((p, i) => plugins.findIndex((q) => q.name === p.name) !== i);
  if (dupPlugin) throw new Error(`signal plug-in "${dupPlugin.name}" is registered twice (a built-in signal has that name?)`);
  const signals = parseSignals(r, root['signals'], plugins);
  const risk = parseRisk(r, root['risk']);
  const state = parseState(r, root['state']);
  const reloadM = r.mapping(root['reload'], 'reload', ['enabled', 'interval_ms']);
  const reload = {
    enabled: r.boolean(reloadM?.['enabled'], 'reload.enabled', true),
    intervalMs: r.integer(reloadM?.['interval_ms'], 'reload.interval_ms', 1000, { min: 50, max: 3_600_000 }),
  };

  const policyM = r.mapping(root['policy'], 'policy', ['policies', 'intentions', 'files', 'rego']);
  const intentions = policyM?.['intentions'] !== undefined ? parseIntentions(r, policyM['intentions'], 'policy.intentions') : undefined;
  const policies: NativePolicy[] = [];
  if (policyM?.['policies'] !== undefined) policies.push(...parseNativePolicies(r, policyM['policies'], 'policy.policies', 'config'));
  r.strings(policyM?.['files'], 'policy.files').forEach((f, i) => {
    policies.push(...parsePolicyFile(r, isAbsolute(f) ? f : resolve(baseDir, f), join('policy.files', i)));
  });
  const names = new Map<string, string>();
  for (const p of policies) {
    const prev = names.get(p.name);
    if (prev && prev !== p.origin) r.fail('policy', `policy name "${p.name}" is defined in both ${prev} and ${p.origin}`);
    names.set(p.name, p.origin);
  }
  const rego = policyM?.['rego'] !== undefined ? parseRego(r, policyM['rego'], 'policy.rego') : undefined;

  // A step-up must say what would satisfy it; otherwise no token could ever pass it.
  const hasDefault = risk.stepUp.acrValues !== undefined || risk.stepUp.maxAge !== undefined;
  risk.thresholds.forEach((t) => {
    if (t.decision === 'step_up' && !hasDefault && t.acrValues === undefined && t.maxAge === undefined) {
      r.fail(`risk.thresholds (score ${t.score})`, 'a step_up decision needs acr_values and/or max_age (here or in risk.step_up)');
    }
  });
  for (const p of policies) {
    if (p.decision?.kind === 'step_up' && !hasDefault && p.decision.acrValues === undefined && p.decision.maxAge === undefined) {
      r.fail(`policy "${p.name}"`, 'a step_up decision needs acr_values and/or max_age (on the policy or in risk.step_up)');
    }
  }

  const responseM = r.mapping(root['response'], 'response', ['upstream_headers', 'remove_authorization']);

  const config: AuthzConfig = {
    logLevel,
    server: { grpc: { enabled: grpc.enabled, host: grpc.host, port: grpc.port, transport: grpcTransport }, http, admin: { enabled: admin.enabled, host: admin.host, port: admin.port } },
    identity: {
      jwt: {
        required,
        challengeAnonymous: r.boolean(jwtM?.['challenge_anonymous'], 'identity.jwt.challenge_anonymous', true),
        clockSkewSeconds: r.integer(jwtM?.['clock_skew_seconds'], 'identity.jwt.clock_skew_seconds', 60, { min: 0, max: 3600 }),
        requireExpiration: r.boolean(jwtM?.['require_expiration'], 'identity.jwt.require_expiration', false),
        verifiedCacheSize: r.integer(jwtM?.['verified_cache_size'], 'identity.jwt.verified_cache_size', 10_000, { min: 0, max: 10_000_000 }),
        verifiedCacheMs: r.integer(jwtM?.['verified_cache_seconds'], 'identity.jwt.verified_cache_seconds', 60, { min: 1, max: 86_400 }) * 1000,
        issuers,
      },
      workload: {
        sourcePrincipal: r.boolean(workloadM?.['source_principal'], 'identity.workload.source_principal', true),
        trustDomains: r.strings(workloadM?.['trust_domains'], 'identity.workload.trust_domains', (s) =>
          /^[a-z0-9._-]+$/.test(s) ? undefined : `"${s}" is not a SPIFFE trust domain (lowercase letters, digits, ".", "-", "_")`,
        ),
        xfccTrustedProxies: parseCidrs(r, xfccM?.['trusted_proxies'], 'identity.workload.xfcc.trusted_proxies'),
      },
      ...(apiKeys ? { apiKeys } : {}),
      ...(verifiedUpstream ? { verifiedUpstream } : {}),
    },
    signals,
    risk,
    state,
    reload,
    policy: { policies, ...(intentions ? { intentions } : {}), ...(rego ? { rego } : {}) },
    response: {
      upstreamHeaders: parseUpstreamHeaders(r, responseM?.['upstream_headers'], 'response.upstream_headers'),
      removeAuthorization: r.boolean(responseM?.['remove_authorization'], 'response.remove_authorization', true),
    },
    baseDir,
    files: [...r.files],
    origin: { raw, ...(options.file ? { file: options.file } : {}) },
  };
  if (r.issues.length > 0) throw new ConfigError(r.issues, options.source);
  return config;
}

/** Parses YAML text (or JSON, a subset) and validates it. */
export function parseConfigText(text: string, options: ParseOptions = {}): AuthzConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError([{ path: '', message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` }], options.source);
  }
  return parseConfig(raw, options);
}

/** Reads and validates a YAML config file; relative paths in it are resolved against its folder. */
export function loadConfigFile(file: string, options: Pick<ParseOptions, 'signals'> = {}): AuthzConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '', message: `cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }], abs);
  }
  return parseConfigText(text, { ...options, baseDir: resolve(abs, '..'), source: abs, file: abs });
}
