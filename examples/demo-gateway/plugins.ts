import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parse as parseYaml } from 'yaml';
import { staticCluster, wasmHttpFilter, type Json } from '@meshward/sdk/envoy';
import { extAuthzDisabledPerRoute, extAuthzHttpFilter, parseConfig, startAuthzServer, type AuthzServer } from '@meshward/ext-authz';

/** One piece of the demo chain; each Meshward filter and server adds its entry here. */
export interface DemoPlugin {
  name: string;
  /** What the user can try, shown at start. */
  tryIt: Array<{ what: string; curl: string }>;
  /** Lines printed before the curl lines (e.g. shell variables the curl lines use). */
  setup?: string[];
  /** The http filter entries it adds, in chain order. */
  httpFilters: Json[];
  /** Clusters it needs (e.g. the ext_authz server). */
  clusters?: Json[];
  /** Routes placed before the catch-all route to the upstream. */
  routes?: Json[];
  /** `typed_per_filter_config` entries for the catch-all route. */
  catchAllPerFilterConfig?: { [key: string]: Json };
  /** Called when the demo stops. */
  close?: () => Promise<void>;
}

/** Plugins whose build output exists, in filter-chain order. */
export function demoPlugins(buildDir: string, listenUrl: string): DemoPlugin[] {
  const plugins: DemoPlugin[] = [];
  const addHeader = join(buildDir, 'add-header.wasm');
  if (existsSync(addHeader)) {
    plugins.push({
      name: 'add-header (example filter built with @meshward/sdk)',
      tryIt: [{ what: 'the example filter adds x-meshward-demo to every response', curl: `curl -si ${listenUrl}/anything | grep -i x-meshward` }],
      httpFilters: [
        wasmHttpFilter({
          name: 'add-header',
          wasmPath: addHeader,
          config: { response_headers: { 'x-meshward-demo': 'hello from add-header' } },
        }),
      ],
    });
  }
  return plugins;
}

export const DEMO_ISSUER = 'https://demo.meshward.local';
export const SECURE_PREFIX = '/secure/';

/**
 * The ext_authz server (@meshward/ext-authz) in the demo process, guarding `/secure/` in gRPC
 * mode. Its config is `authz/authz.yaml`; the demo generates the issuer's signing key and prints
 * tokens for two users. Every other path skips ext_authz.
 */
export async function authzPlugin(configFile: string, listenUrl: string, grpcPort = 0, adminPort = 0): Promise<DemoPlugin & { server: AuthzServer }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as {
    server: { grpc: { port: number }; admin: { port: number } };
    identity: { jwt: { issuers: Array<Record<string, unknown>> } };
  };
  raw.identity.jwt.issuers[0]!['jwks'] = { keys: [{ ...(await exportJWK(publicKey)), kid: 'demo', alg: 'ES256', use: 'sig' }] };
  raw.server.grpc.port = grpcPort;
  raw.server.admin.port = adminPort;
  const server = await startAuthzServer(parseConfig(raw, { baseDir: dirname(configFile), source: configFile }));
  const mint = (sub: string, role: string) =>
    new SignJWT({ role }).setProtectedHeader({ alg: 'ES256', kid: 'demo' }).setIssuer(DEMO_ISSUER).setAudience('demo-gateway').setSubject(sub).setIssuedAt().setExpirationTime('12h').sign(privateKey);
  const [alice, bob] = await Promise.all([mint('alice', 'admin'), mint('bob', 'viewer')]);
  const url = (p: string) => `${listenUrl}${SECURE_PREFIX}${p}`;
  return {
    name: `ext_authz (gRPC, ${SECURE_PREFIX} only)`,
    server,
    setup: [`  export ALICE=${alice}   # role admin`, `  export BOB=${bob}   # role viewer`],
    tryIt: [
      { what: '401 + WWW-Authenticate: no token', curl: `curl -i ${url('hello')}` },
      { what: '200: the upstream sees x-meshward-principal, not the token', curl: `curl -s -H "authorization: Bearer $BOB" ${url('hello')}` },
      { what: '403 + {"code","decision_id"}: admin area, viewer role', curl: `curl -i -H "authorization: Bearer $BOB" ${url('admin/users')}` },
      { what: '200: admin area, admin role', curl: `curl -i -H "authorization: Bearer $ALICE" ${url('admin/users')}` },
      { what: "the authz server's Prometheus metrics", curl: `curl -s http://127.0.0.1:${server.ports.admin}/metrics | grep decisions` },
    ],
    httpFilters: [extAuthzHttpFilter({ mode: 'grpc', cluster: 'meshward_ext_authz', timeout: '0.5s' })],
    clusters: [staticCluster('meshward_ext_authz', server.ports.grpc!, { http2: true })],
    routes: [{ match: { prefix: SECURE_PREFIX }, route: { cluster: 'upstream', timeout: '15s' } }],
    catchAllPerFilterConfig: extAuthzDisabledPerRoute(),
    close: () => server.close(),
  };
}
