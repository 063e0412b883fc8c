import { defineSignal, type SignalOutcome } from './api.js';
import { positive, stateKeys } from './helpers.js';
import type { WindowCount } from '../state/types.js';

export interface FailedAuthConfig {
  windowMs: number;
  maxFailures: number;
}

const key = stateKeys('authfail:ip:');

/**
 * Failed-authentication bursts: bearer tokens that did not verify (expired, badly signed, unknown
 * issuer), counted per source address in a sliding window. The score grows with the count and
 * reaches 100 at `max_failures`. Only the address is used: a token that fails verification names
 * nobody we can trust.
 */
export const failedAuth = defineSignal<FailedAuthConfig>({
  name: 'failed_auth',
  defaultWeight: 60,
  parse(m, ctx) {
    ctx.reader.mapping(m, ctx.path, ['window_seconds', 'max_failures']);
    return { windowMs: positive(ctx, m, 'window_seconds', 300) * 1000, maxFailures: positive(ctx, m, 'max_failures', 5) };
  },
  create: (c) => ({
    name: 'failed_auth',
    evaluate(ctx): SignalOutcome | Promise<SignalOutcome> {
      const ip = ctx.facts.sourceIp;
      if (!ip) return { score: 0, data: { failures: 0 } };
      const sync = ctx.state.sync;
      if (sync) return failuresOutcome(c, sync.count(key(ip), c.windowMs, ctx.nowMs));
      return ctx.state.count(key(ip), c.windowMs, ctx.nowMs).then((w) => failuresOutcome(c, w));
    },
    onAuthFailure(ctx) {
      if (!ctx.facts.sourceIp) return;
      const sync = ctx.state.sync;
      if (sync) sync.hit(key(ctx.facts.sourceIp), c.windowMs, ctx.nowMs);
      else return ctx.state.hit(key(ctx.facts.sourceIp), c.windowMs, ctx.nowMs).then(() => undefined);
    },
  }),
});

function failuresOutcome(c: FailedAuthConfig, w: WindowCount): SignalOutcome {
  const score = Math.min(100, Math.round((100 * w.count) / c.maxFailures));
  return { score, reasons: w.count ? [`${w.count} failures`] : [], data: { failures: w.count, window_seconds: c.windowMs / 1000 } };
}
