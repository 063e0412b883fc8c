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
import type { ConfiguredSignal, RiskSignal, SignalAction, SignalContext, SignalOutcome } from './api.js';
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
  /** What policies see as `input.signals` (built when first read). */
  readonly data: Record<string, Record<string, unknown>>;
  /** The first hard action, with the signal that asked for it. */
  action?: SignalAction & { signal: string; reason: string };
}

/**
 * An assessment whose `data` (input.signals) is built when first read: most policies never read
 * it. Its own fields are those of RiskAssessment (the outcomes are kept in private slots).
 */
class Assessment implements RiskAssessment {
  readonly action?: RiskAssessment['action'];
  readonly #outcomes: readonly SignalOutcome[];
  #data: Record<string, Record<string, unknown>> | undefined;

  constructor(
    readonly score: number,
    readonly reasons: string[],
    readonly signals: SignalReport[],
    outcomes: readonly SignalOutcome[],
    action: RiskAssessment['action'],
  ) {
    this.#outcomes = outcomes;
    if (action) this.action = action;
  }

  get data(): Record<string, Record<string, unknown>> {
    if (this.#data) return this.#data;
    const data: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < this.signals.length; i++) {
      const { name, score } = this.signals[i]!;
      const extra = this.#outcomes[i]!.data;
      data[name] = extra ? { score, ...extra } : { score };
    }
    return (this.#data = data);
  }
}

/** A signal context; `state` may be left out (the engine's is used). */
export type RiskInput = Omit<SignalContext, 'state'> & { state?: RiskState };

interface Active {
  signal: RiskSignal;
  weight: number;
}

export class RiskEngine {
  private readonly active: Active[];
  private readonly learners: RiskSignal[];
  private readonly failureWatchers: RiskSignal[];

  constructor(
    configured: readonly ConfiguredSignal[],
    readonly state: RiskState,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.active = configured.map((c) => ({ signal: c.plugin.create(c.config), weight: c.weight }));
    this.learners = this.active.map((a) => a.signal).filter((s) => s.learn);
    this.failureWatchers = this.active.map((a) => a.signal).filter((s) => s.onAuthFailure);
  }

  get names(): string[] {
    return this.active.map((a) => a.signal.name);
  }

  /** How many signals run (read on every Check: no names list made for it). */
  get size(): number {
    return this.active.length;
  }

  private failed(signal: RiskSignal, e: unknown): SignalOutcome {
    this.logger?.error('signal failed', { signal: signal.name, error: (e as Error)?.message ?? String(e) });
    this.metrics?.recordSignalError(signal.name);
    return { score: 100, reasons: ['error'], data: { error: true } };
  }

  /** `ctx.state` defaults to this engine's state. */
  private withState(ctx: RiskInput): SignalContext {
    return ctx.state ? (ctx as SignalContext) : { ...ctx, state: this.state };
  }

  async assess(input: RiskInput): Promise<RiskAssessment> {
    return this.assessEager(input);
  }

  /** assess(), answering synchronously when every signal did (in-process history). */
  assessEager(input: RiskInput): RiskAssessment | Promise<RiskAssessment> {
    const ctx = this.withState(input);
    // Most signals answer synchronously; only those reading history return promises (run together).
    const results: Array<SignalOutcome | Promise<SignalOutcome>> = [];
    let pending = false;
    for (const { signal } of this.active) {
      try {
        const r = signal.evaluate(ctx);
        if (r instanceof Promise) {
          pending = true;
          results.push(r.catch((e: unknown) => this.failed(signal, e)));
        } else {
          results.push(r);
        }
      } catch (e) {
        results.push(this.failed(signal, e));
      }
    }
    return pending ? Promise.all(results).then((outcomes) => this.weigh(outcomes)) : this.weigh(results as SignalOutcome[]);
  }

  /** The score, reasons and action from the signals' outcomes (in `active` order). */
  private weigh(outcomes: SignalOutcome[]): RiskAssessment {
    const reports: SignalReport[] = [];
    let action: RiskAssessment['action'];
    let total = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const { signal, weight } = this.active[i]!;
      const outcome = outcomes[i]!;
      const score = clampScore(outcome.score);
      const contribution = Math.round((score * weight) / 100);
      const reasons = outcome.reasons ?? [];
      reports.push({ name: signal.name, score, weight, contribution, reasons });
      total += contribution;
      if (outcome.action && !action) action = { ...outcome.action, signal: signal.name, reason: reasons.join(',') || outcome.action.kind };
      if (score > 0 || outcome.action) this.metrics?.recordSignalHit(signal.name);
    }
    const reasons: string[] = [];
    const contributing = reports.filter((r) => r.contribution > 0 || (action && r.name === action.signal));
    if (contributing.length > 1) contributing.sort((a, b) => b.contribution - a.contribution);
    for (const r of contributing) {
      if (r.reasons.length === 0) reasons.push(`${r.name}:risk`);
      for (const code of r.reasons) reasons.push(`${r.name}:${code}`);
    }
    return new Assessment(Math.min(100, total), reasons, reports, outcomes, action);
  }

  /** After an allow: every signal with a `learn` hook remembers what it needs. */
  learn(input: RiskInput): Promise<void> {
    return this.notify(this.learners, input, 'learn') ?? DONE;
  }

  /** learn(); undefined when every hook was done synchronously (no promise to wait on). */
  learnEager(input: RiskInput): Promise<void> | undefined {
    return this.notify(this.learners, input, 'learn');
  }

  /** A bearer token that did not verify: every signal with an `onAuthFailure` hook counts it. */
  authFailure(input: RiskInput): Promise<void> {
    return this.notify(this.failureWatchers, input, 'onAuthFailure') ?? DONE;
  }

  /**
   * Calls `hook` of each signal, all at once; resolves when those that returned promises are done.
   * A hook that fails is logged, never thrown (the decision is made already). Hooks that answer
   * synchronously (in-process history) cost no promise: undefined when all of them did.
   */
  private notify(signals: RiskSignal[], input: RiskInput, hook: 'learn' | 'onAuthFailure'): Promise<void> | undefined {
    if (signals.length === 0) return undefined;
    const ctx = this.withState(input);
    let pending: Array<Promise<void>> | undefined;
    for (const signal of signals) {
      try {
        const r = signal[hook]!(ctx);
        if (r instanceof Promise) (pending ??= []).push(r.then(undefined, (e: unknown) => this.hookFailed(signal, hook, e)));
      } catch (e) {
        this.hookFailed(signal, hook, e);
      }
    }
    return pending ? Promise.all(pending).then(() => undefined) : undefined;
  }

  private hookFailed(signal: RiskSignal, hook: string, e: unknown): void {
    this.logger?.warn(`signal ${hook} failed`, { signal: signal.name, error: (e as Error)?.message ?? String(e) });
  }
}

const DONE: Promise<void> = Promise.resolve();
