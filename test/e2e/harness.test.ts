import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvoyStartError,
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  stopAllEnvoys,
  withEnvoy,
  type EchoUpstream,
  type EchoedRequest,
} from '../../sdk/src/envoy/index.js';

const YAML_TEMPLATE = `
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: {{port.listener}} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: upstream }
                request_headers_to_add:
                - header: { key: x-template-var, value: "{{greeting}}" }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: upstream
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: {{upstream_port}} } } }
`;

let upstream: EchoUpstream;
beforeAll(async () => {
  upstream = await startEchoUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await stopAllEnvoys();
});

describe('Envoy test harness (real Envoy)', () => {
  it('starts Envoy from a YAML template on free loopback ports and proxies to the echo upstream', async () => {
    const envoy = await startEnvoy({ config: YAML_TEMPLATE, vars: { upstream_port: upstream.port, greeting: 'hi' } });
    expect(envoy.ports['listener']).not.toBe(envoy.ports['admin']);
    const res = await fetch(envoy.url('/echo/me?q=1'), { method: 'POST', body: 'payload', headers: { 'x-client': 'test' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBe('envoy');
    const echoed = (await res.json()) as EchoedRequest;
    expect(echoed).toMatchObject({ method: 'POST', path: '/echo/me?q=1', body: 'payload' });
    expect(echoed.headers['x-client']).toBe('test');
    expect(echoed.headers['x-template-var']).toBe('hi');
    // Envoy added its own request headers: the request really went through Envoy.
    expect(echoed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads stats and the log, and stop() ends the process and frees the ports', async () => {
    const envoy = await startEnvoy({
      config: (p) => httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: upstream.port }),
    });
    for (let i = 0; i < 3; i++) await (await fetch(envoy.url('/count'))).text();
    expect(await envoy.stat('cluster.upstream.upstream_rq_200')).toBe(3);
    expect(await envoy.stat('no.such.stat')).toBeUndefined();
    expect(envoy.log()).toContain('starting main dispatch loop');
    const workDir = envoy.workDir;
    await envoy.stop();
    expect(envoy.running).toBe(false);
    expect(existsSync(workDir)).toBe(false);
    await expect(fetch(envoy.url('/after-stop'))).rejects.toThrow();
    await envoy.stop(); // idempotent
  });

  it('rejects a config Envoy refuses with EnvoyStartError carrying Envoy\'s own message', async () => {
    const bad = { static_resources: { clusters: [{ name: 'x', type: 'STATIC', connect_timeout: 'soon' }] } };
    const err = await startEnvoy({ config: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvoyStartError);
    const e = err as EnvoyStartError;
    expect(e.exitCode).not.toBe(0);
    expect(e.message).toMatch(/exited with code \d+ before becoming live/);
    expect(e.log).toMatch(/connect_timeout|Duration|soon/i);
  });

  it('names an unknown template placeholder instead of starting Envoy', async () => {
    await expect(startEnvoy({ config: YAML_TEMPLATE, vars: { upstream_port: upstream.port } })).rejects.toThrow(
      /no value for placeholder \{\{greeting\}\}/,
    );
  });

  it('withEnvoy stops Envoy even when the test body throws', async () => {
    let seen: { running: boolean; stop: () => Promise<void> } | undefined;
    await expect(
      withEnvoy({ config: (p) => httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: upstream.port }) }, async (envoy) => {
        seen = envoy;
        throw new Error('test failure inside');
      }),
    ).rejects.toThrow('test failure inside');
    expect(seen?.running).toBe(false);
  });

  it('waitForLog finds access log lines and times out with the last lines when absent', async () => {
    const envoy = await startEnvoy({
      config: (p) => httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: upstream.port, accessLogFormat: 'ACCESS %REQ(:PATH)% %RESPONSE_CODE%' }),
    });
    await (await fetch(envoy.url('/logged'))).text();
    expect(await envoy.waitForLog(/ACCESS \/logged 200/)).toBe('ACCESS /logged 200');
    await expect(envoy.waitForLog('never printed', 300)).rejects.toThrow(/did not show never printed/);
  });
});
