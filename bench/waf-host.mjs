// The WAF filter's own cost per request, in the Node proxy-wasm host (the same V8 as Envoy, no
// network): the bundled ruleset at PL1 over the requests of waf-envoy.mjs, every request with new
// values (so the filter's per-value results kept across requests do not answer for it), against
// a near-empty rule set (one rule; the floor of the host and the filter's request handling).
// BENCH_WAF_WASM_B: a second build (e.g. the one before a change), measured interleaved with
// build/waf.wasm in the same process (an A/B on the same machine state).
// BENCH_SECONDS (default 2) per case and build. BENCH_CPU_PROF=1 with `node --cpu-prof`: profile
// one case (BENCH_CASE=get|getsame|json|jsonsame|path4|path16|path64) on build/waf.debug.wasm instead;
// BENCH_REQUESTS=N with BENCH_CPU_PROF=1: exactly N requests of that case (for callgrind).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFilter, loadFilter } from '../sdk/dist/host/index.js';
import { browserHeaders as headers, bundledPl1 as bundled, getWithNewValues, hostileBodies, jsonBody, oneRuleFloor as floorConfig, okUpstream as upstream, pathologicalForm, withNewJsonValues } from './lib/waf-workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const profile = process.env.BENCH_CPU_PROF === '1';

const json = jsonBody(65536);
const cases = {
  get: (i) => ({ ...getWithNewValues(i), upstream }),
  // The same GET every time (the per-value results kept across requests answer for its values).
  getsame: () => ({ path: '/products/search?q=running+shoes+7&size=7&color=blue7&sort=price_asc&page=7', headers, upstream }),
  json: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...headers, 'content-type': 'application/json' }, body: withNewJsonValues(json, i), upstream }),
  // The same body every time (its values' results are kept across requests).
  jsonsame: () => ({ method: 'POST', path: '/api/orders', headers: { ...headers, 'content-type': 'application/json' }, body: json, upstream }),
  ...Object.fromEntries([4, 16, 64].map((k) => [`path${k}`, (i) => {
    const n = k * 1024;
    return { method: 'POST', path: '/submit', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, upstream,
      body: pathologicalForm(n, i) };
  }])),
};
const labels = { get: 'GET, 10 headers, 5 args', getsame: 'GET, the same every time', json: 'POST 64 KiB JSON', jsonsame: 'POST 64 KiB JSON, the same every time', path4: 'pathological 4 KiB', path16: 'pathological 16 KiB', path64: 'pathological 64 KiB' };

async function load(path, config) {
  return loadFilter(await compileFilter(readFileSync(path)), { name: 'waf', config });
}

let serial = 0;
/**
 * Mean CPU ms of this process per request over `ms` milliseconds of wall time (after a few
 * warm-up requests). CPU time, not wall time: other work on the machine moves it less.
 */
async function perRequest(host, make, ms) {
  for (let i = 0; i < 3; i++) await host.http(make(serial++));
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < ms || n < 3) {
    const res = await host.http(make(serial++));
    if (res.trap) throw new Error(`trap: ${JSON.stringify(res.trap)}`);
    n++;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

if (profile) {
  const which = process.env.BENCH_CASE ?? 'get';
  const host = await load(process.env.BENCH_WAF_WASM ?? join(root, 'build', 'waf.debug.wasm'), bundled);
  if (process.env.BENCH_REQUESTS) {
    // Exactly this many requests (for callgrind: runs of N1 and N2 requests subtracted, see scripts/wasm-callgrind.mjs).
    const n = Number(process.env.BENCH_REQUESTS);
    for (let i = 0; i < n; i++) {
      const res = await host.http(cases[which](serial++));
      if (res.trap) throw new Error(`trap: ${JSON.stringify(res.trap)}`);
    }
    console.log(`${labels[which]}: ${n} requests`);
  } else {
    const ms = await perRequest(host, cases[which], seconds * 1000);
    console.log(`${labels[which]}: ${(ms * 1000).toFixed(0)} µs per request`);
  }
  host.close();
} else {
  const builds = [['this build', process.env.BENCH_WAF_WASM ?? join(root, 'build', 'waf.wasm')]];
  if (process.env.BENCH_WAF_WASM_B) builds.push(['build B', process.env.BENCH_WAF_WASM_B]);
  const floor = await load(builds[0][1], floorConfig);
  const hosts = await Promise.all(builds.map(([, p]) => load(p, bundled)));
  const rows = [];
  // BENCH_ONLY=get,json: only those cases (`hostile`: only the hostile-body rows below).
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : Object.keys(cases);
  for (const c of only.filter((k) => k in cases)) {
    // Interleaved in slices, so a change in machine load hits every variant alike.
    const slices = 4;
    const sums = new Array(hosts.length + 1).fill(0);
    for (let s = 0; s < slices; s++) {
      sums[0] += await perRequest(floor, cases[c], (seconds * 1000) / slices);
      for (let h = 0; h < hosts.length; h++) sums[h + 1] += await perRequest(hosts[h], cases[c], (seconds * 1000) / slices);
    }
    rows.push([labels[c], ...sums.map((x) => (x / slices) * 1000)]);
  }
  console.log(`\nWAF filter (bundled ruleset, PL1) in the Node host, new values every request unless said, mean CPU µs per request, ${seconds} s per case and build\n`);
  console.log(`| request | floor (1 rule) | ${builds.map(([n]) => `${n} | ${n} minus floor`).join(' | ')} |`);
  console.log(`| --- | ---: | ${builds.map(() => '---: | ---:').join(' | ')} |`);
  for (const [name, f, ...b] of rows) console.log(`| ${name} | ${f.toFixed(0)} | ${b.map((x) => `${x.toFixed(0)} | ${(x - f).toFixed(0)}`).join(' | ')} |`);
  // Bodies shaped against the parsers (lib/waf-workload.mjs hostileBodies): time per request
  // at 16 and 64 KiB; linear work grows ~4x (it grew ~16x before the parsers were bounded). Each
  // shape gets a fresh filter per build: one whose memory blew up must not spoil the next rows.
  if (!process.env.BENCH_ONLY || only.includes('hostile')) {
    console.log(`\nHostile request bodies, the same build(s), mean CPU µs per request (linear: ~4x from 16 to 64 KiB)\n`);
    console.log(`| body | ${builds.map(([n]) => `${n}: 16 KiB | 64 KiB | growth`).join(' | ')} |`);
    console.log(`| --- | ${builds.map(() => '---: | ---: | ---:').join(' | ')} |`);
    for (const [name, shape] of Object.entries(hostileBodies)) {
      const cells = [];
      for (const [, path] of builds) {
        const h = await load(path, bundled);
        try {
          const at = [];
          for (const kb of [16, 64]) {
            const make = (i) => {
              const [contentType, body] = shape(kb * 1024, i);
              return { method: 'POST', path: '/submit', headers: { ...headers, 'content-type': contentType }, body, upstream };
            };
            const probe = await h.http(make(serial++));
            if (probe.trap || probe.status >= 500) throw new Error(`status ${probe.status}${probe.trap ? ', VM trapped' : ''}`);
            at.push(await perRequest(h, make, (seconds * 1000) / 4));
          }
          cells.push(`${(at[0] * 1000).toFixed(0)} | ${(at[1] * 1000).toFixed(0)} | ${(at[1] / at[0]).toFixed(1)}x`);
        } catch (e) {
          cells.push(`failed: ${e.message} | | `);
        } finally {
          h.close();
        }
      }
      console.log(`| ${name} | ${cells.join(' | ')} |`);
    }
  }
  floor.close();
  for (const h of hosts) h.close();
}
