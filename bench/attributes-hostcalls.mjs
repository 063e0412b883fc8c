// Where the attributes filter's time goes, in the Node proxy-wasm host (sdk/src/host, V8 like
// Envoy's): host calls per request by kind, and the time per request spent in wasm (the stream
// callbacks minus the host calls they make) and in the host calls. In Envoy every host call also
// crosses from the VM into C++ (and the calls that return data call back into the VM to allocate),
// so the call count matters beyond what this host's own time shows.
//
// Variants: the 10 typical attributes of attributes-envoy.mjs, the same without outputs, and the
// 1-attribute floor; each with build/attributes.wasm and, if BENCH_ATTR_BASE_WASM is set, with
// that build too, interleaved in one run; plus the hand-written module that makes the typical
// configuration's host calls and nothing else (bench/lib/attributes-host-floor.mjs), whose counts
// must equal the typical filter's (checked here: attributes-envoy.mjs measures it as the floor of
// any implementation). BENCH_REQUESTS (default 4000 per variant).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typical, constant, noOutputs, requestHeaders, requestMethod, requestPath } from './lib/attributes-workload.mjs';
import { writeHostFloorModule } from './lib/attributes-host-floor.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = process.env.BENCH_ATTR_WASM ?? join(root, 'build', 'attributes.wasm');
const baseWasmPath = process.env.BENCH_ATTR_BASE_WASM;
const requests = Number(process.env.BENCH_REQUESTS ?? 4000);
for (const p of [wasmPath, baseWasmPath]) {
  if (p !== undefined && !existsSync(p)) {
    console.error(`bench/attributes-hostcalls: ${p} is missing; run \`npm run build\``);
    process.exit(1);
  }
}
let hostApi;
try {
  hostApi = await import('../sdk/dist/host/index.js');
} catch (e) {
  console.error(`bench/attributes-hostcalls: the SDK is not built (${e.message}); run \`npm run build\``);
  process.exit(1);
}
const { loadFilter } = hostApi;

// Instrumentation: every module instantiated from here on gets counting wrappers around its
// `env.proxy_*` imports and timed `proxy_on_*` exports. `current` is the variant being driven.
let current = null;
const now = () => process.hrtime.bigint();
const OriginalInstance = WebAssembly.Instance;
WebAssembly.Instance = function Instance(module, imports) {
  const wrapped = { ...imports, env: { ...imports.env } };
  for (const [name, fn] of Object.entries(imports.env ?? {})) {
    if (typeof fn !== 'function' || !name.startsWith('proxy_')) continue;
    wrapped.env[name] = (...args) => {
      const v = current;
      if (v === null || !v.measuring) return fn(...args);
      const t = now();
      try {
        return fn(...args);
      } finally {
        v.hostNs += now() - t;
        v.calls.set(name, (v.calls.get(name) ?? 0) + 1);
      }
    };
  }
  const instance = new OriginalInstance(module, wrapped);
  const exports = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    exports[name] = typeof value === 'function' && name.startsWith('proxy_on_') && name !== 'proxy_on_memory_allocate'
      ? (...args) => {
          const v = current;
          if (v === null || !v.measuring) return value(...args);
          const t = now();
          try {
            return value(...args);
          } finally {
            v.callbackNs += now() - t;
            v.callbacks++;
          }
        }
      : value;
  }
  return Object.freeze({ exports: Object.freeze(exports) });
};
WebAssembly.Instance.prototype = OriginalInstance.prototype;

const builds = [{ label: '', path: wasmPath }];
if (baseWasmPath !== undefined) builds.push({ label: ' (base build)', path: baseWasmPath });
const configs = [
  { name: '1 constant attribute', config: constant },
  { name: '10 typical attributes', config: typical },
  { name: '10 typical, no outputs', config: noOutputs },
];
const variants = [];
/** Loads `path` with `config` as a counted variant (its instantiation goes through the wrappers above). */
async function addVariant(name, path, config) {
  const v = { name, calls: new Map(), hostNs: 0n, callbackNs: 0n, callbacks: 0, measuring: false, wasmPerRequest: [], hostPerRequest: [] };
  current = v;
  v.filter = await loadFilter(path, { name: 'attributes', config, logLevel: 'warn' });
  current = null;
  variants.push(v);
}
for (const c of configs) for (const b of builds) await addVariant(c.name + b.label, b.path, c.config);
const floorDir = mkdtempSync(join(tmpdir(), 'meshward-attr-floor-'));
await addVariant('the typical host calls alone (hand-written module)', await writeHostFloorModule(floorDir), {});
const request = (i) => ({ method: requestMethod, path: requestPath(i), headers: requestHeaders, properties: { source: { address: '127.0.0.1:40000' } } });

try {
  // Warm-up (V8 tiers up the wasm code), then interleaved measured requests.
  for (let i = 0; i < 500; i++) for (const v of variants) { current = v; await v.filter.http(request(i)); }
  for (let i = 0; i < requests; i++) {
    for (const v of variants) {
      current = v;
      const [host0, callback0] = [v.hostNs, v.callbackNs];
      v.measuring = true;
      const res = await v.filter.http(request(i));
      v.measuring = false;
      v.hostPerRequest.push(Number(v.hostNs - host0));
      v.wasmPerRequest.push(Number(v.callbackNs - callback0 - (v.hostNs - host0)));
      if (res.status !== 200 || res.trap) throw new Error(`${v.name}: status ${res.status}${res.trap ? ', trap' : ''}`);
    }
  }
  current = null;
  const kinds = [...new Set(variants.flatMap((v) => [...v.calls.keys()]))].sort();
  const per = (n) => (Number(n) / requests).toFixed(1);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const us = (ns) => (ns / 1000).toFixed(2);
  console.log(`\nAttributes filter in the Node host, ${requests} requests per variant, interleaved; per request\n`);
  console.log(`| variant | callbacks | host calls | ${kinds.map((k) => k.replace(/^proxy_/, '')).join(' | ')} | in wasm µs p50 | in host calls µs p50 |`);
  console.log(`| --- | ---: | ---: | ${kinds.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const v of variants) {
    const total = [...v.calls.values()].reduce((a, b) => a + b, 0);
    console.log(`| ${v.name} | ${per(v.callbacks)} | ${per(total)} | ${kinds.map((k) => per(v.calls.get(k) ?? 0)).join(' | ')} | ` +
      `${us(median(v.wasmPerRequest))} | ${us(median(v.hostPerRequest))} |`);
  }
  // The floor module stands for the filter in attributes-envoy.mjs only while it makes the same calls.
  const typicalRow = variants.find((v) => v.name === '10 typical attributes');
  const floorRow = variants.at(-1);
  const mismatched = kinds.filter((k) => (typicalRow.calls.get(k) ?? 0) !== (floorRow.calls.get(k) ?? 0));
  if (mismatched.length > 0) {
    console.error(`\nbench/attributes-hostcalls: the hand-written floor module's host calls differ from the filter's in ${mismatched.join(', ')}; update bench/lib/attributes-host-floor.mjs`);
    process.exitCode = 1;
  } else console.log('\nThe hand-written module makes the same host calls as the filter with the typical configuration.');
  console.log('\n"in wasm": time inside the proxy_on_* callbacks minus the host calls they made, median per request (this');
  console.log('host\'s timer overhead included); "in host calls": this Node host\'s time for them, not Envoy\'s.');
} finally {
  for (const v of variants) v.filter.close();
  rmSync(floorDir, { recursive: true, force: true });
}
