import { join } from '../config/reader.js';
import { defineSignal, type SignalOutcome } from './api.js';
import type { WindowCount } from '../state/types.js';
import { positive, scoreField, stateKeys } from './helpers.js';

export interface Limit {
  windowMs: number;
  maxRequests: number;
}

export interface VelocityConfig {
  perPrincipal?: Limit;
  perIp?: Limit;
  /** `throttle`: over a limit answers 429 with Retry-After; `score`: it only scores. */
  onExceed: 'throttle' | 'score';
  score: number;
}

/** Seconds until the oldest request leaves the window (at least 1). */
export function retryAfter(w: WindowCount, windowMs: number, nowMs: number): number {
  return w.oldestMs === undefined ? 1 : Math.max(1, Math.ceil((w.oldestMs + windowMs - nowMs) / 1000));
}

/**
 * Velocity: requests per principal and per source address in sliding windows (shared by every
 * replica when the state is Redis). Every checked request counts, allowed or not. More than
 * `max_requests` in `window_seconds` throttles (429, Retry-After = when the oldest request leaves
 * the window) or, with `on_exceed: score`, scores `score`.
 */
const principalKeyOf = stateKeys('rate:p:');
const ipKeyOf = stateKeys('rate:ip:');

export const velocity = defineSignal<VelocityConfig>({
  name: 'velocity',
  defaultWeight: 50,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['per_principal', 'per_ip', 'on_exceed', 'score']);
    const limit = (k: string): Limit | undefined => {
      const p = join(ctx.path, k);
      const l = r.mapping(m[k], p, ['window_seconds', 'max_requests']);
      if (!l) return undefined;
      if (l['max_requests'] === undefined) r.fail(join(p, 'max_requests'), 'required field missing');
      return { windowMs: positive(ctx, l, 'window_seconds', 60, p) * 1000, maxRequests: positive(ctx, l, 'max_requests', 1, p) };
    };
    const perPrincipal = limit('per_principal');
    const perIp = limit('per_ip');
    if (m['per_principal'] === undefined && m['per_ip'] === undefined) r.fail(ctx.path, 'set per_principal and/or per_ip');
    return {
      ...(perPrincipal ? { perPrincipal } : {}),
      ...(perIp ? { perIp } : {}),
      onExceed: r.oneOf(m['on_exceed'], join(ctx.path, 'on_exceed'), ['throttle', 'score'] as const, 'throttle'),
      score: scoreField(ctx, m, 'score', 100),
    };
  },
  create: (c) => ({
    name: 'velocity',
    evaluate(ctx): SignalOutcome | Promise<SignalOutcome> {
      const principalKey = c.perPrincipal && ctx.principal ? principalKeyOf(ctx.principal) : undefined;
      const ipKey = c.perIp && ctx.facts.sourceIp ? ipKeyOf(ctx.facts.sourceIp) : undefined;
      // In-process history answers at once (no promise per window); a shared one in one round trip.
      const sync = ctx.state.sync;
      if (sync) {
        const p = principalKey === undefined ? undefined : sync.hit(principalKey, c.perPrincipal!.windowMs, ctx.nowMs);
        const ip = ipKey === undefined ? undefined : sync.hit(ipKey, c.perIp!.windowMs, ctx.nowMs);
        return velocityOutcome(c, p, ip, ctx.nowMs);
      }
      return Promise.all([
        principalKey === undefined ? undefined : ctx.state.hit(principalKey, c.perPrincipal!.windowMs, ctx.nowMs),
        ipKey === undefined ? undefined : ctx.state.hit(ipKey, c.perIp!.windowMs, ctx.nowMs),
      ]).then(([p, ip]) => velocityOutcome(c, p, ip, ctx.nowMs));
    },
  }),
});

/** The outcome from the principal's and the address's windows (undefined: not counted). */
function velocityOutcome(c: VelocityConfig, principal: WindowCount | undefined, ip: WindowCount | undefined, nowMs: number): SignalOutcome {
  const data: Record<string, unknown> = {};
  const over: string[] = [];
  let wait = 0;
  const judge = (who: string, limit: Limit, w: WindowCount) => {
    data[who] = { count: w.count, limit: limit.maxRequests, window_seconds: limit.windowMs / 1000 };
    if (w.count > limit.maxRequests) {
      over.push(`${who}_over_limit`);
      wait = Math.max(wait, retryAfter(w, limit.windowMs, nowMs));
    }
  };
  if (principal) judge('principal', c.perPrincipal!, principal);
  if (ip) judge('ip', c.perIp!, ip);
  if (!over.length) return { score: 0, data };
  return {
    score: c.score,
    reasons: over,
    data,
    ...(c.onExceed === 'throttle' ? { action: { kind: 'throttle' as const, retryAfterSeconds: wait } } : {}),
  };
}
