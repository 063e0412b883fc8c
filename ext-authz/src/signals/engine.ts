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
 * An assessment whose per-signal reports and `data` (input.signals) are built when first read:
 * most Checks need only the score and reasons. Its own fields are those of RiskAssessment (the
 * outcomes are kept in private slots).
 */
class Assessment implements RiskAssessment {
  readonly action?: RiskAssessment['action'];
  readonly #active: readonly Active[];
  readonly #outcomes: readonly SignalOutcome[];
  readonly #contributions: readonly number[];
  #signals: SignalReport[] | undefined;
  #data: Record<string, Record<string, unknown>> | undefined;

  constructor(
    readonly score: number,
    readonly reasons: string[],
    active: readonly Active[],
    outcomes: readonly SignalOutcome[],
    contributions: readonly number[],
    action: RiskAssessment['action'],
  ) {
    this.#active = active;
    this.#outcomes = outcomes;
    this.#contributions = contributions;
    if (action) this.action = action;
  }

  get signals(): SignalReport[] {
    if (this.#signals) return this.#signals;
    const reports: SignalReport[] = [];
    for (let i = 0; i < this.#outcomes.length; i++) {
      const { signal, weight } = this.#active[i]!;
      const outcome = this.#outcomes[i]!;
      reports.push({ name: signal.name, score: clampScore(outcome.score), weight, contribution: this.#contributions[i]!, reasons: outcome.reasons ?? [] });
    }
    return (this.#signals = reports);
  }

  get data(): Record<string, Record<string, unknown>> {
    if (this.#data) return this.#data;
    const data: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < this.#outcomes.length; i++) {
      const outcome = this.#outcomes[i]!;
      const name = this.#active[i]!.signal.name;
      const score = clampScore(outcome.score);
      data[name] = outcome.data ? { score, ...outcome.data } : { score };
    }
    return (this.#data = data);
  }
}

/** A signal context; `state` may be left out (the engine's is used). */
export type RiskInput = Omit<SignalContext, 'state'> & { state?: RiskState };

/** Reason texts remembered per signal (codes with numbers in them, e.g. a WAF score, vary). */
const REASON_TEXTS_KEPT = 256;

interface Active {
  signal: RiskSignal;
  weight: number;
}

export class RiskEngine {
  private readonly active: Active[];
  private readonly learners: RiskSignal[];
  private readonly failureWatchers: RiskSignal[];
  private readonly reasonTexts: Array<Map<string, string>>;

  constructor(
    configured: readonly ConfiguredSignal[],
    readonly state: RiskState,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.active = configured.map((c) => ({ signal: c.plugin.create(c.config), weight: c.weight }));
    this.reasonTexts = this.active.map(() => new Map<string, string>());
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
    const contributions: number[] = [];
    // Indexes of the signals that contributed (or asked for the action), for the reasons.
    let contributing: number[] | undefined;
    let action: RiskAssessment['action'];
    let total = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const { signal, weight } = this.active[i]!;
      const outcome = outcomes[i]!;
      const score = clampScore(outcome.score);
      const contribution = Math.round((score * weight) / 100);
      contributions.push(contribution);
      total += contribution;
      const asked = !!outcome.action && !action;
      if (asked) action = { ...outcome.action!, signal: signal.name, reason: outcome.reasons?.join(',') || outcome.action!.kind };
      if (score > 0 || outcome.action) this.metrics?.recordSignalHit(signal.name);
      if (contribution > 0 || asked) (contributing ??= []).push(i);
    }
    const reasons: string[] = [];
    if (contributing) {
      // Largest contribution first (a stable sort: ties keep the signals' order).
      if (contributing.length > 1) contributing.sort((a, b) => contributions[b]! - contributions[a]!);
      for (const i of contributing) {
        const codes = outcomes[i]!.reasons;
        if (!codes || codes.length === 0) reasons.push(this.reasonText(i, 'risk'));
        else for (const code of codes) reasons.push(this.reasonText(i, code));
      }
    }
    return new Assessment(Math.min(100, total), reasons, this.active, outcomes, contributions, action);
  }

  /** `<signal>:<code>`, made once per signal and code (codes repeat; a bounded memo per signal). */
  private reasonText(i: number, code: string): string {
    const memo = this.reasonTexts[i]!;
    let text = memo.get(code);
    if (text === undefined) {
      if (memo.size >= REASON_TEXTS_KEPT) memo.clear();
      text = `${this.active[i]!.signal.name}:${code}`;
      memo.set(code, text);
    }
    return text;
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
