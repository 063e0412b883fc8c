/**
 * The decision pipeline, one phase per module:
 *   identity (identity/) -> signals and risk (signals/) -> authorization (policy/) -> response (response.ts)
 * Protocol adapters (protocol/) turn requests into CheckAttributes and Decisions into replies.
 *
 * The policy, the signals and the risk thresholds can be swapped at run time (hot reload); the
 * identity phase and the risk state stay as started.
 */
import { randomUUID } from 'node:crypto';
import { header, pathOnly, sourceIp, type CheckAttributes } from './attributes.js';
import type { AuthzConfig } from './config/types.js';
import { IdentityResolver } from './identity/index.js';
import { principalOf, type Identity } from './identity/types.js';
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

export type Protocol = 'grpc' | 'http';

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

  /** Decides one request; logs the decision and counts it. Throws only on a server fault. */
  async check(attrs: CheckAttributes, protocol: Protocol): Promise<Decision> {
    const started = performance.now();
    const active = this.active;
    const decision = await this.decide(active, attrs, randomUUID());
    const seconds = (performance.now() - started) / 1e3;
    this.metrics.recordDecision(decision.result, protocol, seconds);
    if (decision.risk) this.metrics.recordRiskScore(decision.risk.score);
    const http = attrs.request.http;
    this.logger.info('decision', {
      decision_id: decision.id,
      // Envoy's x-request-id when forwarded (http.id is Envoy's internal stream id).
      request_id: header(attrs, 'x-request-id') ?? http.id,
      protocol,
      method: http.method,
      host: http.host,
      // Never the query string: it may carry credentials.
      path: pathOnly(http.path),
      source_ip: sourceIp(attrs),
      identity: decision.identity.kind,
      principal: principalOf(decision.identity),
      workload: decision.identity.workload?.id,
      decision: decision.result,
      status: decision.status,
      reason: decision.reason,
      policy: decision.policy,
      risk_score: decision.risk?.score,
      risk_reasons: decision.risk?.reasons,
      latency_ms: Math.round(seconds * 1e6) / 1e3,
    });
    return decision;
  }

  private async decide(active: Active, attrs: CheckAttributes, id: string): Promise<Decision> {
    const { config, response } = active;
    const nowMs = this.clock();
    const skew = config.identity.jwt.clockSkewSeconds;

    // 1. identity
    const { outcome, notes } = await this.identity.resolve(attrs, nowMs);
    for (const note of notes) this.logger.debug('identity', { decision_id: id, note });
    if (!outcome.ok) {
      const anonymous: Identity = { kind: 'anonymous' };
      if (outcome.failure.problem === 'invalid') await active.risk.authFailure({ attrs, identity: anonymous, facts: factsOf(attrs, anonymous), nowMs, state: this.state });
      return response.unauthenticated(id, anonymous, outcome.failure.problem, outcome.failure.reason, undefined, outcome.failure.scheme);
    }
    const identity = outcome.identity;
    const facts = factsOf(attrs, identity);
    const principal = principalOf(identity);
    const base: SignalContext = { attrs, identity, facts, nowMs, state: this.state, ...(principal !== undefined ? { principal } : {}) };

    // 2. signals -> risk
    const assessment = await active.risk.assess(base);
    // Without any signal there is no risk phase: no score in logs, risk headers only removed.
    const risk: RiskSummary | undefined = active.risk.size ? { score: assessment.score, reasons: assessment.reasons } : undefined;
    if (risk) facts.risk = risk;
    if (assessment.action) {
      const why = `signal ${assessment.action.signal}: ${assessment.action.reason}`;
      if (assessment.action.kind === 'throttle') return response.throttle(id, identity, why, undefined, assessment.action.retryAfterSeconds, risk);
      return response.deny(id, identity, why, undefined, risk);
    }

    // 3. authorization
    const denialCtx: DenialContext = { method: facts.method, identity, nowMs, skewSeconds: skew, risk: config.risk };
    const satisfied = (c: StepUpChallenge) => stepUpSatisfied(challengeOf(c, config.risk), identity, nowMs, skew);
    const input: PolicyInputSource = { attrs, identity, signals: assessment.data, ...(risk ? { risk: riskSource(assessment) } : {}) };
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

    // 4. risk thresholds: a policy allow can still be stepped up, throttled, made read-only or refused.
    const threshold = risk && thresholdFor(risk.score, config.risk.thresholds);
    let reason = p.reason;
    if (risk && threshold) {
      const why = `risk ${risk.score} >= ${threshold.score}: ${threshold.kind}`;
      const denial = resolveDenial(threshold, denialCtx);
      if (denial) return response.refuse(denial, id, identity, `${why} (${risk.reasons.join(', ')})`, p.policy, risk);
      reason = `${p.reason}; ${why} satisfied`;
    }
    await active.risk.learn(base);
    return response.allow(id, identity, reason, p.policy, risk);
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
