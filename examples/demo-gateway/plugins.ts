import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { staticCluster, wasmHttpFilter, type Json } from '@meshward/sdk/envoy';
import { type DemoIssuer } from '@meshward/sdk/tools';
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

/**
 * The attributes filter after the JWT filter: an operation name from path templates, the client
 * class, and a tier from the verified JWT's claims, as headers the upstream (and ext_authz) see and
 * as filter state the access log prints.
 */
export function attributesPlugin(buildDir: string, listenUrl: string): DemoPlugin | null {
  const wasmPath = join(buildDir, 'attributes.wasm');
  if (!existsSync(wasmPath)) return null;
  const config = {
    attributes: [
      {
        name: 'op',
        operation: { 'GET /api/orders': 'ListOrders', 'GET /api/orders/{id}': 'GetOrder', 'POST /api/orders': 'CreateOrder', '* /api/admin/**': 'Admin' },
        default: "'Other'",
        outputs: { header: 'x-meshward-op' },
      },
      { name: 'client', client_class: {}, outputs: { header: 'x-meshward-client' } },
      {
        name: 'tier',
        rules: [
          { when: "jwt.claims.role == 'admin'", value: "'staff'" },
          { when: 'has(jwt.principal)', value: "'member'" },
        ],
        default: "'anonymous'",
        outputs: { header: 'x-meshward-tier', response_header: 'x-meshward-tier' },
      },
    ],
  };
  return {
    name: 'attributes',
    tryIt: [
      {
        what: 'the upstream sees x-meshward-op: GetOrder, x-meshward-client: cli, x-meshward-tier: member (a forged one is replaced)',
        curl: `curl -s -H "x-meshward-tier: staff" -H "authorization: Bearer $(npx meshward token)" ${listenUrl}/api/orders/42`,
      },
    ],
    httpFilters: [wasmHttpFilter({ name: 'attributes', wasmPath, config })],
  };
}

/**
 * The WAF with the bundled core ruleset at paranoia level 1, blocking: attacks get 403 before they
 * reach ext_authz or the upstream; the anomaly score goes upstream in x-meshward-waf-score.
 */
export function wafPlugin(buildDir: string, listenUrl: string): DemoPlugin | null {
  const wasmPath = join(buildDir, 'waf.wasm');
  if (!existsSync(wasmPath)) return null;
  return {
    name: 'waf (core ruleset, PL1)',
    tryIt: [
      { what: '403 from the WAF: SQL injection in a query argument', curl: `curl -i "${listenUrl}/anything?id=1%27%20OR%20%271%27=%271"` },
      { what: '403 from the WAF: path traversal', curl: `curl -i --path-as-is "${listenUrl}/anything/../../etc/passwd"` },
      { what: '200: a benign search with an apostrophe; the upstream sees x-meshward-waf-score', curl: `curl -s "${listenUrl}/anything?q=O%27Brien%20bakery"` },
    ],
    httpFilters: [wasmHttpFilter({ name: 'waf', wasmPath, config: {
      // The demo is reached as 127.0.0.1: the "Host is a numeric IP" warning (920350) is noise here.
      ruleset: { paranoia_level: 1, exclusions: 'SecRuleRemoveById 920350' },
      mode: 'block',
      log_level: 'warn',
    } })],
  };
}

export const SECURE_PREFIX = '/secure/';
export const API_PREFIX = '/api/';

/**
 * The JWT filter guarding `/api/*`, with the demo issuer's keys fetched the way a real gateway
 * gets them: remote_jwks through an Envoy cluster, from a key endpoint the demo serves.
 * `/api/admin/*` also requires the claim role=admin. Tokens: `npx meshward token`.
 */
export async function jwtPlugin(buildDir: string, listenUrl: string, issuer: DemoIssuer): Promise<DemoPlugin | null> {
  const wasmPath = join(buildDir, 'jwt.wasm');
  if (!existsSync(wasmPath)) return null;
  const jwksBody = JSON.stringify(issuer.jwks);
  const keyServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody));
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  const port = (keyServer.address() as AddressInfo).port;
  const config = {
    providers: {
      demo: {
        issuer: issuer.issuer,
        audiences: [issuer.audience],
        remote_jwks: { http_uri: { uri: `http://127.0.0.1:${port}/.well-known/jwks.json`, cluster: 'demo_idp', timeout: '1s' }, cache_duration: '300s' },
        claim_to_headers: [{ header_name: 'x-jwt-sub', claim_name: 'sub' }],
      },
    },
    rules: [
      { match: { prefix: `${API_PREFIX}admin/` }, requires: { provider_name: 'demo' }, when: [{ key: 'request.auth.claims[role]', values: ['admin'] }] },
      { match: { prefix: API_PREFIX }, requires: { provider_name: 'demo' } },
    ],
  };
  const url = (p: string) => `${listenUrl}${API_PREFIX}${p}`;
  return {
    name: `jwt (${API_PREFIX}* only)`,
    tryIt: [
      { what: '401 Jwt is missing + WWW-Authenticate', curl: `curl -i ${url('orders')}` },
      { what: '200: the upstream sees x-jwt-sub, not the token', curl: `curl -s -H "authorization: Bearer $(npx meshward token --sub carol)" ${url('orders')}` },
      { what: '401 Jwt is expired', curl: `curl -i -H "authorization: Bearer $(npx meshward token --exp -5m)" ${url('orders')}` },
      { what: '403 Jwt claims are not allowed (needs role=admin)', curl: `curl -i -H "authorization: Bearer $(npx meshward token --claims '{"role":"viewer"}')" ${url('admin/users')}` },
      { what: '200: role=admin, RS256', curl: `curl -i -H "authorization: Bearer $(npx meshward token --alg RS256 --claims '{"role":"admin"}')" ${url('admin/users')}` },
    ],
    httpFilters: [wasmHttpFilter({ name: 'jwt', wasmPath, config })],
    clusters: [staticCluster('demo_idp', port)],
    close: () => new Promise<void>((resolve) => keyServer.close(() => resolve())),
  };
}

/**
 * The ext_authz server (@meshward/ext-authz) in the demo process, guarding `/secure/` in gRPC
 * mode. Its config is `authz/authz.yaml`; it trusts the demo issuer's ES256 key, and the demo
 * prints tokens for two users. Every other path skips ext_authz.
 */
export async function authzPlugin(configFile: string, listenUrl: string, issuer: DemoIssuer, grpcPort = 0, adminPort = 0): Promise<DemoPlugin & { server: AuthzServer }> {
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as {
    server: { grpc: { port: number }; admin: { port: number } };
    identity: { jwt: { issuers: Array<Record<string, unknown>> } };
  };
  raw.identity.jwt.issuers[0]!['jwks'] = { keys: issuer.jwks.keys.filter((k) => k['kid'] === 'demo-es256') };
  raw.server.grpc.port = grpcPort;
  raw.server.admin.port = adminPort;
  const server = await startAuthzServer(parseConfig(raw, { baseDir: dirname(configFile), source: configFile }));
  const mint = (sub: string, role: string, extra: Record<string, unknown> = {}) => issuer.mint({ sub, claims: { role, ...extra }, alg: 'ES256', expiresIn: 12 * 3600 });
  const [alice, bob] = [mint('alice', 'admin'), mint('bob', 'viewer')];
  // Bob after multi-factor sign-in: satisfies the step-up (acr and a recent auth_time, RFC 9470).
  const bobMfa = mint('bob', 'viewer', { acr: 'urn:meshward:mfa', auth_time: Math.floor(Date.now() / 1000) });
  const url = (p: string) => `${listenUrl}${SECURE_PREFIX}${p}`;
  return {
    name: `ext_authz (gRPC, ${SECURE_PREFIX} only)`,
    server,
    setup: [
      `  export ALICE=${alice}   # role admin`,
      `  export BOB=${bob}   # role viewer`,
      `  export BOB_MFA=${bobMfa}   # bob after MFA (acr, auth_time)`,
    ],
    tryIt: [
      { what: '401 + WWW-Authenticate: no token', curl: `curl -i ${url('hello')}` },
      { what: '200: the upstream sees x-meshward-principal and x-meshward-risk-score, not the token', curl: `curl -s -H "authorization: Bearer $BOB" ${url('hello')}` },
      { what: '403 + {"code","decision_id"}: admin area, viewer role (policy)', curl: `curl -i -H "authorization: Bearer $BOB" ${url('admin/users')}` },
      { what: '200: admin area, admin role', curl: `curl -i -H "authorization: Bearer $ALICE" ${url('admin/users')}` },
      { what: 'read-only (risk 55, a scraper): GET passes, POST is 403 read_only', curl: `curl -si -A scrapy/2.11 -X POST -H "authorization: Bearer $BOB" ${url('hello')} | head -1` },
      { what: 'step-up (risk 75, a new device): 401 insufficient_user_authentication, acr_values', curl: `curl -i -H "accept-language: fr-FR" -H "authorization: Bearer $BOB" ${url('hello')}` },
      { what: '200: the same new device after MFA', curl: `curl -s -H "accept-language: fr-FR" -H "authorization: Bearer $BOB_MFA" ${url('hello')}` },
      { what: 'deny (risk 100: scraper on a new device)', curl: `curl -i -A scrapy/2.11 -H "accept-language: ja" -H "authorization: Bearer $BOB" ${url('hello')}` },
      { what: 'throttle: 429 + Retry-After past 20 requests a minute', curl: `for i in $(seq 25); do curl -s -o /dev/null -w "%{http_code} " -H "authorization: Bearer $ALICE" ${url('hello')}; done; echo` },
      { what: "the authz server's Prometheus metrics", curl: `curl -s http://127.0.0.1:${server.ports.admin}/metrics | grep -E 'decisions|risk'` },
    ],
    httpFilters: [extAuthzHttpFilter({ mode: 'grpc', cluster: 'meshward_ext_authz', timeout: '0.5s' })],
    clusters: [staticCluster('meshward_ext_authz', server.ports.grpc!, { http2: true })],
    routes: [{ match: { prefix: SECURE_PREFIX }, route: { cluster: 'upstream', timeout: '15s' } }],
    catchAllPerFilterConfig: extAuthzDisabledPerRoute(),
    close: () => server.close(),
  };
}
