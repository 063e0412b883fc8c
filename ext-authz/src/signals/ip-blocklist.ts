import { cidrContains, parseIp, type Cidr } from '../cidr.js';
import { defineSignal, type RiskSignal, type SignalContext, type SignalOutcome } from './api.js';
import { cidrSource } from './helpers.js';

export interface IpBlocklistConfig {
  cidrs: Cidr[];
}

/**
 * Refuses requests whose source address (`source.address` of the CheckRequest; in HTTP mode the
 * client IP header when configured) lies in a listed CIDR block: a hard deny, before any score.
 * `input.signals.ip_blocklist` is `{ matched: boolean, block?: "<cidr>" }`; a request whose
 * source address is unknown passes with `{ matched: false, unknown_source: true }`.
 */
export class IpBlocklistSignal implements RiskSignal {
  readonly name = 'ip_blocklist';

  constructor(private readonly config: IpBlocklistConfig) {}

  get size(): number {
    return this.config.cidrs.length;
  }

  evaluate(ctx: Pick<SignalContext, 'facts'>): SignalOutcome {
    const ip = ctx.facts.sourceIp;
    const bytes = ip === undefined ? undefined : parseIp(ip);
    if (!bytes) return { score: 0, data: { matched: false, unknown_source: true } };
    const block = this.config.cidrs.find((c) => cidrContains(c, bytes));
    if (!block) return { score: 0, data: { matched: false } };
    return { score: 100, reasons: [`source address in blocked range ${block.text}`], action: { kind: 'deny' }, data: { matched: true, block: block.text } };
  }
}

export const ipBlocklist = defineSignal<IpBlocklistConfig>({
  name: 'ip_blocklist',
  defaultWeight: 100,
  parse(m, ctx) {
    ctx.reader.mapping(m, ctx.path, ['file', 'cidrs']);
    return { cidrs: cidrSource(ctx, m, ctx.path) };
  },
  create: (c) => new IpBlocklistSignal(c),
});
