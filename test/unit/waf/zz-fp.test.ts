import { it } from 'vitest';
import { attackCases, benignCases } from '../../waf-corpus/corpus.js';
import { loadWaf, matchedRules } from '../../support/waf.js';
it('fp', async () => {
  const pl = Number(process.env.PL ?? 1);
  const host = await loadWaf({ ruleset: { paranoia_level: pl }, audit_log: false, log_level: 'error' });
  const rc = new Map<number, number>();
  for (const c of benignCases()) { const r = await host.http(c.request); if (r.status === 403) { const m = matchedRules(r); m.forEach(x=>rc.set(x,(rc.get(x)??0)+1)); if (process.env.SHOWFP) console.log('FP', m.join(','), c.id, JSON.stringify(c.request).slice(0, 300)); } }
  console.log('FP rules', [...rc.entries()].sort((a,b)=>b[1]-a[1]));
  if (process.env.SHOWMISS) for (const c of attackCases()) { const r = await host.http(c.request); if (r.status !== 403) console.log('MISS', c.id, matchedRules(r).join(','), JSON.stringify(c.request).slice(0, 250)); }
  host.close();
}, 300000);
