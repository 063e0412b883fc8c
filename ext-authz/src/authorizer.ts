/**
 * The decision pipeline, one phase per module:
 *   identity (identity/) -> signals and risk (signals/) -> authorization (policy/) -> response (response.ts)
 * Protocol adapters (protocol/) turn requests into CheckAttributes and Decisions into replies.
 *
 * The policy, the signals and the risk thresholds can be swapped at run time (hot reload); the
 * identity phase and the risk state stay as started.
 */
import type { CheckAttributes } from './attributes.js';
import { decisionLogMembers, type Protocol } from './decision-log.js';
import { decisionId } from './decision-id.js';

export type { Protocol };
import type { AuthzConfig } from './config/types.js';
import { principalOf, type Identity } from './identity/types.js';
import { IdentityResolver, type IdentityResult } from './identity/index.js';
import { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { PolicyEngine } from './policy/index.js';
import { factsOf } from './policy/facts.js';
import type { PolicyInputSource, RiskSource } from './policy/input.js';
import { challengeOf, resolveDenial, stepUpSatisfied, thresholdFor, type DenialContext, type StepUpChallenge } from './policy/decisions.js';
import { ResponseBuilder, type Decision, type RiskSummary } from './response.js';
import type { SignalContext, SignalPlugin } from './signals/api.js';
import { RiskEngine, type RiskAssessment } from './signals/engine.js';
import { MemoryState } from './state/memory.js';
import type { RiskState } from './state/types.js';


export interface AuthorizerOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Where the OPA binary is (for Rego); default: the managed one (`meshward setup`), `OPA_BIN` or PATH. */
  opaPath?: () => Promise<string>;
  /** Risk history (default: in memory). The server opens the configured one. */
  state?: RiskState;
  /** Signal plug-ins besides the built-in ones (their config sections must be parsed with them too). */
  signals?: ReadonlyArray<SignalPlugin<unknown>>;
  /** The decision time source (ms); tests move it. */
  clock?: () => number;
}

/** What a reload replaces, in one object so a check always sees one consistent version. */
interface Active {
  config: AuthzConfig;
  policy: PolicyEngine;
  risk: RiskEngine;
  response: ResponseBuilder;
}


export class Authorizer {
  readonly logger: Logger;
  readonly metrics: Metrics;
  private active: Active;
  private readonly clock: () => number;

  private constructor(
    private readonly identity: IdentityResolver,
    readonly state: RiskState,
    active: Active,
    private readonly options: AuthorizerOptions,
    logger: Logger,
    metrics: Metrics,
  ) {
    this.active = active;
    this.logger = logger;
    this.metrics = metrics;
    this.clock = options.clock ?? Date.now;
    metrics.jwtCacheStats = () => identity.jwt.cacheStats;
    metrics.regoCacheStats = () => this.active.policy.regoDecisionCacheStats;
    metrics.discoveryStats = () => identity.jwt.discoveryStatus();
  }

  static async create(config: AuthzConfig, options: AuthorizerOptions = {}): Promise<Authorizer> {
    const logger = options.logger ?? new Logger(config.logLevel);
    const metrics = options.metrics ?? new Metrics();
    const state = options.state ?? new MemoryState(config.state.maxKeys);
    const active = await Authorizer.build(config, state, options, logger, metrics);
    const identity = new IdentityResolver(config.identity, (level, msg, fields) => logger[level](msg, fields));
    identity.jwt.prefetchDiscovery();
    return new Authorizer(identity, state, active, options, logger, metrics);
  }

  private static async build(config: AuthzConfig, state: RiskState, options: AuthorizerOptions, logger: Logger, metrics: Metrics): Promise<Active> {
    const policy = await PolicyEngine.create(config.policy, options.opaPath ? { opaPath: options.opaPath } : {});
    return { config, policy, risk: new RiskEngine(config.signals.list, state, logger, metrics), response: new ResponseBuilder(config.response) };
  }

  get config(): AuthzConfig {
    return this.active.config;
  }

  get policy(): PolicyEngine {
    return this.active.policy;
  }

  get response(): ResponseBuilder {
    return this.active.response;
  }

  get signalNames(): string[] {
    return this.active.risk.names;
  }

  /**
   * Swaps in a new config's policy, signals, thresholds and response settings. Throws (and keeps
   * the old ones) when the new policy cannot be built, e.g. Rego that does not compile.
   */
  async apply(config: AuthzConfig): Promise<void> {
    this.active = await Authorizer.build(config, this.state, this.options, this.logger, this.metrics);
    this.identity.setApiKeys(config.identity.apiKeys);
  }

  /** Decides one request; logs the decision and counts it. Rejects only on a server fault. */
  async check(attrs: CheckAttributes, protocol: Protocol): Promise<Decision> {
    return this.checkEager(attrs, protocol);
  }

  /**
   * check(), answering synchronously when every phase can (in-process risk history, a token in
   * the verified cache): the protocol adapters call this, so such a Check costs no promise and
   * no microtask hop per phase. Throws on a server fault where check() rejects.
   */
  checkEager(attrs: CheckAttributes, protocol: Protocol): Decision | Promise<Decision> {
    const started = performance.now();
    const decided = this.decide(this.active, attrs, decisionId());
    if (decided instanceof Promise) return decided.then((d) => this.record(d, attrs, protocol, started));
    return this.record(decided, attrs, protocol, started);
  }

  /**
   * A Check that got no decision (a malformed request, a server fault): counted in
   * meshward_authz_check_errors_total and logged, the same way by every protocol adapter.
   */
  checkFailed(protocol: Protocol, error: unknown): void {
    this.metrics.recordError(protocol);
    this.logger.error('check failed', { protocol, error: error instanceof Error ? error.message : String(error) });
  }

  /**
   * What both protocol adapters do with a Check: checkEager(), its decision handed to
   * `answer(target, decision)` (at once when it was decided at once), a server fault to
   * `fail(target, error)`. `target` is the adapter's reply handle, so the adapter's two functions
   * can be made once, not a pair of closures per Check.
   */
  checkAndAnswer<T>(attrs: CheckAttributes, protocol: Protocol, target: T, answer: (target: T, d: Decision) => void, fail: (target: T, e: unknown) => void): void {
    let decided: Decision | Promise<Decision>;
    try {
      decided = this.checkEager(attrs, protocol);
    } catch (e) {
      fail(target, e);
      return;
    }
    if (decided instanceof Promise) decided.then((d) => answer(target, d), (e: unknown) => fail(target, e));
    else answer(target, decided);
  }

  /** Counts and logs a decision. */
  private record(decision: Decision, attrs: CheckAttributes, protocol: Protocol, started: number): Decision {
    const seconds = (performance.now() - started) / 1e3;
    this.metrics.recordDecision(decision.result, protocol, seconds);
    if (decision.risk) this.metrics.recordRiskScore(decision.risk.score);
    if (this.logger.enabled('info')) this.logger.logJson('info', 'decision', decisionLogMembers(decision, attrs, protocol, Math.round(seconds * 1e6)));
    return decision;
  }

  // Each phase below hands its result to the next directly when it has it, and through a promise
  // only when it had to wait (a key fetch, Redis).

  private decide(active: Active, attrs: CheckAttributes, id: string): Decision | Promise<Decision> {
    const nowMs = this.clock();
    const resolved = this.identity.resolveEager(attrs, nowMs);
    if (resolved instanceof Promise) return resolved.then((r) => this.afterIdentity(active, attrs, id, nowMs, r));
    return this.afterIdentity(active, attrs, id, nowMs, resolved);
  }

  /** 1. identity: a failure answers 401 (an invalid credential counts as a failed authentication). */
  private afterIdentity(active: Active, attrs: CheckAttributes, id: string, nowMs: number, { outcome, notes }: IdentityResult): Decision | Promise<Decision> {
    for (const note of notes) this.logger.debug('identity', { decision_id: id, note });
    if (!outcome.ok) {
      const anonymous: Identity = { kind: 'anonymous' };
      const { problem, reason, scheme } = outcome.failure;
      const answer = () => active.response.unauthenticated(id, anonymous, problem, reason, undefined, scheme);
      if (problem !== 'invalid') return answer();
      return active.risk.authFailure({ attrs, identity: anonymous, facts: factsOf(attrs, anonymous), nowMs, state: this.state }).then(answer);
    }
    const identity = outcome.identity;
    const facts = factsOf(attrs, identity);
    const principal = principalOf(identity);
    const base: SignalContext = principal !== undefined ? { attrs, identity, facts, nowMs, state: this.state, principal } : { attrs, identity, facts, nowMs, state: this.state };
    const assessed = active.risk.assessEager(base);
    if (assessed instanceof Promise) return assessed.then((a) => this.afterRisk(active, base, id, a));
    return this.afterRisk(active, base, id, assessed);
  }

  /** 2. signals -> risk, 3. authorization, 4. risk thresholds; an allow lets the signals learn first. */
  private afterRisk(active: Active, base: SignalContext, id: string, assessment: RiskAssessment): Decision | Promise<Decision> {
    const { config, response } = active;
    const { attrs, identity, facts, nowMs } = base;
    const skew = config.identity.jwt.clockSkewSeconds;

    // Without any signal there is no risk phase: no score in logs, risk headers only removed.
    const risk: RiskSummary | undefined = active.risk.size ? { score: assessment.score, reasons: assessment.reasons } : undefined;
    if (risk) facts.risk = risk;
    if (assessment.action) {
      const why = `signal ${assessment.action.signal}: ${assessment.action.reason}`;
      if (assessment.action.kind === 'throttle') return response.throttle(id, identity, why, undefined, assessment.action.retryAfterSeconds, risk);
      return response.deny(id, identity, why, undefined, risk);
    }

    const denialCtx: DenialContext = { method: facts.method, identity, nowMs, skewSeconds: skew, risk: config.risk };
    const satisfied = (c: StepUpChallenge) => stepUpSatisfied(challengeOf(c, config.risk), identity, nowMs, skew);
    const input = new InputSource(attrs, identity, assessment, risk ? riskSource(assessment) : undefined);
    const p = active.policy.evaluate(facts, input, { stepUpSatisfied: satisfied });
    if (!p.allowed) {
      if (p.decision) {
        const denial = resolveDenial(p.decision, denialCtx);
        if (denial) return response.refuse(denial, id, identity, p.reason, p.policy, risk);
      } else {
        const canChallenge = !p.explicitDeny && !identity.jwt && !identity.apiKey && config.identity.jwt.issuers.length > 0 && config.identity.jwt.challengeAnonymous;
        if (canChallenge) return response.unauthenticated(id, identity, 'missing', `${p.reason}; no bearer token`, p.policy);
        return response.deny(id, identity, p.reason, p.policy, risk);
      }
    }

    // A policy allow can still be stepped up, throttled, made read-only or refused by the score.
    const threshold = risk && thresholdFor(risk.score, config.risk.thresholds);
    let reason = p.reason;
    if (risk && threshold) {
      const why = `risk ${risk.score} >= ${threshold.score}: ${threshold.kind}`;
      const denial = resolveDenial(threshold, denialCtx);
      if (denial) return response.refuse(denial, id, identity, `${why} (${risk.reasons.join(', ')})`, p.policy, risk);
      reason = `${p.reason}; ${why} satisfied`;
    }
    const allow = () => response.allow(id, identity, reason, p.policy, risk);
    const learned = active.risk.learnEager(base);
    return learned ? learned.then(allow) : allow();
  }
}

/** The policy input's parts; `signals` (each signal's data) is built only if the policy reads it. */
class InputSource implements PolicyInputSource {
  readonly risk?: RiskSource;
  readonly #assessment: RiskAssessment;

  constructor(
    readonly attrs: CheckAttributes,
    readonly identity: Identity,
    assessment: RiskAssessment,
    risk: RiskSource | undefined,
  ) {
    this.#assessment = assessment;
    if (risk) this.risk = risk;
  }

  get signals(): Record<string, Record<string, unknown>> {
    return this.#assessment.data;
  }
}

/** `input.risk`'s source: its per-signal list is built only if the policy's input reads it. */
function riskSource(a: RiskAssessment): RiskSource {
  return {
    score: a.score,
    reasons: a.reasons,
    signals: () => a.signals.map((s) => ({ name: s.name, score: s.score, weight: s.weight, contribution: s.contribution, reasons: s.reasons })),
  };
}
