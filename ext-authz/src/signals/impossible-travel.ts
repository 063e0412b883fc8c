import { header } from '../attributes.js';
import { join } from '../config/reader.js';
import { defineSignal, type SignalContext, type SignalOutcome } from './api.js';
import { headerField, positive, scoreField, stateKeys } from './helpers.js';

export interface LatLon {
  lat: number;
  lon: number;
}

export interface TravelConfig {
  /** `lat,lon` in decimal degrees, e.g. from a GeoIP filter at the edge. */
  locationHeader?: string;
  /** A city name looked up in `cities` (case-insensitive). */
  cityHeader?: string;
  cities: Map<string, LatLon>;
  maxSpeedKmh: number;
  /** Moves shorter than this never count (GeoIP is imprecise). */
  minDistanceKm: number;
  rememberMs: number;
  score: number;
}

/** A small built-in table so a city header works without configuration (city centres, rounded). */
export const BUILTIN_CITIES: Record<string, [number, number]> = {
  amsterdam: [52.37, 4.9],
  berlin: [52.52, 13.4],
  'buenos aires': [-34.6, -58.38],
  cairo: [30.04, 31.24],
  chicago: [41.88, -87.63],
  frankfurt: [50.11, 8.68],
  'hong kong': [22.32, 114.17],
  johannesburg: [-26.2, 28.05],
  lagos: [6.52, 3.38],
  london: [51.51, -0.13],
  'los angeles': [34.05, -118.24],
  madrid: [40.42, -3.7],
  moscow: [55.76, 37.62],
  mumbai: [19.08, 72.88],
  'new york': [40.71, -74.01],
  paris: [48.86, 2.35],
  'san francisco': [37.77, -122.42],
  'sao paulo': [-23.55, -46.63],
  seoul: [37.57, 126.98],
  singapore: [1.35, 103.82],
  stockholm: [59.33, 18.07],
  sydney: [-33.87, 151.21],
  tokyo: [35.68, 139.69],
  toronto: [43.65, -79.38],
  warsaw: [52.23, 21.01],
};

/** Great-circle distance (haversine, mean Earth radius 6371 km). */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function parseLatLon(text: string | undefined): LatLon | undefined {
  const m = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/.exec(text ?? '');
  if (!m) return undefined;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lat, lon } : undefined;
}

function locate(c: TravelConfig, ctx: SignalContext): LatLon | undefined {
  if (c.locationHeader) {
    const p = parseLatLon(header(ctx.attrs, c.locationHeader));
    if (p) return p;
  }
  if (c.cityHeader) {
    const city = header(ctx.attrs, c.cityHeader)?.trim().toLowerCase();
    if (city) return c.cities.get(city);
  }
  return undefined;
}

const key = stateKeys('travel:');

/**
 * Impossible travel: the speed needed to get from a principal's last allowed request's location
 * to this one. Faster than `max_speed_kmh` (default 900, an airliner) scores `score`. The
 * location comes from `location_header` (`lat,lon`) or `city_header` looked up in the city table
 * (built-in major cities plus `cities`). The last location is remembered only when a request is
 * allowed, so a refused attempt from far away does not move the principal.
 */
export const impossibleTravel = defineSignal<TravelConfig>({
  name: 'impossible_travel',
  defaultWeight: 70,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['location_header', 'city_header', 'cities', 'max_speed_kmh', 'min_distance_km', 'remember_seconds', 'score']);
    const cities = new Map<string, LatLon>(Object.entries(BUILTIN_CITIES).map(([k, [lat, lon]]) => [k, { lat, lon }]));
    const citiesM = r.mapping(m['cities'], join(ctx.path, 'cities'), Object.keys((m['cities'] as object) ?? {}));
    for (const [name, v] of Object.entries(citiesM ?? {})) {
      const p = parseLatLon(Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : undefined);
      if (!p) r.fail(join(join(ctx.path, 'cities'), name), 'expected [latitude, longitude] in degrees');
      else cities.set(name.toLowerCase(), p);
    }
    const locationHeader = headerField(ctx, m, 'location_header', m['city_header'] === undefined ? 'x-meshward-geo-location' : undefined);
    const cityHeader = headerField(ctx, m, 'city_header', undefined);
    return {
      ...(locationHeader ? { locationHeader } : {}),
      ...(cityHeader ? { cityHeader } : {}),
      cities,
      maxSpeedKmh: positive(ctx, m, 'max_speed_kmh', 900),
      minDistanceKm: r.integer(m['min_distance_km'], join(ctx.path, 'min_distance_km'), 100, { min: 0 }),
      rememberMs: positive(ctx, m, 'remember_seconds', 30 * 86400) * 1000,
      score: scoreField(ctx, m, 'score', 100),
    };
  },
  create: (c) => ({
    name: 'impossible_travel',
    evaluate(ctx): SignalOutcome | Promise<SignalOutcome> {
      const here = locate(c, ctx);
      if (!ctx.principal || !here) return { score: 0, data: { located: !!here } };
      const sync = ctx.state.sync;
      if (sync) return travelOutcome(c, here, sync.get(key(ctx.principal), ctx.nowMs), ctx.nowMs);
      return ctx.state.get(key(ctx.principal), ctx.nowMs).then((lastText) => travelOutcome(c, here, lastText, ctx.nowMs));
    },
    learn(ctx) {
      const here = locate(c, ctx);
      if (!ctx.principal || !here) return;
      const text = JSON.stringify({ ...here, t: ctx.nowMs });
      const sync = ctx.state.sync;
      if (sync) sync.set(key(ctx.principal), text, c.rememberMs, ctx.nowMs);
      else return ctx.state.set(key(ctx.principal), text, c.rememberMs, ctx.nowMs);
    },
  }),
});

/** The outcome from where the principal is now and its last remembered location (JSON text). */
function travelOutcome(c: TravelConfig, here: LatLon, lastText: string | undefined, nowMs: number): SignalOutcome {
  const last = lastText ? (JSON.parse(lastText) as LatLon & { t: number }) : undefined;
  if (!last) return { score: 0, data: { located: true, first: true } };
  const km = distanceKm(last, here);
  const hours = Math.max(nowMs - last.t, 1000) / 3_600_000;
  const speed = km / hours;
  const data = { located: true, distance_km: Math.round(km), speed_kmh: Math.round(speed) };
  if (km >= c.minDistanceKm && speed > c.maxSpeedKmh) return { score: c.score, reasons: [`speed ${Math.round(speed)} km/h`], data };
  return { score: 0, data };
}
