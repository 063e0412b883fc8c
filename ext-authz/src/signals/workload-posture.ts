import { join } from '../config/reader.js';
import { defineSignal, type SignalContext, type SignalOutcome } from './api.js';
import { scoreField } from './helpers.js';

export interface PostureConfig {
  required: Record<string, string>;
  denied: Record<string, string>;
  labelScore: number;
  noLabelsScore: number;
  metadataNamespace: string;
}

function labelsOf(ctx: SignalContext, c: PostureConfig): Record<string, string> | undefined {
  const fromPeer = ctx.attrs.source?.labels;
  if (fromPeer && Object.keys(fromPeer).length) return fromPeer;
  const meta = (ctx.attrs.metadata_context as { filter_metadata?: Record<string, unknown> } | undefined)?.filter_metadata?.[c.metadataNamespace];
  if (meta && typeof meta === 'object') {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
    return out;
  }
  return undefined;
}

/**
 * Workload posture: the calling workload's labels, from the CheckRequest's `source.labels` or
 * dynamic metadata namespace `meshward.workload` (label name -> value, written by a filter that
 * knows the peer, e.g. from Istio's peer metadata). Each `required_labels` entry missing or
 * different and each `denied_labels` entry present adds `label_score`; a workload without labels
 * scores `no_labels_score`.
 */
export const workloadPosture = defineSignal<PostureConfig>({
  name: 'workload_posture',
  defaultWeight: 40,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['required_labels', 'denied_labels', 'label_score', 'no_labels_score', 'metadata_namespace']);
    const labels = (k: string): Record<string, string> => {
      const lm = r.mapping(m[k], join(ctx.path, k), Object.keys((m[k] as object) ?? {})) ?? {};
      const out: Record<string, string> = {};
      for (const [name, v] of Object.entries(lm)) {
        if (typeof v !== 'string') r.fail(join(join(ctx.path, k), name), 'expected a string label value');
        else out[name] = v;
      }
      return out;
    };
    const required = labels('required_labels');
    const denied = labels('denied_labels');
    if (!Object.keys(required).length && !Object.keys(denied).length) r.fail(ctx.path, 'set required_labels and/or denied_labels');
    return {
      required,
      denied,
      labelScore: scoreField(ctx, m, 'label_score', 50),
      noLabelsScore: scoreField(ctx, m, 'no_labels_score', 0),
      metadataNamespace: r.string(m['metadata_namespace'], join(ctx.path, 'metadata_namespace')) ?? 'meshward.workload',
    };
  },
  create: (c) => ({
    name: 'workload_posture',
    evaluate(ctx): SignalOutcome {
      const labels = labelsOf(ctx, c);
      if (!labels) return { score: c.noLabelsScore, reasons: c.noLabelsScore ? ['no_labels'] : [], data: { labels: null } };
      const reasons: string[] = [];
      for (const [k, v] of Object.entries(c.required)) if (labels[k] !== v) reasons.push(`missing ${k}=${v}`);
      for (const [k, v] of Object.entries(c.denied)) if (labels[k] === v) reasons.push(`denied ${k}=${v}`);
      return { score: Math.min(100, reasons.length * c.labelScore), reasons, data: { labels } };
    },
  }),
});
