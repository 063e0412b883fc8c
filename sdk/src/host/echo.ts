/**
 * The default upstream: answers every request with a JSON description of what reached it, like
 * the echo upstream used by the real-Envoy tests (`@meshward/sdk/envoy`, echo-upstream.ts):
 * `{ method, path, headers, body }` with lower-cased header names and repeated headers joined the
 * way Node joins them (", "). A request header `x-echo-status: NNN` (200-599) picks the status;
 * `x-echo-response-header: <name>: <value>` adds a response header.
 */
import type { HeaderMap, HeaderPair, HeadersInit } from './headers.js';

/** The request as the upstream receives it (after the filter, with Envoy's router additions). */
export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  /** Header names lower-cased, repeated values joined like Node does; includes `host`. */
  headers: Record<string, string>;
  /** Headers exactly as forwarded by the filter (pseudo-headers included). */
  headerMap: HeaderMap;
  headerList: HeaderPair[];
  /** The body as UTF-8 text. */
  body: string;
  bodyBytes: Uint8Array;
  trailers?: Record<string, string>;
}

export type BodyInit = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

export interface UpstreamResponse {
  status?: number;
  headers?: HeadersInit;
  /** A string/bytes body, or an array of chunks delivered one by one. */
  body?: BodyInit;
  trailers?: HeadersInit;
}

/** An upstream: receives the forwarded request, returns (or resolves to) a response. */
export type UpstreamHandler = (req: UpstreamRequest) => UpstreamResponse | Promise<UpstreamResponse>;

/** The JSON the echo upstream returns. */
export interface EchoedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** `x-echo-response-header: <name>: <value>` asks the echo for one more response header. */
export function echoResponseHeader(raw: string | undefined): [string, string] | undefined {
  if (!raw) return undefined;
  const i = raw.indexOf(':');
  if (i <= 0) return undefined;
  const name = raw.slice(0, i).trim().toLowerCase();
  return /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) ? [name, raw.slice(i + 1).trim()] : undefined;
}

export const echoUpstream: UpstreamHandler = (req) => {
  const echoed: EchoedRequest = { method: req.method, path: req.path, headers: req.headers, body: req.body };
  const wanted = Number(req.headers['x-echo-status']);
  const status = Number.isInteger(wanted) && wanted >= 200 && wanted <= 599 ? wanted : 200;
  const body = JSON.stringify(echoed);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  const extra = echoResponseHeader(req.headers['x-echo-response-header']);
  if (extra) headers[extra[0]] = extra[1];
  return { status, headers, body };
};
