/** The few Prometheus metrics the server exports, rendered in the text exposition format. */

/** Risk score buckets (the score is 0-100). */
export const RISK_BUCKETS = [0, 10, 25, 50, 75, 90, 100];

export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : '-Inf';
}

export class Metrics {
  private readonly decisions = new Map<string, number>();
  /** decisionKey's answers, by result then protocol (both from small fixed sets). */
  private readonly labelKeys = new Map<string, Map<string, string>>();
  private readonly latency = new Map<string, Histogram>();
  private readonly errors = new Map<string, number>();
  private readonly started = Date.now();
  private readonly signalHits = new Map<string, number>();
  private readonly signalErrors = new Map<string, number>();
  private readonly risk: Histogram = { counts: RISK_BUCKETS.map(() => 0), sum: 0, count: 0 };
  private readonly reloads = new Map<string, number>();
  private reloadOk = 1;
  private reloadTime = Date.now() / 1000;
  private readonly stateUp = new Map<string, number>();
  private readonly stateDisconnects = new Map<string, number>();
  /** Where the verified-JWT cache's counters are read from at render time. */
  jwtCacheStats: (() => { hits: number; misses: number }) | undefined;
  /** Where the Rego decision cache's counters are read from at render time (the active policy's). */
  regoCacheStats: (() => { hits: number; misses: number } | undefined) | undefined;
  /** Where the OIDC discovery state of each issuer is read from at render time. */
  discoveryStats: (() => Array<{ issuer: string; usable: boolean; fetches: number; failures: number }>) | undefined;

  /** A signal scored above 0 or asked for an action. */
  recordSignalHit(signal: string): void {
    this.signalHits.set(signal, (this.signalHits.get(signal) ?? 0) + 1);
  }

  /** A signal threw (counted at its full weight). */
  recordSignalError(signal: string): void {
    this.signalErrors.set(signal, (this.signalErrors.get(signal) ?? 0) + 1);
  }

  recordRiskScore(score: number): void {
    for (let i = 0; i < RISK_BUCKETS.length; i++) if (score <= RISK_BUCKETS[i]!) this.risk.counts[i]!++;
    this.risk.sum += score;
    this.risk.count++;
  }

  /** A hot reload: applied (`success`) or rejected (`failure`, the old config stays active). */
  recordReload(ok: boolean): void {
    const k = ok ? 'success' : 'failure';
    this.reloads.set(k, (this.reloads.get(k) ?? 0) + 1);
    this.reloadOk = ok ? 1 : 0;
    this.reloadTime = Date.now() / 1000;
  }

  /** The shared state backend came up or went away. */
  setStateUp(backend: string, up: boolean): void {
    const was = this.stateUp.get(backend);
    this.stateUp.set(backend, up ? 1 : 0);
    if (!up && was !== 0) this.stateDisconnects.set(backend, (this.stateDisconnects.get(backend) ?? 0) + 1);
  }

  signalHitCount(signal: string): number {
    return this.signalHits.get(signal) ?? 0;
  }

  /** One decision: result `allow` | `deny` | `unauthenticated` | `step_up` | `throttle` | `read_only`, protocol `grpc` | `http`. */
  recordDecision(result: string, protocol: string, seconds: number): void {
    const key = this.decisionKey(result, protocol);
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
    const lk = this.decisionKey('', protocol);
    let h = this.latency.get(lk);
    if (!h) {
      h = { counts: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(lk, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) if (seconds <= LATENCY_BUCKETS_SECONDS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /**
   * The label set's map key (its JSON, as render() reads it back), made once per result and
   * protocol and found by the two names themselves (no joined string to build and hash per Check).
   */
  private decisionKey(result: string, protocol: string): string {
    let byProtocol = this.labelKeys.get(result);
    if (byProtocol === undefined) this.labelKeys.set(result, (byProtocol = new Map()));
    let key = byProtocol.get(protocol);
    if (key === undefined) {
      key = JSON.stringify(result === '' ? { protocol } : { decision: result, protocol });
      byProtocol.set(protocol, key);
    }
    return key;
  }

  /** A check that failed inside the server (answered with an error, not a decision). */
  recordError(protocol: string): void {
    const key = JSON.stringify({ protocol });
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  decisionCount(result: string, protocol: string): number {
    return this.decisions.get(this.decisionKey(result, protocol)) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP meshward_authz_decisions_total Authorization decisions by result and protocol.');
    out.push('# TYPE meshward_authz_decisions_total counter');
    for (const [k, v] of this.decisions) out.push(`meshward_authz_decisions_total${labels(JSON.parse(k) as Record<string, string>)} ${v}`);
    out.push('# HELP meshward_authz_check_errors_total Checks that failed with a server error.');
    out.push('# TYPE meshward_authz_check_errors_total counter');
    for (const [k, v] of this.errors) out.push(`meshward_authz_check_errors_total${labels(JSON.parse(k) as Record<string, string>)} ${v}`);
    out.push('# HELP meshward_authz_check_duration_seconds Time to decide one check, from request to response.');
    out.push('# TYPE meshward_authz_check_duration_seconds histogram');
    for (const [k, h] of this.latency) {
      const l = JSON.parse(k) as Record<string, string>;
      LATENCY_BUCKETS_SECONDS.forEach((b, i) => out.push(`meshward_authz_check_duration_seconds_bucket${labels({ ...l, le: num(b) })} ${h.counts[i]}`));
      out.push(`meshward_authz_check_duration_seconds_bucket${labels({ ...l, le: '+Inf' })} ${h.count}`);
      out.push(`meshward_authz_check_duration_seconds_sum${labels(l)} ${h.sum}`);
      out.push(`meshward_authz_check_duration_seconds_count${labels(l)} ${h.count}`);
    }
    out.push('# HELP meshward_authz_signal_hits_total Checks in which a signal scored above 0 or asked for an action.');
    out.push('# TYPE meshward_authz_signal_hits_total counter');
    for (const [k, v] of this.signalHits) out.push(`meshward_authz_signal_hits_total${labels({ signal: k })} ${v}`);
    out.push('# HELP meshward_authz_signal_errors_total Signals that failed (scored at their full weight).');
    out.push('# TYPE meshward_authz_signal_errors_total counter');
    for (const [k, v] of this.signalErrors) out.push(`meshward_authz_signal_errors_total${labels({ signal: k })} ${v}`);
    out.push('# HELP meshward_authz_risk_score Risk scores of checks that reached the risk phase.');
    out.push('# TYPE meshward_authz_risk_score histogram');
    RISK_BUCKETS.forEach((b, i) => out.push(`meshward_authz_risk_score_bucket${labels({ le: num(b) })} ${this.risk.counts[i]}`));
    out.push(`meshward_authz_risk_score_bucket{le="+Inf"} ${this.risk.count}`);
    out.push(`meshward_authz_risk_score_sum ${this.risk.sum}`);
    out.push(`meshward_authz_risk_score_count ${this.risk.count}`);
    out.push('# HELP meshward_authz_reloads_total Hot reloads of policies and lists by result.');
    out.push('# TYPE meshward_authz_reloads_total counter');
    for (const [k, v] of this.reloads) out.push(`meshward_authz_reloads_total${labels({ result: k })} ${v}`);
    out.push('# HELP meshward_authz_reload_last_success 1 when the last reload (or the start) applied its config, 0 when it was rejected.');
    out.push('# TYPE meshward_authz_reload_last_success gauge');
    out.push(`meshward_authz_reload_last_success ${this.reloadOk}`);
    out.push('# HELP meshward_authz_reload_last_timestamp_seconds When the last reload was attempted (or the server started).');
    out.push('# TYPE meshward_authz_reload_last_timestamp_seconds gauge');
    out.push(`meshward_authz_reload_last_timestamp_seconds ${this.reloadTime}`);
    out.push('# HELP meshward_authz_state_backend_up 1 while the shared risk state backend answers; 0 while deciding from local state.');
    out.push('# TYPE meshward_authz_state_backend_up gauge');
    for (const [k, v] of this.stateUp) out.push(`meshward_authz_state_backend_up${labels({ backend: k })} ${v}`);
    out.push('# HELP meshward_authz_state_disconnects_total Times the shared risk state backend went away.');
    out.push('# TYPE meshward_authz_state_disconnects_total counter');
    for (const [k, v] of this.stateDisconnects) out.push(`meshward_authz_state_disconnects_total${labels({ backend: k })} ${v}`);
    cacheCounter(out, 'meshward_authz_jwt_cache_total', 'Bearer tokens served from the verified-token cache (hit) or verified (miss).', this.jwtCacheStats?.());
    cacheCounter(out, 'meshward_authz_rego_decision_cache_total', 'Rego decisions served from the decision cache (hit) or evaluated (miss); reset when the policy is reloaded.', this.regoCacheStats?.());
    const discovery = this.discoveryStats?.() ?? [];
    if (discovery.length) {
      out.push('# HELP meshward_authz_oidc_discovery_up 1 when the issuer\'s OIDC discovery document is in use, 0 when its tokens are refused for want of one.');
      out.push('# TYPE meshward_authz_oidc_discovery_up gauge');
      for (const d of discovery) out.push(`meshward_authz_oidc_discovery_up${labels({ issuer: d.issuer })} ${d.usable ? 1 : 0}`);
      out.push('# HELP meshward_authz_oidc_discovery_fetches_total OIDC discovery fetches, by result.');
      out.push('# TYPE meshward_authz_oidc_discovery_fetches_total counter');
      for (const d of discovery) {
        out.push(`meshward_authz_oidc_discovery_fetches_total${labels({ issuer: d.issuer, result: 'success' })} ${Math.max(0, d.fetches - d.failures)}`);
        out.push(`meshward_authz_oidc_discovery_fetches_total${labels({ issuer: d.issuer, result: 'failure' })} ${d.failures}`);
      }
    }
    out.push('# HELP meshward_authz_uptime_seconds Seconds since the server started.');
    out.push('# TYPE meshward_authz_uptime_seconds gauge');
    out.push(`meshward_authz_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return `${out.join('\n')}\n`;
  }
}

/** A cache's hit and miss counter (nothing when the cache is off). */
function cacheCounter(out: string[], name: string, help: string, stats: { hits: number; misses: number } | undefined): void {
  if (!stats) return;
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}{result="hit"} ${stats.hits}`, `${name}{result="miss"} ${stats.misses}`);
}
