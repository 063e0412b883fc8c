import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProxyBootstrap, startEchoUpstream, startEnvoy, stopAllEnvoys, type EchoUpstream } from '../../sdk/src/envoy/index.js';

// The container runtime needs a Docker engine. Machines without one (our CI machines have only
// the client) skip this file and say so; every other end-to-end test uses the local binary.
const engine = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 10_000 });
const noEngine = engine.status !== 0;
if (noEngine) {
  console.warn('[meshward tests] container runtime tests skipped: no Docker engine is reachable (`docker info` failed)');
}

describe.skipIf(noEngine)('Envoy container runtime (testcontainers, envoyproxy/envoy image) [needs a Docker engine]', () => {
  let upstream: EchoUpstream;
  beforeAll(async () => {
    upstream = await startEchoUpstream();
  });
  afterAll(async () => {
    await stopAllEnvoys();
    await upstream.close();
  });

  it('runs the same config in the envoyproxy/envoy image of the managed version', async () => {
    const envoy = await startEnvoy({
      runtime: 'container',
      startTimeoutMs: 180_000,
      config: (p) => httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: upstream.port }),
    });
    const res = await fetch(envoy.url('/in-container'));
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBe('envoy');
    await envoy.stop();
    expect(envoy.running).toBe(false);
  }, 240_000);
});

describe.runIf(noEngine)('Envoy container runtime without a Docker engine', () => {
  it('fails with an error that says a Docker engine is needed, instead of hanging', async () => {
    const started = Date.now();
    await expect(
      startEnvoy({ runtime: 'container', config: (p) => httpProxyBootstrap({ listenerPort: p['listener']!, adminPort: p['admin']!, upstreamPort: 1 }) }),
    ).rejects.toThrow(/MESHWARD_ENVOY_RUNTIME=container needs a Docker engine, and none is reachable/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('rejects an unknown runtime name', async () => {
    await expect(
      startEnvoy({ env: { ...process.env, MESHWARD_ENVOY_RUNTIME: 'podman' }, config: {} }),
    ).rejects.toThrow('MESHWARD_ENVOY_RUNTIME=podman: expected "local" or "container"');
  });
});
