import { cidrContains, parseIp, type Cidr } from '../cidr.js';
import type { IpBlocklistConfig } from '../config/types.js';
import type { Signal, SignalContext, SignalResult } from './index.js';

/**
 * Refuses requests whose source address (`source.address` of the CheckRequest; in HTTP mode the
 * client IP header when configured) lies in a listed CIDR block. `input.signals.ip_blocklist` is
 * `{ matched: boolean, block?: "<cidr>" }`; a request whose source address is unknown passes
 * with `{ matched: false, unknown_source: true }`.
 */
export class IpBlocklistSignal implements Signal {
  readonly name = 'ip_blocklist';
  private readonly cidrs: readonly Cidr[];

  constructor(config: IpBlocklistConfig) {
    this.cidrs = config.cidrs;
  }

  get size(): number {
    return this.cidrs.length;
  }

  evaluate(ctx: SignalContext): SignalResult {
    const ip = ctx.facts.sourceIp;
    const bytes = ip === undefined ? undefined : parseIp(ip);
    if (!bytes) return { verdict: 'pass', data: { matched: false, unknown_source: true } };
    const block = this.cidrs.find((c) => cidrContains(c, bytes));
    if (!block) return { verdict: 'pass', data: { matched: false } };
    return { verdict: 'deny', reason: `source address in blocked range ${block.text}`, data: { matched: true, block: block.text } };
  }
}
