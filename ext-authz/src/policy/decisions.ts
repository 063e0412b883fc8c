/**
 * From "this request is refused in form X" to what actually applies to it: a read-only decision
 * never refuses a safe method, a step-up is void once the token carries the authentication it
 * asks for (RFC 9470: `acr` among `acr_values`, `auth_time` within `max_age`), and missing
 * step-up / Retry-After parameters come from the `risk` section's defaults. Also maps the risk
 * score to a decision through the configured thresholds.
 */
import type { RiskConfig, RiskThreshold } from '../config/types.js';
import type { Identity } from '../identity/types.js';
import { SAFE_METHODS, type PolicyDecisionSpec } from './native.js';

export interface StepUpChallenge {
  acrValues?: string;
  maxAge?: number;
}

/** A refusal that applies, with every parameter filled in. */
export type Denial =
  | { kind: 'deny' }
  | { kind: 'read_only' }
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'step_up'; challenge: StepUpChallenge };

/** Does the token already carry the authentication the challenge asks for? */
export function stepUpSatisfied(challenge: StepUpChallenge, identity: Identity, nowMs: number, skewSeconds: number): boolean {
  const claims = identity.jwt?.claims;
  if (!claims) return false;
  if (challenge.acrValues) {
    const acr = claims['acr'];
    if (typeof acr !== 'string' || !challenge.acrValues.split(' ').includes(acr)) return false;
  }
  if (challenge.maxAge !== undefined) {
    const authTime = claims['auth_time'];
    if (typeof authTime !== 'number' || nowMs / 1000 - authTime > challenge.maxAge + skewSeconds) return false;
  }
  return true;
}

/** The challenge with `risk.step_up`'s defaults for what the spec leaves out. */
export function challengeOf(spec: StepUpChallenge, risk: RiskConfig): StepUpChallenge {
  const acrValues = spec.acrValues ?? risk.stepUp.acrValues;
  const maxAge = spec.maxAge ?? risk.stepUp.maxAge;
  return { ...(acrValues ? { acrValues } : {}), ...(maxAge !== undefined ? { maxAge } : {}) };
}

export interface DenialContext {
  method: string | undefined;
  identity: Identity;
  nowMs: number;
  skewSeconds: number;
  risk: RiskConfig;
}

/** The refusal `spec` asks for, or undefined when it does not apply to this request. */
export function resolveDenial(spec: PolicyDecisionSpec, c: DenialContext): Denial | undefined {
  switch (spec.kind) {
    case 'deny':
      return { kind: 'deny' };
    case 'read_only':
      return c.method !== undefined && SAFE_METHODS.has(c.method.toUpperCase()) ? undefined : { kind: 'read_only' };
    case 'throttle':
      return { kind: 'throttle', retryAfterSeconds: spec.retryAfterSeconds ?? c.risk.retryAfterSeconds };
    case 'step_up': {
      const challenge = challengeOf(spec, c.risk);
      return stepUpSatisfied(challenge, c.identity, c.nowMs, c.skewSeconds) ? undefined : { kind: 'step_up', challenge };
    }
  }
}

/** The highest threshold at or below the score, as a decision spec. */
export function thresholdFor(score: number, thresholds: readonly RiskThreshold[]): (PolicyDecisionSpec & { score: number }) | undefined {
  const t = thresholds.find((x) => score >= x.score);
  if (!t) return undefined;
  return {
    score: t.score,
    kind: t.decision,
    ...(t.acrValues ? { acrValues: t.acrValues } : {}),
    ...(t.maxAge !== undefined ? { maxAge: t.maxAge } : {}),
    ...(t.retryAfterSeconds !== undefined ? { retryAfterSeconds: t.retryAfterSeconds } : {}),
  };
}
