/**
 * Consul-style intentions: "service A may (not) call service B". Exactly one intention decides a
 * request, the most specific that matches, in Consul's precedence order:
 *
 *   source exact, destination exact  >  source *, destination exact  >  source exact, destination *  >  *, *
 *
 * (the destination's specificity weighs more than the source's). The source service comes from
 * the workload identity (a configured mapping, else the SPIFFE id: Consul's `.../svc/<name>` or
 * Istio's `.../sa/<service account>`); the destination from a `context_extensions` entry, a host
 * mapping, or the first label of the request's host.
 */
import { join, type Reader } from '../config/reader.js';
import { matchPattern, patternProblem } from '../match.js';
import type { Facts } from './facts.js';

export type IntentionAction = 'allow' | 'deny';

export interface Intention {
  source: string;
  destination: string;
  action: IntentionAction;
  /** Position in the config (ties keep config order; duplicates are rejected). */
  index: number;
}

export interface IntentionsConfig {
  /** Sorted by precedence, most specific first. */
  rules: Intention[];
  /** When no intention matches (or the source or destination is unknown). */
  defaultAction: IntentionAction;
  /** Workload principal pattern -> service name, tried in order before the SPIFFE id. */
  sourceServices: Array<{ pattern: string; service: string }>;
  /** The `context_extensions` key naming the destination service. */
  destinationContextExtension: string;
  /** Host (lowercase, without port) -> service name. */
  destinationHosts: Record<string, string>;
  /** Without a context extension or host mapping, the destination is the host's first label. */
  destinationFromHost: boolean;
}

export interface IntentionResult {
  allowed: boolean;
  /** `intention <source> -> <destination>`, or `intentions default` when none matched. */
  name: string;
  reason: string;
}

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Consul's precedence: exact destination counts more than exact source. */
export function precedenceOf(i: Pick<Intention, 'source' | 'destination'>): number {
  return (i.destination === '*' ? 0 : 2) + (i.source === '*' ? 0 : 1);
}

/** The calling service: a configured mapping of the workload principal, else its SPIFFE path. */
export function sourceServiceOf(config: IntentionsConfig, facts: Facts): string | undefined {
  const principal = facts.sourcePrincipal;
  if (!principal) return undefined;
  for (const m of config.sourceServices) if (matchPattern(m.pattern, principal)) return m.service;
  const consul = /\/svc\/([^/]+)$/.exec(principal);
  if (consul) return consul[1];
  const istio = /\/ns\/[^/]+\/sa\/([^/]+)$/.exec(principal);
  return istio?.[1];
}

/** The called service: context extension, then host mapping, then the host's first label. */
export function destinationServiceOf(config: IntentionsConfig, facts: Facts): string | undefined {
  const fromExtension = facts.contextExtensions?.[config.destinationContextExtension];
  if (fromExtension) return fromExtension;
  const host = facts.host?.toLowerCase().replace(/:\d+$/, '');
  if (!host) return undefined;
  const mapped = config.destinationHosts[host];
  if (mapped) return mapped;
  if (!config.destinationFromHost || /^[\d.]+$/.test(host) || host.startsWith('[')) return undefined;
  return host.split('.')[0] || undefined;
}

export function evaluateIntentions(config: IntentionsConfig, facts: Facts): IntentionResult {
  const source = sourceServiceOf(config, facts);
  const destination = destinationServiceOf(config, facts);
  const pair = `${source ?? '(unknown)'} -> ${destination ?? '(unknown)'}`;
  if (source !== undefined && destination !== undefined) {
    for (const i of config.rules) {
      if ((i.source === '*' || i.source === source) && (i.destination === '*' || i.destination === destination)) {
        const name = `intention ${i.source} -> ${i.destination}`;
        return { allowed: i.action === 'allow', name, reason: `${name} (${i.action}) matched ${pair}` };
      }
    }
  }
  return {
    allowed: config.defaultAction === 'allow',
    name: 'intentions default',
    reason: `no intention matched ${pair}; default ${config.defaultAction}`,
  };
}

function service(r: Reader, v: unknown, path: string, wildcard: boolean): string | undefined {
  const s = r.string(v, path, { required: true });
  if (s === undefined) return undefined;
  if (s === '*' && wildcard) return s;
  if (!SERVICE.test(s)) return r.fail(path, `expected a service name${wildcard ? ' or *' : ''} (letters, digits, . _ -), got "${s.slice(0, 60)}"`);
  return s;
}

function parseRules(r: Reader, raw: unknown, path: string): Intention[] {
  const rules: Intention[] = [];
  (r.list(raw, path) ?? []).forEach((item, i) => {
    const p = join(path, i);
    const m = r.mapping(item, p, ['source', 'destination', 'action', 'description'], true);
    if (!m) return;
    const source = service(r, m['source'], join(p, 'source'), true);
    const destination = service(r, m['destination'], join(p, 'destination'), true);
    if (m['action'] === undefined) r.fail(join(p, 'action'), 'required field missing (allow or deny)');
    const action = r.oneOf(m['action'], join(p, 'action'), ['allow', 'deny'] as const, 'deny');
    r.string(m['description'], join(p, 'description'));
    if (source === undefined || destination === undefined) return;
    const dup = rules.find((x) => x.source === source && x.destination === destination);
    if (dup) r.fail(p, `a second intention for ${source} -> ${destination} (the first is ${join(path, dup.index)})`);
    else rules.push({ source, destination, action, index: i });
  });
  return rules.sort((a, b) => precedenceOf(b) - precedenceOf(a) || a.index - b.index);
}

/** `policy.intentions`: a list of intentions, or a mapping with `rules` and the settings. */
export function parseIntentions(r: Reader, raw: unknown, path: string): IntentionsConfig | undefined {
  const m: Record<string, unknown> | undefined = Array.isArray(raw)
    ? { rules: raw }
    : r.mapping(raw, path, ['rules', 'default_action', 'source_services', 'destination_context_extension', 'destination_hosts', 'destination_from_host']);
  if (!m) return undefined;
  const rulesPath = Array.isArray(raw) ? path : join(path, 'rules');
  const rules = parseRules(r, m['rules'], rulesPath);
  const sourceServices: IntentionsConfig['sourceServices'] = [];
  (r.list(m['source_services'], join(path, 'source_services')) ?? []).forEach((item, i) => {
    const p = join(join(path, 'source_services'), i);
    const e = r.mapping(item, p, ['principal', 'service'], true);
    if (!e) return;
    const pattern = r.string(e['principal'], join(p, 'principal'), { required: true });
    const problem = pattern !== undefined ? patternProblem(pattern) : undefined;
    if (problem) r.fail(join(p, 'principal'), problem);
    const svc = service(r, e['service'], join(p, 'service'), false);
    if (pattern !== undefined && !problem && svc !== undefined) sourceServices.push({ pattern, service: svc });
  });
  const destinationHosts: Record<string, string> = {};
  const hosts = r.mapping(m['destination_hosts'], join(path, 'destination_hosts'), Object.keys((m['destination_hosts'] as object) ?? {}));
  for (const [h, svc] of Object.entries(hosts ?? {})) {
    const s = service(r, svc, join(join(path, 'destination_hosts'), h), false);
    if (s !== undefined) destinationHosts[h.toLowerCase()] = s;
  }
  const ext = r.string(m['destination_context_extension'], join(path, 'destination_context_extension'));
  if (ext === '') r.fail(join(path, 'destination_context_extension'), 'must not be empty');
  return {
    rules,
    defaultAction: r.oneOf(m['default_action'], join(path, 'default_action'), ['allow', 'deny'] as const, 'deny'),
    sourceServices,
    destinationContextExtension: ext || 'destination_service',
    destinationHosts,
    destinationFromHost: r.boolean(m['destination_from_host'], join(path, 'destination_from_host'), true),
  };
}
