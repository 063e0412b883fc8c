import { it } from 'vitest';
import { attackCases } from '../../waf-corpus/corpus.js';
import { loadWaf } from '../../support/waf.js';
it('one', async () => {
  const host = await loadWaf({ ruleset: { paranoia_level: 1 } });
  for (const id of (process.env.IDS ?? '').split(',')) {
    const c = attackCases().find((x) => x.id === id)!;
    const r = await host.http(c.request);
    console.log(id, r.status, JSON.stringify(c.request).slice(0, 600), '\n', r.logs.map((l) => l.message.slice(0, 300)).join('\n'));
  }
  host.close();
});
