/**
 * Metrics defined by filters (`proxy_define_metric` & co). As in Envoy, a metric is identified by
 * type and name and shared by every VM of the host (Envoy stats live in a scope shared across
 * workers); each VM only keeps its own id -> metric table. Envoy exposes these stats with the
 * `wasmcustom.` prefix; lookups here accept the name with or without it.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricInfo {
  name: string;
  kind: MetricKind;
  /** Counter/gauge value (a gauge may go negative only via `proxy_increment_metric`). */
  value: bigint;
  /** Recorded histogram samples, oldest first. */
  samples: bigint[];
}

export const CUSTOM_STAT_PREFIX = 'wasmcustom.';

function bare(name: string): string {
  return name.startsWith(CUSTOM_STAT_PREFIX) ? name.slice(CUSTOM_STAT_PREFIX.length) : name;
}

export class Metrics {
  private readonly metrics = new Map<string, MetricInfo>();

  private static key(kind: MetricKind, name: string): string {
    return `${kind}:${name}`;
  }

  /** Find or create the metric (called by `proxy_define_metric`). */
  define(kind: MetricKind, name: string): MetricInfo {
    const key = Metrics.key(kind, name);
    let m = this.metrics.get(key);
    if (!m) {
      m = { name, kind, value: 0n, samples: [] };
      this.metrics.set(key, m);
    }
    return m;
  }

  /** The metric named `name` (counters first, then gauges, then histograms). */
  find(name: string, kind?: MetricKind): MetricInfo | undefined {
    const n = bare(name);
    const kinds: MetricKind[] = kind ? [kind] : ['counter', 'gauge', 'histogram'];
    for (const k of kinds) {
      const m = this.metrics.get(Metrics.key(k, n));
      if (m) return m;
    }
    return undefined;
  }

  /** Counter or gauge value as a number; for a histogram, the number of samples. */
  get(name: string): number | undefined {
    const m = this.find(name);
    if (!m) return undefined;
    return m.kind === 'histogram' ? m.samples.length : Number(m.value);
  }

  counter(name: string): number | undefined {
    const m = this.find(name, 'counter');
    return m ? Number(m.value) : undefined;
  }

  gauge(name: string): number | undefined {
    const m = this.find(name, 'gauge');
    return m ? Number(m.value) : undefined;
  }

  histogram(name: string): number[] {
    return (this.find(name, 'histogram')?.samples ?? []).map(Number);
  }

  has(name: string): boolean {
    return this.find(name) !== undefined;
  }

  names(): string[] {
    return [...new Set([...this.metrics.values()].map((m) => m.name))];
  }

  /** Everything, keyed by name as Envoy would print it (`wasmcustom.<name>`) when `prefixed`. */
  snapshot(prefixed = false): {
    counters: Record<string, number>;
    gauges: Record<string, number>;
    histograms: Record<string, number[]>;
  } {
    const out = { counters: {} as Record<string, number>, gauges: {} as Record<string, number>, histograms: {} as Record<string, number[]> };
    for (const m of this.metrics.values()) {
      const n = prefixed ? CUSTOM_STAT_PREFIX + m.name : m.name;
      if (m.kind === 'counter') out.counters[n] = Number(m.value);
      else if (m.kind === 'gauge') out.gauges[n] = Number(m.value);
      else out.histograms[n] = m.samples.map(Number);
    }
    return out;
  }

  reset(): void {
    for (const m of this.metrics.values()) {
      m.value = 0n;
      m.samples = [];
    }
  }
}
