/** The few Prometheus metrics the server exports, rendered in the text exposition format. */

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
  private readonly latency = new Map<string, Histogram>();
  private readonly errors = new Map<string, number>();
  private readonly started = Date.now();

  /** One decision: result `allow` | `deny` | `unauthenticated`, protocol `grpc` | `http`. */
  recordDecision(result: string, protocol: string, seconds: number): void {
    const key = JSON.stringify({ decision: result, protocol });
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
    const lk = JSON.stringify({ protocol });
    let h = this.latency.get(lk);
    if (!h) {
      h = { counts: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(lk, h);
    }
    LATENCY_BUCKETS_SECONDS.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.count++;
  }

  /** A check that failed inside the server (answered with an error, not a decision). */
  recordError(protocol: string): void {
    const key = JSON.stringify({ protocol });
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  decisionCount(result: string, protocol: string): number {
    return this.decisions.get(JSON.stringify({ decision: result, protocol })) ?? 0;
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
    out.push('# HELP meshward_authz_uptime_seconds Seconds since the server started.');
    out.push('# TYPE meshward_authz_uptime_seconds gauge');
    out.push(`meshward_authz_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return `${out.join('\n')}\n`;
  }
}
