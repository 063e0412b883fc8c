/**
 * The request as the pipeline sees it: Envoy's `envoy.service.auth.v3.AttributeContext`, in the
 * proto3 JSON field names (snake_case, as OPA-Envoy's `input.attributes`). The gRPC protocol fills
 * it from the CheckRequest as Envoy sent it; the HTTP protocol rebuilds it from the forwarded
 * request. Header names are lowercase; repeated headers are joined with ",".
 */

import type { CheckAttributes, Peer } from '@meshward/sdk/authz';

// The shapes are the SDK's (`@meshward/sdk/authz`), so signal plug-ins see the same types.
export type { SocketAddress, Peer, HttpRequestAttributes, CheckAttributes } from '@meshward/sdk/authz';

/** The lowercase form of each header name asked for (the callers' names are a few constants). */
const lowercaseNames = new Map<string, string>();
const LOWERCASE_NAMES_KEPT = 1024;

export function header(attrs: CheckAttributes, name: string): string | undefined {
  // Not name.toLowerCase() on every lookup: a Check makes a dozen of them.
  let lower = lowercaseNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowercaseNames.size < LOWERCASE_NAMES_KEPT) lowercaseNames.set(name, lower);
  }
  return attrs.request.http.headers[lower];
}

export function sourceIp(attrs: CheckAttributes): string | undefined {
  return attrs.source?.address?.socket_address?.address || undefined;
}

/** The path without the query string and fragment. */
export function pathOnly(path: string | undefined): string {
  if (!path) return '';
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  const cut = q < 0 ? h : h < 0 ? q : Math.min(q, h);
  return cut >= 0 ? path.slice(0, cut) : path;
}

/** `/a/b%20c/` -> `["a", "b c"]` (decoded segments, empty ones dropped), as OPA-Envoy's parsed_path. */
export function parsedPath(path: string | undefined): string[] {
  const segments: string[] = [];
  for (const s of pathOnly(path).split('/')) {
    if (s === '') continue;
    // Only a `%` escape changes under decoding: other segments are taken as they are.
    segments.push(s.includes('%') ? decodedSegment(s) : s);
  }
  return segments;
}

function decodedSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `?a=1&a=2&b` -> `{ a: ["1", "2"], b: [""] }`, as OPA-Envoy's parsed_query. */
export function parsedQuery(path: string | undefined): Record<string, string[]> {
  // No prototype: a query key such as `constructor` or `__proto__` is just a key.
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  if (!path) return out;
  const q = path.indexOf('?');
  if (q < 0) return out;
  const hash = path.indexOf('#', q);
  const params = new URLSearchParams(path.slice(q + 1, hash >= 0 ? hash : undefined));
  for (const [k, v] of params) (out[k] ??= []).push(v);
  return out;
}

type Raw = Record<string, unknown> | undefined;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function peerFrom(raw: Raw): Peer | undefined {
  if (!raw) return undefined;
  const sa = ((raw['address'] as Raw)?.['socket_address'] as Raw) ?? undefined;
  const peer: Peer = {};
  if (sa) {
    const port = Number(sa['port_value'] ?? 0);
    peer.address = { socket_address: { address: str(sa['address']), port_value: Number.isFinite(port) ? port : undefined } };
  }
  if (str(raw['service'])) peer.service = str(raw['service']);
  if (raw['labels'] && Object.keys(raw['labels'] as object).length) peer.labels = raw['labels'] as Record<string, string>;
  if (str(raw['principal'])) peer.principal = str(raw['principal']);
  if (str(raw['certificate'])) peer.certificate = str(raw['certificate']);
  return peer;
}

function headersFrom(http: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  const plain = http?.['headers'] as Record<string, unknown> | undefined;
  if (plain) for (const [k, v] of Object.entries(plain)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  // With `encode_raw_headers: true` Envoy sends header_map instead: repeated entries, raw bytes.
  const map = (http?.['header_map'] as Raw)?.['headers'];
  if (Array.isArray(map)) {
    for (const h of map as Array<Record<string, unknown>>) {
      const key = str(h['key'])?.toLowerCase();
      if (!key) continue;
      const rawValue = h['raw_value'];
      const value =
        typeof h['value'] === 'string' && h['value'] !== ''
          ? h['value']
          : rawValue instanceof Uint8Array
            ? Buffer.from(rawValue).toString('utf8')
            : '';
      out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
    }
  }
  return out;
}

function timestamp(raw: Raw): string | undefined {
  if (!raw) return undefined;
  const seconds = Number(raw['seconds'] ?? 0);
  const nanos = Number(raw['nanos'] ?? 0);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

/** A decoded google.protobuf.Value / Struct as plain JSON (protobufjs names its fields in camelCase). */
export function structValueToJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if ('fields' in o && !('kind' in o)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries((o['fields'] as Record<string, unknown>) ?? {})) out[k] = structValueToJson(x);
    return out;
  }
  if (o['stringValue'] !== undefined) return o['stringValue'];
  if (o['numberValue'] !== undefined) return Number(o['numberValue']);
  if (o['boolValue'] !== undefined) return o['boolValue'];
  if (o['structValue'] !== undefined) return structValueToJson(o['structValue']);
  if (o['listValue'] !== undefined) return (((o['listValue'] as Record<string, unknown>)['values'] as unknown[]) ?? []).map(structValueToJson);
  return null;
}

/** `config.core.v3.Metadata` with its `filter_metadata` Structs as plain JSON; undefined when empty. */
function metadataToJson(raw: unknown): { filter_metadata: Record<string, unknown> } | undefined {
  const fm = (raw as Raw)?.['filter_metadata'] as Record<string, unknown> | undefined;
  if (!fm || Object.keys(fm).length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const [ns, s] of Object.entries(fm)) out[ns] = structValueToJson(s);
  return { filter_metadata: out };
}

/** AttributeContext from a CheckRequest decoded by proto-loader (keepCase, longs as strings). */
export function attributesFromCheckRequest(request: unknown): CheckAttributes {
  const attrs = ((request as Raw)?.['attributes'] as Raw) ?? {};
  const req = (attrs['request'] as Raw) ?? {};
  const http = (req['http'] as Raw) ?? {};
  const out: CheckAttributes = {
    request: {
      http: {
        headers: headersFrom(http),
      },
    },
  };
  const h = out.request.http;
  for (const k of ['id', 'method', 'path', 'host', 'scheme', 'query', 'fragment', 'protocol', 'body'] as const) {
    const v = str(http[k]);
    if (v !== undefined) h[k] = v;
  }
  if (http['size'] !== undefined && http['size'] !== null) h.size = String(http['size']);
  const time = timestamp(req['time'] as Raw);
  if (time) out.request.time = time;
  const source = peerFrom(attrs['source'] as Raw);
  if (source) out.source = source;
  const destination = peerFrom(attrs['destination'] as Raw);
  if (destination) out.destination = destination;
  const ext = attrs['context_extensions'] as Record<string, string> | undefined;
  if (ext && Object.keys(ext).length) out.context_extensions = { ...ext };
  const metadata = metadataToJson(attrs['metadata_context']);
  if (metadata) out.metadata_context = metadata;
  const routeMetadata = metadataToJson(attrs['route_metadata_context']);
  if (routeMetadata) out.route_metadata_context = routeMetadata;
  const sni = str((attrs['tls_session'] as Raw)?.['sni']);
  if (sni) out.tls_session = { sni };
  return out;
}
