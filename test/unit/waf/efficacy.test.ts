// Efficacy of the bundled core ruleset, measured in the Node host at each paranoia level:
//  - the project's corpus (test/waf-corpus): detection (request blocked) per attack family, with
//    evasions, and the false-positive rate on realistic benign traffic;
//  - the OWASP CRS regression tests (../shared/vectors/crs-regression): per CRS family, the share
//    of attack stages that fire a rule of that family, and of negative stages that do not.
// It prints the tables and asserts the floors measured when the ruleset was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRequestInit, ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { attackCases, benignCases, type CorpusCase } from '../../waf-corpus/corpus.js';
import { loadCrsVectors } from '../../support/crs-vectors.js';
import { loadWaf, matchedRules } from '../../support/waf.js';

const LEVELS = [1, 2, 3, 4] as const;
const attacks = attackCases();
const benign = benignCases();
const crs = loadCrsVectors();

interface Outcome { blocked: boolean; rules: number[]; error?: string }

async function run(host: ProxyWasmHost, req: HttpRequestInit): Promise<Outcome> {
  try {
    const res = await host.http(req);
    if (res.trap) return { blocked: true, rules: [], error: `trap: ${res.trap.message}` };
    return { blocked: res.status === 403, rules: matchedRules(res) };
  } catch (e) {
    return { blocked: false, rules: [], error: (e as Error).message };
  }
}

const pct = (a: number, b: number) => (b === 0 ? '-' : ((100 * a) / b).toFixed(1) + '%');

const results = new Map<number, { corpus: Map<string, Outcome[]>; benign: Outcome[]; crs: Outcome[] }>();

describe('WAF efficacy (bundled ruleset, Node host)', () => {
  beforeAll(async () => {
    for (const pl of LEVELS) {
      const host = await loadWaf({ ruleset: { paranoia_level: pl }, audit_log: false, log_level: 'error' });
      try {
        const corpus = new Map<string, Outcome[]>();
        for (const c of attacks) {
          const o = await run(host, c.request);
          if (!corpus.has(c.family)) corpus.set(c.family, []);
          corpus.get(c.family)!.push(o);
          (o as Outcome & { case?: CorpusCase }).case = c;
        }
        const b: Outcome[] = [];
        for (const c of benign) {
          const o = await run(host, c.request);
          (o as Outcome & { case?: CorpusCase }).case = c;
          b.push(o);
        }
        const v: Outcome[] = [];
        for (const c of crs.cases) v.push(await run(host, c.request));
        results.set(pl, { corpus, benign: b, crs: v });
      } finally {
        host.close();
      }
    }
    report();
  }, 600_000);

  function report(): void {
    const families = [...new Set(attacks.map((a) => a.family))];
    const lines: string[] = ['', 'Corpus: detection (blocked) per family and false positives, by paranoia level', ''];
    lines.push(['family', 'cases', ...LEVELS.map((l) => `PL${l}`)].join('\t'));
    for (const f of families) {
      const n = attacks.filter((a) => a.family === f).length;
      lines.push([f, n, ...LEVELS.map((l) => { const o = results.get(l)!.corpus.get(f)!; return pct(o.filter((x) => x.blocked).length, o.length); })].join('\t'));
    }
    lines.push(['ALL ATTACKS', attacks.length, ...LEVELS.map((l) => { const all = [...results.get(l)!.corpus.values()].flat(); return pct(all.filter((x) => x.blocked).length, all.length); })].join('\t'));
    lines.push(['benign (FP)', benign.length, ...LEVELS.map((l) => { const o = results.get(l)!.benign; return pct(o.filter((x) => x.blocked).length, o.length); })].join('\t'));
    lines.push('', `CRS regression tests: ${crs.cases.length} request stages (${crs.skipped} response/raw stages skipped); attack stages firing a rule of the family / negative stages firing one`, '');
    lines.push(['CRS family', 'attacks', ...LEVELS.map((l) => `PL${l}`), 'negatives', ...LEVELS.map((l) => `PL${l}`)].join('\t'));
    const blocks = [...new Set(crs.cases.map((c) => c.block))].sort();
    for (const b of blocks) {
      const idx = crs.cases.map((c, i) => [c, i] as const).filter(([c]) => c.block === b);
      const att = idx.filter(([c]) => c.attack);
      const neg = idx.filter(([c]) => !c.attack);
      const fired = (l: number, i: number) => results.get(l)!.crs[i]!.rules.some((r) => Math.floor(r / 1000) === b);
      lines.push([b, att.length, ...LEVELS.map((l) => pct(att.filter(([, i]) => fired(l, i)).length, att.length)), neg.length, ...LEVELS.map((l) => pct(neg.filter(([, i]) => fired(l, i)).length, neg.length))].join('\t'));
    }
    const allAtt = crs.cases.map((c, i) => [c, i] as const).filter(([c]) => c.attack);
    lines.push(['ALL', allAtt.length, ...LEVELS.map((l) => pct(allAtt.filter(([c, i]) => results.get(l)!.crs[i]!.rules.some((r) => Math.floor(r / 1000) === c.block)).length, allAtt.length))].join('\t'));
    lines.push(['ALL (blocked)', allAtt.length, ...LEVELS.map((l) => pct(allAtt.filter(([, i]) => results.get(l)!.crs[i]!.blocked).length, allAtt.length))].join('\t'));
    console.log(lines.join('\n'));
    if (process.env.WAF_EFFICACY_MISSES) {
      const l = Number(process.env.WAF_EFFICACY_MISSES);
      for (const o of [...results.get(l)!.corpus.values()].flat()) if (!o.blocked) console.log('MISS', (o as Outcome & { case: CorpusCase }).case.id, JSON.stringify((o as Outcome & { case: CorpusCase }).case.request).slice(0, 300));
      for (const o of results.get(l)!.benign) if (o.blocked) console.log('FP', o.rules.join(','), JSON.stringify((o as Outcome & { case: CorpusCase }).case.request).slice(0, 400));
    }
  }

  it('the corpus is big enough: at least 500 attacks (every family, with evasions) and 500 benign requests', () => {
    expect(attacks.length).toBeGreaterThanOrEqual(500);
    expect(benign.length).toBeGreaterThanOrEqual(500);
    // Every family is represented with a meaningful number of cases.
    for (const f of ['sqli', 'xss', 'lfi', 'rfi', 'rce', 'php', 'nodejs', 'java', 'session_fixation', 'scanner', 'protocol']) {
      expect([f, attacks.filter((a) => a.family === f).length >= 10]).toEqual([f, true]);
    }
    for (const ev of ['double-url-encoding', 'full-width-unicode', 'mixed-case', 'sql-comments', 'null-byte', 'parameter-pollution', 'path-trick']) {
      expect(attacks.some((a) => a.evasion === ev)).toBe(true);
    }
  });

  it('no request traps the filter or fails in the host', () => {
    for (const pl of LEVELS) {
      const r = results.get(pl)!;
      const errors = [...[...r.corpus.values()].flat(), ...r.benign].filter((o) => o.error);
      expect(errors.map((e) => e.error)).toEqual([]);
    }
  });

  const rate = (o: Outcome[]) => o.filter((x) => x.blocked).length / o.length;

  it('PL1 meets the goals on the corpus: at least 95% detection overall, at most 1% false positives', () => {
    const r = results.get(1)!;
    expect(rate([...r.corpus.values()].flat())).toBeGreaterThanOrEqual(0.95);
    expect(rate(r.benign)).toBeLessThanOrEqual(0.01);
  });

  it('holds the floors measured when the ruleset was written (corpus)', () => {
    const r1 = results.get(1)!;
    expect(rate([...r1.corpus.values()].flat())).toBeGreaterThanOrEqual(0.99); // measured 99.7%
    for (const [family, o] of r1.corpus) expect([family, rate(o)]).toEqual([family, expect.toSatisfy((x: number) => x >= 0.94)]); // lowest: protocol 94.3%
    // Higher levels detect at least as much.
    for (const pl of [2, 3, 4]) expect(rate([...results.get(pl)!.corpus.values()].flat())).toBeGreaterThanOrEqual(rate([...results.get(pl - 1)!.corpus.values()].flat()));
  });

  it('holds the floors measured when the ruleset was written (CRS regression tests)', () => {
    if (crs.cases.length === 0) throw new Error(`no CRS vectors under ../shared/vectors/crs-regression`);
    const fired = (pl: number, block?: number) => {
      const idx = crs.cases.map((c, i) => [c, i] as const).filter(([c]) => c.attack && (block === undefined || c.block === block));
      return idx.filter(([c, i]) => results.get(pl)!.crs[i]!.rules.some((id) => Math.floor(id / 1000) === c.block)).length / idx.length;
    };
    // Measured 2026-12-02 (before the detection work of that day: PL1 54.1%, PL2 78.0%, PL4 85.5%).
    expect(fired(1)).toBeGreaterThanOrEqual(0.77); // measured 78.0%
    expect(fired(2)).toBeGreaterThanOrEqual(0.89); // 90.1%
    expect(fired(4)).toBeGreaterThanOrEqual(0.93); // 94.0%
    expect(fired(1, 920)).toBeGreaterThanOrEqual(0.65); // 65.6%
    expect(fired(1, 921)).toBeGreaterThanOrEqual(0.86); // 86.7%
    expect(fired(1, 922)).toBeGreaterThanOrEqual(0.89); // 90.0%
    expect(fired(1, 930)).toBeGreaterThanOrEqual(0.85); // 86.4%
    expect(fired(1, 931)).toBeGreaterThanOrEqual(0.60); // 61.1%
    expect(fired(1, 932)).toBeGreaterThanOrEqual(0.70); // 71.0%
    expect(fired(2, 932)).toBeGreaterThanOrEqual(0.82); // 83.0%
    expect(fired(1, 933)).toBeGreaterThanOrEqual(0.85); // 86.0%
    expect(fired(1, 934)).toBeGreaterThanOrEqual(0.81); // 81.9%
    expect(fired(1, 941)).toBeGreaterThanOrEqual(0.83); // 84.1%
    expect(fired(1, 942)).toBeGreaterThanOrEqual(0.57); // 57.6%
    expect(fired(2, 942)).toBeGreaterThanOrEqual(0.86); // 86.8%
    expect(fired(4, 942)).toBeGreaterThanOrEqual(0.95); // 96.4%
    expect(fired(1, 943)).toBeGreaterThanOrEqual(0.99); // 100.0%
    expect(fired(1, 944)).toBeGreaterThanOrEqual(0.93); // 94.3%
    expect(fired(2, 944)).toBeGreaterThanOrEqual(0.98); // 99.1%
  });

  it('CRS negative stages (only ids that must not fire) do not fire more than measured', () => {
    const negFired = (pl: number) => crs.cases.map((c, i) => [c, i] as const).filter(([c]) => !c.attack)
      .filter(([c, i]) => results.get(pl)!.crs[i]!.rules.some((id) => Math.floor(id / 1000) === c.block)).length;
    // Stages of 977 that fire a rule of their family (many list only the one rule that must stay
    // quiet while the payload is still an attack for other rules). Before the 2026-12-02 work: 128 / 223.
    expect(negFired(1)).toBeLessThanOrEqual(128);
    expect(negFired(2)).toBeLessThanOrEqual(220);
  });

});
