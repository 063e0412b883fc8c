// The WAF filter (build/waf.wasm) with the bundled ruleset in real Envoy: attacks blocked with
// 403 and the configured body, benign requests reach the upstream with x-meshward-waf-score,
// detection-only lets attacks pass with their score, a forged score header never reaches the
// upstream, request bodies are inspected, audit lines land in Envoy's log; response bodies are
// inspected (phase 4), and request and response bodies also when trailers follow them.
import { connect, createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProxyBootstrap, startEchoUpstream, startEnvoy, staticCluster, stopAllEnvoys, wasmHttpFilter, type EchoUpstream, type Json } from '../../sdk/src/envoy/index.js';
import { buildDir } from '../support/cli.js';

let upstream: EchoUpstream;
type Envoy = Awaited<ReturnType<typeof startEnvoy>>;
const envoys = {} as { block: Envoy; detect: Envoy };

function bootstrap(config: unknown) {
  return (p: Record<string, number>) =>
    httpProxyBootstrap({
      listenerPort: p['listener']!,
      adminPort: p['admin']!,
      upstreamPort: upstream.port,
      httpFilters: [wasmHttpFilter({ name: 'waf', wasmPath: join(buildDir, 'waf.wasm'), config })],
    });
}

const ua = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', accept: 'text/html' };

beforeAll(async () => {
  upstream = await startEchoUpstream();
  envoys.block = await startEnvoy({ config: bootstrap({ ruleset: { paranoia_level: 1 }, block_body: 'Blocked.\n' }) });
  envoys.detect = await startEnvoy({ config: bootstrap({ ruleset: { paranoia_level: 1 }, mode: 'detection_only' }) });
}, 60_000);
afterAll(async () => {
  await stopAllEnvoys();
  await upstream.close();
});

describe('WAF filter in real Envoy', () => {
  it('blocks an attack in the query with 403 and the configured body', async () => {
    const res = await fetch(envoys.block.url("/search?q=1'%20UNION%20SELECT%20password%20FROM%20users--"), { headers: ua });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('Blocked.\n');
  });

  it('passes benign traffic with x-meshward-waf-score upstream; a forged one is replaced', async () => {
    const res = await fetch(envoys.block.url("/search?q=O'Reilly%20books"), { headers: { ...ua, 'x-meshward-waf-score': '-100' } });
    expect(res.status).toBe(200);
    const echoed = (await res.json()) as { headers: Record<string, string> };
    // 3 = the warning for a numeric Host header (the test talks to 127.0.0.1:port), under the threshold.
    expect(echoed.headers['x-meshward-waf-score']).toBe('3');
  });

  it('inspects request bodies: an attack in a JSON body is blocked, a benign one passes', async () => {
    const bad = await fetch(envoys.block.url('/api/comments'), { method: 'POST', headers: { ...ua, 'content-type': 'application/json' }, body: JSON.stringify({ text: '<script>alert(document.cookie)</script>' }) });
    expect(bad.status).toBe(403);
    const good = await fetch(envoys.block.url('/api/comments'), { method: 'POST', headers: { ...ua, 'content-type': 'application/json' }, body: JSON.stringify({ text: "Great product, I'd buy it again!" }) });
    expect(good.status).toBe(200);
    const echoed = (await good.json()) as { body: string };
    expect(echoed.body).toContain("I'd buy it again");
  });

  it('blocks an attack in a form body', async () => {
    const res = await fetch(envoys.block.url('/login'), { method: 'POST', headers: { ...ua, 'content-type': 'application/x-www-form-urlencoded' }, body: "user=admin'--&pass=x" });
    expect(res.status).toBe(403);
  });

  it('detection-only passes the attack upstream with its score, and logs the matches as JSON', async () => {
    const res = await fetch(envoys.detect.url('/search?q=%3Cscript%3Ealert(1)%3C/script%3E'), { headers: ua });
    expect(res.status).toBe(200);
    const echoed = (await res.json()) as { headers: Record<string, string> };
    expect(Number(echoed.headers['x-meshward-waf-score'])).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 200));
    const audit = envoys.detect.log().split('\n').filter((l) => l.includes('{"waf":"match"'));
    expect(audit.length).toBeGreaterThan(0);
    const first = audit[0]!;
    const line = JSON.parse(first.slice(first.indexOf('{"waf"')));
    expect(line).toMatchObject({ waf: 'match', mode: 'detection_only', method: 'GET' });
  });
});

describe('WAF filter in real Envoy: response bodies', () => {
  // An HTTP/2 upstream that ends its body with trailers (as gRPC does): Envoy calls the filter's
  // response trailers callback instead of ending the body, and phase 4 must still run.
  let h2: Http2Server;
  let envoy: Envoy;
  const bodies: Record<string, string> = { '/leak': 'You have an error in your SQL syntax near line 1', '/fine': 'all rows returned, nothing to see' };
  beforeAll(async () => {
    h2 = createServer();
    h2.on('stream', (stream, headers) => {
      // A deny after the headers left resets the upstream stream too: expected, not a failure.
      stream.on('error', () => {});
      // /plain/... ends the body with the stream (no trailers).
      const path = String(headers[':path']);
      const trailers = !path.startsWith('/plain/');
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: trailers });
      if (trailers) stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': '1' }));
      stream.end(bodies[path.replace('/plain', '')] ?? 'none');
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const port = (h2.address() as AddressInfo).port;
    const rules = [
      'SecRequestBodyAccess On',
      'SecResponseBodyAccess On',
      'SecResponseBodyMimeType text/plain',
      'SecRule RESPONSE_BODY "@contains SQL syntax" "id:1,phase:4,deny,log"',
      'SecRule REQUEST_BODY "@contains attack-marker" "id:2,phase:2,deny,log"',
    ].join('\n');
    envoy = await startEnvoy({
      config: (p: Record<string, number>) => {
        const b = httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: port, httpFilters: [wasmHttpFilter({ name: 'waf', wasmPath: join(buildDir, 'waf.wasm'), config: { rules } })] });
        const resources = b['static_resources'] as { clusters: Json[] };
        resources.clusters = resources.clusters.map((c) => ((c as { name: string }).name === 'upstream' ? staticCluster('upstream', port, { http2: true }) : c));
        return b;
      },
    });
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    await new Promise((resolve) => h2?.close(resolve));
  });

  it('inspects a body, also one followed by trailers: a leak never reaches the client, a clean body does', async () => {
    const fine = await fetch(envoy.url('/fine'), { headers: ua });
    expect([fine.status, await fine.text()]).toEqual([200, bodies['/fine']]);
    // The headers have left when phase 4 denies: the stream is reset, so the body never arrives.
    const leaked = await fetch(envoy.url('/leak'), { headers: ua }).then((r) => r.text()).catch((e: Error) => `reset: ${e.message}`);
    expect(leaked).not.toContain('SQL');
    // The same without trailers (phase 4 at the body's end).
    const plain = await fetch(envoy.url('/plain/leak'), { headers: ua }).then((r) => r.text()).catch((e: Error) => `reset: ${e.message}`);
    expect(plain).not.toContain('SQL');
    const plainFine = await fetch(envoy.url('/plain/fine'), { headers: ua });
    expect([plainFine.status, await plainFine.text()]).toEqual([200, bodies['/fine']]);
  });

  it('inspects a request body followed by trailers (an HTTP/2 client): trailers do not skip phase 2', async () => {
    const client = connect(envoy.url('/'));
    // A session error surfaces through the request it fails (send rejects).
    client.on('error', () => {});
    try {
      const send = (body: string) => new Promise<number>((resolve, reject) => {
        const req = client.request({ ':method': 'POST', ':path': '/plain/fine', 'content-type': 'text/plain', ...ua }, { waitForTrailers: true });
        req.on('wantTrailers', () => req.sendTrailers({ 'x-checksum': '1' }));
        req.on('response', (h) => { req.resume(); req.on('end', () => resolve(Number(h[':status']))); });
        req.on('error', reject);
        req.end(body);
      });
      expect(await send('hello attack-marker here')).toBe(403);
      expect(await send('hello there')).toBe(200);
    } finally {
      client.close();
    }
  });
});
