// The WAF filter's memory footprint per request: how many distinct 64-byte lines of the wasm VM's
// memory a GET reads or writes (the bundled ruleset at PL1, in the Node host). In Envoy a request
// finds most of these lines evicted by the other work on the cores (the client, the upstream,
// other streams), so each line is a likely cache miss: fewer lines is less time, which
// instruction counts (callgrind) do not show. `bench/waf-cold.mjs` times the same GET cold.
// Each load and store is counted through binaryen's `instrument-memory` pass.
// BENCH_WAF_WASM (default build/waf.wasm), BENCH_WAF_WASM_B: a second build side by side.
// BENCH_TOP=n: the n functions that touch the most lines first in a request (function names need
// a build with names: `npx asc filters/waf/filter.ts --config filters/waf/asconfig.json --target
// release --debug --outFile <file>`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFilter, loadFilter } from '../sdk/dist/host/index.js';
import { browserHeaders, bundledPl1, getWithNewValues, okUpstream as upstream } from './lib/waf-workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let binaryen;
try {
  // AssemblyScript's own dependency.
  binaryen = (await import(createRequire(import.meta.url).resolve('binaryen'))).default;
} catch (e) {
  console.error(`bench/waf-footprint: binaryen is missing (${e.message}); run \`npm ci\``);
  process.exit(1);
}
const requests = Number(process.env.BENCH_REQUESTS ?? 20);
const top = Number(process.env.BENCH_TOP ?? 0);

// The pass's hooks: each load and store passes its address through `load_ptr` / `store_ptr`
// (and its value through `*_val_*`, returned unchanged).
let recording = false;
const touched = new Map(); // line -> id of the first access in this request
let accesses = 0;
const seen = (id, offset, ptr) => {
  if (recording) {
    accesses++;
    const line = (ptr + offset) >>> 6;
    if (!touched.has(line)) touched.set(line, id);
  }
  return ptr;
};
const same = (id, v) => v;
const hooks = {
  load_ptr: (id, bytes, offset, ptr) => seen(id, offset, ptr),
  store_ptr: (id, bytes, offset, ptr) => seen(id, offset, ptr),
  load_val_i32: same, load_val_i64: same, load_val_f32: same, load_val_f64: same,
  store_val_i32: same, store_val_i64: same, store_val_f32: same, store_val_f64: same,
  memory_grow_pre: (delta) => delta, memory_grow_post: (result) => result,
};
// The host links only the proxy-wasm ABI; the hooks are added when the instance is made.
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === 'env' && imp.name in hooks) (imports.env ??= {})[imp.name] = hooks[imp.name];
  }
  return new Instance(module, imports);
};

async function measure(path) {
  const bytes = readFileSync(path);
  const mod = binaryen.readBinary(bytes);
  mod.runPasses(['instrument-memory']);
  // Which function each access id is in (the pass numbers them; read back from its output).
  const owner = new Map();
  for (const chunk of mod.emitText().split(/\n \(func /).slice(1)) {
    const name = chunk.slice(0, chunk.search(/[\s(]/)).replace(/^\$/, '');
    for (const m of chunk.matchAll(/call \$(?:load|store)_ptr\n\s*\(i32\.const (\d+)\)/g)) owner.set(Number(m[1]), name);
  }
  const instrumented = mod.emitBinary();
  mod.dispose();
  // Checked and linked as the original module, run as the instrumented one.
  const compiled = await compileFilter(bytes);
  compiled.module = await WebAssembly.compile(instrumented);
  const host = await loadFilter(compiled, { name: 'waf', config: bundledPl1 });
  const fixed = { method: 'GET', path: '/products/search?q=running+shoes&size=42&color=blue&sort=price_asc&page=2', headers: browserHeaders, upstream };
  const cases = [['GET, new arg values each time', (i) => ({ ...getWithNewValues(i), upstream })], ['GET, 10 headers, 5 args', () => fixed]];
  const out = [];
  try {
    for (const [name, request] of cases) {
      // Warm: the rules' plan, the value table and the pools as in a serving VM.
      for (let i = 0; i < 200; i++) await host.http(request(i));
      let lines = 0, again = 0, count = 0;
      let before = new Set();
      const firsts = new Map();
      for (let r = 0; r < requests; r++) {
        touched.clear();
        accesses = 0;
        recording = true;
        await host.http(request(1000 + r));
        recording = false;
        lines += touched.size;
        count += accesses;
        for (const [line, id] of touched) {
          if (before.has(line)) again++;
          const f = owner.get(id) ?? '?';
          firsts.set(f, (firsts.get(f) ?? 0) + 1);
        }
        before = new Set(touched.keys());
      }
      out.push({ name, lines: lines / requests, again: again / (requests - 1), accesses: count / requests, firsts });
    }
  } finally {
    host.close();
  }
  return out;
}

const builds = [['this build', process.env.BENCH_WAF_WASM ?? join(root, 'build', 'waf.wasm')]];
if (process.env.BENCH_WAF_WASM_B) builds.push(['build B', process.env.BENCH_WAF_WASM_B]);
const results = [];
for (const [label, path] of builds) results.push([label, await measure(path)]);

console.log(`\nWAF filter (bundled ruleset, PL1), Node host: distinct 64-byte lines of the VM's memory per request (mean of ${requests})\n`);
console.log('| request | build | lines | KiB | also touched by the request before | loads and stores |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (let c = 0; c < results[0][1].length; c++) {
  for (const [label, cases] of results) {
    const x = cases[c];
    console.log(`| ${x.name} | ${label} | ${x.lines.toFixed(0)} | ${(x.lines / 16).toFixed(0)} | ${x.again.toFixed(0)} | ${x.accesses.toFixed(0)} |`);
  }
}
if (top > 0) {
  for (const [label, cases] of results) {
    console.log(`\n${label}, ${cases[0].name}: lines by the function that touched them first in the request`);
    const list = [...cases[0].firsts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [f, n] of list) console.log(`${(n / requests).toFixed(1).padStart(8)}  ${f}`);
  }
}
