// What a proxy-wasm host call costs in real Envoy (V8), measured with tiny hand-written modules
// (WebAssembly text, compiled here with wabt) whose proxy_on_request_headers makes 1 or 20 calls
// of one kind and nothing else: the floor of any wasm filter (a module that does nothing), the
// first call of a kind in a request, and each further one. Explains where a filter's time goes
// (see docs/attributes.md, "Cost"); the filters themselves are measured by their own benchmarks.
//
// Same method as attributes-envoy.mjs: variants interleaved request by request, Envoy's own
// %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)% per request, added p50 = median over rounds of the
// round-median difference to "no filter". BENCH_SECONDS (default 30).
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVariantEnvoys, logMarks, collectInEnvoy, addedP50 as added } from './lib/envoy-variants.mjs';

let envoyApi, wabtInit;
try {
  envoyApi = await import('../sdk/dist/envoy/index.js');
  wabtInit = (await import('wabt')).default;
} catch (e) {
  console.error(`bench/envoy-hostcalls: ${e.message}; run \`npm install\` and \`npm run build\``);
  process.exit(1);
}
const { stopAllEnvoys, wasmHttpFilter, startEchoUpstream, envoyVersionLine } = envoyApi;
const seconds = Number(process.env.BENCH_SECONDS ?? 30);

// Static data: property paths (NUL-separated), a filter-state key, header names, a value.
const MODULE_HEAD = `(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "source\\00address")
  (data (i32.const 96) "connection\\00uri_san_peer_certificate")
  (data (i32.const 160) "meshward.bench.a")
  (data (i32.const 192) "x-bench-a")
  (data (i32.const 224) "value")
  ;; The host's buffers all land at 65536: nothing here keeps them.
  (func (export "malloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
`;
const CALLS = {
  'get_property, NotFound (connection.uri_san_peer_certificate, plaintext)': '(drop (call $get_property (i32.const 96) (i32.const 35) (i32.const 0) (i32.const 4)))',
  'get_property with data (source.address)': '(drop (call $get_property (i32.const 64) (i32.const 14) (i32.const 0) (i32.const 4)))',
  get_header_map_pairs: '(drop (call $pairs (i32.const 0) (i32.const 0) (i32.const 4)))',
  set_property: '(drop (call $set_property (i32.const 160) (i32.const 16) (i32.const 224) (i32.const 5)))',
  replace_header_map_value: '(drop (call $replace_header (i32.const 0) (i32.const 192) (i32.const 9) (i32.const 224) (i32.const 5)))',
};
const moduleText = (body) =>
  `${MODULE_HEAD}  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) ${body} (i32.const 0)))`;

const wabt = await wabtInit();
const dir = mkdtempSync(join(tmpdir(), 'meshward-hostcalls-'));
const wasmFile = (name, body) => {
  const path = join(dir, `${name}.wasm`);
  writeFileSync(path, wabt.parseWat(`${name}.wat`, moduleText(body)).toBinary({}).buffer);
  return path;
};
const filterOf = (path) => [wasmHttpFilter({ name: 'probe', wasmPath: path, config: {} })];
const variants = [
  { name: 'no filter', filters: [] },
  { name: 'wasm module doing nothing', filters: filterOf(wasmFile('empty', '')) },
];
for (const [i, [kind, call]] of Object.entries(CALLS).entries()) {
  variants.push({ name: `${kind} x1`, kind, n: 1, filters: filterOf(wasmFile(`k${i}x1`, call)) });
  variants.push({ name: `${kind} x20`, kind, n: 20, filters: filterOf(wasmFile(`k${i}x20`, Array(20).fill(call).join(' '))) });
}
// Is the dear first call the first of each kind, or just the first of the request?
const everyKind = Object.values(CALLS);
variants.push({ name: `one call of each of the ${everyKind.length} kinds`, filters: filterOf(wasmFile('every-kind', everyKind.join(' '))) });

const upstream = await startEchoUpstream();
let agents = [];
try {
  agents = await startVariantEnvoys(envoyApi, variants, upstream);
  const get = (v, k) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: v.port, path: '/', agent: v.agent, headers: { 'x-bench-variant': String(k) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${v.name}: status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 200; i++) for (const [k, v] of variants.entries()) await get(v, k);
  const marks = logMarks(variants);
  const end = performance.now() + seconds * 1000;
  let rounds = 0;
  while (performance.now() < end) {
    for (const [k, v] of variants.entries()) await get(v, k);
    rounds++;
  }
  await collectInEnvoy(variants, marks);
  const [base, empty] = variants;
  const fmt = (n) => (Number.isNaN(n) ? 'n/a' : n.toFixed(1));
  console.log(`\nProxy-wasm host calls in real Envoy (${envoyVersionLine?.() ?? 'envoy'}, concurrency 1), ${rounds} requests per variant, interleaved; µs in Envoy\n`);
  console.log('| variant | added p50 | above the module doing nothing | per call |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| ${empty.name} | ${fmt(added(empty.inEnvoy, base.inEnvoy))} | | |`);
  for (const v of variants.slice(2)) {
    const above = added(v.inEnvoy, empty.inEnvoy);
    // x1: the first call of its kind in a request; x20: the further calls, from the difference to x1.
    let per = above;
    if (v.n === undefined) {
      console.log(`| ${v.name} | ${fmt(added(v.inEnvoy, base.inEnvoy))} | ${fmt(above)} | |`);
      continue;
    }
    if (v.n === 20) {
      const one = variants.find((o) => o.kind === v.kind && o.n === 1);
      per = (above - added(one.inEnvoy, empty.inEnvoy)) / 19;
    }
    console.log(`| ${v.name} | ${fmt(added(v.inEnvoy, base.inEnvoy))} | ${fmt(above)} | ${fmt(per)}${v.n === 20 ? ' (each further call)' : ' (first call)'} |`);
  }
  console.log('\nA call that returns data also makes Envoy call the module\'s malloc (a call back into the VM).');
} finally {
  for (const a of agents) a.destroy();
  await stopAllEnvoys();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
}
