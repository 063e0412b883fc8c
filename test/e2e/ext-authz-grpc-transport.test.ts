// Both gRPC transports of the ext_authz server (server.grpc.transport: lean, the default, and
// grpc-js) behind REAL Envoy, with each of Envoy's gRPC clients: envoy_grpc (Envoy's own HTTP/2
// codec, through a cluster) and google_grpc (the gRPC C++ library). Envoy also health-checks the
// server's cluster with grpc.health.v1.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpProxyBootstrap, startEchoUpstream, startEnvoy, staticCluster, stopAllEnvoys, type EchoUpstream, type Json } from '../../sdk/src/envoy/index.js';
import { extAuthzHttpFilter, startAuthzServer, type AuthzServer } from '../../ext-authz/src/index.js';

let upstream: EchoUpstream;
const servers: AuthzServer[] = [];

beforeAll(async () => {
  upstream = await startEchoUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await stopAllEnvoys();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

type Transport = 'lean' | 'grpc-js';
type Client = 'envoy_grpc' | 'google_grpc';

const cases: Array<[Transport, Client]> = [
  ['lean', 'envoy_grpc'],
  ['lean', 'google_grpc'],
  ['grpc-js', 'envoy_grpc'],
  ['grpc-js', 'google_grpc'],
];

describe.each(cases)('transport %s, Envoy client %s', (transport, client) => {
  it('decides 300 requests on long-lived connections (new request ids each time, a 40 KB header in one); the cluster passes gRPC health checks', async () => {
    const lines: string[] = [];
    const server = await startAuthzServer(
      {
        log_level: 'info',
        server: { grpc: { host: '127.0.0.1', port: 0, transport }, http: { enabled: false }, admin: { enabled: false } },
        policy: { policies: [{ name: 'no-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] }] },
      },
      { logSink: (l) => lines.push(l), shutdownGraceMs: 200 },
    );
    servers.push(server);
    const port = server.ports.grpc!;
    const cluster = staticCluster('ext_authz', port, { http2: true }) as { [key: string]: Json };
    cluster['health_checks'] = [{ timeout: '1s', interval: '0.2s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: {} }];
    const envoy = await startEnvoy({
      config: (p) =>
        httpProxyBootstrap({
          listenerPort: p['listener']!,
          adminPort: p['admin']!,
          upstreamPort: upstream.port,
          clusters: [cluster],
          httpFilters: [extAuthzHttpFilter({ mode: 'grpc', cluster: 'ext_authz', timeout: '2s', ...(client === 'google_grpc' ? { googleGrpcTarget: `127.0.0.1:${port}` } : {}) })],
        }) as Json,
    });

    const statuses: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 300; i++) {
      const admin = i % 4 === 1;
      const headers: Record<string, string> = { 'x-n': String(i) };
      // A CheckRequest over several DATA frames (a denied path: the echo upstream's node:http
      // would refuse a header this large itself).
      if (i === 149) headers['x-big'] = 'b'.repeat(40_000);
      const res = await fetch(envoy.url(admin ? `/admin/${i}` : `/api/${i}`), { headers });
      await res.arrayBuffer();
      statuses.push(res.status);
      expected.push(admin ? 403 : 200);
    }
    expect(statuses).toEqual(expected);
    const decisionLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'decision');
    expect(decisionLines).toHaveLength(300);
    expect(lines.filter((l) => /connection error|check failed/.test(l))).toEqual([]);

    // Envoy's active health checker (its own HTTP/2 client) calls grpc.health.v1.Health/Check.
    let clusters = '';
    for (let i = 0; i < 50 && !/ext_authz::127\.0\.0\.1:\d+::health_flags::healthy/.test(clusters); i++) {
      await new Promise((r) => setTimeout(r, 100));
      clusters = await (await fetch(`${envoy.adminUrl}/clusters`)).text();
    }
    expect(clusters).toMatch(/ext_authz::127\.0\.0\.1:\d+::health_flags::healthy/);
    const stats = await (await fetch(`${envoy.adminUrl}/stats?filter=cluster\\.ext_authz\\.health_check\\.(success|failure)`)).text();
    expect(stats).toMatch(/health_check\.success: [1-9]/);
    expect(stats).toMatch(/health_check\.failure: 0/);
  });
});
