import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCidr, type Cidr } from '../cidr.js';
import { parseNativePolicies, type NativePolicy } from '../policy/native.js';
import { ConfigError, join, Reader, type Mapping } from './reader.js';
import {
  DEFAULT_JWT_ALGORITHMS,
  DEFAULT_PORTS,
  JWT_ALGORITHMS,
  LOG_LEVELS,
  type AuthzConfig,
  type HttpListenerConfig,
  type IpBlocklistConfig,
  type JwksSource,
  type JwtIssuerConfig,
  type ListenerConfig,
  type RegoConfig,
  type UpstreamHeaders,
} from './types.js';

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

function headerNameProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) return `"${name}" is not a lowercase HTTP header name`;
  return undefined;
}

function readText(r: Reader, file: string, path: string): string | undefined {
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

function parseJwks(r: Reader, m: Mapping, path: string): JwksSource | undefined {
  const given = ['jwks_uri', 'jwks_file', 'jwks'].filter((k) => m[k] !== undefined);
  if (given.length === 0) return r.fail(path, 'set one of jwks_uri, jwks_file, jwks');
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
  const m = r.mapping(raw, path, ['issuer', 'audiences', 'algorithms', 'jwks_uri', 'jwks_file', 'jwks', 'jwks_cache_seconds', 'jwks_timeout_ms', 'jwks_cooldown_seconds'], true);
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
  const jwks = parseJwks(r, m, path);
  if (issuer === undefined || jwks === undefined) return undefined;
  return { issuer, audiences, algorithms, jwks };
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
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (!t) return;
    try {
      cidrs.push(parseCidr(t));
    } catch (e) {
      problems.push(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { cidrs, problems };
}

function parseIpBlocklist(r: Reader, raw: unknown, path: string): IpBlocklistConfig | undefined {
  const m = r.mapping(raw, path, ['file', 'cidrs']);
  if (!m) return undefined;
  const cidrs: Cidr[] = [];
  const origins: string[] = [];
  const file = filePath(r, m['file'], join(path, 'file'));
  if (file !== undefined) {
    const text = readText(r, file, join(path, 'file'));
    if (text !== undefined) {
      const parsed = parseCidrFile(text, file);
      for (const p of parsed.problems) r.fail(join(path, 'file'), p);
      cidrs.push(...parsed.cidrs);
      origins.push(file);
    }
  }
  if (m['cidrs'] !== undefined) {
    cidrs.push(...parseCidrs(r, m['cidrs'], join(path, 'cidrs')));
    origins.push('inline');
  }
  if (m['file'] === undefined && m['cidrs'] === undefined) r.fail(path, 'set file and/or cidrs');
  return { cidrs, origins };
}

const ENTRYPOINT = /^[A-Za-z_][A-Za-z0-9_]*([/.][A-Za-z_][A-Za-z0-9_]*)*$/;

function parseRego(r: Reader, raw: unknown, path: string): RegoConfig | undefined {
  const m = r.mapping(raw, path, ['file', 'files', 'bundle', 'entrypoint', 'data_file']);
  if (!m) return undefined;
  const files: string[] = [];
  const one = filePath(r, m['file'], join(path, 'file'));
  if (one) files.push(one);
  if (m['files'] !== undefined) {
    r.strings(m['files'], join(path, 'files'), undefined, { nonEmpty: true }).forEach((f) => files.push(isAbsolute(f) ? f : resolve(r.baseDir, f)));
  }
  const bundle = filePath(r, m['bundle'], join(path, 'bundle'));
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
  if (entrypoint === undefined) return undefined;
  return { files, ...(bundle ? { bundle } : {}), entrypoint: entrypoint.replace(/\./g, '/'), ...(dataFile ? { dataFile } : {}) };
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
  const m = r.mapping(raw, path, ['principal', 'workload', 'decision_id', 'claims']);
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
    claims: {},
  };
  for (const k of ['principal', 'workload', 'decisionId'] as const) if (out[k] === undefined) delete out[k];
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
}

/** Validates a configuration tree (as parsed from YAML) and returns it with every default filled in. Throws ConfigError. */
export function parseConfig(raw: unknown, options: ParseOptions = {}): AuthzConfig {
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const r = new Reader(baseDir);
  const root = r.mapping(raw ?? {}, '', ['log_level', 'server', 'identity', 'signals', 'policy', 'response']) ?? {};

  const logLevel = r.oneOf(root['log_level'], 'log_level', LOG_LEVELS, 'info');

  const server = r.mapping(root['server'], 'server', ['grpc', 'http', 'admin']);
  const grpc = listener(r, server?.['grpc'], 'server.grpc', DEFAULT_PORTS.grpc);
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

  const identity = r.mapping(root['identity'], 'identity', ['jwt', 'workload']);
  const jwtM = r.mapping(identity?.['jwt'], 'identity.jwt', ['required', 'challenge_anonymous', 'clock_skew_seconds', 'require_expiration', 'issuers']);
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
  if (required && jwtM?.['issuers'] === undefined) r.fail('identity.jwt.issuers', 'identity.jwt.required is true but no issuer is configured');
  const workloadM = r.mapping(identity?.['workload'], 'identity.workload', ['source_principal', 'trust_domains', 'xfcc']);
  const xfccM = r.mapping(workloadM?.['xfcc'], 'identity.workload.xfcc', ['trusted_proxies']);

  const signalsM = r.mapping(root['signals'], 'signals', ['ip_blocklist']);
  const ipBlocklist = signalsM?.['ip_blocklist'] !== undefined ? parseIpBlocklist(r, signalsM['ip_blocklist'], 'signals.ip_blocklist') : undefined;

  const policyM = r.mapping(root['policy'], 'policy', ['policies', 'files', 'rego']);
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

  const responseM = r.mapping(root['response'], 'response', ['upstream_headers', 'remove_authorization']);

  const config: AuthzConfig = {
    logLevel,
    server: { grpc: { enabled: grpc.enabled, host: grpc.host, port: grpc.port }, http, admin: { enabled: admin.enabled, host: admin.host, port: admin.port } },
    identity: {
      jwt: {
        required,
        challengeAnonymous: r.boolean(jwtM?.['challenge_anonymous'], 'identity.jwt.challenge_anonymous', true),
        clockSkewSeconds: r.integer(jwtM?.['clock_skew_seconds'], 'identity.jwt.clock_skew_seconds', 60, { min: 0, max: 3600 }),
        requireExpiration: r.boolean(jwtM?.['require_expiration'], 'identity.jwt.require_expiration', false),
        issuers,
      },
      workload: {
        sourcePrincipal: r.boolean(workloadM?.['source_principal'], 'identity.workload.source_principal', true),
        trustDomains: r.strings(workloadM?.['trust_domains'], 'identity.workload.trust_domains', (s) =>
          /^[a-z0-9._-]+$/.test(s) ? undefined : `"${s}" is not a SPIFFE trust domain (lowercase letters, digits, ".", "-", "_")`,
        ),
        xfccTrustedProxies: parseCidrs(r, xfccM?.['trusted_proxies'], 'identity.workload.xfcc.trusted_proxies'),
      },
    },
    signals: ipBlocklist ? { ipBlocklist } : {},
    policy: { policies, ...(rego ? { rego } : {}) },
    response: {
      upstreamHeaders: parseUpstreamHeaders(r, responseM?.['upstream_headers'], 'response.upstream_headers'),
      removeAuthorization: r.boolean(responseM?.['remove_authorization'], 'response.remove_authorization', true),
    },
    baseDir,
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
export function loadConfigFile(file: string): AuthzConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '', message: `cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }], abs);
  }
  return parseConfigText(text, { baseDir: resolve(abs, '..'), source: abs });
}
