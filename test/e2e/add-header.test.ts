// The first vertical slice: a filter built with @meshward/sdk/assembly, loaded into real Envoy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvoyStartError,
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  stopAllEnvoys,
  wasmHttpFilter,
  type EchoUpstream,
} from '../../sdk/src/envoy/index.js';
import { buildDir, repoRoot } from '../support/cli.js';

const ACCESS = 'ACCESS %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%';
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

function withFilter(name: string, config: unknown, extra: { failurePolicy?: 'FAIL_OPEN' } = {}) {
  return (p: Record<string, number>) =>
    httpProxyBootstrap({
      listenerPort: p['listener']!,
      adminPort: p['admin']!,
      upstreamPort: upstream.port,
      accessLogFormat: ACCESS,
      httpFilters: [wasmHttpFilter({ name, wasmPath: join(buildDir, `${name}.wasm`), config, ...extra })],
    });
}

describe('add-header filter in real Envoy', () => {
  it('sets the configured response headers (config from envoy-configs/add-header.yaml)', async () => {
    const template = readFileSync(join(repoRoot, 'envoy-configs', 'add-header.yaml'), 'utf8');
    const envoy = await startEnvoy({
      config: template,
      vars: {
        upstream_port: upstream.port,
        wasm_dir: buildDir,
        plugin_config: JSON.stringify({ response_headers: { 'x-meshward': 'on', 'x-team': 'platform' } }),
      },
    });
    const res = await fetch(envoy.url('/anything'), { headers: { 'x-upstream-sees': 'me' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-meshward')).toBe('on');
    expect(res.headers.get('x-team')).toBe('platform');
    const echoed = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(echoed.path).toBe('/anything');
    expect(echoed.headers['x-upstream-sees']).toBe('me');
    expect(envoy.log()).toContain('add-header: configured 2 response header(s)');
  });

  it('replaces a header the upstream already set instead of adding a second one', async () => {
    const envoy = await startEnvoy({ config: withFilter('add-header', { response_headers: { 'content-type': 'text/x-meshward' } }) });
    const res = await fetch(envoy.url('/json'));
    expect(res.headers.get('content-type')).toBe('text/x-meshward');
  });

  it.each([
    [{ response_headers: { 'x-a': 5 } }, 'response_headers.x-a: expected string, got number'],
    [{ response_headers: {} }, 'response_headers: expected at least one header'],
    [{ response_headers: { 'Bad Name': 'v' } }, 'response_headers["Bad Name"]: invalid header name'],
    [{ response_header: { 'x-a': 'b' } }, 'response_headers: required field missing'],
    [{ response_headers: { 'x-a': 'b' }, log_level: 'loud' }, 'log_level: expected one of trace, debug, info, warn, error, critical, got "loud"'],
    [{ response_headers: { 'x-a': 'b' }, extra: 1 }, 'unknown field "extra"'],
    ['{"response_headers": {"x-a": "b",}}', 'configuration is not valid JSON: expected a string key at position'],
    ['', 'configuration is empty; expected a JSON object'],
  ])('rejects the invalid config %j at load, and Envoy logs the field', async (config, message) => {
    const err = await startEnvoy({ config: withFilter('add-header', config) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvoyStartError);
    const log = (err as EnvoyStartError).log;
    // The filter's own message, logged through proxy_log into Envoy's wasm log...
    expect(log).toContain(`add-header: invalid plugin configuration: ${message}`);
    // ...and Envoy refusing the filter because of it.
    expect(log).toMatch(/Unable to create Wasm HTTP filter|Failed to load Wasm|Wasm VM failed|Unable to create Wasm/i);
  });

  it('a filter that traps inside a callback fails closed: 503, and the trap is in the log', async () => {
    const envoy = await startEnvoy({ config: withFilter('trap-on-request', '{}') });
    // A request that does not trap passes.
    expect((await fetch(envoy.url('/fine'))).status).toBe(200);

    const trapped = await fetch(envoy.url('/trap/now'));
    expect(trapped.status).toBe(503);
    expect(await trapped.text()).toBe('');
    await envoy.waitForLog(/ACCESS \/trap\/now 503 wasm_fail_stream/);
    const log = envoy.log();
    expect(log).toContain('abort: trap-on-request: deliberate trap for /trap/now');
    expect(log).toMatch(/proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);

    // The VM is now failed: fail closed means later requests are refused too, never waved through.
    const after = await fetch(envoy.url('/fine'));
    expect(after.status).toBe(503);
    expect(upstream.requests.some((r) => r.path === '/trap/now')).toBe(false);
  });

  it('with failure_policy FAIL_OPEN the trapping request still fails, later ones bypass the filter', async () => {
    const envoy = await startEnvoy({ config: withFilter('trap-on-request', '{}', { failurePolicy: 'FAIL_OPEN' }) });
    expect((await fetch(envoy.url('/trap/open'))).status).toBe(503);
    expect((await fetch(envoy.url('/after-open'))).status).toBe(200);
  });
});
