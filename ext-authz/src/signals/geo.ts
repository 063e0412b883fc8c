import type { Cidr } from '../cidr.js';
import { anyCidrContains, parseCidr } from '../cidr.js';
import { join } from '../config/reader.js';
import { header } from '../attributes.js';
import { defineSignal, type SignalOutcome } from './api.js';
import { headerField, scoreField } from './helpers.js';
import { countryOf, MmdbReader } from './mmdb.js';

export interface GeoConfig {
  countryHeader: string;
  /** A MaxMind DB (GeoLite2/GeoIP2 Country or City, or compatible): the country of the source address when the header gives none. */
  database?: MmdbReader;
  /** When set, the header is believed only from these source addresses. */
  trustedProxies: Cidr[];
  denied: Set<string>;
  /** Empty: every country not denied is fine. */
  allowed: Set<string>;
  deniedScore: number;
  outsideScore: number;
  unknownScore: number;
}

const COUNTRY = /^[A-Z]{2}$/;

/**
 * Geo: the client's country (ISO 3166-1 alpha-2) from a header set by a trusted edge (a CDN,
 * a GeoIP filter), else from a MaxMind DB (`database`) looked up by the source address. Envoy
 * must remove that header from client requests, or `trusted_proxies` must name the only
 * addresses allowed to send it. A denied country scores `denied_score`, a
 * country outside `allowed_countries` (when set) `outside_score`, no country `unknown_score`.
 */
export const geo = defineSignal<GeoConfig>({
  name: 'geo',
  defaultWeight: 40,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['country_header', 'database', 'trusted_proxies', 'denied_countries', 'allowed_countries', 'denied_score', 'outside_score', 'unknown_score']);
    let database: MmdbReader | undefined;
    if (m['database'] !== undefined) {
      const read = ctx.readBytes(m['database'], join(ctx.path, 'database'));
      if (read) {
        try {
          database = new MmdbReader(read.bytes);
        } catch (e) {
          r.fail(join(ctx.path, 'database'), `${read.file}: ${(e as Error).message}`);
        }
      }
    }
    const country = (s: string) => (COUNTRY.test(s) ? undefined : `"${s}" is not a two-letter upper-case country code`);
    const trustedProxies: Cidr[] = [];
    r.strings(m['trusted_proxies'], join(ctx.path, 'trusted_proxies'), (s) => {
      try {
        trustedProxies.push(parseCidr(s));
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    });
    const denied = new Set(r.strings(m['denied_countries'], join(ctx.path, 'denied_countries'), country));
    const allowed = new Set(r.strings(m['allowed_countries'], join(ctx.path, 'allowed_countries'), country));
    if (m['denied_countries'] === undefined && m['allowed_countries'] === undefined) r.fail(ctx.path, 'set denied_countries and/or allowed_countries');
    return {
      countryHeader: headerField(ctx, m, 'country_header', 'x-meshward-geo-country')!,
      ...(database ? { database } : {}),
      trustedProxies,
      denied,
      allowed,
      deniedScore: scoreField(ctx, m, 'denied_score', 100),
      outsideScore: scoreField(ctx, m, 'outside_score', 60),
      unknownScore: scoreField(ctx, m, 'unknown_score', 0),
    };
  },
  create: (c) => ({
    name: 'geo',
    evaluate(ctx): SignalOutcome {
      const trusted = c.trustedProxies.length === 0 || anyCidrContains(c.trustedProxies, ctx.facts.sourceIp);
      const raw = trusted ? header(ctx.attrs, c.countryHeader)?.trim().toUpperCase() : undefined;
      let country = raw && COUNTRY.test(raw) ? raw : undefined;
      let from = 'header';
      if (!country && c.database && ctx.facts.sourceIp) {
        const code = countryOf(c.database.lookup(ctx.facts.sourceIp));
        if (code && COUNTRY.test(code)) {
          country = code;
          from = 'database';
        }
      }
      if (!country) return { score: c.unknownScore, reasons: c.unknownScore ? ['unknown_country'] : [], data: { country: null } };
      const data = { country, from };
      if (c.denied.has(country)) return { score: c.deniedScore, reasons: [`denied_country ${country}`], data };
      if (c.allowed.size && !c.allowed.has(country)) return { score: c.outsideScore, reasons: [`outside_allowed ${country}`], data };
      return { score: 0, data };
    },
  }),
});
