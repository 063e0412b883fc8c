// Where the attributes filter's added latency goes in real Envoy, in one run: the 10 typical
// attributes (bench/lib/attributes-workload.mjs) as shipped, with their outputs turned off, and
// hand-made builds that each do one part of the per-request work (bench/attributes-variants/
// variant.ts.template, built here into build/bench-variants/): the module entry alone, the host reads
// alone, the evaluation alone (reads reused from the first request: no host call), the host
// reads and outputs without evaluation; plus a hand-written module doing nothing (the floor of
// any wasm filter). Same method as attributes-envoy.mjs: variants interleaved request by request,
// Envoy's own %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%, added p50 = median over rounds of the
// round-median difference. BENCH_SECONDS (default 20); BENCH_ATTR_WASM: the filter build.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typical, constant, noOutputs, withOutputs, requestHeaders, requestMethod, requestPath } from './lib/attributes-workload.mjs';
import { startVariantEnvoys, logMarks, collectInEnvoy, addedP50 } from './lib/envoy-variants.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = process.env.BENCH_ATTR_WASM ?? join(root, 'build', 'attributes.wasm');
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
let envoyApi, wabtInit;
try {
  envoyApi = await import('../sdk/dist/envoy/index.js');
  wabtInit = (await import('wabt')).default;
} catch (e) {
  console.error(`bench/attributes-cost: ${e.message}; run \`npm install\` and \`npm run build\``);
  process.exit(1);
}
if (!existsSync(wasmPath)) {
  console.error(`bench/attributes-cost: ${wasmPath} is missing; run \`npm run build\``);
  process.exit(1);
}
const { stopAllEnvoys, wasmHttpFilter, startEchoUpstream, envoyVersionLine } = envoyApi;

// The part builds: one source, MODE substituted, compiled with the filter's own asconfig.
const outDir = join(root, 'build', 'bench-variants');
mkdirSync(outDir, { recursive: true });
const source = readFileSync(join(root, 'bench', 'attributes-variants', 'variant.ts.template'), 'utf8');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const buildMode = (mode) => new Promise((resolve, reject) => {
  const entry = join(outDir, `mode${mode}.ts`);
  const out = join(outDir, `mode${mode}.wasm`);
  writeFileSync(entry, source.replaceAll('__MODE__', String(mode)));
  // Paths relative to the repository root: asc resolves the config's library folders against the working directory.
  const p = spawn(process.execPath, [asc, relative(root, entry), '--config', 'filters/attributes/asconfig.json', '--target', 'release', '--outFile', relative(root, out)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`building mode ${mode}: ${err}`))));
});
const parts = [];
for (const pair of [[0, 1], [2, 3]]) parts.push(...(await Promise.all(pair.map(buildMode))));

const wabt = await wabtInit();
const emptyPath = join(outDir, 'empty.wasm');
writeFileSync(emptyPath, wabt.parseWat('empty.wat', `(module
  (memory (export "memory") 2)
  (func (export "malloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0)))`).toBinary({}).buffer);

const filter = (config, path = wasmPath) => [wasmHttpFilter({ name: 'attributes', wasmPath: path, config })];
const variants = [
  { name: 'no filter', filters: [] },
  { name: 'wasm module doing nothing (hand-written)', filters: [wasmHttpFilter({ name: 'empty', wasmPath: emptyPath, config: {} })] },
  { name: 'part: the filter\'s entry only (config parsed, callback returns)', filters: filter(typical, parts[0]) },
  { name: '1 constant attribute', filters: filter(constant) },
  { name: 'part: host reads only (header map, 3 properties)', filters: filter(typical, parts[1]) },
  { name: 'part: evaluation only (reads reused, no host call, no outputs)', filters: filter(noOutputs, parts[2]) },
  { name: 'part: host reads + outputs (10 filter state, 5 headers), no evaluation', filters: filter(typical, parts[3]) },
  { name: '10 typical, no outputs', filters: filter(noOutputs) },
  { name: '10 typical, filter state only', filters: filter(withOutputs(() => ({}))) },
  { name: '10 typical attributes', filters: filter(typical) },
];

const upstream = await startEchoUpstream();
let agents = [];
try {
  agents = await startVariantEnvoys(envoyApi, variants, upstream);
  const get = (v, k, i) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: v.port, path: requestPath(i), method: requestMethod, agent: v.agent, headers: { ...requestHeaders, 'x-bench-variant': String(k) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${v.name}: status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  for (let i = 0; i < 300; i++) for (const [k, v] of variants.entries()) await get(v, k, i);
  const marks = logMarks(variants);
  const end = performance.now() + seconds * 1000;
  let rounds = 0;
  while (performance.now() < end) {
    for (const [k, v] of variants.entries()) await get(v, k, rounds);
    rounds++;
  }
  await collectInEnvoy(variants, marks);
  const [base, , entry] = variants;
  const fmt = (n) => (Number.isNaN(n) ? 'n/a' : `${n >= 0 ? '+' : ''}${n.toFixed(0)}`);
  console.log(`\nAttributes filter, cost by part in real Envoy (${envoyVersionLine?.() ?? 'envoy'}, concurrency 1), ${rounds} requests per variant, interleaved; µs in Envoy\n`);
  console.log('| variant | added p50 | above the filter\'s entry |');
  console.log('| --- | ---: | ---: |');
  for (const v of variants.slice(1)) {
    console.log(`| ${v.name} | ${fmt(addedP50(v.inEnvoy, base.inEnvoy))} | ${v === entry || variants.indexOf(v) < 2 ? '' : fmt(addedP50(v.inEnvoy, entry.inEnvoy))} |`);
  }
  console.log('\nThe parts do what the typical configuration does on a plaintext connection: reads of');
  console.log('connection.uri_san_peer_certificate and wasm.meshward.jwt.claims answer NotFound, source.address returns data.');
} finally {
  for (const a of agents) a.destroy();
  await stopAllEnvoys();
  await upstream.close();
}
