import { join } from '../config/reader.js';
import { defineSignal, type SignalOutcome } from './api.js';
import { metadataValue, scoreField } from './helpers.js';

export interface RouteSensitivityConfig {
  contextExtension: string;
  metadataNamespace: string;
  metadataKey: string;
  levels: Map<string, number>;
  defaultLevel: string;
  unknownScore: number;
}

/**
 * Route sensitivity: how much the target route matters, declared in Envoy's route config as an
 * ext_authz `context_extensions` entry (`sensitivity: high`) or route metadata
 * (`metadata.filter_metadata.meshward.sensitivity`). Each level has a score; an undeclared route
 * has `default_level`; a level not in the table scores `unknown_score` (default 100: a typo must
 * not make a route look harmless).
 */
export const routeSensitivity = defineSignal<RouteSensitivityConfig>({
  name: 'route_sensitivity',
  defaultWeight: 30,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['context_extension', 'metadata_namespace', 'metadata_key', 'levels', 'default_level', 'unknown_score']);
    const levels = new Map<string, number>([
      ['low', 0],
      ['medium', 30],
      ['high', 60],
      ['critical', 100],
    ]);
    if (m['levels'] !== undefined) {
      levels.clear();
      const lm = r.mapping(m['levels'], join(ctx.path, 'levels'), Object.keys((m['levels'] as object) ?? {}));
      for (const [name, v] of Object.entries(lm ?? {})) levels.set(name, r.integer(v, join(join(ctx.path, 'levels'), name), 0, { min: 0, max: 100 }));
    }
    const defaultLevel = r.string(m['default_level'], join(ctx.path, 'default_level')) ?? [...levels.keys()][0] ?? 'low';
    if (!levels.has(defaultLevel)) r.fail(join(ctx.path, 'default_level'), `"${defaultLevel}" is not one of the levels (${[...levels.keys()].join(', ')})`);
    return {
      contextExtension: r.string(m['context_extension'], join(ctx.path, 'context_extension')) ?? 'sensitivity',
      metadataNamespace: r.string(m['metadata_namespace'], join(ctx.path, 'metadata_namespace')) ?? 'meshward',
      metadataKey: r.string(m['metadata_key'], join(ctx.path, 'metadata_key')) ?? 'sensitivity',
      levels,
      defaultLevel,
      unknownScore: scoreField(ctx, m, 'unknown_score', 100),
    };
  },
  create: (c) => ({
    name: 'route_sensitivity',
    evaluate(ctx): SignalOutcome {
      const declared =
        ctx.attrs.context_extensions?.[c.contextExtension] ??
        metadataValue(ctx.attrs.route_metadata_context, c.metadataNamespace, c.metadataKey) ??
        metadataValue(ctx.attrs.metadata_context, c.metadataNamespace, c.metadataKey);
      const level = typeof declared === 'string' && declared !== '' ? declared.toLowerCase() : c.defaultLevel;
      const score = c.levels.get(level);
      if (score === undefined) return { score: c.unknownScore, reasons: ['unknown_level'], data: { level } };
      return { score, reasons: score ? [level] : [], data: { level } };
    },
  }),
});
