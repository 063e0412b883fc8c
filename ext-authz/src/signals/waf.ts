import { header } from '../attributes.js';
import { join } from '../config/reader.js';
import { defineSignal, type SignalOutcome } from './api.js';
import { clampScore, headerField, metadataValue, positive } from './helpers.js';

export interface WafConfig {
  header?: string;
  metadataNamespace: string;
  metadataKey: string;
  /** The anomaly score at which this signal reaches 100 (linear below). */
  maxAnomaly: number;
}

/**
 * WAF anomaly score from Meshward's WAF filter, which runs before ext_authz: the request header
 * `x-meshward-waf-score` (the filter overwrites any value a client sent) or dynamic metadata
 * `meshward.waf` / `anomaly_score` (Envoy forwards it with `metadata_context_namespaces`).
 * Score = anomaly / max_anomaly × 100, capped.
 */
export const waf = defineSignal<WafConfig>({
  name: 'waf',
  defaultWeight: 50,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['header', 'metadata_namespace', 'metadata_key', 'max_anomaly']);
    const h = m['header'] === '' ? undefined : headerField(ctx, m, 'header', 'x-meshward-waf-score');
    return {
      ...(h ? { header: h } : {}),
      metadataNamespace: r.string(m['metadata_namespace'], join(ctx.path, 'metadata_namespace')) ?? 'meshward.waf',
      metadataKey: r.string(m['metadata_key'], join(ctx.path, 'metadata_key')) ?? 'anomaly_score',
      maxAnomaly: positive(ctx, m, 'max_anomaly', 10),
    };
  },
  create: (c) => ({
    name: 'waf',
    evaluate(ctx): SignalOutcome {
      const fromMeta = metadataValue(ctx.attrs.metadata_context, c.metadataNamespace, c.metadataKey);
      const raw = fromMeta ?? (c.header ? header(ctx.attrs, c.header) : undefined);
      if (raw === undefined || raw === null || raw === '') return { score: 0, data: { anomaly_score: null } };
      const anomaly = Number(raw);
      // A value that is not a number was tampered with or garbled: as bad as the WAF can say.
      if (!Number.isFinite(anomaly) || anomaly < 0) return { score: 100, reasons: ['unreadable_score'], data: { anomaly_score: null } };
      const score = clampScore((anomaly / c.maxAnomaly) * 100);
      return { score, reasons: score ? [`anomaly ${anomaly}`] : [], data: { anomaly_score: anomaly } };
    },
  }),
});
