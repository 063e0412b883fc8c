import { anyCidrContains } from '../cidr.js';
import type { WorkloadConfig } from '../config/types.js';
import type { WorkloadIdentity } from './types.js';

export interface SpiffeId {
  trustDomain: string;
  path: string;
  namespace?: string;
  serviceAccount?: string;
}

/** Parses `spiffe://<trust domain>/<path>`; Istio's `/ns/<ns>/sa/<sa>` path gives namespace and service account. */
export function parseSpiffeId(id: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([a-z0-9._-]+)(\/[^?#]*)?$/.exec(id);
  if (!m) return undefined;
  const path = m[2] ?? '';
  if (path.split('/').slice(1).some((seg) => seg === '' || seg === '.' || seg === '..')) return undefined;
  const out: SpiffeId = { trustDomain: m[1]!, path };
  const istio = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(path);
  if (istio) {
    out.namespace = istio[1]!;
    out.serviceAccount = istio[2]!;
  }
  return out;
}

/** A workload identity from a principal string, or why it is not accepted. */
export function workloadFrom(id: string, config: WorkloadConfig, from: WorkloadIdentity['from']): WorkloadIdentity | string {
  const spiffe = parseSpiffeId(id);
  if (!spiffe) {
    if (config.trustDomains.length > 0 || id.startsWith('spiffe://')) return `principal is not a valid SPIFFE id`;
    // Not SPIFFE (a certificate subject, say) and no trust domain required: keep it as is.
    return { id, principal: id, from };
  }
  if (config.trustDomains.length > 0 && !config.trustDomains.includes(spiffe.trustDomain)) {
    return `trust domain "${spiffe.trustDomain}" is not accepted`;
  }
  const w: WorkloadIdentity = { id, principal: id.slice('spiffe://'.length), trustDomain: spiffe.trustDomain, from };
  if (spiffe.namespace) w.namespace = spiffe.namespace;
  if (spiffe.serviceAccount) w.serviceAccount = spiffe.serviceAccount;
  return w;
}

/** Splits on `sep` outside double quotes. */
function splitUnquoted(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted && i + 1 < text.length) {
      cur += c + text[i + 1]!;
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** `x-forwarded-client-cert` elements, each a map of key (lowercase) -> values. */
export function parseXfcc(value: string): Array<Record<string, string[]>> {
  return splitUnquoted(value, ',')
    .filter((e) => e.trim() !== '')
    .map((element) => {
      const pairs: Record<string, string[]> = {};
      for (const pair of splitUnquoted(element, ';')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const key = pair.slice(0, eq).trim().toLowerCase();
        (pairs[key] ??= []).push(unquote(pair.slice(eq + 1)));
      }
      return pairs;
    });
}

/**
 * The workload identity a trusted proxy vouched for in `x-forwarded-client-cert`: the URI SAN of
 * the last element (the one the proxy nearest to us added), only when the request's source
 * address is a trusted proxy.
 */
export function workloadFromXfcc(header: string | undefined, sourceIp: string | undefined, config: WorkloadConfig): WorkloadIdentity | string | undefined {
  if (!header || config.xfccTrustedProxies.length === 0) return undefined;
  if (!anyCidrContains(config.xfccTrustedProxies, sourceIp)) return 'x-forwarded-client-cert ignored: source is not a trusted proxy';
  const elements = parseXfcc(header);
  const last = elements[elements.length - 1];
  const uris = last?.['uri'] ?? [];
  const uri = uris.find((u) => u.startsWith('spiffe://')) ?? uris[0];
  if (!uri) return 'x-forwarded-client-cert has no URI';
  return workloadFrom(uri, config, 'xfcc');
}
