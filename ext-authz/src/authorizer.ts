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
import type { AuthzConfig, RiskThreshold } from './config/types.js';
import { IdentityResolver } from './identity/index.js';
import { principalOf, type Identity } from './identity/types.js';
import { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { PolicyEngine } from './policy/index.js';
import { factsOf } from './policy/facts.js';
import { policyInput } from './policy/input.js';
import { SAFE_METHODS, type PolicyDecisionSpec } from './policy/native.js';
import { ResponseBuilder, type Decision, type RiskSummary, type StepUpChallenge } from './response.js';
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


/** RFC 9470: does the token already carry the authentication the challenge asks for? */
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
  }

  static async create(config: AuthzConfig, options: AuthorizerOptions = {}): Promise<Authorizer> {
    const logger = options.logger ?? new Logger(config.logLevel);
    const metrics = options.metrics ?? new Metrics();
    const state = options.state ?? new MemoryState(config.state.maxKeys);
    const active = await Authorizer.build(config, state, options, logger, metrics);
    return new Authorizer(new IdentityResolver(config.identity), state, active, options, logger, metrics);
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
  }

  /** Decides one request; logs the decision and counts it. Throws only on a server fault. */
  async check(attrs: CheckAttributes, protocol: Protocol): Promise<Decision> {
    const started = process.hrtime.bigint();
    const active = this.active;
    const decision = await this.decide(active, attrs, randomUUID());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
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
      return response.unauthenticated(id, anonymous, outcome.failure.problem, outcome.failure.reason);
    }
    const identity = outcome.identity;
    const facts = factsOf(attrs, identity);
    const principal = principalOf(identity);
    const base: SignalContext = { attrs, identity, facts, nowMs, state: this.state, ...(principal !== undefined ? { principal } : {}) };

    // 2. signals -> risk
    const assessment = await active.risk.assess(base);
    // Without any signal there is no risk phase: no score in logs, risk headers only removed.
    const risk: RiskSummary | undefined = active.risk.names.length ? { score: assessment.score, reasons: assessment.reasons } : undefined;
    if (risk) facts.risk = risk;
    if (assessment.action) {
      const why = `signal ${assessment.action.signal}: ${assessment.action.reason}`;
      if (assessment.action.kind === 'throttle') return response.throttle(id, identity, why, undefined, assessment.action.retryAfterSeconds, risk);
      return response.deny(id, identity, why, undefined, risk);
    }

    // 3. authorization
    const satisfied = (c: StepUpChallenge) => stepUpSatisfied(this.challenge(config, c), identity, nowMs, skew);
    const p = active.policy.evaluate(facts, () => policyInput(attrs, identity, assessment.data, risk ? riskInput(assessment) : undefined), { stepUpSatisfied: satisfied });
    if (!p.allowed) {
      if (p.decision) {
        const denial = this.denial(active, p.decision, { id, identity, reason: p.reason, policy: p.policy, risk, method: facts.method, nowMs });
        if (denial) return denial;
      } else {
        const canChallenge = !p.explicitDeny && !identity.jwt && config.identity.jwt.issuers.length > 0 && config.identity.jwt.challengeAnonymous;
        if (canChallenge) return response.unauthenticated(id, identity, 'missing', `${p.reason}; no bearer token`, p.policy);
        return response.deny(id, identity, p.reason, p.policy, risk);
      }
    }

    // 4. risk thresholds: a policy allow can still be stepped up, throttled, made read-only or refused.
    const threshold = risk && config.risk.thresholds.find((t) => risk.score >= t.score);
    let reason = p.reason;
    if (risk && threshold) {
      const why = `risk ${risk.score} >= ${threshold.score}: ${threshold.decision}`;
      const denial = this.denial(active, specOf(threshold), { id, identity, reason: `${why} (${risk.reasons.join(', ')})`, policy: p.policy, risk, method: facts.method, nowMs });
      if (denial) return denial;
      reason = `${p.reason}; ${why} satisfied`;
    }
    await active.risk.learn(base);
    return response.allow(id, identity, reason, p.policy, risk);
  }

  private challenge(config: AuthzConfig, c: StepUpChallenge): StepUpChallenge {
    const acrValues = c.acrValues ?? config.risk.stepUp.acrValues;
    const maxAge = c.maxAge ?? config.risk.stepUp.maxAge;
    return { ...(acrValues ? { acrValues } : {}), ...(maxAge !== undefined ? { maxAge } : {}) };
  }

  /** The answer for a denial form, or undefined when it does not apply (a safe method under read-only, a satisfied step-up). */
  private denial(
    active: Active,
    spec: PolicyDecisionSpec,
    d: { id: string; identity: Identity; reason: string; policy: string | undefined; risk: RiskSummary | undefined; method: string | undefined; nowMs: number },
  ): Decision | undefined {
    const { response, config } = active;
    switch (spec.kind) {
      case 'deny':
        return response.deny(d.id, d.identity, d.reason, d.policy, d.risk);
      case 'throttle':
        return response.throttle(d.id, d.identity, d.reason, d.policy, spec.retryAfterSeconds ?? config.risk.retryAfterSeconds, d.risk);
      case 'read_only':
        if (d.method !== undefined && SAFE_METHODS.has(d.method.toUpperCase())) return undefined;
        return response.readOnly(d.id, d.identity, d.reason, d.policy, d.risk);
      case 'step_up': {
        const challenge = this.challenge(config, spec);
        if (stepUpSatisfied(challenge, d.identity, d.nowMs, config.identity.jwt.clockSkewSeconds)) return undefined;
        return response.stepUp(d.id, d.identity, d.reason, d.policy, challenge, d.risk);
      }
    }
  }
}

function specOf(t: RiskThreshold): PolicyDecisionSpec {
  return {
    kind: t.decision,
    ...(t.acrValues ? { acrValues: t.acrValues } : {}),
    ...(t.maxAge !== undefined ? { maxAge: t.maxAge } : {}),
    ...(t.retryAfterSeconds !== undefined ? { retryAfterSeconds: t.retryAfterSeconds } : {}),
  };
}

function riskInput(a: RiskAssessment) {
  return { score: a.score, reasons: a.reasons, signals: a.signals.map((s) => ({ name: s.name, score: s.score, weight: s.weight, contribution: s.contribution, reasons: s.reasons })) };
}
