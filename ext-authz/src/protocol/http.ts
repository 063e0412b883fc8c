/**
 * Envoy's HTTP ext_authz protocol (`http_service`): Envoy sends the original request's method,
 * path (after `path_prefix`) and allowed headers, with no body. 200 allows, and the headers
 * listed in Envoy's `allowed_upstream_headers` are copied onto the upstream request;
 * `x-envoy-auth-headers-to-remove` lists headers Envoy removes from it. Any other status denies,
 * and Envoy passes that status, the headers and the body to the client.
 */
import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckAttributes } from '../attributes.js';
import type { Authorizer } from '../authorizer.js';
import type { HttpListenerConfig } from '../config/types.js';
import type { Decision } from '../response.js';

export const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

/** The client address from `header`: its rightmost entry (the one the proxy next to us appended). */
export function clientIpFrom(value: string | undefined): string | undefined {
  if (!value) return undefined;
  // The text after the last comma, without splitting the whole list (it is read on every Check).
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  return last || undefined;
}

function joinedHeaders(received: IncomingMessage['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const k of Object.keys(received)) {
    const v = received[k];
    if (v !== undefined) headers[k.toLowerCase()] = typeof v === 'string' ? v : v.join(',');
  }
  return headers;
}

/** CheckAttributes rebuilt from a forwarded HTTP check request. */
export function attributesFromHttp(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>, config: Pick<HttpListenerConfig, 'pathPrefix' | 'clientIpHeader'>): CheckAttributes {
  const received = req.headers;
  // A request node:http parsed: its header object as it is (node lowercases the names and joins
  // repeated values, except set-cookie's, a list, which a copy joins). Anything else is copied.
  const asParsed = req instanceof IncomingMessage && received['set-cookie'] === undefined;
  const headers = asParsed ? (received as Record<string, string>) : joinedHeaders(received);
  let path = req.url ?? '/';
  if (config.pathPrefix && path.startsWith(config.pathPrefix)) path = path.slice(config.pathPrefix.length) || '/';
  const q = path.indexOf('?');
  const attrs: CheckAttributes = { request: { http: { method: req.method ?? 'GET', path, headers } } };
  const http = attrs.request.http;
  const host = headers['host'] ?? headers[':authority'];
  if (host) http.host = host;
  if (q >= 0) http.query = path.slice(q + 1);
  if (headers['x-request-id']) http.id = headers['x-request-id'];
  if (headers['x-forwarded-proto']) http.scheme = headers['x-forwarded-proto'];
  const ip = config.clientIpHeader ? clientIpFrom(headers[config.clientIpHeader]) : undefined;
  if (ip) attrs.source = { address: { socket_address: { address: ip } } };
  return attrs;
}

/**
 * The answer's header fields as one flat [name, value, ...] list, which writeHead takes as is
 * (no header object copied twice per Check). The decision's own headers come first; a name the
 * protocol sets itself (`x-envoy-auth-headers-to-remove`, `content-length`) replaces one of the
 * decision's under the same name, as the object spreads did before.
 */
export function httpAnswerHeaders(d: Decision): { status: number; headers: string[]; body: string } {
  const allow = d.result === 'allow';
  const own = allow ? d.upstreamHeaders : d.responseHeaders;
  const body = allow ? '' : (d.body ?? '');
  const remove = allow && d.removeHeaders.length ? d.removeHeaders.join(', ') : undefined;
  const headers: string[] = [];
  for (const name of Object.keys(own)) {
    if (name === 'content-length' || (remove !== undefined && name === HEADERS_TO_REMOVE)) continue;
    headers.push(name, own[name]!);
  }
  if (remove !== undefined) headers.push(HEADERS_TO_REMOVE, remove);
  headers.push('content-length', allow ? '0' : String(Buffer.byteLength(body)));
  return { status: allow ? 200 : d.status, headers, body };
}

function reply(res: ServerResponse, d: Decision): void {
  const a = httpAnswerHeaders(d);
  res.writeHead(a.status, a.headers);
  if (a.body) res.end(a.body);
  else res.end();
}

export interface HttpHandle {
  port: number;
  server: Server;
  close(graceMs?: number): Promise<void>;
}

export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startHttp(authorizer: Authorizer, config: HttpListenerConfig): Promise<HttpHandle> {
  const failed = (res: ServerResponse, e: unknown) => {
    authorizer.checkFailed('http', e);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'internal_error' }));
  };
  // A reply that cannot be written (a header Node refuses) is a server fault too, never a crash.
  const answer = (res: ServerResponse, d: Decision) => {
    try {
      reply(res, d);
    } catch (e) {
      failed(res, e);
    }
  };
  const server = createServer((req, res) => {
    // No body is expected (Envoy sends one only with with_request_body); read and drop it.
    req.resume();
    if (config.pathPrefix && !(req.url ?? '').startsWith(config.pathPrefix)) {
      // Not a check request from an Envoy configured with our path_prefix: refuse it (denies).
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'not_found' }));
      return;
    }
    let attrs: CheckAttributes;
    try {
      attrs = attributesFromHttp(req, config);
    } catch (e) {
      authorizer.checkFailed('http', e);
      res.writeHead(400).end();
      return;
    }
    authorizer.checkAndAnswer(attrs, 'http', res, answer, failed);
  });
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, config.host, config.port);
  return { port, server, close: (graceMs) => closeServer(server, graceMs) };
}
