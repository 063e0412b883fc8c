/**
 * The decision pipeline, one phase per module:
 *   identity (identity/) -> signals (signals/) -> authorization (policy/) -> response (response.ts)
 * Protocol adapters (protocol/) turn requests into CheckAttributes and Decisions into replies.
 */
import { randomUUID } from 'node:crypto';
import { header, pathOnly, sourceIp, type CheckAttributes } from './attributes.js';
import type { AuthzConfig } from './config/types.js';
import { IdentityResolver } from './identity/index.js';
import { principalOf } from './identity/types.js';
import { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { PolicyEngine } from './policy/index.js';
import { factsOf } from './policy/facts.js';
import { policyInput } from './policy/input.js';
import { ResponseBuilder, type Decision } from './response.js';
import { createSignals, type Signal } from './signals/index.js';

export type Protocol = 'grpc' | 'http';

export interface AuthorizerOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Where the OPA binary is (for Rego); default: the managed one (`meshward setup`), `OPA_BIN` or PATH. */
  opaPath?: () => Promise<string>;
}

export class Authorizer {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly response: ResponseBuilder;

  private constructor(
    private readonly config: AuthzConfig,
    private readonly identity: IdentityResolver,
    private readonly signals: Signal[],
    readonly policy: PolicyEngine,
    options: AuthorizerOptions,
  ) {
    this.logger = options.logger ?? new Logger(config.logLevel);
    this.metrics = options.metrics ?? new Metrics();
    this.response = new ResponseBuilder(config.response);
  }

  static async create(config: AuthzConfig, options: AuthorizerOptions = {}): Promise<Authorizer> {
    const policy = await PolicyEngine.create(config.policy, options.opaPath ? { opaPath: options.opaPath } : {});
    return new Authorizer(config, new IdentityResolver(config.identity), createSignals(config.signals), policy, options);
  }

  /** Decides one request; logs the decision and counts it. Throws only on a server fault. */
  async check(attrs: CheckAttributes, protocol: Protocol): Promise<Decision> {
    const started = process.hrtime.bigint();
    const decision = await this.decide(attrs, randomUUID());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.recordDecision(decision.result, protocol, seconds);
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
      latency_ms: Math.round(seconds * 1e6) / 1e3,
    });
    return decision;
  }

  private async decide(attrs: CheckAttributes, id: string): Promise<Decision> {
    // 1. identity
    const { outcome, notes } = await this.identity.resolve(attrs);
    for (const note of notes) this.logger.debug('identity', { decision_id: id, note });
    if (!outcome.ok) {
      return this.response.unauthenticated(id, { kind: 'anonymous' }, outcome.failure.problem, outcome.failure.reason);
    }
    const identity = outcome.identity;
    const facts = factsOf(attrs, identity);

    // 2. signals
    const signalData: Record<string, Record<string, unknown>> = {};
    for (const signal of this.signals) {
      const r = await signal.evaluate({ attrs, identity, facts });
      signalData[signal.name] = r.data;
      if (r.verdict === 'deny') return this.response.deny(id, identity, `signal ${signal.name}: ${r.reason ?? 'denied'}`, undefined);
    }

    // 3. authorization
    const p = this.policy.evaluate(facts, () => policyInput(attrs, identity, signalData));

    // 4. response
    if (p.allowed) return this.response.allow(id, identity, p.reason, p.policy);
    const canChallenge = !p.explicitDeny && !identity.jwt && this.config.identity.jwt.issuers.length > 0 && this.config.identity.jwt.challengeAnonymous;
    if (canChallenge) return this.response.unauthenticated(id, identity, 'missing', `${p.reason}; no bearer token`, p.policy);
    return this.response.deny(id, identity, p.reason, p.policy);
  }
}
