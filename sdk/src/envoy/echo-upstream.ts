import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { echoResponseHeader } from '../host/echo.js';

/** What the echo upstream returns for every request, as JSON. */
export interface EchoedRequest {
  method: string;
  path: string;
  /** Lowercased names; repeated headers joined with ", " (as Node joins them). */
  headers: Record<string, string>;
  body: string;
}

export interface EchoUpstream {
  port: number;
  url: string;
  /** Every request received, oldest first. */
  requests: EchoedRequest[];
  close(): Promise<void>;
}

export interface EchoUpstreamOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * A small HTTP upstream that answers every request with a JSON description of it, so a test can
 * see exactly what reached the upstream through Envoy. A request header `x-echo-status: NNN`
 * chooses the response status; `x-echo-response-header: <name>: <value>` adds a response header.
 */
export function startEchoUpstream(options: EchoUpstreamOptions = {}): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echoed: EchoedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: flattenHeaders(req),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(echoed);
      const wanted = Number(req.headers['x-echo-status']);
      const status = Number.isInteger(wanted) && wanted >= 200 && wanted <= 599 ? wanted : 200;
      const body = JSON.stringify(echoed);
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const extra = echoResponseHeader(echoed.headers['x-echo-response-header']);
      if (extra) headers[extra[0]] = extra[1];
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const { port, address } = server.address() as AddressInfo;
      resolve({
        port,
        url: `http://${address}:${port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
