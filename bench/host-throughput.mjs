// How many request round trips per second the Node host (@meshward/sdk/host) drives through a
// filter, on one core (Node runs the VM and the host on one thread). Variants run side by side in
// one process: a no-op filter in hand-written WAT (the floor), and the add-header SDK filter.
// Each round trip: request headers, upstream (scripted, no network), response headers, on_log,
// on_done, on_delete. Goal: 50,000 round trips/s or more for a trivial filter.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { loadFilter } from '../sdk/dist/host/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

const NOOP_WAT = `(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))`;

async function noopWasm() {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('noop.wat', NOOP_WAT);
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

const upstream = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
const request = { method: 'GET', path: '/bench', headers: { 'user-agent': 'bench', accept: '*/*' }, upstream };

async function measure(name, wasm, options) {
  const f = await loadFilter(wasm, { ...options, logLimit: 1000 });
  for (let i = 0; i < 2000; i++) await f.http(request); // warm-up: JIT and the VM's allocator
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 500; i++) await f.http(request);
    n += 500;
  }
  const elapsed = (performance.now() - t0) / 1000;
  f.close();
  return { name, perSecond: n / elapsed, usPer: (elapsed * 1e6) / n };
}

const results = [
  await measure('no-op filter (WAT)', await noopWasm(), {}),
  await measure('add-header (AssemblyScript, SDK)', readFileSync(join(root, 'build', 'add-header.wasm')), {
    rootId: 'add-header',
    config: JSON.stringify({ response_headers: { 'x-bench': '1' } }),
  }),
];

const floor = results[0];
console.log(`\nNode proxy-wasm host throughput (one core, ${seconds} s per variant, Node ${process.version})\n`);
console.log('| filter | round trips/s | µs per round trip | cost vs no-op |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of results) {
  console.log(`| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.usPer.toFixed(1)} | ${(r.usPer / floor.usPer).toFixed(2)}x |`);
}
console.log(`\ngoal: >= 50,000 round trips/s through a trivial filter: ${floor.perSecond >= 50_000 ? 'met' : 'NOT met'}`);
