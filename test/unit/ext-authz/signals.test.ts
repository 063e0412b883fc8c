// Each risk signal on its own (its config section, its score and reasons, what it remembers),
// then the engine that weighs them, and the plug-in API with the example signal.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  defineSignal,
  deviceFingerprint,
  distanceKm,
  factsOf,
  inWindow,
  localTime,
  MemoryState,
  Metrics,
  parseConfig,
  RiskEngine,
  type CheckAttributes,
  type Identity,
  type RiskState,
  type SignalPlugin,
} from '../../../ext-authz/src/index.js';
import { tenantMismatch } from '../../../examples/authz-signal/tenant-mismatch.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-signals-'));
const T0 = Date.parse('2026-03-04T10:00:00Z'); // a Wednesday
const HOUR = 3_600_000;

interface Req {
  ip?: string;
  headers?: Record<string, string>;
  principal?: string;
  claims?: Record<string, unknown>;
  method?: string;
  contextExtensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
  routeMetadata?: Record<string, unknown>;
  labels?: Record<string, string>;
  nowMs?: number;
}

function request(o: Req = {}) {
  const attrs: CheckAttributes = {
    source: { address: { socket_address: { address: o.ip ?? '198.51.100.10' } }, ...(o.labels ? { labels: o.labels } : {}) },
    request: { http: { method: o.method ?? 'GET', path: '/x', headers: o.headers ?? {} } },
    ...(o.contextExtensions ? { context_extensions: o.contextExtensions } : {}),
    ...(o.metadata ? { metadata_context: { filter_metadata: o.metadata } } : {}),
    ...(o.routeMetadata ? { route_metadata_context: { filter_metadata: o.routeMetadata } } : {}),
  };
  const identity: Identity = o.principal
    ? { kind: 'jwt', jwt: { issuer: 'https://idp', subject: o.principal, principal: `https://idp/${o.principal}`, audiences: [], claims: { sub: o.principal, ...(o.claims ?? {}) } } }
    : { kind: 'anonymous' };
  return { attrs, identity, facts: factsOf(attrs, identity), nowMs: o.nowMs ?? T0, ...(o.principal ? { principal: `https://idp/${o.principal}` } : {}) };
}

function engine(signals: Record<string, unknown>, options: { state?: RiskState; plugins?: SignalPlugin<unknown>[]; metrics?: Metrics } = {}): RiskEngine {
  const config = parseConfig({ signals }, { baseDir: dir, ...(options.plugins ? { signals: options.plugins } : {}) });
  return new RiskEngine(config.signals.list, options.state ?? new MemoryState(), undefined, options.metrics);
}

function problems(signals: Record<string, unknown>, plugins?: SignalPlugin<unknown>[]): string[] {
  try {
    parseConfig({ signals }, { baseDir: dir, ...(plugins ? { signals: plugins } : {}) });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('ip_blocklist and ip_reputation', () => {
  it('the block list is a hard deny; reputation lists score their own level, the highest match wins', async () => {
    writeFileSync(join(dir, 'tor.txt'), '# tor exits\n203.0.113.0/24\n2001:db8:bad::/48\n');
    const e = engine({
      ip_blocklist: { cidrs: ['192.0.2.0/24'] },
      ip_reputation: { weight: 50, lists: [{ name: 'tor-exits', file: 'tor.txt', score: 60 }, { name: 'abuse', cidrs: ['203.0.113.7'], score: 100 }] },
    });
    const blocked = await e.assess(request({ ip: '192.0.2.1' }));
    expect(blocked.action).toMatchObject({ kind: 'deny', signal: 'ip_blocklist' });
    const tor = await e.assess(request({ ip: '203.0.113.9' }));
    expect(tor).toMatchObject({ score: 30, reasons: ['ip_reputation:listed tor-exits'] });
    expect(tor.data['ip_reputation']).toEqual({ score: 60, lists: ['tor-exits'] });
    const both = await e.assess(request({ ip: '203.0.113.7' }));
    expect(both.score).toBe(50);
    expect(both.data['ip_reputation']).toMatchObject({ lists: ['tor-exits', 'abuse'] });
    expect((await e.assess(request({ ip: '2001:db8:bad::1' }))).score).toBe(30);
    expect((await e.assess(request({ ip: '198.51.100.1' }))).score).toBe(0);
  });

  it('names the file line of a bad list entry', () => {
    writeFileSync(join(dir, 'bad.txt'), '10.0.0.0/8\nnot-an-ip\n');
    expect(problems({ ip_reputation: { lists: [{ name: 'x', file: 'bad.txt' }] } })).toEqual([`signals.ip_reputation.lists[0].file: ${join(dir, 'bad.txt')}:2: "not-an-ip" is not an IP address or CIDR block`]);
  });
});

describe('geo', () => {
  it('scores denied countries and countries outside the allowed set; the header counts only from trusted proxies', async () => {
    const e = engine({ geo: { weight: 100, denied_countries: ['KP'], allowed_countries: ['FR', 'DE'], outside_score: 40, trusted_proxies: ['198.51.100.0/24'] } });
    const at = (country: string, ip?: string) => e.assess(request({ headers: { 'x-meshward-geo-country': country }, ...(ip ? { ip } : {}) }));
    expect((await at('FR')).score).toBe(0);
    expect(await at('kp')).toMatchObject({ score: 100, reasons: ['geo:denied_country KP'] });
    expect(await at('US')).toMatchObject({ score: 40, reasons: ['geo:outside_allowed US'] });
    // From an address that is not a trusted proxy, the header is not believed.
    const spoofed = await at('KP', '192.0.2.50');
    expect(spoofed.score).toBe(0);
    expect(spoofed.data['geo']).toEqual({ score: 0, country: null });
  });

  it('rejects a config without countries or with a bad code', () => {
    expect(problems({ geo: {} })).toEqual(['signals.geo: set denied_countries and/or allowed_countries']);
    expect(problems({ geo: { denied_countries: ['North Korea'] } })).toEqual(['signals.geo.denied_countries[0]: "North Korea" is not a two-letter upper-case country code']);
  });
});

describe('impossible_travel', () => {
  it('Paris then Tokyo one hour later is impossible; twenty hours later it is a flight', async () => {
    const e = engine({ impossible_travel: { weight: 70 } });
    const paris = request({ principal: 'alice', headers: { 'x-meshward-geo-location': '48.8566,2.3522' } });
    expect((await e.assess(paris)).data['impossible_travel']).toMatchObject({ first: true });
    await e.learn(paris);
    const tokyoSoon = request({ principal: 'alice', headers: { 'x-meshward-geo-location': '35.68,139.69' }, nowMs: T0 + HOUR });
    const soon = await e.assess(tokyoSoon);
    expect(soon.score).toBe(70);
    expect(soon.reasons[0]).toMatch(/^impossible_travel:speed 97\d\d km\/h$/);
    expect(soon.data['impossible_travel']).toMatchObject({ distance_km: 9713 });
    const tokyoLater = request({ principal: 'alice', headers: { 'x-meshward-geo-location': '35.68,139.69' }, nowMs: T0 + 20 * HOUR });
    expect((await e.assess(tokyoLater)).score).toBe(0);
    // Another principal has no history.
    expect((await e.assess(request({ principal: 'bob', headers: { 'x-meshward-geo-location': '35.68,139.69' }, nowMs: T0 + HOUR }))).score).toBe(0);
  });

  it('a refused request does not move the principal (only learn() after an allow does)', async () => {
    const e = engine({ impossible_travel: { city_header: 'x-city', cities: { lyon: [45.76, 4.84] } } });
    await e.learn(request({ principal: 'carol', headers: { 'x-city': 'Lyon' } }));
    const sydney = request({ principal: 'carol', headers: { 'x-city': 'sydney' }, nowMs: T0 + 2 * HOUR });
    expect((await e.assess(sydney)).score).toBeGreaterThan(0);
    // Not learned: Paris (built-in table) 3 hours later is close to Lyon, so fine.
    expect((await e.assess(request({ principal: 'carol', headers: { 'x-city': 'paris' }, nowMs: T0 + 3 * HOUR }))).score).toBe(0);
    // Small moves never count, however fast (GeoIP jitter).
    expect((await e.assess(request({ principal: 'carol', headers: { 'x-city': 'lyon' }, nowMs: T0 + 1000 }))).score).toBe(0);
  });

  it('computes great-circle distances', () => {
    expect(Math.round(distanceKm({ lat: 51.51, lon: -0.13 }, { lat: 40.71, lon: -74.01 }))).toBe(5570);
    expect(problems({ impossible_travel: { cities: { atlantis: [100, 0] } } })).toEqual(['signals.impossible_travel.cities.atlantis: expected [latitude, longitude] in degrees']);
  });
});

describe('new_device', () => {
  it('the first device is free, a remembered one too, another user agent for the same principal scores', async () => {
    const e = engine({ new_device: { weight: 30 } });
    const firefox = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'accept-language': 'fr-FR' };
    const chrome = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Chrome/140.0', 'sec-ch-ua-platform': '"Windows"' };
    const first = request({ principal: 'dave', headers: firefox });
    expect(await e.assess(first)).toMatchObject({ score: 0 });
    expect((await e.assess(first)).data['new_device']).toMatchObject({ known: false, devices: 0 });
    await e.learn(first);
    expect((await e.assess(first)).data['new_device']).toMatchObject({ known: true, devices: 1 });
    const other = await e.assess(request({ principal: 'dave', headers: chrome }));
    expect(other).toMatchObject({ score: 30, reasons: ['new_device:unknown_device'] });
    // Per principal: Erin's first device is Dave's second.
    expect((await e.assess(request({ principal: 'erin', headers: chrome }))).score).toBe(0);
    // Client hints are part of the fingerprint.
    expect((await e.assess(request({ principal: 'dave', headers: { ...firefox, 'sec-ch-ua-mobile': '?1' } }))).score).toBe(30);
  });

  it('the fingerprint is the digest of every listed header, however many of them a request carries', () => {
    const names = ['user-agent', 'sec-ch-ua', 'accept-language'];
    const digest = (h: Record<string, string>) => createHash('sha256').update(names.map((n) => `${n}\n${h[n] ?? ''}\n`).join('')).digest('hex').slice(0, 24);
    const ctx = (headers: Record<string, string>) => ({ attrs: { request: { http: { method: 'GET', path: '/', headers } } } });
    const cases: Array<Record<string, string>> = [
      { 'user-agent': 'curl/8.5.0' },
      { 'user-agent': 'curl/8.5.0' },
      { 'accept-language': 'curl/8.5.0' },
      { 'user-agent': 'curl/8.5.0', 'accept-language': 'de' },
      { 'user-agent': '', 'sec-ch-ua': '"Chromium"' },
      {},
      { 'x-other': 'y' },
    ];
    // Twice over, so the second pass answers from the caches.
    for (let pass = 0; pass < 2; pass++) for (const h of cases) expect(deviceFingerprint(ctx(h), names)).toBe(digest(h));
    // The same value under another header is another device.
    expect(deviceFingerprint(ctx({ 'user-agent': 'a' }), names)).not.toBe(deviceFingerprint(ctx({ 'accept-language': 'a' }), names));
    // Another configured list (another config, or one reloaded) digests its own text.
    const uaOnly = ['user-agent'];
    const own = createHash('sha256').update('user-agent\ncurl/8.5.0\n').digest('hex').slice(0, 24);
    for (let pass = 0; pass < 2; pass++) expect(deviceFingerprint(ctx({ 'user-agent': 'curl/8.5.0' }), uaOnly)).toBe(own);
    expect(own).not.toBe(digest({ 'user-agent': 'curl/8.5.0' }));
  });

  it('first_device_score scores a principal without history', async () => {
    const e = engine({ new_device: { first_device_score: 50, weight: 100 } });
    expect(await e.assess(request({ principal: 'fay', headers: { 'user-agent': 'x' } }))).toMatchObject({ score: 50, reasons: ['new_device:first_device'] });
  });
});

describe('velocity', () => {
  it('throttles past max_requests per principal, with Retry-After until the oldest request leaves the window', async () => {
    const e = engine({ velocity: { per_principal: { window_seconds: 60, max_requests: 3 } } });
    for (let i = 0; i < 3; i++) expect((await e.assess(request({ principal: 'gus', nowMs: T0 + i * 1000 }))).action).toBeUndefined();
    const fourth = await e.assess(request({ principal: 'gus', nowMs: T0 + 10_000 }));
    expect(fourth.action).toEqual({ kind: 'throttle', retryAfterSeconds: 50, signal: 'velocity', reason: 'principal_over_limit' });
    expect(fourth.data['velocity']).toMatchObject({ principal: { count: 4, limit: 3, window_seconds: 60 } });
    // Another principal from the same address is not affected (no per_ip limit).
    expect((await e.assess(request({ principal: 'hal', nowMs: T0 + 10_000 }))).action).toBeUndefined();
    // Once the window has moved on, requests pass again.
    expect((await e.assess(request({ principal: 'gus', nowMs: T0 + 70_000 }))).action).toBeUndefined();
  });

  it('per_ip counts anonymous requests too; on_exceed: score only scores', async () => {
    const e = engine({ velocity: { per_ip: { window_seconds: 10, max_requests: 2 }, on_exceed: 'score', weight: 40 } });
    await e.assess(request({}));
    await e.assess(request({}));
    const third = await e.assess(request({}));
    expect(third).toMatchObject({ score: 40, reasons: ['velocity:ip_over_limit'] });
    expect(third.action).toBeUndefined();
    expect((await e.assess(request({ ip: '198.51.100.11' }))).score).toBe(0);
  });

  it('needs a limit with max_requests', () => {
    expect(problems({ velocity: {} })).toEqual(['signals.velocity: set per_principal and/or per_ip']);
    expect(problems({ velocity: { per_ip: { window_seconds: 5 } } })).toEqual(['signals.velocity.per_ip.max_requests: required field missing']);
  });
});

describe('failed_auth', () => {
  it('counts failed authentications per address; the score reaches 100 at max_failures', async () => {
    const e = engine({ failed_auth: { window_seconds: 60, max_failures: 4, weight: 100 } });
    for (let i = 0; i < 3; i++) await e.authFailure(request({ nowMs: T0 + i }));
    expect(await e.assess(request({ nowMs: T0 + 10 }))).toMatchObject({ score: 75, reasons: ['failed_auth:3 failures'] });
    await e.authFailure(request({ nowMs: T0 + 20 }));
    expect((await e.assess(request({ nowMs: T0 + 30 }))).score).toBe(100);
    expect((await e.assess(request({ ip: '198.51.100.99', nowMs: T0 + 30 }))).score).toBe(0);
    expect((await e.assess(request({ nowMs: T0 + 61_000 }))).score).toBe(0);
  });
});

describe('waf and attributes from Meshward filters', () => {
  it('the WAF anomaly score from the header or from metadata, scaled to max_anomaly', async () => {
    const e = engine({ waf: { max_anomaly: 10, weight: 100 } });
    expect(await e.assess(request({ headers: { 'x-meshward-waf-score': '5' } }))).toMatchObject({ score: 50, reasons: ['waf:anomaly 5'] });
    expect((await e.assess(request({ headers: { 'x-meshward-waf-score': '25' } }))).score).toBe(100);
    // Metadata (written by the filter, not by the client) wins over the header.
    expect((await e.assess(request({ headers: { 'x-meshward-waf-score': '0' }, metadata: { 'meshward.waf': { anomaly_score: 8 } } }))).score).toBe(80);
    expect(await e.assess(request({ headers: { 'x-meshward-waf-score': 'lots' } }))).toMatchObject({ score: 100, reasons: ['waf:unreadable_score'] });
    expect((await e.assess(request({}))).score).toBe(0);
  });

  it('attribute rules score matching values from metadata or x-meshward-attr-* headers', async () => {
    const e = engine({ attributes: { weight: 50, rules: [{ attribute: 'bot', values: ['true'], score: 80 }, { attribute: 'asn_type', values: ['hosting*'], score: 40 }] } });
    expect(await e.assess(request({ headers: { 'x-meshward-attr-bot': 'true' } }))).toMatchObject({ score: 40, reasons: ['attributes:bot=true'] });
    const hosting = await e.assess(request({ metadata: { 'meshward.attr': { asn_type: 'hosting-provider' } } }));
    expect(hosting).toMatchObject({ score: 20, reasons: ['attributes:asn_type=hosting-provider'] });
    expect(hosting.data['attributes']).toEqual({ score: 40, values: { asn_type: 'hosting-provider' } });
    // The header the attributes filter writes (its outputs.header), named on the rule.
    const tier = engine({ attributes: { weight: 100, rules: [{ attribute: 'client_class', header: 'x-meshward-client', values: ['bot'], score: 70 }] } });
    expect(await tier.assess(request({ headers: { 'x-meshward-client': 'bot' } }))).toMatchObject({ score: 70, reasons: ['attributes:client_class=bot'] });
    expect((await tier.assess(request({ headers: { 'x-meshward-attr-client_class': 'bot' } }))).score).toBe(0);
    expect(problems({ attributes: { rules: [{ attribute: 'Bot!', values: ['a*b*'] }] } })).toEqual([
      'signals.attributes.rules[0].attribute: "Bot!": lowercase letters, digits, "_", "-", "."',
      'signals.attributes.rules[0].values[0]: "a*b*": "*" may appear once, at the start or the end',
    ]);
  });
});

describe('time_of_day', () => {
  it('office hours in a time zone; windows may wrap past midnight', async () => {
    const e = engine({ time_of_day: { timezone: 'Asia/Tokyo', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }], weight: 100 } });
    // 10:00Z is 19:00 in Tokyo on Wednesday: inside.
    expect((await e.assess(request({ nowMs: T0 }))).score).toBe(0);
    const late = await e.assess(request({ nowMs: T0 + 2 * HOUR }));
    expect(late).toMatchObject({ score: 100, reasons: ['time_of_day:outside_hours wed 21:00'] });
    expect(localTime(T0, 'Europe/Paris')).toEqual({ day: 'wed', minute: 11 * 60 });
    const night = { days: new Set(['fri' as const]), from: 22 * 60, to: 6 * 60 };
    expect(inWindow(night, 'fri', 23 * 60)).toBe(true);
    expect(inWindow(night, 'sat', 5 * 60)).toBe(true);
    expect(inWindow(night, 'sat', 23 * 60)).toBe(false);
    expect(inWindow(night, 'fri', 5 * 60)).toBe(false);
  });

  it('rejects unknown time zones and malformed times', () => {
    expect(problems({ time_of_day: { timezone: 'Mars/Olympus', windows: [{ from: '8:00', to: '25:00' }] } })).toEqual([
      'signals.time_of_day.timezone: unknown time zone "Mars/Olympus" (use an IANA name like Europe/Paris)',
      'signals.time_of_day.windows[0].from: expected HH:MM (00:00-24:00), got "8:00"',
      'signals.time_of_day.windows[0].to: expected HH:MM (00:00-24:00), got "25:00"',
    ]);
  });
});

describe('route_sensitivity and workload_posture', () => {
  it('the route declares its sensitivity in context_extensions or route metadata; an unknown level is risky', async () => {
    const e = engine({ route_sensitivity: { weight: 50 } });
    expect(await e.assess(request({ contextExtensions: { sensitivity: 'high' } }))).toMatchObject({ score: 30, reasons: ['route_sensitivity:high'] });
    expect((await e.assess(request({ routeMetadata: { meshward: { sensitivity: 'critical' } } }))).score).toBe(50);
    expect((await e.assess(request({}))).data['route_sensitivity']).toEqual({ score: 0, level: 'low' });
    expect(await e.assess(request({ contextExtensions: { sensitivity: 'hgih' } }))).toMatchObject({ score: 50, reasons: ['route_sensitivity:unknown_level'] });
  });

  it('workload labels: required ones missing and denied ones present add label_score each', async () => {
    const e = engine({ workload_posture: { required_labels: { 'security.meshward.io/scanned': 'true' }, denied_labels: { env: 'dev' }, label_score: 50, weight: 100 } });
    expect((await e.assess(request({ labels: { 'security.meshward.io/scanned': 'true', env: 'prod' } }))).score).toBe(0);
    expect(await e.assess(request({ labels: { env: 'dev' } }))).toMatchObject({ score: 100, reasons: ['workload_posture:missing security.meshward.io/scanned=true', 'workload_posture:denied env=dev'] });
    expect((await e.assess(request({ metadata: { 'meshward.workload': { env: 'prod' } } }))).score).toBe(50);
    expect((await e.assess(request({}))).score).toBe(0);
  });
});

describe('the risk engine', () => {
  it('adds weighted scores, caps at 100, lists reasons by contribution, and counts hits', async () => {
    const metrics = new Metrics();
    const e = engine(
      {
        waf: { weight: 60, max_anomaly: 10 },
        geo: { weight: 70, denied_countries: ['KP'] },
        route_sensitivity: { weight: 20 },
      },
      { metrics },
    );
    const a = await e.assess(request({ headers: { 'x-meshward-waf-score': '5', 'x-meshward-geo-country': 'KP' }, contextExtensions: { sensitivity: 'critical' } }));
    // 30 + 70 + 20 = 120, capped.
    expect(a.score).toBe(100);
    expect(a.reasons).toEqual(['geo:denied_country KP', 'waf:anomaly 5', 'route_sensitivity:critical']);
    expect(a.signals.map((s) => [s.name, s.score, s.contribution])).toEqual([
      ['waf', 50, 30],
      ['geo', 100, 70],
      ['route_sensitivity', 100, 20],
    ]);
    expect(metrics.render()).toContain('meshward_authz_signal_hits_total{signal="geo"} 1');
  });

  it('a signal that throws counts at its full weight, and is counted as an error', async () => {
    const broken = defineSignal<object>({ name: 'broken', defaultWeight: 25, parse: () => ({}), create: () => ({ name: 'broken', evaluate: () => { throw new Error('boom'); } }) });
    const metrics = new Metrics();
    const e = engine({ broken: {} }, { plugins: [broken as SignalPlugin<unknown>], metrics });
    expect(await e.assess(request({}))).toMatchObject({ score: 25, reasons: ['broken:error'] });
    expect(metrics.render()).toContain('meshward_authz_signal_errors_total{signal="broken"} 1');
  });

  it('weight and enabled are common to every signal; unknown sections are refused', () => {
    expect(parseConfig({ signals: { waf: { weight: 5 } } }).signals.list.map((s) => [s.plugin.name, s.weight])).toEqual([['waf', 5]]);
    expect(parseConfig({ signals: { waf: { enabled: false } } }).signals.list).toEqual([]);
    expect(problems({ waf: { weight: 101 } })).toEqual(['signals.waf.weight: expected 0..100, got 101']);
    expect(problems({ wafs: {} })[0]).toMatch(/^signals.wafs: unknown field; expected one of ip_blocklist, ip_reputation, geo, impossible_travel, new_device, velocity, failed_auth, waf, attributes, time_of_day, route_sensitivity, workload_posture$/);
  });
});

describe('the plug-in API (examples/authz-signal)', () => {
  it('a plug-in gets its own section, validated with field paths, and its score is weighed like any other', async () => {
    const plugins = [tenantMismatch as SignalPlugin<unknown>];
    expect(problems({ tenant_mismatch: {} })[0]).toMatch(/^signals.tenant_mismatch: unknown field/);
    expect(problems({ tenant_mismatch: { header: 'X-Tenant', scroe: 1 } }, plugins)).toEqual([
      'signals.tenant_mismatch.scroe: unknown field; expected one of header, claim, score',
      'signals.tenant_mismatch.header: "X-Tenant" is not a lowercase header name',
    ]);
    const e = engine({ tenant_mismatch: { weight: 80 } }, { plugins });
    expect((await e.assess(request({ principal: 'ivy', claims: { tenant: 'acme' }, headers: { 'x-tenant': 'acme' } }))).score).toBe(0);
    const other = await e.assess(request({ principal: 'ivy', claims: { tenant: 'acme' }, headers: { 'x-tenant': 'globex' } }));
    expect(other).toMatchObject({ score: 80, reasons: ['tenant_mismatch:tenant globex != acme'] });
    expect(other.data['tenant_mismatch']).toEqual({ score: 100, checked: true, match: false });
  });
});

describe('history signals answer the same with in-process and shared (promise-only) state', () => {
  // A shared store (Redis) has no synchronous view: the signals then take their promise path.
  // Both paths must decide alike, request by request, and remember alike.
  function promiseOnly(inner: MemoryState): RiskState {
    return {
      backend: 'promise-only',
      hit: (k, w, n) => inner.hit(k, w, n),
      count: (k, w, n) => inner.count(k, w, n),
      get: (k, n) => inner.get(k, n),
      set: (k, v, t, n) => inner.set(k, v, t, n),
      isMember: (k, m, n) => inner.isMember(k, m, n),
      addMember: (k, m, t, n) => inner.addMember(k, m, t, n),
      close: () => inner.close(),
    };
  }

  it('velocity, new_device, failed_auth and impossible_travel give identical assessments', async () => {
    const signals = {
      velocity: { per_principal: { window_seconds: 60, max_requests: 3 }, per_ip: { window_seconds: 60, max_requests: 5 } },
      new_device: { first_device_score: 20 },
      failed_auth: { window_seconds: 300, max_failures: 2 },
      impossible_travel: {},
    };
    const local = new MemoryState();
    expect(local.sync).toBeDefined();
    const shared = promiseOnly(new MemoryState());
    const engines = [engine(signals, { state: local }), engine(signals, { state: shared })];
    const steps: Array<Req & { failure?: boolean }> = [
      { principal: 'ann', headers: { 'user-agent': 'A', 'x-meshward-geo-location': '48.85,2.35' } },
      { principal: 'ann', headers: { 'user-agent': 'A', 'x-meshward-geo-location': '48.85,2.35' }, nowMs: T0 + 1000 },
      { principal: 'ann', headers: { 'user-agent': 'B', 'x-meshward-geo-location': '40.71,-74.0' }, nowMs: T0 + 2000 },
      { ip: '203.0.113.9', failure: true, nowMs: T0 + 2500 },
      { ip: '203.0.113.9', failure: true, nowMs: T0 + 2600 },
      { ip: '203.0.113.9', principal: 'bob', headers: { 'user-agent': 'C' }, nowMs: T0 + 3000 },
      { principal: 'ann', headers: { 'user-agent': 'A' }, nowMs: T0 + 4000 },
      { principal: 'ann', headers: { 'user-agent': 'A' }, nowMs: T0 + 5000 },
      { ip: '203.0.113.9', principal: 'bob', headers: { 'user-agent': 'C' }, nowMs: T0 + 6000 },
      { ip: '203.0.113.9', principal: 'bob', headers: { 'user-agent': 'C' }, nowMs: T0 + 7000 },
    ];
    const seen: string[] = [];
    for (const step of steps) {
      const outcomes = [];
      for (const e of engines) {
        const ctx = request(step);
        if (step.failure) {
          await e.authFailure({ ...ctx, identity: { kind: 'anonymous' } });
          outcomes.push('failure');
          continue;
        }
        const a = await e.assess(ctx);
        if (!a.action) await e.learn(ctx);
        outcomes.push({ score: a.score, reasons: a.reasons, signals: a.signals, data: a.data, action: a.action });
      }
      expect(outcomes[1]).toEqual(outcomes[0]);
      if (typeof outcomes[0] !== 'string') seen.push(...outcomes[0]!.reasons);
    }
    // The sequence reaches every signal's interesting outcomes (else the comparison proves little).
    expect(seen).toEqual(expect.arrayContaining(['new_device:first_device', 'new_device:unknown_device', 'velocity:principal_over_limit', 'failed_auth:2 failures']));
    expect(seen.some((r) => r.startsWith('impossible_travel:speed'))).toBe(true);
  });
});
