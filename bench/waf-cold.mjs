// The WAF filter's time per GET when the CPU caches are cold, as in Envoy (the client, Envoy and
// the upstream take turns on 2 cores, so a request finds the filter's code and data evicted), and
// warm, in the Node proxy-wasm host: the bundled ruleset at PL1 against a one-rule floor, new
// values every request. "cold": a sweep of BENCH_SWEEP_MIB (default 16, several times the L2
// cache) before each request; "warm": another request right after it. The gap between the two is
// what cache misses cost, which instruction counts (callgrind) do not show.
// BENCH_REQUESTS (default 2000 per build and regime), BENCH_WAF_WASM (default build/waf.wasm),
// BENCH_WAF_WASM_B: a second build interleaved request by request (a before/after).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFilter, loadFilter } from '../sdk/dist/host/index.js';
import { bundledPl1 as bundled, getWithNewValues, oneRuleFloor as floorConfig, okUpstream as upstream } from './lib/waf-workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const sweep = new Int32Array((Number(process.env.BENCH_SWEEP_MIB ?? 16) << 20) >> 2);

const get = (i) => ({ ...getWithNewValues(i), upstream });

const load = async (path, config) => loadFilter(await compileFilter(readFileSync(path)), { name: 'waf', config });
const thisBuild = process.env.BENCH_WAF_WASM ?? join(root, 'build', 'waf.wasm');
const variants = [{ name: 'floor (1 rule)', host: await load(thisBuild, floorConfig) }, { name: 'this build', host: await load(thisBuild, bundled) }];
if (process.env.BENCH_WAF_WASM_B) variants.push({ name: 'build B', host: await load(process.env.BENCH_WAF_WASM_B, bundled) });

let sink = 0;
const evict = () => { for (let j = 0; j < sweep.length; j += 16) sink += sweep[j]++; };
let serial = 0;
async function timed(host) {
  const req = get(serial++);
  const t = process.hrtime.bigint();
  const res = await host.http(req);
  const ns = Number(process.hrtime.bigint() - t);
  if (res.trap) throw new Error(`trap: ${JSON.stringify(res.trap)}`);
  return ns / 1000;
}
for (let i = 0; i < 500; i++) for (const v of variants) await timed(v.host);
for (const v of variants) { v.cold = []; v.warm = []; }
for (let i = 0; i < requests; i++) {
  for (const v of variants) {
    evict();
    v.cold.push(await timed(v.host));
    v.warm.push(await timed(v.host));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const floor = variants[0];
console.log(`\nWAF filter (bundled ruleset, PL1), GET with new values, Node host, ${requests} requests per build and regime, interleaved; µs per request (p50)\n`);
console.log('| build | cold | warm | cold minus floor | warm minus floor |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const v of variants) {
  const c = median(v.cold), w = median(v.warm);
  const above = v === floor ? ['', ''] : [(c - median(floor.cold)).toFixed(0), (w - median(floor.warm)).toFixed(0)];
  console.log(`| ${v.name} | ${c.toFixed(0)} | ${w.toFixed(0)} | ${above.join(' | ')} |`);
}
console.log(`\ncold: ${sweep.byteLength >> 20} MiB swept before the request; warm: the next request right after it.`);
for (const v of variants) v.host.close();
if (sink === 0.5) console.log('');
