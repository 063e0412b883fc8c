import { join } from '../config/reader.js';
import { matchPattern, patternProblem } from '../match.js';
import { defineSignal, type SignalContext, type SignalOutcome } from './api.js';
import { headerField, metadataValue } from './helpers.js';

export interface AttributeRule {
  attribute: string;
  /** The request header the attributes filter writes it to (its `outputs.header`); default `<header_prefix><attribute>`. */
  header?: string;
  values: string[];
  score: number;
}

export interface AttributesConfig {
  headerPrefix?: string;
  metadataNamespace: string;
  rules: AttributeRule[];
}

function attributeValue(c: AttributesConfig, ctx: SignalContext, rule: AttributeRule): string | undefined {
  const meta = metadataValue(ctx.attrs.metadata_context, c.metadataNamespace, rule.attribute);
  if (meta !== undefined && meta !== null) return typeof meta === 'string' ? meta : JSON.stringify(meta);
  const name = rule.header ?? (c.headerPrefix ? `${c.headerPrefix}${rule.attribute}` : undefined);
  return name ? ctx.attrs.request.http.headers[name] : undefined;
}

/**
 * Custom attributes from Meshward's attributes filter (`meshward.attr.<name>`), read from
 * dynamic metadata namespace `meshward.attr`, or the request header the filter writes (a rule's
 * `header`, which is the filter's `outputs.header`; default `x-meshward-attr-<name>`).
 * Each rule scores when the attribute matches one of its values (`*` patterns as in policies);
 * the signal's score is the highest matching rule's.
 */
export const attributes = defineSignal<AttributesConfig>({
  name: 'attributes',
  defaultWeight: 40,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['header_prefix', 'metadata_namespace', 'rules']);
    const rules: AttributeRule[] = [];
    (r.list(m['rules'], join(ctx.path, 'rules'), { required: true, nonEmpty: true }) ?? []).forEach((raw, i) => {
      const p = join(join(ctx.path, 'rules'), i);
      const rule = r.mapping(raw, p, ['attribute', 'header', 'values', 'score'], true);
      if (!rule) return;
      const attribute = r.string(rule['attribute'], join(p, 'attribute'), { required: true });
      if (attribute !== undefined && !/^[a-z0-9_.-]+$/.test(attribute)) r.fail(join(p, 'attribute'), `"${attribute}": lowercase letters, digits, "_", "-", "."`);
      const values = r.strings(rule['values'], join(p, 'values'), patternProblem, { nonEmpty: true });
      if (rule['values'] === undefined) r.fail(join(p, 'values'), 'required field missing');
      const score = r.integer(rule['score'], join(p, 'score'), 100, { min: 0, max: 100 });
      const header = r.string(rule['header'], join(p, 'header'));
      if (header !== undefined && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) r.fail(join(p, 'header'), `"${header}" is not a lowercase HTTP header name`);
      if (attribute !== undefined) rules.push({ attribute, values, score, ...(header ? { header } : {}) });
    });
    const prefix = m['header_prefix'] === '' ? undefined : headerField(ctx, m, 'header_prefix', 'x-meshward-attr-');
    return { ...(prefix ? { headerPrefix: prefix } : {}), metadataNamespace: r.string(m['metadata_namespace'], join(ctx.path, 'metadata_namespace')) ?? 'meshward.attr', rules };
  },
  create: (c) => ({
    name: 'attributes',
    evaluate(ctx): SignalOutcome {
      const seen: Record<string, string> = {};
      const reasons: string[] = [];
      let score = 0;
      for (const rule of c.rules) {
        const v = attributeValue(c, ctx, rule);
        if (v === undefined) continue;
        seen[rule.attribute] = v.slice(0, 200);
        if (rule.values.some((p) => matchPattern(p, v))) {
          score = Math.max(score, rule.score);
          reasons.push(`${rule.attribute}=${v.slice(0, 40)}`);
        }
      }
      return { score, reasons, data: { values: seen } };
    },
  }),
});
