// The attributes filter's own time per request when the CPU caches are cold, as under Envoy in
// attributes-envoy.mjs (several Envoys and the client take turns on 2 cores, so a request finds
// the filter's code and data evicted), without Envoy's noise: the module runs in a minimal
// proxy-wasm host written here (the few imports the filter uses; header map and properties
// served from buffers prepared once), and only proxy_on_request_headers is timed. Three regimes
// per build, interleaved: "cold" (an 8 MiB sweep evicts the caches before each request), "memory
// warm" (the same, then the wasm memory is read once: the difference to cold is what data misses
// cost), "warm" (the request repeated right away). On this machine cold time tracks the
// "evaluation" and "reads" parts of attributes-cost.mjs in Envoy far better than warm time does.
//
// BENCH_REQUESTS (default 4000 per variant and regime); BENCH_ATTR_WASM (default
// build/attributes.wasm); BENCH_ATTR_BASE_WASM: a second build side by side; BENCH_CONFIG:
// typical (default), no-outputs or constant; BENCH_SWEEP_MIB (default 8).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typical, constant, noOutputs, requestHeaders, requestMethod, requestPath } from './lib/attributes-workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const builds = [process.env.BENCH_ATTR_WASM ?? join(root, 'build', 'attributes.wasm')];
if (process.env.BENCH_ATTR_BASE_WASM) builds.push(process.env.BENCH_ATTR_BASE_WASM);
for (const p of builds) {
  if (!existsSync(p)) {
    console.error(`bench/attributes-cold: ${p} is missing; run \`npm run build\``);
    process.exit(1);
  }
}
const configs = { typical, 'no-outputs': noOutputs, constant };
const configName = process.env.BENCH_CONFIG ?? 'typical';
const config = configs[configName];
if (!config) {
  console.error(`bench/attributes-cold: BENCH_CONFIG must be one of ${Object.keys(configs).join(', ')}`);
  process.exit(1);
}
const requests = Number(process.env.BENCH_REQUESTS ?? 4000);
const sweepBytes = Number(process.env.BENCH_SWEEP_MIB ?? 8) * 1024 * 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Serialized header pairs (Proxy-Wasm format), one buffer per distinct path. */
const pairsCache = new Map();
function headerPairs(i) {
  const path = requestPath(i);
  let buf = pairsCache.get(path);
  if (buf) return buf;
  const entries = [[':authority', 'localhost'], [':path', path], [':method', requestMethod], [':scheme', 'http'],
    ...Object.entries(requestHeaders), ['x-forwarded-proto', 'http'], ['x-request-id', '5f0c3a1e-8d2b-4c6e-9a7f-1b2c3d4e5f60']]
    .map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + 8 * entries.length;
  for (const [k, v] of entries) size += k.length + v.length + 2;
  buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  view.setUint32(0, entries.length, true);
  let at = 4 + 8 * entries.length;
  entries.forEach(([k, v], n) => {
    view.setUint32(4 + 8 * n, k.length, true);
    view.setUint32(8 + 8 * n, v.length, true);
    buf.set(k, at); at += k.length + 1;
    buf.set(v, at); at += v.length + 1;
  });
  pairsCache.set(path, buf);
  return buf;
}

function load(path) {
  let ex;
  const cfg = enc.encode(JSON.stringify(config));
  // Properties by path; a plaintext connection without JWT: only source.address is found.
  const properties = new Map([['plugin_root_id', enc.encode('attributes')], ['source\0address', enc.encode('127.0.0.1:40000')]]);
  const byPointer = new Map();
  let pairs = null;
  const bytes = () => new Uint8Array(ex.memory.buffer);
  const give = (data, ptrPtr, sizePtr) => {
    const p = ex.malloc(data.length);
    bytes().set(data, p);
    const view = new DataView(ex.memory.buffer);
    view.setUint32(ptrPtr, p, true);
    view.setUint32(sizePtr, data.length, true);
    return 0;
  };
  const env = {
    proxy_log: (level, p, n) => { if (level >= 3) console.error(dec.decode(bytes().subarray(p, p + n))); return 0; },
    proxy_get_buffer_bytes: (type, start, n, ptrPtr, sizePtr) => give(cfg, ptrPtr, sizePtr),
    proxy_get_header_map_pairs: (type, ptrPtr, sizePtr) => give(pairs, ptrPtr, sizePtr),
    proxy_get_property: (p, n, ptrPtr, sizePtr) => {
      const key = p * 65536 + n; // the filter encodes each path once: its address identifies it
      let v = byPointer.get(key);
      if (v === undefined) { v = properties.get(dec.decode(bytes().subarray(p, p + n))) ?? null; byPointer.set(key, v); }
      return v === null ? 1 /* NotFound */ : give(v, ptrPtr, sizePtr);
    },
    proxy_set_property: () => 0,
    proxy_add_header_map_value: () => 0,
    proxy_replace_header_map_value: () => 0,
    proxy_remove_header_map_value: () => 0,
    proxy_set_effective_context: () => 0,
  };
  ex = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env }).exports;
  ex.proxy_on_context_create(1, 0);
  ex.proxy_on_vm_start(1, 0);
  if (!ex.proxy_on_configure(1, cfg.length)) throw new Error(`${path}: the configuration was refused`);
  let id = 2;
  return {
    touchMemory() { const a = new Int32Array(ex.memory.buffer); let x = 0; for (let j = 0; j < a.length; j += 16) x += a[j]; return x; },
    request(i) {
      pairs = headerPairs(i);
      const c = id++;
      ex.proxy_on_context_create(c, 1);
      const t = process.hrtime.bigint();
      ex.proxy_on_request_headers(c, 10, 1);
      const ns = Number(process.hrtime.bigint() - t);
      ex.proxy_on_response_headers(c, 0, 1);
      ex.proxy_on_delete(c);
      return ns;
    },
  };
}

const sweep = new Int32Array(sweepBytes >> 2);
let sink = 0;
const evict = () => { for (let j = 0; j < sweep.length; j += 16) sink += sweep[j]++; };
const variants = [];
for (const b of builds) {
  const f = load(b);
  const name = b === builds[0] ? 'this build' : `base build (${b})`;
  variants.push({ name: `${name}, cold`, f, before: () => evict() });
  variants.push({ name: `${name}, memory warm`, f, before: () => { evict(); f.touchMemory(); } });
  variants.push({ name: `${name}, warm`, f, before: (i) => f.request(i) });
}
for (let i = 0; i < 2000; i++) for (const v of variants) v.f.request(i);
for (const v of variants) v.ns = [];
for (let i = 0; i < requests; i++) {
  for (const v of variants) {
    v.before(i);
    v.ns.push(v.f.request(i));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`\nAttributes filter (${configName} configuration) in a minimal Node host, ${requests} requests per row, interleaved; µs in proxy_on_request_headers\n`);
console.log('| build, regime | p50 |');
console.log('| --- | ---: |');
for (const v of variants) console.log(`| ${v.name} | ${(median(v.ns) / 1000).toFixed(1)} |`);
console.log(`\ncold: ${sweepBytes >> 20} MiB swept before each request; memory warm: then the wasm memory read once; warm: right after the same request.`);
if (sink === 0.5) console.log('');
