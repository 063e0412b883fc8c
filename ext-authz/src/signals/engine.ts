/**
 * Phase 2, signals and risk: runs every configured signal on the request (in parallel, so
 * history lookups in Redis share one round trip), weighs their scores and adds them up:
 *
 *   total = min(100, sum over signals of round(score × weight / 100))
 *
 * so a signal's weight is the most it can add. A signal that throws counts as its full weight
 * (unknown is treated as risky) with reason `<name>:error`. A hard action (deny, throttle) from
 * any signal wins over the score.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RiskState } from '../state/types.js';
import type { ConfiguredSignal, RiskSignal, SignalAction, SignalContext } from './api.js';
import { clampScore } from './helpers.js';

export interface SignalReport {
  name: string;
  score: number;
  weight: number;
  /** round(score × weight / 100) */
  contribution: number;
  reasons: string[];
}

export interface RiskAssessment {
  /** 0-100 */
  score: number;
  /** `<signal>:<code>` for every signal that contributed, largest contribution first. */
  reasons: string[];
  signals: SignalReport[];
  /** What policies see as `input.signals`. */
  data: Record<string, Record<string, unknown>>;
  /** The first hard action, with the signal that asked for it. */
  action?: SignalAction & { signal: string; reason: string };
}

interface Active {
  signal: RiskSignal;
  weight: number;
}

export class RiskEngine {
  private readonly active: Active[];

  constructor(
    configured: readonly ConfiguredSignal[],
    readonly state: RiskState,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.active = configured.map((c) => ({ signal: c.plugin.create(c.config), weight: c.weight }));
  }

  get names(): string[] {
    return this.active.map((a) => a.signal.name);
  }

  async assess(ctx: Omit<SignalContext, 'state'>): Promise<RiskAssessment> {
    const full: SignalContext = { ...ctx, state: this.state };
    const outcomes = await Promise.all(
      this.active.map(async ({ signal, weight }) => {
        try {
          return { signal, weight, outcome: await signal.evaluate(full) };
        } catch (e) {
          this.logger?.error('signal failed', { signal: signal.name, error: (e as Error).message });
          this.metrics?.recordSignalError(signal.name);
          return { signal, weight, outcome: { score: 100, reasons: ['error'], data: { error: true } } };
        }
      }),
    );
    const reports: SignalReport[] = [];
    const data: Record<string, Record<string, unknown>> = {};
    let action: RiskAssessment['action'];
    let total = 0;
    for (const { signal, weight, outcome } of outcomes) {
      const score = clampScore(outcome.score);
      const contribution = Math.round((score * weight) / 100);
      const reasons = outcome.reasons ?? [];
      reports.push({ name: signal.name, score, weight, contribution, reasons });
      data[signal.name] = { score, ...(outcome.data ?? {}) };
      total += contribution;
      if (outcome.action && !action) action = { ...outcome.action, signal: signal.name, reason: reasons.join(',') || outcome.action.kind };
      if (score > 0 || outcome.action) this.metrics?.recordSignalHit(signal.name);
    }
    const contributing = reports.filter((r) => r.contribution > 0 || (action && r.name === action.signal)).sort((a, b) => b.contribution - a.contribution);
    return {
      score: Math.min(100, total),
      reasons: contributing.flatMap((r) => (r.reasons.length ? r.reasons : ['risk']).map((code) => `${r.name}:${code}`)),
      signals: reports,
      data,
      ...(action ? { action } : {}),
    };
  }

  /** After an allow: every signal with a `learn` hook remembers what it needs. */
  async learn(ctx: Omit<SignalContext, 'state'>): Promise<void> {
    const full: SignalContext = { ...ctx, state: this.state };
    await Promise.all(
      this.active.map(async ({ signal }) => {
        try {
          await signal.learn?.(full);
        } catch (e) {
          this.logger?.warn('signal learn failed', { signal: signal.name, error: (e as Error).message });
        }
      }),
    );
  }

  async authFailure(ctx: Omit<SignalContext, 'state'>): Promise<void> {
    const full: SignalContext = { ...ctx, state: this.state };
    await Promise.all(
      this.active.map(async ({ signal }) => {
        try {
          await signal.onAuthFailure?.(full);
        } catch (e) {
          this.logger?.warn('signal onAuthFailure failed', { signal: signal.name, error: (e as Error).message });
        }
      }),
    );
  }
}
