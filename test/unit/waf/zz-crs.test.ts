import { it } from 'vitest';
import { loadCrsVectors } from '../../support/crs-vectors.js';
import { loadWaf, matchedRules } from '../../support/waf.js';
it('crs misses', async () => {
  const pl = Number(process.env.PL ?? 4);
  const fam = Number(process.env.FAM ?? 944);
  const host = await loadWaf({ ruleset: { paranoia_level: pl }, audit_log: false, log_level: 'error' });
  const cases = loadCrsVectors().cases.filter((c) => c.block === fam && c.attack);
  let shown = 0;
  for (const c of cases) {
    const r = await host.http(c.request);
    const ok = matchedRules(r).some((x) => Math.floor(x / 1000) === fam);
    if (!ok && shown++ < Number(process.env.MAX ?? 40)) console.log('MISS', c.id, c.request.method, decodeURIComponentSafe(c.request.path!).slice(0, 150), '|', String(c.request.body ?? '').slice(0, 150).replace(/\n/g, '\\n'), '|', JSON.stringify(c.request.headers).slice(0, 200));
  }
  host.close();
}, 300000);
function decodeURIComponentSafe(s: string) { try { return decodeURIComponent(s); } catch { return s; } }
