/**
 * The demo gateway behind `npm start`: the echo upstream, then Envoy in front of it with every
 * Meshward filter and server that exists, all on loopback. Ctrl-C stops everything.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpProxyBootstrap, startEchoUpstream, startEnvoy, envoyVersionLine, type EchoUpstream, type EnvoyInstance, type Json } from '@meshward/sdk/envoy';
import { demoIssuer } from '@meshward/sdk/tools';
import { attributesPlugin, authzPlugin, demoPlugins, jwtPlugin, wafPlugin, type DemoPlugin } from './plugins.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name}=${raw}: expected a TCP port number (1-65535)`);
  }
  return port;
}

async function main(): Promise<void> {
  const listenPort = portFromEnv('MESHWARD_LISTEN_PORT', 10000);
  const adminPort = portFromEnv('MESHWARD_ADMIN_PORT', 9901);
  const upstreamPort = portFromEnv('MESHWARD_UPSTREAM_PORT', 18080);
  const listenUrl = `http://127.0.0.1:${listenPort}`;

  let upstream: EchoUpstream | undefined;
  let envoy: EnvoyInstance | undefined;
  let plugins: DemoPlugin[] = [];
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nmeshward demo: stopping');
    await envoy?.stop();
    await Promise.all(plugins.map((p) => p.close?.()));
    await upstream?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    upstream = await startEchoUpstream({ port: upstreamPort });
  } catch (e) {
    throw new Error(`the demo upstream cannot listen on 127.0.0.1:${upstreamPort} (${(e as Error).message}); set MESHWARD_UPSTREAM_PORT`);
  }
  // One demo identity provider for the JWT filter and ext_authz (`npx meshward token` signs for it).
  const issuer = demoIssuer();
  // Chain: JWT (who) → attributes (what, derived once) → WAF (attacks) → ext_authz (decides, seeing all) → the rest.
  const authz = await authzPlugin(
    join(repoRoot, 'examples', 'demo-gateway', 'authz', 'authz.yaml'),
    listenUrl,
    issuer,
    portFromEnv('MESHWARD_AUTHZ_GRPC_PORT', 0),
    portFromEnv('MESHWARD_AUTHZ_ADMIN_PORT', 0),
  );
  const jwt = await jwtPlugin(join(repoRoot, 'build'), listenUrl, issuer);
  const attributes = attributesPlugin(join(repoRoot, 'build'), listenUrl);
  const waf = wafPlugin(join(repoRoot, 'build'), listenUrl);
  plugins = [...(jwt ? [jwt] : []), ...(attributes ? [attributes] : []), ...(waf ? [waf] : []), authz, ...demoPlugins(join(repoRoot, 'build'), listenUrl)];
  const bootstrap = httpProxyBootstrap({
    listenerPort: listenPort,
    adminPort,
    upstreamPort: upstream.port,
    httpFilters: plugins.flatMap((p) => p.httpFilters),
    clusters: plugins.flatMap((p) => p.clusters ?? []),
    route: { typed_per_filter_config: Object.assign({}, ...plugins.map((p) => p.catchAllPerFilterConfig ?? {})) as { [key: string]: Json } },
    accessLogFormat:
      '[access] %START_TIME% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%" %RESPONSE_CODE% %RESPONSE_FLAGS% %DURATION%ms ' +
      'principal=%FILTER_STATE(wasm.meshward.jwt.principal:PLAIN)% op=%FILTER_STATE(wasm.meshward.attr.op:PLAIN)% ' +
      'decision=%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%',
  });
  // Plugin routes go before the catch-all route to the upstream.
  const vhost = (bootstrap['static_resources'] as { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { route_config: { virtual_hosts: Array<{ routes: Json[] }> } } }> }> }> })
    .listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!;
  vhost.routes.unshift(...plugins.flatMap((p) => p.routes ?? []));
  envoy = await startEnvoy({
    config: bootstrap,
    fixedPorts: { listener: listenPort, admin: adminPort },
    logLevel: process.env['MESHWARD_ENVOY_LOG_LEVEL'] ?? 'warn',
    maxLifetimeMs: 0,
    onOutput: (chunk) => process.stdout.write(chunk),
  }).catch((e: Error) => {
    throw new Error(`Envoy did not start (are ports ${listenPort}/${adminPort} free? set MESHWARD_LISTEN_PORT / MESHWARD_ADMIN_PORT): ${e.message}`);
  });
  // Envoy dying on its own ends the demo rather than leaving a half-working gateway.
  void envoy.exited.then(async (code) => {
    if (stopping) return;
    console.error(`meshward demo: Envoy exited unexpectedly (code ${code})`);
    await stop(1);
  });

  const lines = [
    '',
    'Meshward demo gateway is up',
    `  Envoy         ${listenUrl}  (admin http://127.0.0.1:${adminPort})  ${envoyVersionLine()}`,
    `  upstream      http://127.0.0.1:${upstream.port}  (echoes each request as JSON)`,
    `  filter chain  ${plugins.length ? plugins.map((p) => p.name).join(' -> ') + ' -> ' : ''}router`,
    `  ext_authz     gRPC 127.0.0.1:${authz.server.ports.grpc}, metrics http://127.0.0.1:${authz.server.ports.admin}/metrics  (decides for ${listenUrl}/secure/*)`,
    '',
    'Try:',
    `  curl -i ${listenUrl}/anything          # the upstream's echo, through Envoy`,
    ...plugins.flatMap((p) => p.setup ?? []),
    ...plugins.flatMap((p) => p.tryIt.map((t) => `  ${t.curl}    # ${t.what}`)),
    `  curl -s http://127.0.0.1:${adminPort}/stats | grep wasm   # Envoy's stats`,
    '',
    'Ports: MESHWARD_LISTEN_PORT, MESHWARD_ADMIN_PORT, MESHWARD_UPSTREAM_PORT, MESHWARD_AUTHZ_GRPC_PORT, MESHWARD_AUTHZ_ADMIN_PORT (default: any free).',
    'Envoy log level: MESHWARD_ENVOY_LOG_LEVEL. The ext_authz server logs one JSON line per decision.',
    'Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((e: unknown) => {
  console.error(`meshward demo: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
