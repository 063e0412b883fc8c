/**
 * An example ext_authz signal plug-in: scores requests whose tenant header differs from the
 * tenant claim of the caller's token (a user of tenant A reaching for tenant B's data).
 *
 *   import { startAuthzServer } from '@meshward/ext-authz';
 *   import { tenantMismatch } from './tenant-mismatch.js';
 *   await startAuthzServer(config, { signals: [tenantMismatch] });
 *
 * and in the config:
 *
 *   signals:
 *     tenant_mismatch: { header: x-tenant, claim: tenant, score: 100, weight: 80 }
 */
import { defineSignal, type SignalOutcome } from '@meshward/sdk/authz';

export interface TenantMismatchConfig {
  header: string;
  claim: string;
  score: number;
}

export const tenantMismatch = defineSignal<TenantMismatchConfig>({
  name: 'tenant_mismatch',
  defaultWeight: 60,
  // Validate the section; report problems with their field path, as built-in signals do.
  parse(m, { reader, path }) {
    reader.mapping(m, path, ['header', 'claim', 'score']);
    const header = reader.string(m['header'], `${path}.header`) ?? 'x-tenant';
    if (!/^[a-z0-9-]+$/.test(header)) reader.fail(`${path}.header`, `"${header}" is not a lowercase header name`);
    return {
      header,
      claim: reader.string(m['claim'], `${path}.claim`) ?? 'tenant',
      score: reader.integer(m['score'], `${path}.score`, 100, { min: 0, max: 100 }),
    };
  },
  create: (c) => ({
    name: 'tenant_mismatch',
    evaluate(ctx): SignalOutcome {
      const wanted = ctx.attrs.request.http.headers[c.header];
      const claim = ctx.identity.jwt?.claims[c.claim];
      if (wanted === undefined || typeof claim !== 'string') return { score: 0, data: { checked: false } };
      if (wanted === claim) return { score: 0, data: { checked: true, match: true } };
      return { score: c.score, reasons: [`tenant ${wanted} != ${claim}`], data: { checked: true, match: false } };
    },
  }),
});
