/**
 * Operations endpoints, on their own port so that no client request forwarded for a check can
 * ever reach them: `/healthz` (alive), `/readyz` (listeners up and not shutting down),
 * `/metrics` (Prometheus text format).
 */
import { createServer } from 'node:http';
import type { Metrics } from '../metrics.js';
import { closeServer, listen, type HttpHandle } from './http.js';

export async function startAdmin(metrics: Metrics, isReady: () => boolean, host: string, port: number): Promise<HttpHandle> {
  const server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.render());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const bound = await listen(server, host, port);
  return { port: bound, server, close: (graceMs) => closeServer(server, graceMs) };
}
