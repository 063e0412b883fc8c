// Instructions per wasm function from callgrind, per request: callgrind cannot name V8's wasm
// code, but wasm-to-wasm calls go through the module's jump table and callgrind files a call's
// cost under the address called, a jump-table slot (5 bytes, 12 to a 64-byte line on x64). Slot k
// is function index (imported functions + k), which V8's perf map names
// (`JS:<name>-<index>-turbofan`). Run the same driver twice, with N1 < N2 requests, under
//   valgrind --tool=callgrind --callgrind-out-file=<file> node --single-threaded --no-liftoff \
//     --perf-basic-prof bench/waf-host.mjs   (with BENCH_CPU_PROF=1 BENCH_CASE=json
//     BENCH_REQUESTS=N BENCH_WAF_WASM=<wasm>: N requests, new values each)
// (a build with names: `npx asc filters/waf/filter.ts --config filters/waf/asconfig.json
// --target release --debug --outFile <wasm>`), then
//   node scripts/wasm-callgrind.mjs <wasm> <run1.cg> <run2.cg> <N2 - N1> [top]
// prints the difference per request by function (wasm ones as `wasm:<name>`, the rest as
// callgrind names them). Needs callgrind_annotate; reads /tmp/perf-<pid>.map of each run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [wasm, run1, run2, perRequests, top = '40'] = process.argv.slice(2);
if (!perRequests) {
  console.error('usage: node scripts/wasm-callgrind.mjs <named.wasm> <run1.cg> <run2.cg> <requests in run2 - run1> [top]');
  process.exit(2);
}
const module = new WebAssembly.Module(readFileSync(wasm));
const imported = WebAssembly.Module.imports(module).filter((i) => i.kind === 'function').length;

/** Self instructions by function name in one callgrind run, and the run's total. */
function costsOf(file) {
  const pid = readFileSync(file, 'utf8').match(/^pid: (\d+)/m)?.[1];
  const names = new Map();
  let lowestWasm = null;
  for (const line of readFileSync(`/tmp/perf-${pid}.map`, 'utf8').split('\n')) {
    const m = line.match(/^([0-9a-f]+) [0-9a-f]+ JS:(.*)-(\d+)-turbofan$/);
    if (!m) continue;
    names.set(Number(m[3]), m[2]);
    const at = BigInt('0x' + m[1]);
    if (m[2].includes('/') && (lowestWasm === null || at < lowestWasm)) lowestWasm = at;
  }
  const rows = [];
  let total = 0;
  const text = execFileSync('callgrind_annotate', ['--threshold=100', file], { maxBuffer: 1 << 28 }).toString();
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$/);
    if (!m) continue;
    const ir = Number(m[1].replaceAll(',', ''));
    if (m[2].includes('PROGRAM TOTALS')) total = ir;
    else rows.push([ir, m[2]]);
  }
  // The jump table starts the wasm code space: below the lowest function, page-aligned.
  const slots = rows
    .map(([, name]) => name.match(/^\?\?\?:0x([0-9a-f]+)(?:'\d+)? \[\?\?\?\]$/))
    .filter((m) => m !== null)
    .map((m) => BigInt('0x' + m[1]))
    .filter((a) => lowestWasm !== null && a < lowestWasm && lowestWasm - a < 1n << 20n);
  const table = slots.length > 0 ? slots.reduce((a, b) => (b < a ? b : a)) & ~0xfffn : null;
  const costs = new Map();
  for (const [ir, raw] of rows) {
    let name = raw.replace(/\(.*$/, '').replace(/^\?\?\?:/, '').replace(/ \[.*$/, '');
    const m = raw.match(/^\?\?\?:0x([0-9a-f]+)(?:'\d+)? \[\?\?\?\]$/);
    if (m && table !== null) {
      const off = Number(BigInt('0x' + m[1]) - table);
      if (off >= 0 && off < 1 << 20) {
        const index = imported + Math.floor(off / 64) * 12 + Math.floor((off % 64) / 5);
        name = 'wasm:' + (names.get(index) ?? `#${index}`);
      }
    }
    costs.set(name, (costs.get(name) ?? 0) + ir);
  }
  return { costs, total };
}

const a = costsOf(run1);
const b = costsOf(run2);
const n = Number(perRequests);
const diff = new Map();
for (const k of new Set([...a.costs.keys(), ...b.costs.keys()])) diff.set(k, ((b.costs.get(k) ?? 0) - (a.costs.get(k) ?? 0)) / n);
const total = (b.total - a.total) / n;
const wasmTotal = [...diff].filter(([k]) => k.startsWith('wasm:')).reduce((s, [, v]) => s + v, 0);
console.log(`per request: ${(total / 1e6).toFixed(2)} M instructions, ${(wasmTotal / 1e6).toFixed(2)} M in wasm`);
for (const [k, v] of [...diff].sort((x, y) => y[1] - x[1]).slice(0, Number(top))) {
  console.log(`${(v / 1e6).toFixed(3).padStart(9)} M ${((100 * v) / total).toFixed(2).padStart(6)} %  ${k}`);
}
