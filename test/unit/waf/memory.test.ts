// The WAF is built with AssemblyScript's minimal runtime (filters/waf/asconfig.json): nothing is
// freed unless the filter collects, and it collects only at top-level points, where no frame of
// the filter is live (sdk/assembly/collect.ts, abi-collect.ts): after each step of loading the
// configuration, at the end of a stream once 8 MiB were allocated since the last collection,
// before a large body that would pass that budget. These tests check that this keeps the VM's
// memory flat and under 32 MiB, that GETs and large bodies collect by the garbage they make (not
// every few dozen GETs, not before every body), and that collecting far more often changes no
// decision (a collection that freed something still in use would).
// build/waf-heap-probe.wasm is the same filter with exports that measure its heap.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, loadFilter, type CompiledFilter, type HttpRequestInit, type HttpResult, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { attackCases, benignCases } from '../../waf-corpus/corpus.js';
import { loadCrsVectors } from '../../support/crs-vectors.js';
import { anomalyScore, auditLines, loadWaf, matchedRules, repoRoot } from '../../support/waf.js';

const MiB = 1024 * 1024;
const LIMIT = 32 * MiB;
const memoryBytes = (f: ProxyWasmHost) => (f.vm(0).instance.exports['memory'] as WebAssembly.Memory).buffer.byteLength;
const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', accept: 'text/html', cookie: 'session=abc123; theme=dark' };
const upstream = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });

/** A JSON order of about `size` characters whose values differ by `seed`. */
function jsonBody(size: number, seed: number): string {
  const items: object[] = [];
  let s = '';
  for (let i = 0; s.length < size; i++) {
    items.push({ id: i, sku: `SKU-${seed}-${i}`, name: `Item ${seed} number ${i}`, note: "customer's choice", tags: ['a', 'b'] });
    s = JSON.stringify({ order: seed, items });
  }
  return s;
}

/** A JSON object of ~`size` characters of tiny values ({"k0":"7",...}): the most garbage per byte of input. */
function tinyJson(size: number, seed: number): string {
  let s = '{';
  for (let i = 0; s.length < size - 20; i++) s += (i > 0 ? ',' : '') + `"k${i}":"${(i + seed) % 100}"`;
  return s + '}';
}

/** The request kinds of the memory budget (docs/waf.md "memory"), every one with new values. */
const kinds: Record<string, (i: number) => HttpRequestInit> = {
  get: (i) => ({ path: `/products/search?q=running+shoes+${i}&size=${i % 50}&color=blue${i}&sort=price_asc&page=${i}`, headers: { ...browser, 'x-request-id': `r-${i}` }, upstream }),
  json15k: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...browser, 'content-type': 'application/json' }, body: jsonBody(15 * 1024, i), upstream }),
  json64k: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...browser, 'content-type': 'application/json' }, body: jsonBody(64 * 1024, i), upstream }),
  // The bundled SecRequestBodyLimit (128 KiB) is the largest body inspected by default.
  json128k: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...browser, 'content-type': 'application/json' }, body: jsonBody(128 * 1024 - 1024, i), upstream }),
  form128k: (i) => ({
    method: 'POST', path: '/comment', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, upstream,
    body: `name=${i}&comment=` + encodeURIComponent(`O'Reilly said "hi" ${i} `.repeat(4000)).slice(0, 128 * 1024 - 1024),
  }),
  tinyJson15k: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...browser, 'content-type': 'application/json' }, body: tinyJson(15 * 1024, i), upstream }),
  tinyJson128k: (i) => ({ method: 'POST', path: '/api/orders', headers: { ...browser, 'content-type': 'application/json' }, body: tinyJson(127 * 1024, i), upstream }),
  tinyForm128k: (i) => {
    let body = '';
    for (let k = 0; body.length < 127 * 1024; k++) body += (k > 0 ? '&' : '') + `a${k}=${(k + i) % 10}`;
    return { method: 'POST', path: '/comment', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, body, upstream };
  },
};

describe('WAF memory (minimal runtime, collected at top-level points)', () => {
  let probe: CompiledFilter;
  beforeAll(async () => {
    probe = await compileFilter(readFileSync(join(repoRoot, 'build', 'waf-heap-probe.wasm')));
  });

  it('loads the bundled ruleset at every paranoia level without growing the VM (each load step is collected)', async () => {
    for (const pl of [1, 2, 3, 4]) {
      const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: pl } } });
      try {
        const ex = f.vm(0).instance.exports as Record<string, () => number>;
        const peak = ex['meshward_peak']!();
        // Loading in one call left ~58 MiB of garbage; in steps the heap stays far below the VM's size.
        expect(peak).toBeLessThan(16 * MiB);
        expect(memoryBytes(f)).toBeLessThanOrEqual(LIMIT);
        console.log(`PL${pl}: load peak ${(peak / MiB).toFixed(1)} MiB, live after ${(ex['meshward_heap_used']!() / MiB).toFixed(1)} MiB, VM ${memoryBytes(f) / MiB} MiB`);
      } finally {
        f.close();
      }
    }
  });

  it('each request kind peaks well within the VM: its garbage is freed before it piles up', async () => {
    const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    try {
      const ex = f.vm(0).instance.exports as Record<string, () => number>;
      const vm = memoryBytes(f);
      for (const [kind, make] of Object.entries(kinds)) {
        ex['meshward_reset_peak']!();
        const n = kind === 'get' ? 300 : kind === 'json15k' || kind === 'tinyJson15k' ? 60 : kind.startsWith('tiny') ? 4 : 10;
        for (let i = 0; i < n; i++) {
          const res = await f.http(make(i));
          expect(res.trap).toBeUndefined();
          expect(res.status).toBe(200);
        }
        const peak = ex['meshward_peak']!();
        console.log(`${kind} x${n}: heap peak ${(peak / MiB).toFixed(1)} MiB`);
        expect(peak).toBeLessThan(vm - 2 * MiB);
      }
      expect(memoryBytes(f)).toBe(vm);
    } finally {
      f.close();
    }
  });

  it('GETs collect by the garbage they make: a few times per 3,000, not every few dozen', async () => {
    const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    try {
      const ex = f.vm(0).instance.exports as Record<string, () => number>;
      const vm = memoryBytes(f);
      for (let i = 0; i < 100; i++) await f.http(kinds['get']!(i)); // warm-up: per-value caches
      const c0 = ex['meshward_collections']!();
      ex['meshward_reset_peak']!();
      for (let i = 100; i < 3100; i++) expect((await f.http(kinds['get']!(i))).status).toBe(200);
      const collections = ex['meshward_collections']!() - c0;
      const peak = ex['meshward_peak']!();
      console.log(`3,000 GETs: ${collections} collections, heap peak ${(peak / MiB).toFixed(1)} MiB`);
      // ~9.5 KB of garbage each (their transactions' parts are reused) against 8 MiB allocated per
      // collection: about 3 (by input bytes and every 64 streams it was 47).
      expect(collections).toBeGreaterThanOrEqual(1);
      expect(collections).toBeLessThanOrEqual(8);
      expect(peak).toBeLessThan(20 * MiB);
      expect(memoryBytes(f)).toBe(vm);
    } finally {
      f.close();
    }
  });

  it('64 KiB JSON bodies collect every few bodies, by the garbage they make, not before each one', async () => {
    const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    try {
      const ex = f.vm(0).instance.exports as Record<string, () => number>;
      const vm = memoryBytes(f);
      for (let i = 0; i < 3; i++) await f.http(kinds['json64k']!(i)); // warm-up
      const c0 = ex['meshward_collections']!();
      ex['meshward_reset_peak']!();
      for (let i = 3; i < 23; i++) {
        const res = await f.http(kinds['json64k']!(i));
        expect(res.trap).toBeUndefined();
        expect(res.status).toBe(200);
      }
      const collections = ex['meshward_collections']!() - c0;
      const peak = ex['meshward_peak']!();
      console.log(`20 JSON bodies of 64 KiB: ${collections} collections, heap peak ${(peak / MiB).toFixed(1)} MiB`);
      // Each leaves ~2 MiB against the 8 MiB budget: a collection every 3-4 bodies (20 when
      // every large body was collected before).
      expect(collections).toBeGreaterThanOrEqual(2);
      expect(collections).toBeLessThanOrEqual(8);
      expect(peak).toBeLessThan(vm - 8 * MiB);
      expect(memoryBytes(f)).toBe(vm);
    } finally {
      f.close();
    }
  });

  it('counts what was allocated since the last collection as the heap grew', async () => {
    const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    try {
      const ex = f.vm(0).instance.exports as Record<string, () => number>;
      for (let i = 0; i < 100; i++) await f.http(kinds['get']!(i));
      // After a collection the filter did not make, the first count is high (the walk goes round
      // the whole list: the live heap, near the 8 MiB budget with the per-value caches), so a
      // stream's end collects soon (at once, or once the GETs' garbage makes up the difference):
      // counting starts afresh.
      ex['meshward_collect']!();
      const c0 = ex['meshward_collections']!();
      let i = 100;
      while (ex['meshward_collections']!() == c0 && i < 500) await f.http(kinds['get']!(i++));
      expect(ex['meshward_collections']!() - c0).toBe(1);
      expect(ex['meshward_allocated']!()).toBeLessThan(64 * 1024);
      const base = ex['meshward_heap_used']!();
      const counted0 = ex['meshward_allocated']!();
      for (const end = i + 200; i < end; i++) await f.http(kinds['get']!(i));
      expect(ex['meshward_collections']!() - c0).toBe(1);
      const grown = ex['meshward_heap_used']!() - base;
      const counted = ex['meshward_allocated']!() - counted0;
      console.log(`200 GETs: heap grew ${(grown / 1024).toFixed(0)} KiB, counted ${(counted / 1024).toFixed(0)} KiB`);
      expect(grown).toBeGreaterThan(1024 * 1024);
      expect(Math.abs(counted - grown)).toBeLessThan(grown * 0.05);
    } finally {
      f.close();
    }
  });

  it('bodies of tiny values after runs of GETs leave the VM at its size (their garbage lands on a collected heap)', async () => {
    const f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    try {
      const ex = f.vm(0).instance.exports as Record<string, () => number>;
      const vm = memoryBytes(f);
      let i = 0;
      ex['meshward_reset_peak']!();
      for (const gets of [390, 40, 60, 200, 10]) {
        for (let k = 0; k < gets; k++) expect((await f.http(kinds['get']!(i++))).status).toBe(200);
        for (const kind of ['tinyJson128k', 'tinyForm128k', 'tinyJson15k', 'tinyJson15k', 'tinyJson15k']) {
          const res = await f.http(kinds[kind]!(i++));
          expect(res.trap).toBeUndefined();
        }
      }
      const peak = ex['meshward_peak']!();
      console.log(`GETs and tiny-value bodies: heap peak ${(peak / MiB).toFixed(1)} MiB`);
      expect(peak).toBeLessThan(vm - 4 * MiB);
      expect(memoryBytes(f)).toBe(vm);
    } finally {
      f.close();
    }
  }, 120_000);

  it('the VM stays flat and under 32 MiB over thousands of mixed requests with new values', async () => {
    const f = await loadWaf({ ruleset: { paranoia_level: 1 }, audit_log: false });
    try {
      const atLoad = memoryBytes(f);
      expect(atLoad).toBeLessThanOrEqual(LIMIT);
      const send = async (i: number) => {
        const k = i % 100;
        const kind = k === 0 ? 'json128k' : k === 50 ? 'form128k' : k === 25 || k === 75 ? 'json64k' : k % 20 === 5 ? 'json15k' : 'get';
        const res = await f.http(kinds[kind]!(i));
        expect(res.trap).toBeUndefined();
        expect(res.status).toBe(200);
      };
      for (let i = 0; i < 1500; i++) await send(i);
      expect(memoryBytes(f)).toBe(atLoad);
      // Still deciding: an attack after all that is blocked.
      const attack = await f.http({ path: "/search?q=1'%20UNION%20SELECT%20password%20FROM%20users--", headers: browser });
      expect(attack.status).toBe(403);
      expect(matchedRules(attack)).toContain(949110);
    } finally {
      f.close();
    }
  }, 120_000);
});

/** What a request decided, as a user sees it. */
function outcome(res: HttpResult): string {
  if (res.trap) return `trap: ${res.trap.message}`;
  const audit = auditLines(res).map((a) => JSON.stringify(a));
  return JSON.stringify({ status: res.status, rules: matchedRules(res), score: anomalyScore(res), audit });
}

/**
 * The heap probe with a collection at every top-level point the host has: after each callback
 * into the VM (only outermost ones: a callback the VM triggers from a host call is not a
 * top-level point), so an object that only lived on because no collection came would be freed.
 * Reaches into the host's private table of the module's exports.
 */
function collectAfterEveryCallback(f: ProxyWasmHost): void {
  const vm = f.vm(0) as unknown as { fns: Record<string, (...a: number[]) => unknown> };
  const collect = vm.fns['meshward_collect']!;
  let depth = 0;
  for (const [name, fn] of Object.entries(vm.fns)) {
    if (!name.startsWith('proxy_on_')) continue;
    vm.fns[name] = (...args: number[]) => {
      depth++;
      try {
        return fn(...args);
      } finally {
        depth--;
        if (depth === 0) collect();
      }
    };
  }
}

// Every attack and benign case, and every 8th CRS regression stage (every one with
// WAF_GC_STRESS_ALL=1: 7,175 requests, about 5 minutes; a collection costs ~1 ms).
const crsStride = process.env['WAF_GC_STRESS_ALL'] === '1' ? 1 : 8;

describe('WAF decisions do not depend on when garbage is collected', () => {
  const requests: HttpRequestInit[] = [
    ...attackCases().map((c) => c.request),
    ...benignCases().map((c) => c.request),
    ...loadCrsVectors().cases.filter((_, i) => i % crsStride === 0).map((c) => c.request),
  ];
  let asBuilt: ProxyWasmHost;
  let stressed: ProxyWasmHost;
  beforeAll(async () => {
    const config = { ruleset: { paranoia_level: 4, inbound_threshold: 5 }, audit_log: true, log_level: 'warn' };
    asBuilt = await loadWaf(config);
    stressed = await loadFilter(await compileFilter(readFileSync(join(repoRoot, 'build', 'waf-heap-probe.wasm'))), { name: 'waf', config });
    collectAfterEveryCallback(stressed);
  });
  afterAll(() => {
    asBuilt?.close();
    stressed?.close();
  });

  it('the attack, benign and CRS corpora give the same status, rule ids, score and audit lines when collecting after every callback', async () => {
    expect(requests.length).toBeGreaterThan(1000);
    let differ = 0;
    const first: string[] = [];
    for (const req of requests) {
      const a = outcome(await asBuilt.http(req));
      const b = outcome(await stressed.http(req));
      if (a !== b) {
        differ++;
        if (first.length < 3) first.push(`${req.method ?? 'GET'} ${req.path}\n  as built: ${a}\n  stressed: ${b}`);
      }
    }
    expect(first.join('\n')).toBe('');
    expect(differ).toBe(0);
  }, 900_000);
});
