/**
 * Meshward's native policy format: Istio AuthorizationPolicy semantics in plain YAML.
 *
 * - A policy has an action (ALLOW or DENY) and rules; it matches when any rule matches.
 * - A rule matches when its `from`, `to` and `when` all match. `from`/`to` hold entries of which
 *   any may match; inside an entry every field set must match; inside a field any value may match.
 *   `when` conditions must all match.
 * - `not_*` fields match when the value is none of the listed ones (an absent value counts as
 *   none, so `not_principals: ["*"]` matches requests without a peer identity).
 * - DENY policies are evaluated first; any match denies. Then, if there is no ALLOW policy the
 *   request is allowed; if an ALLOW policy matches it is allowed; otherwise it is denied.
 * - A policy without rules matches nothing (an ALLOW policy without rules thus denies all).
 */
import { anyCidrContains, parseCidr, type Cidr } from '../cidr.js';
import { join, type Reader } from '../config/reader.js';
import { matchAny, matchPattern, NO_OPTIONS, patternProblem, type MatchOptions } from '../match.js';
import type { Facts } from './facts.js';

export type PolicyAction = 'ALLOW' | 'DENY';

export interface SourceMatch {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: Cidr[];
  notIpBlocks?: Cidr[];
}

export interface OperationMatch {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export type ConditionKey =
  | { kind: 'header'; name: string }
  | { kind: 'claim'; path: string[] }
  | { kind: 'api_key_label'; name: string }
  | { kind: 'request.auth.api_key.id' }
  | { kind: 'source.ip' | 'destination.ip' }
  | { kind: 'risk.score' | 'risk.reasons' }
  | { kind: 'source.namespace' | 'source.principal' | 'request.auth.principal' | 'request.auth.audiences' | 'request.auth.presenter' | 'destination.port' | 'connection.sni' };

export interface Condition {
  key: string;
  parsed: ConditionKey;
  values?: string[];
  notValues?: string[];
  /** For ip keys: the values parsed as CIDR blocks. */
  cidrs?: Cidr[];
  notCidrs?: Cidr[];
  /** For `risk.score`: the values parsed as inclusive ranges. */
  ranges?: ScoreRange[];
  notRanges?: ScoreRange[];
}

/** An inclusive score range: `>=70` is 70-100, `<30` is 0-29, `40-60`, `50`. */
export interface ScoreRange {
  min: number;
  max: number;
}

/**
 * How a matching DENY policy answers: `deny` (403, the default), `step_up` (401 asking for a
 * stronger authentication), `throttle` (429) or `read_only` (403 for non-safe methods only).
 */
export interface PolicyDecisionSpec {
  kind: 'deny' | 'step_up' | 'throttle' | 'read_only';
  acrValues?: string;
  maxAge?: number;
  retryAfterSeconds?: number;
}

export interface Rule {
  from: SourceMatch[];
  to: OperationMatch[];
  when: Condition[];
}

export interface NativePolicy {
  name: string;
  action: PolicyAction;
  rules: Rule[];
  /** DENY policies only: the answer when it matches (default: deny). */
  decision?: PolicyDecisionSpec;
  /** Where it was defined (file path or `config`), for logs. */
  origin: string;
}

export type NativeResult =
  | { effect: 'deny'; policy: string; rule: number }
  | { effect: 'allow'; policy: string; rule: number }
  | { effect: 'allow'; policy: undefined; rule: undefined; why: 'no ALLOW policy' }
  | { effect: 'deny'; policy: undefined; rule: undefined; why: 'no ALLOW policy matched' };

// ---------------------------------------------------------------------------------- evaluation

/** Methods a read-only decision lets through (RFC 9110 safe methods). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

// Loops rather than `some` with a closure: policies are matched on every Check.
function anyPatternMatches(patterns: readonly string[], value: string, options: MatchOptions): boolean {
  for (const p of patterns) if (matchPattern(p, value, options)) return true;
  return false;
}

function fieldMatches(patterns: string[] | undefined, value: string | undefined, options: MatchOptions = NO_OPTIONS): boolean {
  return patterns === undefined || (value !== undefined && anyPatternMatches(patterns, value, options));
}

function notFieldMatches(patterns: string[] | undefined, value: string | undefined, options: MatchOptions = NO_OPTIONS): boolean {
  return patterns === undefined || value === undefined || !anyPatternMatches(patterns, value, options);
}

function sourceMatches(s: SourceMatch, f: Facts): boolean {
  return (
    fieldMatches(s.principals, f.sourcePrincipal) &&
    notFieldMatches(s.notPrincipals, f.sourcePrincipal) &&
    fieldMatches(s.requestPrincipals, f.requestPrincipal) &&
    notFieldMatches(s.notRequestPrincipals, f.requestPrincipal) &&
    fieldMatches(s.namespaces, f.sourceNamespace) &&
    notFieldMatches(s.notNamespaces, f.sourceNamespace) &&
    (s.ipBlocks === undefined || anyCidrContains(s.ipBlocks, f.sourceIp)) &&
    (s.notIpBlocks === undefined || !anyCidrContains(s.notIpBlocks, f.sourceIp))
  );
}

function hostMatches(patterns: string[], host: string | undefined): boolean {
  if (!host) return false;
  const bare = host.replace(/:\d+$/, '');
  return matchAny(patterns, bare === host ? [host] : [host, bare], { ignoreCase: true });
}

function operationMatches(o: OperationMatch, f: Facts): boolean {
  return (
    (o.hosts === undefined || hostMatches(o.hosts, f.host)) &&
    (o.notHosts === undefined || !hostMatches(o.notHosts, f.host)) &&
    fieldMatches(o.ports, f.destinationPort) &&
    notFieldMatches(o.notPorts, f.destinationPort) &&
    fieldMatches(o.methods, f.method) &&
    notFieldMatches(o.notMethods, f.method) &&
    fieldMatches(o.paths, f.path) &&
    notFieldMatches(o.notPaths, f.path)
  );
}

/** The values a condition key has for this request (none when absent). */
export function conditionValues(key: ConditionKey, f: Facts): string[] {
  const one = (v: string | undefined) => (v === undefined || v === '' ? [] : [v]);
  switch (key.kind) {
    case 'header':
      return one(f.headers[key.name]);
    case 'claim': {
      let v: unknown = f.claims;
      for (const part of key.path) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
        v = (v as Record<string, unknown>)[part];
      }
      const scalar = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined);
      if (Array.isArray(v)) return v.map(scalar).filter((x): x is string => x !== undefined);
      // Space-delimited scope strings are not split (as in Istio): match the whole value or use a list claim.
      return one(scalar(v));
    }
    case 'api_key_label':
      return one(f.apiKeyLabels?.[key.name]);
    case 'request.auth.api_key.id':
      return one(f.apiKeyId);
    case 'source.ip':
      return one(f.sourceIp);
    case 'destination.ip':
      return one(f.destinationIp);
    case 'source.namespace':
      return one(f.sourceNamespace);
    case 'source.principal':
      return one(f.sourcePrincipal);
    case 'request.auth.principal':
      return one(f.requestPrincipal);
    case 'request.auth.audiences':
      return f.audiences;
    case 'request.auth.presenter':
      return one(f.presenter);
    case 'destination.port':
      return one(f.destinationPort);
    case 'connection.sni':
      return one(f.sni);
    case 'risk.score':
      return f.risk ? [String(f.risk.score)] : [];
    case 'risk.reasons':
      return f.risk?.reasons ?? [];
  }
}

function inRanges(ranges: ScoreRange[], value: string | undefined): boolean {
  if (value === undefined) return false;
  const n = Number(value);
  return ranges.some((r) => n >= r.min && n <= r.max);
}

/** Parses `>=70`, `>70`, `<=30`, `<30`, `40-60` or `50` as a range within 0-100. */
export function parseScoreRange(text: string): ScoreRange | string {
  const t = text.replace(/\s+/g, '');
  const num = (x: string | undefined) => (x !== undefined && /^\d{1,3}$/.test(x) && Number(x) <= 100 ? Number(x) : undefined);
  let m: RegExpExecArray | null;
  let range: ScoreRange | undefined;
  if ((m = /^(>=|>|<=|<)(\d+)$/.exec(t))) {
    const n = num(m[2]);
    if (n !== undefined) range = m[1] === '>=' ? { min: n, max: 100 } : m[1] === '>' ? { min: n + 1, max: 100 } : m[1] === '<=' ? { min: 0, max: n } : { min: 0, max: n - 1 };
  } else if ((m = /^(\d+)-(\d+)$/.exec(t))) {
    const a = num(m[1]);
    const b = num(m[2]);
    if (a !== undefined && b !== undefined && a <= b) range = { min: a, max: b };
  } else if (num(t) !== undefined) {
    range = { min: num(t)!, max: num(t)! };
  }
  return range ?? `"${text}": a risk score value is >=N, >N, <=N, <N, N-M or N, with N in 0-100`;
}

function conditionMatches(c: Condition, f: Facts): boolean {
  const values = conditionValues(c.parsed, f);
  if (c.ranges || c.notRanges) {
    if (c.ranges && !inRanges(c.ranges, values[0])) return false;
    if (c.notRanges && inRanges(c.notRanges, values[0])) return false;
    return true;
  }
  if (c.cidrs || c.notCidrs) {
    const ip = values[0];
    if (c.cidrs && !anyCidrContains(c.cidrs, ip)) return false;
    if (c.notCidrs && ip !== undefined && anyCidrContains(c.notCidrs, ip)) return false;
    return true;
  }
  if (c.values && !matchAny(c.values, values)) return false;
  if (c.notValues && matchAny(c.notValues, values)) return false;
  return true;
}

export function ruleMatches(rule: Rule, f: Facts): boolean {
  if (rule.from.length !== 0) {
    let any = false;
    for (const s of rule.from) if ((any = sourceMatches(s, f))) break;
    if (!any) return false;
  }
  if (rule.to.length !== 0) {
    let any = false;
    for (const o of rule.to) if ((any = operationMatches(o, f))) break;
    if (!any) return false;
  }
  for (const c of rule.when) if (!conditionMatches(c, f)) return false;
  return true;
}

/** The index of the policy's first rule that matches, -1 when none does. */
function matchingRule(p: NativePolicy, f: Facts): number {
  for (let i = 0; i < p.rules.length; i++) if (ruleMatches(p.rules[i]!, f)) return i;
  return -1;
}

export interface NativeOptions {
  /** A DENY policy asking for a step-up does not apply once the token meets its requirement. */
  stepUpSatisfied?: (spec: PolicyDecisionSpec) => boolean;
}

export function evaluateNative(policies: readonly NativePolicy[], f: Facts, options: NativeOptions = {}): NativeResult {
  // A read-only policy never refuses a safe method: it only takes writes away.
  const safe = f.method !== undefined && SAFE_METHODS.has(f.method.toUpperCase());
  // DENY policies first, in order; then the first ALLOW policy that matches (no per-Check lists).
  for (const p of policies) {
    if (p.action !== 'DENY' || (safe && p.decision?.kind === 'read_only') || (p.decision?.kind === 'step_up' && options.stepUpSatisfied?.(p.decision))) continue;
    const rule = matchingRule(p, f);
    if (rule >= 0) return { effect: 'deny', policy: p.name, rule };
  }
  let allows = false;
  for (const p of policies) {
    if (p.action !== 'ALLOW') continue;
    allows = true;
    const rule = matchingRule(p, f);
    if (rule >= 0) return { effect: 'allow', policy: p.name, rule };
  }
  if (!allows) return { effect: 'allow', policy: undefined, rule: undefined, why: 'no ALLOW policy' };
  return { effect: 'deny', policy: undefined, rule: undefined, why: 'no ALLOW policy matched' };
}

// ------------------------------------------------------------------------------------- parsing

/** Istio's YAML spells fields in camelCase; both spellings are accepted. */
function snakeKeys(r: Reader, value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snake in out) r.fail(join(path, k), `given twice (as ${snake} and ${k})`);
    out[snake] = v;
  }
  return out;
}

const SOURCE_FIELDS = ['principals', 'not_principals', 'request_principals', 'not_request_principals', 'namespaces', 'not_namespaces', 'ip_blocks', 'not_ip_blocks'] as const;
const OPERATION_FIELDS = ['hosts', 'not_hosts', 'ports', 'not_ports', 'methods', 'not_methods', 'paths', 'not_paths'] as const;

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function patternList(r: Reader, value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  return r.strings(value, path, patternProblem, { nonEmpty: true });
}

function cidrList(r: Reader, value: unknown, path: string): Cidr[] | undefined {
  if (value === undefined || value === null) return undefined;
  const cidrs: Cidr[] = [];
  r.strings(
    value,
    path,
    (s) => {
      try {
        cidrs.push(parseCidr(s));
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    },
    { nonEmpty: true },
  );
  return cidrs;
}

function parseSource(r: Reader, raw: unknown, path: string): SourceMatch | undefined {
  const entry = r.mapping(snakeKeys(r, raw, path), path, ['source'], true);
  if (!entry) return undefined;
  const sp = join(path, 'source');
  const m = r.mapping(snakeKeys(r, entry['source'], sp), sp, SOURCE_FIELDS, true);
  if (!m) return undefined;
  const s: SourceMatch = {};
  for (const f of SOURCE_FIELDS) {
    if (f === 'ip_blocks' || f === 'not_ip_blocks') {
      const v = cidrList(r, m[f], join(sp, f));
      if (v) s[camel(f) as 'ipBlocks' | 'notIpBlocks'] = v;
    } else {
      const v = patternList(r, m[f], join(sp, f));
      if (v) s[camel(f) as Exclude<keyof SourceMatch, 'ipBlocks' | 'notIpBlocks'>] = v;
    }
  }
  if (Object.keys(s).length === 0) r.fail(sp, `set at least one of ${SOURCE_FIELDS.join(', ')}`);
  return s;
}

function parseOperation(r: Reader, raw: unknown, path: string): OperationMatch | undefined {
  const entry = r.mapping(snakeKeys(r, raw, path), path, ['operation'], true);
  if (!entry) return undefined;
  const op = join(path, 'operation');
  const m = r.mapping(snakeKeys(r, entry['operation'], op), op, OPERATION_FIELDS, true);
  if (!m) return undefined;
  const o: OperationMatch = {};
  for (const f of OPERATION_FIELDS) {
    const v = patternList(r, m[f], join(op, f));
    if (!v) continue;
    if (f === 'ports' || f === 'not_ports') {
      v.forEach((p, i) => {
        if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) r.fail(join(join(op, f), i), `expected a port number, got "${p}"`);
      });
    }
    if (f === 'paths' || f === 'not_paths') {
      v.forEach((p, i) => {
        if (p !== '*' && !p.startsWith('/') && !p.startsWith('*')) r.fail(join(join(op, f), i), `a path starts with "/", got "${p}"`);
      });
    }
    o[camel(f) as keyof OperationMatch] = v;
  }
  if (Object.keys(o).length === 0) r.fail(op, `set at least one of ${OPERATION_FIELDS.join(', ')}`);
  return o;
}

export const CONDITION_KEYS = [
  'request.headers[<name>]',
  'request.auth.claims[<name>]',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'request.auth.api_key.id',
  'request.auth.api_key.labels[<name>]',
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
  'connection.sni',
  'risk.score',
  'risk.reasons',
];

export function parseConditionKey(key: string): ConditionKey | string {
  const header = /^request\.headers\[([^\][]+)\]$/.exec(key);
  if (header) return { kind: 'header', name: header[1]!.toLowerCase() };
  if (key.startsWith('request.auth.claims[')) {
    const parts = key.slice('request.auth.claims'.length).match(/\[([^\][]+)\]/g);
    const rebuilt = parts?.join('') ?? '';
    if (!parts || `request.auth.claims${rebuilt}` !== key) return `malformed claim key "${key}"; write request.auth.claims[name] or request.auth.claims[outer][inner]`;
    return { kind: 'claim', path: parts.map((p) => p.slice(1, -1)) };
  }
  const label = /^request\.auth\.api_key\.labels\[([^\][]+)\]$/.exec(key);
  if (label) return { kind: 'api_key_label', name: label[1]! };
  switch (key) {
    case 'request.auth.api_key.id':
      return { kind: key };
    case 'source.ip':
    case 'destination.ip':
      return { kind: key };
    case 'source.namespace':
    case 'source.principal':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'destination.port':
    case 'connection.sni':
    case 'risk.score':
    case 'risk.reasons':
      return { kind: key };
  }
  return `unknown key "${key}"; expected one of ${CONDITION_KEYS.join(', ')}`;
}

function parseCondition(r: Reader, raw: unknown, path: string): Condition | undefined {
  const m = r.mapping(snakeKeys(r, raw, path), path, ['key', 'values', 'not_values'], true);
  if (!m) return undefined;
  const key = r.string(m['key'], join(path, 'key'), { required: true });
  if (key === undefined) return undefined;
  const parsed = parseConditionKey(key);
  if (typeof parsed === 'string') return r.fail(join(path, 'key'), parsed);
  const c: Condition = { key, parsed };
  const isIp = parsed.kind === 'source.ip' || parsed.kind === 'destination.ip';
  if (parsed.kind === 'risk.score') {
    const ranges = (v: unknown, p: string): ScoreRange[] | undefined => {
      if (v === undefined || v === null) return undefined;
      const out: ScoreRange[] = [];
      r.strings(
        v,
        p,
        (s) => {
          const got = parseScoreRange(s);
          if (typeof got === 'string') return got;
          out.push(got);
          return undefined;
        },
        { nonEmpty: true },
      );
      return out;
    };
    const rs = ranges(m['values'], join(path, 'values'));
    const nrs = ranges(m['not_values'], join(path, 'not_values'));
    if (rs) c.ranges = rs;
    if (nrs) c.notRanges = nrs;
  } else if (isIp) {
    c.cidrs = cidrList(r, m['values'], join(path, 'values'));
    c.notCidrs = cidrList(r, m['not_values'], join(path, 'not_values'));
    if (!c.cidrs) delete c.cidrs;
    if (!c.notCidrs) delete c.notCidrs;
  } else {
    const values = patternList(r, m['values'], join(path, 'values'));
    const notValues = patternList(r, m['not_values'], join(path, 'not_values'));
    if (values) c.values = values;
    if (notValues) c.notValues = notValues;
  }
  if (m['values'] === undefined && m['not_values'] === undefined) r.fail(path, 'set values or not_values');
  return c;
}

function parseRule(r: Reader, raw: unknown, path: string): Rule | undefined {
  const m = r.mapping(snakeKeys(r, raw, path), path, ['from', 'to', 'when'], true);
  if (!m) return undefined;
  const from = (r.list(m['from'], join(path, 'from'), { nonEmpty: true }) ?? []).map((s, i) => parseSource(r, s, join(join(path, 'from'), i)));
  const to = (r.list(m['to'], join(path, 'to'), { nonEmpty: true }) ?? []).map((o, i) => parseOperation(r, o, join(join(path, 'to'), i)));
  const when = (r.list(m['when'], join(path, 'when'), { nonEmpty: true }) ?? []).map((c, i) => parseCondition(r, c, join(join(path, 'when'), i)));
  return {
    from: from.filter((x): x is SourceMatch => x !== undefined),
    to: to.filter((x): x is OperationMatch => x !== undefined),
    when: when.filter((x): x is Condition => x !== undefined),
  };
}

/** Parses a list of policies at `path`; problems go to the reader. */
export function parseNativePolicies(r: Reader, raw: unknown, path: string, origin: string): NativePolicy[] {
  const list = r.list(raw, path) ?? [];
  const out: NativePolicy[] = [];
  list.forEach((item, i) => {
    const p = join(path, i);
    const m = r.mapping(item, p, ['name', 'action', 'rules', 'decision', 'acr_values', 'max_age', 'retry_after_seconds'], true);
    if (!m) return;
    const name = r.string(m['name'], join(p, 'name'), { required: true }) ?? `#${i}`;
    if (m['action'] === undefined) r.fail(join(p, 'action'), 'required field missing (ALLOW or DENY)');
    const action = r.oneOf(m['action'], join(p, 'action'), ['ALLOW', 'DENY'] as const, 'DENY');
    const rulesRaw = r.list(m['rules'], join(p, 'rules')) ?? [];
    const rules = rulesRaw.map((rule, j) => parseRule(r, rule, join(join(p, 'rules'), j))).filter((x): x is Rule => x !== undefined);
    const decision = parseDecisionSpec(r, m, p, action);
    out.push({ name, action, rules, ...(decision ? { decision } : {}), origin });
  });
  const seen = new Map<string, number>();
  out.forEach((p, i) => {
    if (seen.has(p.name)) r.fail(join(join(path, i), 'name'), `duplicate policy name "${p.name}" (also ${join(path, seen.get(p.name)!)})`);
    else seen.set(p.name, i);
  });
  return out;
}

/** `decision` and its options on a policy (DENY only). */
function parseDecisionSpec(r: Reader, m: Record<string, unknown>, path: string, action: PolicyAction): PolicyDecisionSpec | undefined {
  const given = ['decision', 'acr_values', 'max_age', 'retry_after_seconds'].filter((k) => m[k] !== undefined);
  if (!given.length) return undefined;
  if (action !== 'DENY') {
    r.fail(join(path, given[0]!), 'only a DENY policy chooses a decision');
    return undefined;
  }
  const kind = r.oneOf(m['decision'], join(path, 'decision'), ['deny', 'step_up', 'throttle', 'read_only'] as const, 'deny');
  const spec: PolicyDecisionSpec = { kind };
  const acr = r.string(m['acr_values'], join(path, 'acr_values'));
  if (acr !== undefined) {
    if (kind !== 'step_up') r.fail(join(path, 'acr_values'), 'only with decision: step_up');
    else if (!/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(acr)) r.fail(join(path, 'acr_values'), 'space-separated ACR values without quotes or backslashes');
    else spec.acrValues = acr;
  }
  if (m['max_age'] !== undefined) {
    if (kind !== 'step_up') r.fail(join(path, 'max_age'), 'only with decision: step_up');
    else spec.maxAge = r.integer(m['max_age'], join(path, 'max_age'), 0, { min: 0 });
  }
  if (m['retry_after_seconds'] !== undefined) {
    if (kind !== 'throttle') r.fail(join(path, 'retry_after_seconds'), 'only with decision: throttle');
    else spec.retryAfterSeconds = r.integer(m['retry_after_seconds'], join(path, 'retry_after_seconds'), 60, { min: 1, max: 86400 });
  }
  return spec;
}
