// Added latency of the attributes filter (filters/attributes) through real Envoy, in one run:
// the same requests go to Envoys that differ only in their HTTP filters, interleaved (so machine
// noise hits every variant alike):
//   no filter              the router alone
//   1 constant attribute   the wasm filter with one attribute `'x'` (the cost of running any wasm filter)
//   10 typical attributes  operation, client_class, api_version, spiffe, header and claim rules,
//                          ip_in_cidr, a regex, `in`, and a rule over earlier attributes; 10 to
//                          filter state, 5 to request headers
//   the same host calls    a hand-written module making exactly the host calls the filter makes for
//   alone                  this request and nothing else (bench/lib/attributes-host-floor.mjs): the
//                          floor of any implementation of these 10 attributes and outputs
// Two measures per request: the client's round trip (keep-alive HTTP/1.1), and Envoy's own
// %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)% from the access log (first request byte in to first
// byte sent upstream: header parsing plus the filter chain), which has no client or upstream noise.
// Goal: under 20 µs added at p50 for 10 attributes.
//
// BENCH_ORDER: both orders by default (half the time each); `requests` sends one request to each Envoy in turn, so every request
// finds the filter's code and data cold in the CPU caches (the other Envoys, the client and the
// upstream ran in between): the cost after a pause in traffic. `bursts` sends 50 requests in a row
// to each Envoy in turn: a steady stream per Envoy, as a proxy under continuous load serves it.
// BENCH_SECONDS (default 8); BENCH_ATTR_WASM: the build to measure (default build/attributes.wasm);
// BENCH_ATTR_BASE_WASM: another build (e.g. an older one) measured in the same run, for a before/after;
// BENCH_BREAKDOWN=1 adds the 10 attributes without outputs and with request headers only, so the
// cost of the outputs (filter-state writes, header writes) shows apart from evaluation and reads.
// BENCH_NEW_CLIENTS=1 gives every request its own User-Agent (the filter keeps recent clients'
// classes and decoded header values: this is the cost when nothing repeats).
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typical, constant, noOutputs, headersOnly, requestHeaders, requestMethod, requestPath } from './lib/attributes-workload.mjs';
import { writeHostFloorModule } from './lib/attributes-host-floor.mjs';
import { startVariantEnvoys, logMarks, collectInEnvoy, pct, addedP50, ROUND } from './lib/envoy-variants.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = process.env.BENCH_ATTR_WASM ?? join(root, 'build', 'attributes.wasm');
const baseWasmPath = process.env.BENCH_ATTR_BASE_WASM;
const breakdown = process.env.BENCH_BREAKDOWN === '1';
for (const p of [wasmPath, baseWasmPath]) {
  if (p !== undefined && !existsSync(p)) {
    console.error(`bench/attributes-envoy: ${p} is missing; run \`npm run build\``);
    process.exit(1);
  }
}
let envoyApi;
try {
  envoyApi = await import('../sdk/dist/envoy/index.js');
} catch (e) {
  console.error(`bench/attributes-envoy: the SDK is not built (${e.message}); run \`npm run build\``);
  process.exit(1);
}
const { stopAllEnvoys, wasmHttpFilter, startEchoUpstream, envoyVersionLine } = envoyApi;
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const newClients = process.env.BENCH_NEW_CLIENTS === '1';
if (!['requests', 'bursts', undefined].includes(process.env.BENCH_ORDER)) {
  console.error(`bench/attributes-envoy: BENCH_ORDER must be \`requests\` or \`bursts\`, not \`${process.env.BENCH_ORDER}\``);
  process.exit(1);
}
// Both orders by default, each for half of BENCH_SECONDS, with the same Envoys.
const orders = process.env.BENCH_ORDER ? [process.env.BENCH_ORDER] : ['requests', 'bursts'];
// As many requests in a row as addedP50 puts in one round, so a round compares adjacent bursts.
const BURST = ROUND;


const filter = (config, path = wasmPath) => [wasmHttpFilter({ name: 'attributes', wasmPath: path, config })];
const floorDir = mkdtempSync(join(tmpdir(), 'meshward-attr-floor-'));
const variants = [
  { name: 'no filter', filters: [] },
  { name: '1 constant attribute', filters: filter(constant) },
  { name: '10 typical attributes', filters: filter(typical) },
  { name: 'the same host calls alone (hand-written module)', filters: filter({}, await writeHostFloorModule(floorDir)) },
];
if (breakdown) {
  variants.push({ name: '10 typical, no outputs', filters: filter(noOutputs) });
  variants.push({ name: '10 typical, 5 headers, no filter state', filters: filter(headersOnly) });
}
if (baseWasmPath !== undefined) {
  variants.push({ name: '1 constant attribute (base build)', filters: filter(constant, baseWasmPath) });
  variants.push({ name: '10 typical attributes (base build)', filters: filter(typical, baseWasmPath) });
}

const upstream = await startEchoUpstream();
let agents = [];
try {
  agents = await startVariantEnvoys(envoyApi, variants, upstream);
  for (const v of variants) v.rtt = [];

  const headers = requestHeaders;
  // A serial, not the request's index: warm-up and both orders reuse indexes.
  let clientSerial = 1_000_000;
  const userAgent = () => (newClients ? `${requestHeaders['user-agent']} r${clientSerial++}` : requestHeaders['user-agent']);
  const get = (v, i) =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { host: '127.0.0.1', port: v.port, path: requestPath(i), method: requestMethod, agent: v.agent, headers: { ...headers, 'user-agent': userAgent(), 'x-bench-variant': String(variants.indexOf(v)) } },
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

  // Warm-up (connections, V8 tiers), then each order's measured rounds until its time is up.
  for (let i = 0; i < 300; i++) for (const v of variants) await get(v, i);
  const base = variants[0];
  const fmt = (n) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(0));
  const signed = (n) => (n === undefined || Number.isNaN(n) ? 'n/a' : `${n >= 0 ? '+' : ''}${n.toFixed(0)}`);
  for (const order of orders) {
    for (const v of variants) v.rtt = [];
    const marks = logMarks(variants);
    const end = performance.now() + (seconds * 1000) / orders.length;
    let i = 0;
    if (order === 'bursts') {
      // A steady stream per variant: BURST requests in a row to one Envoy, the variants taking turns.
      while (performance.now() < end) {
        for (const v of variants) for (let k = 0; k < BURST; k++) v.rtt.push(await get(v, i + k));
        i += BURST;
      }
    } else {
      while (performance.now() < end) {
        for (const v of variants) v.rtt.push(await get(v, i));
        i++;
      }
    }
    await collectInEnvoy(variants, marks);

    // Added p50: see addedP50 (bench/lib/envoy-variants.mjs). Added p99: p99 minus the baseline's p99.
    const how = order === 'bursts' ? `in bursts of ${BURST} (a steady stream per Envoy)` : 'one request to each Envoy in turn (cold caches)';
    const clients = newClients ? ', a new User-Agent every request' : '';
    console.log(`\nAttributes filter through real Envoy (${envoyVersionLine?.() ?? 'envoy'}, concurrency 1), ${i} requests per variant, ${how}${clients}; µs\n`);
    console.log('| variant | round trip p50 | p99 | added p50 | added p99 | in Envoy p50 | p99 | added p50 | added p99 |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const v of variants) {
      const r50 = pct(v.rtt, 50), r99 = pct(v.rtt, 99);
      const e50 = v.inEnvoy.length ? pct(v.inEnvoy, 50) : NaN, e99 = v.inEnvoy.length ? pct(v.inEnvoy, 99) : NaN;
      const isBase = v === base;
      console.log(`| ${v.name} | ${fmt(r50)} | ${fmt(r99)} | ${isBase ? '' : signed(addedP50(v.rtt, base.rtt))} | ${isBase ? '' : signed(r99 - pct(base.rtt, 99))} | ` +
        `${fmt(e50)} | ${fmt(e99)} | ${isBase ? '' : signed(addedP50(v.inEnvoy, base.inEnvoy))} | ${isBase ? '' : signed(e99 - pct(base.inEnvoy, 99))} |`);
    }
    const [, floor, typicalRow, hostCalls] = variants;
    console.log(`\n10 typical attributes above the wasm floor (1 constant attribute), in Envoy: ${signed(addedP50(typicalRow.inEnvoy, floor.inEnvoy))} µs at p50.`);
    console.log(`10 typical attributes above their host calls alone (the filter's own share), in Envoy: ${signed(addedP50(typicalRow.inEnvoy, hostCalls.inEnvoy))} µs at p50.`);
    for (const v of variants.slice(4)) {
      console.log(`${v.name} against 10 typical attributes, in Envoy: ${signed(addedP50(v.inEnvoy, typicalRow.inEnvoy))} µs at p50.`);
    }
  }
  if (baseWasmPath !== undefined) console.log(`\nbase build: ${baseWasmPath}`);
  console.log(`added p50: median over rounds of ${ROUND} of the round-median difference to "no filter"; added p99: p99 minus its p99.`);
  console.log('\n"in Envoy" = %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%: first request byte in to first byte sent upstream.');
  console.log('Goal: 10 typical attributes add under 20 µs at p50. Their host calls alone (no evaluation, no allocation)');
  console.log('are the floor of any implementation: where that row adds 20 µs or more, no filter can meet the goal.');
} finally {
  for (const a of agents) a.destroy();
  await stopAllEnvoys();
  await upstream.close();
  rmSync(floorDir, { recursive: true, force: true });
}
