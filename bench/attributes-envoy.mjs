// Added latency of the attributes filter (filters/attributes) through real Envoy, in one run:
// the same requests go to Envoys that differ only in their HTTP filters, interleaved request by
// request (so machine noise hits every variant alike):
//   no filter              the router alone
//   1 constant attribute   the wasm filter with one attribute `'x'` (the cost of running any wasm filter)
//   10 typical attributes  operation, client_class, api_version, spiffe, header and claim rules,
//                          ip_in_cidr, a regex, `in`, and a rule over earlier attributes; 10 to
//                          filter state, 5 to request headers
// Two measures per request: the client's round trip (keep-alive HTTP/1.1), and Envoy's own
// %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)% from the access log (first request byte in to first
// byte sent upstream: header parsing plus the filter chain), which has no client or upstream noise.
// Goal: under 20 µs added at p50 for 10 attributes.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = join(root, 'build', 'attributes.wasm');
if (!existsSync(wasmPath)) {
  console.error('bench/attributes-envoy: build/attributes.wasm is missing; run `npm run build`');
  process.exit(1);
}
let envoyApi;
try {
  envoyApi = await import('../sdk/dist/envoy/index.js');
} catch (e) {
  console.error(`bench/attributes-envoy: the SDK is not built (${e.message}); run \`npm run build\``);
  process.exit(1);
}
const { startEnvoy, stopAllEnvoys, httpProxyBootstrap, wasmHttpFilter, startEchoUpstream, envoyVersionLine } = envoyApi;
const seconds = Number(process.env.BENCH_SECONDS ?? 8);

const typical = {
  log_level: 'warn',
  attributes: [
    {
      name: 'op',
      operation: {
        'GET /api/{version}/users/{id}': 'GetUser', 'PUT /api/{version}/users/{id}': 'UpdateUser', 'DELETE /api/{version}/users/{id}': 'DeleteUser',
        'GET /api/{version}/users': 'ListUsers', 'POST /api/{version}/orders': 'CreateOrder', 'GET /static/**': 'Static',
      },
      default: "'Unknown'",
      outputs: { header: 'x-attr-op' },
    },
    { name: 'client', client_class: {}, outputs: { header: 'x-attr-client' } },
    { name: 'version', api_version: { header: 'x-api-version' }, outputs: { header: 'x-attr-version' } },
    { name: 'peer_ns', spiffe: 'namespace' },
    {
      name: 'tier',
      rules: [
        { when: "request.headers['x-plan'] == 'gold'", value: "'premium'" },
        { when: "request.headers['x-plan'] in ['silver', 'bronze']", value: "'standard'" },
      ],
      default: "'free'",
      outputs: { header: 'x-attr-tier' },
    },
    { name: 'tenant', rules: [{ when: 'has(jwt.claims.org.tenant)', value: 'jwt.claims.org.tenant' }], default: "'none'" },
    { name: 'internal', rules: [{ value: "ip_in_cidr(source.address, ['10.0.0.0/8', '127.0.0.0/8'])" }] },
    { name: 'numeric_id', rules: [{ value: "request.url_path.matches('/users/[0-9]+$')" }] },
    { name: 'write', rules: [{ value: "request.method in ['POST', 'PUT', 'PATCH', 'DELETE']" }] },
    {
      name: 'risk',
      rules: [
        { when: "attr.client == 'bot'", value: "'high'" },
        { when: "attr.write && !attr.internal", value: "'medium'" },
      ],
      default: "'low'",
      outputs: { header: 'x-attr-risk' },
    },
  ],
};
const constant = { log_level: 'warn', attributes: [{ name: 'x', rules: [{ value: "'x'" }] }] };

const ACCESS = 'BENCH %REQ(x-bench-variant)% %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%';
const variants = [
  { name: 'no filter', filters: [] },
  { name: '1 constant attribute', filters: [wasmHttpFilter({ name: 'attributes', wasmPath, config: constant })] },
  { name: '10 typical attributes', filters: [wasmHttpFilter({ name: 'attributes', wasmPath, config: typical })] },
];

const upstream = await startEchoUpstream();
const agents = [];
try {
  for (const v of variants) {
    v.envoy = await startEnvoy({
      config: (p) => httpProxyBootstrap({ listenerPort: p['listener'], adminPort: p['admin'], upstreamPort: upstream.port, httpFilters: v.filters, accessLogFormat: ACCESS }),
      logLevel: 'warn',
    });
    v.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(v.agent);
    v.port = Number(new URL(v.envoy.url('/')).port);
    v.rtt = [];
  }

  const headers = {
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'accept-language': 'en', accept: 'application/json',
    'x-plan': 'silver', 'x-api-version': '2',
  };
  const get = (v, i) =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { host: '127.0.0.1', port: v.port, path: `/api/v2/users/${i % 1000}`, method: 'PUT', agent: v.agent, headers: { ...headers, 'x-bench-variant': String(variants.indexOf(v)) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`${v.name}: status ${res.statusCode}`));
            else resolve(Number(process.hrtime.bigint() - started) / 1000);
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  // Warm-up (connections, V8 tiers), then measured rounds until the time is up.
  for (let i = 0; i < 300; i++) for (const v of variants) await get(v, i);
  const warmLogLength = variants.map((v) => v.envoy.log().length);
  const end = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < end) {
    for (const v of variants) v.rtt.push(await get(v, i));
    i++;
  }
  await new Promise((r) => setTimeout(r, 1500)); // access logs are flushed every second

  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  for (const [k, v] of variants.entries()) {
    const lines = v.envoy.log().slice(warmLogLength[k]).split('\n').filter((l) => l.startsWith(`BENCH ${k} `));
    v.inEnvoy = lines.map((l) => Number(l.split(' ')[2])).filter((n) => Number.isFinite(n));
  }
  // Added p50: the median over rounds (blocks of ROUND consecutive requests, sent interleaved) of
  // the variant's round median minus the baseline's in the same round, so load that comes and
  // goes on this shared machine cancels round by round. Added p99: p99 minus the baseline's p99.
  const ROUND = 50;
  const roundMedians = (xs) => {
    const out = [];
    for (let r = 0; r + ROUND <= xs.length; r += ROUND) out.push(pct(xs.slice(r, r + ROUND), 50));
    return out;
  };
  const addedP50 = (xs, base) => {
    const a = roundMedians(xs), b = roundMedians(base);
    const n = Math.min(a.length, b.length);
    return n === 0 ? NaN : pct(a.slice(0, n).map((m, r) => m - b[r]), 50);
  };
  const base = variants[0];
  const fmt = (n) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(0));
  const signed = (n) => (n === undefined || Number.isNaN(n) ? 'n/a' : `${n >= 0 ? '+' : ''}${n.toFixed(0)}`);
  console.log(`\nAttributes filter through real Envoy (${envoyVersionLine?.() ?? 'envoy'}, concurrency 1), ${i} requests per variant, interleaved; µs\n`);
  console.log('| variant | round trip p50 | p99 | added p50 | added p99 | in Envoy p50 | p99 | added p50 | added p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of variants) {
    const r50 = pct(v.rtt, 50), r99 = pct(v.rtt, 99);
    const e50 = v.inEnvoy.length ? pct(v.inEnvoy, 50) : NaN, e99 = v.inEnvoy.length ? pct(v.inEnvoy, 99) : NaN;
    const isBase = v === base;
    console.log(`| ${v.name} | ${fmt(r50)} | ${fmt(r99)} | ${isBase ? '' : signed(addedP50(v.rtt, base.rtt))} | ${isBase ? '' : signed(r99 - pct(base.rtt, 99))} | ` +
      `${fmt(e50)} | ${fmt(e99)} | ${isBase ? '' : signed(addedP50(v.inEnvoy, base.inEnvoy))} | ${isBase ? '' : signed(e99 - pct(base.inEnvoy, 99))} |`);
  }
  const [, floor, typicalRow] = variants;
  console.log(`\n10 typical attributes above the wasm floor (1 constant attribute), in Envoy: ${signed(addedP50(typicalRow.inEnvoy, floor.inEnvoy))} µs at p50.`);
  console.log('added p50: median over rounds of 50 of the round-median difference to "no filter"; added p99: p99 minus its p99.');
  console.log('\n"in Envoy" = %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%: first request byte in to first byte sent upstream.');
  console.log('Goal: 10 typical attributes add under 20 µs at p50.');
} finally {
  for (const a of agents) a.destroy();
  await stopAllEnvoys();
  await upstream.close();
}
