// The attributes filter in real Envoy, in the chain it is built for:
//   jwt (build/jwt.wasm) → attributes (build/attributes.wasm) → ext_authz → router → echo upstream.
// The attributes must reach the ext_authz CheckRequest, the upstream request and an access-log
// line (%FILTER_STATE(wasm.meshward.attr.<name>:PLAIN)%); a client cannot forge them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvoyStartError,
  httpProxyBootstrap,
  startEchoUpstream,
  startEnvoy,
  staticCluster,
  stopAllEnvoys,
  wasmHttpFilter,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { extAuthzHttpFilter, startAuthzServer, type AuthzServer } from '../../ext-authz/src/index.js';
import { serviceDefinitions } from '../../ext-authz/src/protocol/proto.js';
import { buildDir, repoRoot } from '../support/cli.js';
import { makeKeys, mint, nowSeconds } from '../support/jwt-tokens.js';

const ISS = 'https://issuer.test';
const keys = makeKeys();
const jwtConfig = {
  providers: { main: { issuer: ISS, audiences: ['api'], local_jwks: { inline_string: JSON.stringify({ keys: [keys.ec256.jwk] }) } } },
  // Anonymous requests pass too: attributes and authz decide what they may do.
  rules: [{ match: { prefix: '/' }, requires: { allow_missing: {} } }],
};
const token = (extra: Record<string, unknown>) =>
  mint('ES256', keys.ec256, { iss: ISS, sub: 'alice', aud: 'api', iat: nowSeconds(), exp: nowSeconds() + 600, ...extra });

const attributesConfig = {
  log_level: 'info',
  attributes: [
    {
      name: 'op',
      operation: { 'GET /users/{id}': 'GetUser', 'DELETE /users/{id}': 'DeleteUser', 'GET /files/**': 'GetFile' },
      default: "'Unknown'",
      outputs: { header: 'x-attr-op', response_header: 'x-attr-op' },
    },
    { name: 'client', client_class: {}, outputs: { header: 'x-attr-client' } },
    { name: 'tenant', rules: [{ when: 'has(jwt.claims.org.tenant)', value: 'jwt.claims.org.tenant' }], default: "'none'", outputs: { header: 'x-attr-tenant' } },
    { name: 'role', rules: [{ value: 'jwt.claims.role' }], outputs: { header: 'x-attr-role' } },
    { name: 'user', rules: [{ when: 'has(jwt.principal)', value: 'jwt.principal' }], default: "'anonymous'", outputs: { header: 'x-attr-user' } },
    { name: 'internal', rules: [{ value: "ip_in_cidr(source.address, '127.0.0.0/8')" }], outputs: { header: 'x-attr-internal' } },
    { name: 'fs_principal', rules: [{ value: "filter_state['wasm.meshward.jwt.principal']" }], outputs: { header: 'x-attr-fs-principal' } },
    { name: 'version', api_version: { header: 'x-api-version' }, outputs: { header: 'x-attr-version' } },
    {
      name: 'risk',
      rules: [
        { when: "attr.client == 'bot'", value: "'high'" },
        { when: "attr.op == 'DeleteUser' && attr.role != 'admin'", value: "'medium'" },
      ],
      default: "'low'",
      outputs: { header: 'x-attr-risk', filter_state: true },
    },
  ],
};
const OUTPUT_HEADERS = ['x-attr-op', 'x-attr-client', 'x-attr-tenant', 'x-attr-role', 'x-attr-user', 'x-attr-internal', 'x-attr-fs-principal', 'x-attr-version', 'x-attr-risk'];
const ACCESS = 'ATTR path=%REQ(:PATH)% code=%RESPONSE_CODE% op=%FILTER_STATE(wasm.meshward.attr.op:PLAIN)% ' +
  'client=%FILTER_STATE(wasm.meshward.attr.client:PLAIN)% tenant=%FILTER_STATE(wasm.meshward.attr.tenant:PLAIN)% ' +
  'risk=%FILTER_STATE(wasm.meshward.attr.risk:PLAIN)% principal=%FILTER_STATE(wasm.meshward.jwt.principal:PLAIN)%';

const BROWSER = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'accept-language': 'en' };

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

/** A tiny envoy.service.auth.v3 Check server that records every CheckRequest and denies bots. */
async function startRecorder(): Promise<{ port: number; checks: Array<Record<string, string>>; close(): Promise<void> }> {
  const checks: Array<Record<string, string>> = [];
  const server = new Server();
  server.addService(serviceDefinitions().authorization, {
    Check: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const req = call.request as { attributes?: { request?: { http?: { headers?: Record<string, string> } } } };
      const headers = req.attributes?.request?.http?.headers ?? {};
      checks.push(headers);
      if (headers['x-attr-client'] === 'bot') {
        callback(null, { status: { code: 7 }, denied_response: { status: { code: 'Forbidden' }, body: 'bots are not allowed' } });
      } else {
        callback(null, { status: { code: 0 }, ok_response: {} });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, checks, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

function chain(authzPort: number, attributes: unknown = attributesConfig) {
  return startEnvoy({
    config: (p) =>
      httpProxyBootstrap({
        listenerPort: p['listener']!,
        adminPort: p['admin']!,
        upstreamPort: upstream.port,
        accessLogFormat: ACCESS,
        clusters: [staticCluster('ext_authz', authzPort, { http2: true })],
        httpFilters: [
          wasmHttpFilter({ name: 'jwt', wasmPath: join(buildDir, 'jwt.wasm'), config: jwtConfig }),
          wasmHttpFilter({ name: 'attributes', wasmPath: join(buildDir, 'attributes.wasm'), config: attributes }),
          extAuthzHttpFilter({ mode: 'grpc', cluster: 'ext_authz', timeout: '2s' }),
        ],
      }) as Json,
  });
}

function echoed(body: string): Record<string, string> {
  return (JSON.parse(body) as { headers: Record<string, string> }).headers;
}

async function accessLine(envoy: EnvoyInstance, path: string): Promise<string> {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return envoy.waitForLog(new RegExp(`ATTR path=${escaped} [^\\n]*`));
}

describe('attributes in the chain jwt → attributes → ext_authz → router (real Envoy)', () => {
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let envoy: EnvoyInstance;
  beforeAll(async () => {
    recorder = await startRecorder();
  });
  afterAll(async () => {
    await recorder.close();
  });

  it('a signed-in browser: attributes in the CheckRequest, upstream request, response and access log', async () => {
    envoy = await chain(recorder.port);
    expect(envoy.log()).toContain('attributes: configured 9 attribute(s)');
    const jwt = token({ org: { tenant: 'acme' }, role: 'admin' });
    const res = await fetch(envoy.url('/users/42'), { headers: { ...BROWSER, authorization: `Bearer ${jwt}`, 'x-api-version': '2' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-attr-op')).toBe('GetUser');
    const want = {
      'x-attr-op': 'GetUser', 'x-attr-client': 'browser', 'x-attr-tenant': 'acme', 'x-attr-role': 'admin',
      'x-attr-user': `${ISS}/alice`, 'x-attr-internal': 'true', 'x-attr-fs-principal': `${ISS}/alice`, 'x-attr-version': 'v2', 'x-attr-risk': 'low',
    };
    const check = recorder.checks.at(-1)!;
    expect(check[':path']).toBe('/users/42');
    expect(check).toMatchObject(want);
    expect(echoed(await res.text())).toMatchObject(want);
    expect(await accessLine(envoy, '/users/42')).toBe(
      `ATTR path=/users/42 code=200 op=GetUser client=browser tenant=acme risk=low principal=${ISS}/alice`,
    );
  });

  it('an anonymous curl call: defaults apply, absent attributes are not sent', async () => {
    envoy = await chain(recorder.port);
    const res = await fetch(envoy.url('/files/a/b.txt'), { headers: { 'user-agent': 'curl/8.5.0' } });
    expect(res.status).toBe(200);
    const up = echoed(await res.text());
    expect(up).toMatchObject({ 'x-attr-op': 'GetFile', 'x-attr-client': 'cli', 'x-attr-tenant': 'none', 'x-attr-user': 'anonymous', 'x-attr-risk': 'low' });
    expect(up['x-attr-role']).toBeUndefined();
    expect(up['x-attr-version']).toBeUndefined();
    const check = recorder.checks.at(-1)!;
    expect(check['x-attr-client']).toBe('cli');
    expect(check['x-attr-role']).toBeUndefined();
    expect(await accessLine(envoy, '/files/a/b.txt')).toBe('ATTR path=/files/a/b.txt code=200 op=GetFile client=cli tenant=none risk=low principal=-');
  });

  it('forged attribute headers never reach ext_authz or the upstream', async () => {
    envoy = await chain(recorder.port);
    const forged = Object.fromEntries(OUTPUT_HEADERS.map((h) => [h, 'forged']));
    const res = await fetch(envoy.url('/users/7'), { headers: { ...BROWSER, ...forged } });
    expect(res.status).toBe(200);
    const up = echoed(await res.text());
    const check = recorder.checks.at(-1)!;
    for (const h of OUTPUT_HEADERS) {
      expect(up[h], h).not.toBe('forged');
      expect(check[h], h).not.toBe('forged');
    }
    // Attributes with no value are removed, not passed through.
    expect(up['x-attr-role']).toBeUndefined();
    expect(up['x-attr-version']).toBeUndefined();
    expect(up['x-attr-user']).toBe('anonymous');
  });

  it('ext_authz decides on an attribute: a scanner is denied, and the log shows why', async () => {
    envoy = await chain(recorder.port);
    const res = await fetch(envoy.url('/users/9'), { headers: { 'user-agent': 'sqlmap/1.8' } });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('bots are not allowed');
    expect(recorder.checks.at(-1)!['x-attr-risk']).toBe('high');
    expect(await accessLine(envoy, '/users/9')).toBe('ATTR path=/users/9 code=403 op=GetUser client=bot tenant=none risk=high principal=-');
    expect(upstream.requests.some((r) => r.path === '/users/9')).toBe(false);
  });

  it('an invalid configuration is refused at load, and Envoy logs the field and position', async () => {
    const bad = { attributes: [{ name: 'op', rules: [{ when: "request.method == 'GET' &&", value: "'x'" }] }] };
    const err = await chain(recorder.port, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvoyStartError);
    expect((err as EnvoyStartError).log).toContain(
      'attributes: invalid plugin configuration: attributes[0].rules[0].when: attribute "op": at 26: expected a value',
    );
  });
});

describe('routing on an attribute (real Envoy)', () => {
  it('a route matching an attribute header is chosen after the filter wrote it; a forged header does not select it', async () => {
    const envoy = await startEnvoy({
      config: (p) => {
        const cfg = httpProxyBootstrap({
          listenerPort: p['listener']!,
          adminPort: p['admin']!,
          upstreamPort: upstream.port,
          httpFilters: [wasmHttpFilter({ name: 'attributes', wasmPath: join(buildDir, 'attributes.wasm'), config: attributesConfig })],
        }) as Record<string, any>;
        const hcm = cfg['static_resources'].listeners[0].filter_chains[0].filters[0].typed_config;
        const routes = hcm.route_config.virtual_hosts[0].routes as Json[];
        routes.unshift(
          { match: { prefix: '/', headers: [{ name: 'x-attr-client', string_match: { exact: 'bot' } }] }, direct_response: { status: 429, body: { inline_string: 'slow down' } } },
          { match: { prefix: '/', headers: [{ name: 'x-attr-version', string_match: { exact: 'v2' } }] }, direct_response: { status: 200, body: { inline_string: 'api v2' } } },
        );
        return cfg as Json;
      },
    });
    const bot = await fetch(envoy.url('/users/1'), { headers: { 'user-agent': 'masscan/1.3' } });
    expect(bot.status).toBe(429);
    expect(await bot.text()).toBe('slow down');
    const v2 = await fetch(envoy.url('/api/v2/users'), { headers: BROWSER });
    expect(await v2.text()).toBe('api v2');
    // The client sends the routing headers itself: removed before routing, so the default route serves it.
    const forged = await fetch(envoy.url('/users/1'), { headers: { ...BROWSER, 'x-attr-client': 'bot', 'x-attr-version': 'v2' } });
    expect(forged.status).toBe(200);
    expect(echoed(await forged.text())['x-attr-client']).toBe('browser');
  });
});

describe('the documented bootstrap (envoy-configs/attributes.yaml)', () => {
  it('runs as is: attributes upstream, in the access log, and a route chosen by one', async () => {
    const envoy = await startEnvoy({
      config: readFileSync(join(repoRoot, 'envoy-configs', 'attributes.yaml'), 'utf8'),
      vars: {
        upstream_port: upstream.port,
        wasm_dir: buildDir,
        plugin_config: JSON.stringify({
          attributes: [
            { name: 'op', operation: { 'GET /orders/{id}': 'GetOrder' }, outputs: { header: 'x-attr-op' } },
            { name: 'client', client_class: {}, outputs: { header: 'x-attr-client' } },
          ],
        }),
      },
    });
    const ok = await fetch(envoy.url('/orders/1'), { headers: BROWSER });
    expect(echoed(await ok.text())).toMatchObject({ 'x-attr-op': 'GetOrder', 'x-attr-client': 'browser' });
    expect(await envoy.waitForLog(/GET \/orders\/1 200 [^\n]*/)).toBe('GET /orders/1 200 op=GetOrder client=browser');
    const bot = await fetch(envoy.url('/orders/2'), { headers: { 'user-agent': 'zgrab/0.x' } });
    expect(bot.status).toBe(429);
  });
});

describe('dynamic metadata from an earlier filter (real Envoy)', () => {
  it('reads metadata.filter_metadata values set by header_to_metadata', async () => {
    const envoy = await startEnvoy({
      config: (p) =>
        httpProxyBootstrap({
          listenerPort: p['listener']!,
          adminPort: p['admin']!,
          upstreamPort: upstream.port,
          httpFilters: [
            {
              name: 'envoy.filters.http.header_to_metadata',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config',
                request_rules: [{ header: 'x-canary', on_header_present: { metadata_namespace: 'envoy.lb', key: 'canary', type: 'STRING' }, remove: true }],
              },
            },
            wasmHttpFilter({
              name: 'attributes',
              wasmPath: join(buildDir, 'attributes.wasm'),
              config: {
                attributes: [
                  { name: 'canary', rules: [{ value: "metadata.filter_metadata['envoy.lb'].canary" }], default: "'absent'", outputs: { header: 'x-attr-canary' } },
                ],
              },
            }),
          ],
        }) as Json,
    });
    const on = echoed(await (await fetch(envoy.url('/m'), { headers: { 'x-canary': 'blue' } })).text());
    expect(on['x-attr-canary']).toBe('blue');
    expect(on['x-canary']).toBeUndefined();
    const off = echoed(await (await fetch(envoy.url('/m'))).text());
    expect(off['x-attr-canary']).toBe('absent');
  });
});

describe("attributes feed the project's ext_authz server (Istio-style policy on attribute headers)", () => {
  let server: AuthzServer;
  beforeAll(async () => {
    const loopback = { host: '127.0.0.1', port: 0 };
    server = await startAuthzServer(
      {
        log_level: 'warn',
        server: { grpc: loopback, http: { enabled: false }, admin: loopback },
        policy: {
          policies: [
            { name: 'no-bots', action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-attr-client]', values: ['bot'] }] }] },
            {
              name: 'only-admins-delete',
              action: 'DENY',
              rules: [{ when: [{ key: 'request.headers[x-attr-op]', values: ['DeleteUser'] }, { key: 'request.headers[x-attr-role]', not_values: ['admin'] }] }],
            },
          ],
        },
      },
      { logSink: () => {}, shutdownGraceMs: 100 },
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it('allows and denies on the attributes the filter computed, not on what the client sent', async () => {
    const envoy = await chain(server.ports.grpc!);
    const admin = token({ role: 'admin' });
    const viewer = token({ role: 'viewer' });
    const del = (headers: Record<string, string>) => fetch(envoy.url('/users/5'), { method: 'DELETE', headers: { ...BROWSER, ...headers } });
    expect((await del({ authorization: `Bearer ${admin}` })).status).toBe(200);
    expect((await del({ authorization: `Bearer ${viewer}` })).status).toBe(403);
    // Forging the role header does not help: the filter replaces it with the token's claim.
    expect((await del({ authorization: `Bearer ${viewer}`, 'x-attr-role': 'admin' })).status).toBe(403);
    expect((await del({ 'x-attr-role': 'admin' })).status).toBe(403);
    // A scanner is refused whatever it claims.
    expect((await fetch(envoy.url('/users/5'), { headers: { 'user-agent': 'Nuclei', 'x-attr-client': 'browser' } })).status).toBe(403);
    expect((await fetch(envoy.url('/users/5'), { headers: BROWSER })).status).toBe(200);
  });
});
