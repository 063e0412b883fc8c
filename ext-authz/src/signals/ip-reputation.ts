import { cidrContains, parseIp, type Cidr } from '../cidr.js';
import { join } from '../config/reader.js';
import { defineSignal, type SignalOutcome } from './api.js';
import { cidrSource } from './helpers.js';

export interface ReputationList {
  name: string;
  score: number;
  cidrs: Cidr[];
}

/**
 * IP reputation: named lists of addresses and CIDR blocks (from files, reloaded when they change,
 * or inline), each with the score a match gives. The request scores the highest matching list.
 * `input.signals.ip_reputation` = `{ score, lists: ["tor-exits", ...] }`.
 */
export const ipReputation = defineSignal<{ lists: ReputationList[] }>({
  name: 'ip_reputation',
  defaultWeight: 60,
  parse(m, ctx) {
    ctx.reader.mapping(m, ctx.path, ['lists']);
    const raw = ctx.reader.list(m['lists'], join(ctx.path, 'lists'), { required: true, nonEmpty: true }) ?? [];
    const lists: ReputationList[] = [];
    raw.forEach((item, i) => {
      const p = join(join(ctx.path, 'lists'), i);
      const l = ctx.reader.mapping(item, p, ['name', 'file', 'cidrs', 'score'], true);
      if (!l) return;
      const name = ctx.reader.string(l['name'], join(p, 'name'), { required: true });
      const score = ctx.reader.integer(l['score'], join(p, 'score'), 100, { min: 0, max: 100 });
      const cidrs = cidrSource(ctx, l, p);
      if (name !== undefined) lists.push({ name, score, cidrs });
    });
    return { lists };
  },
  create: ({ lists }) => ({
    name: 'ip_reputation',
    evaluate(ctx): SignalOutcome {
      const bytes = ctx.facts.sourceIp === undefined ? undefined : parseIp(ctx.facts.sourceIp);
      if (!bytes) return { score: 0, data: { lists: [], unknown_source: true } };
      // One pass over the lists, no intermediate arrays (read on every Check; most addresses are on none).
      let score = 0;
      const reasons: string[] = [];
      const names: string[] = [];
      for (const l of lists) {
        let listed = false;
        for (const c of l.cidrs) if ((listed = cidrContains(c, bytes))) break;
        if (!listed) continue;
        score = Math.max(score, l.score);
        reasons.push(`listed ${l.name}`);
        names.push(l.name);
      }
      return { score, reasons, data: { lists: names } };
    },
  }),
});
