// The ready generators in the Node host: operation (path templates), spiffe (peer URI SAN),
// client_class (user agent and header shape) and api_version (header, path, Accept).
import { describe, expect, it } from 'vitest';
import { loadAttributes } from './helpers.js';

async function run(attribute: Record<string, unknown>, reqs: Array<Parameters<Awaited<ReturnType<typeof loadAttributes>>['http']>[0]>) {
  const f = await loadAttributes({ attributes: [{ name: 'g', ...attribute }] });
  try {
    const out: Array<string | undefined> = [];
    for (const r of reqs) {
      const res = await f.http(r);
      expect(res.trap).toBeUndefined();
      out.push(res.filterState['wasm.meshward.attr.g']);
    }
    return out;
  } finally {
    f.close();
  }
}

describe('operation generator', () => {
  const operation = {
    'GET /users/{id}': 'GetUser',
    'GET /users': 'ListUsers',
    'POST /users': 'CreateUser',
    'PUT|PATCH /users/{id}': 'UpdateUser',
    'GET /users/{id}/orders/*': 'GetUserOrder',
    'GET /files/**': 'GetFile',
    '* /admin/{rest=**}/audit': 'AdminAudit',
    '/health': 'Health',
  };
  const cases: Array<[string, string, string | undefined]> = [
    ['GET', '/users/42', 'GetUser'],
    ['GET', '/users/42/', 'GetUser'],
    ['GET', '/users/42?expand=1', 'GetUser'],
    ['GET', '/users', 'ListUsers'],
    ['POST', '/users', 'CreateUser'],
    ['PATCH', '/users/7', 'UpdateUser'],
    ['DELETE', '/users/7', undefined],
    ['GET', '/users/7/orders/9', 'GetUserOrder'],
    ['GET', '/users/7/orders', undefined],
    ['GET', '/users/7/orders/9/items', undefined],
    ['GET', '/files', 'GetFile'],
    ['GET', '/files/a/b/c.txt', 'GetFile'],
    ['DELETE', '/admin/x/y/audit', 'AdminAudit'],
    ['GET', '/admin/audit', 'AdminAudit'],
    ['HEAD', '/health', 'Health'],
    ['GET', '/userss/1', undefined],
  ];
  it('maps method and path templates to names; first template wins; no match is absent', async () => {
    const got = await run({ operation }, cases.map(([method, path]) => ({ method, path })));
    expect(got).toEqual(cases.map((c) => c[2]));
  });

  it('the default applies when no template matches', async () => {
    expect(await run({ operation: { 'GET /a': 'A' }, default: "'Unknown'" }, [{ path: '/b' }])).toEqual(['Unknown']);
  });
});

describe('spiffe generator', () => {
  const mtls = (san: string | undefined, on = true) => ({
    path: '/',
    properties: { connection: { mtls: on, ...(san === undefined ? {} : { uri_san_peer_certificate: san }) } },
  });
  const istio = 'spiffe://cluster.local/ns/shop/sa/frontend';
  it.each([
    ['trust_domain', 'cluster.local'],
    ['namespace', 'shop'],
    ['service_account', 'frontend'],
    ['id', istio],
    ['path', '/ns/shop/sa/frontend'],
  ])('%s of an Istio workload ID', async (part, want) => {
    expect(await run({ spiffe: part }, [mtls(istio)])).toEqual([want]);
  });

  it('absent without mTLS, without a SAN, or for a SAN that is not a SPIFFE ID', async () => {
    const got = await run({ spiffe: 'trust_domain' }, [
      mtls(istio, false),
      mtls(undefined),
      mtls('https://example.com/x'),
      mtls('spiffe://UPPER.case/ns/a/sa/b'),
      mtls('spiffe://td/ns/a/../sa/b'),
      { path: '/' },
    ]);
    expect(got).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('a non-Istio path has a trust domain but no namespace', async () => {
    expect(await run({ spiffe: 'trust_domain' }, [mtls('spiffe://example.org/billing/payments')])).toEqual(['example.org']);
    expect(await run({ spiffe: 'namespace' }, [mtls('spiffe://example.org/billing/payments')])).toEqual([undefined]);
  });
});

describe('client_class generator', () => {
  const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  const cases: Array<[string, Record<string, string>, string]> = [
    ['Chrome with browser headers', { 'user-agent': chrome, 'accept-language': 'en', 'sec-fetch-mode': 'navigate' }, 'browser'],
    ['Firefox with Accept-Language only', { 'user-agent': 'Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0', 'accept-language': 'de' }, 'browser'],
    ['a browser UA without any browser header', { 'user-agent': chrome }, 'bot'],
    ['curl', { 'user-agent': 'curl/8.5.0' }, 'cli'],
    ['python-requests', { 'user-agent': 'python-requests/2.32.0' }, 'cli'],
    ['Go', { 'user-agent': 'Go-http-client/1.1' }, 'cli'],
    ['okhttp (Android app)', { 'user-agent': 'okhttp/4.12.0' }, 'mobile_app'],
    ['iOS CFNetwork', { 'user-agent': 'Shop/3.1 CFNetwork/1490.0.4 Darwin/23.2.0' }, 'mobile_app'],
    ['Android WebView', { 'user-agent': chrome, 'accept-language': 'en', 'x-requested-with': 'com.acme.shop' }, 'mobile_app'],
    ['Googlebot', { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'accept-language': 'en' }, 'bot'],
    ['sqlmap', { 'user-agent': 'sqlmap/1.8#stable (https://sqlmap.org)' }, 'bot'],
    ['Nuclei', { 'user-agent': 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)' }, 'bot'],
    ['headless Chrome', { 'user-agent': 'Mozilla/5.0 HeadlessChrome/126.0', 'accept-language': 'en' }, 'bot'],
    ['no user agent', {}, 'bot'],
    ['something else', { 'user-agent': 'AcmeMonitor/1.0' }, 'other'],
  ];
  it('classifies user agents and header shapes', async () => {
    const got = await run({ client_class: {} }, cases.map(([, headers]) => ({ path: '/', headers })));
    expect(got.map((g, i) => `${cases[i]![0]}: ${g}`)).toEqual(cases.map((c) => `${c[0]}: ${c[2]}`));
  });

  it('extra tokens from the configuration', async () => {
    const got = await run({ client_class: { bots: ['acmemonitor'], cli: ['mytool/'], mobile_apps: ['acmeapp/'] } }, [
      { path: '/', headers: { 'user-agent': 'AcmeMonitor/1.0' } },
      { path: '/', headers: { 'user-agent': 'mytool/2' } },
      { path: '/', headers: { 'user-agent': 'AcmeApp/5 (iPhone)' } },
    ]);
    expect(got).toEqual(['bot', 'cli', 'mobile_app']);
  });

  // The User-Agent is matched with its ASCII letters folded while scanning (no lowercase copy):
  // only A-Z fold, tokens of one and two characters match on their own, and tokens starting with
  // a non-ASCII character (found by a separate search) fold the text's ASCII letters too.
  it('matches tokens with ASCII case folded, and only ASCII', async () => {
    const got = await run({ client_class: { bots: ['q', 'éx'], cli: ['zz'], mobile_apps: ['ünï-app/'] } }, [
      { path: '/', headers: { 'user-agent': 'MOZILLA/5.0 (X11)', 'accept-language': 'en' } },
      { path: '/', headers: { 'user-agent': 'Mozilla/5.0 (X11)' } },
      { path: '/', headers: { 'user-agent': 'GO-HTTP-CLIENT/1.1' } },
      { path: '/', headers: { 'user-agent': 'ACME Q' } },
      { path: '/', headers: { 'user-agent': 'acme ZZ' } },
      { path: '/', headers: { 'user-agent': 'acme Zz9' } },
      { path: '/', headers: { 'user-agent': 'acme Z' } },
      { path: '/', headers: { 'user-agent': 'shop ünï-APP/2' } },
      { path: '/', headers: { 'user-agent': 'shop ÜNÏ-app/2' } },
      { path: '/', headers: { 'user-agent': 'ÉX' } },
      { path: '/', headers: { 'user-agent': 'éX' } },
      { path: '/', headers: { 'user-agent': 'SpIdEr' } },
    ]);
    expect(got).toEqual(['browser', 'bot', 'cli', 'bot', 'cli', 'cli', 'other', 'mobile_app', 'other', 'other', 'bot', 'bot']);
  });

  // Tokens are grouped by first character in one block: several tokens of a group, of different
  // kinds, the strongest kind wins wherever it occurs; a non-ASCII second character.
  it('finds the strongest token among tokens sharing a first character', async () => {
    const got = await run({ client_class: { cli: ['bo', 'pé'], mobile_apps: ['boat/', 'p'] } }, [
      { path: '/', headers: { 'user-agent': 'BOA' } },
      { path: '/', headers: { 'user-agent': 'Boat/1' } },
      { path: '/', headers: { 'user-agent': 'boat/1 Bot' } },
      { path: '/', headers: { 'user-agent': 'xPÉ' } },
      { path: '/', headers: { 'user-agent': 'xpÉ' } },
      { path: '/', headers: { 'user-agent': 'Pé' } },
      { path: '/', headers: { 'user-agent': 'zz' } },
    ]);
    expect(got).toEqual(['cli', 'mobile_app', 'bot', 'mobile_app', 'mobile_app', 'mobile_app', 'other']);
  });
});

describe('client_class generator: recent clients kept', () => {
  // Recent clients' classes are kept, so a repeated User-Agent skips the token scan. Every signal
  // the class depends on is kept with it: the same User-Agent with other headers is classified
  // again, and clients that share a memo slot never answer for each other.
  const firefox = 'Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0';
  it('classifies a repeated User-Agent again when its other signals change', async () => {
    const got = await run({ client_class: {} }, [
      { path: '/', headers: { 'user-agent': firefox, 'accept-language': 'en' } },
      { path: '/', headers: { 'user-agent': firefox } },
      { path: '/', headers: { 'user-agent': firefox, 'sec-fetch-mode': 'cors' } },
      { path: '/', headers: { 'user-agent': firefox } },
      { path: '/', headers: { 'user-agent': firefox, 'sec-ch-ua': '"Firefox";v="128"' } },
      { path: '/', headers: { 'user-agent': firefox, 'accept-language': 'en', 'x-requested-with': 'com.acme.shop' } },
      { path: '/', headers: { 'user-agent': firefox, 'accept-language': 'en', 'x-requested-with': 'XMLHttpRequest' } },
      { path: '/', headers: { 'user-agent': firefox, 'accept-language': 'en', 'x-requested-with': 'com.acme.other' } },
      { path: '/', headers: { 'user-agent': firefox, 'accept-language': 'en' } },
    ]);
    expect(got).toEqual(['browser', 'bot', 'browser', 'bot', 'browser', 'mobile_app', 'browser', 'mobile_app', 'browser']);
  });

  it('keeps many clients apart, and classifies User-Agents too long to keep every time', async () => {
    // More clients than the memo has slots, of every class, each seen three times in other orders.
    const kinds: Array<[(i: number) => string, string]> = [
      [(i) => `curl/8.${i}.0`, 'cli'],
      [(i) => `acme-crawler/${i}`, 'bot'],
      [(i) => `Shop/${i} CFNetwork/1490.0.4 Darwin/23.2.0`, 'mobile_app'],
      [(i) => `AcmeMonitor/${i}`, 'other'],
    ];
    const clients = Array.from({ length: 200 }, (_, i) => kinds[i % 4]!).map(([ua, cls], i) => ({ ua: ua(i), cls }));
    const long = { ua: `Mozilla/5.0 (X11) ${'x'.repeat(600)}`, cls: 'browser' };
    const order = [...clients, long, ...[...clients].reverse(), long, ...clients.filter((_, i) => i % 3 === 0), long];
    const got = await run({ client_class: {} }, order.map((c) => ({ path: '/', headers: { 'user-agent': c.ua, 'accept-language': 'en' } })));
    expect(got).toEqual(order.map((c) => c.cls));
  });
});

describe('api_version generator', () => {
  it('header first, then path, then Accept; numeric forms normalised', async () => {
    const got = await run({ api_version: { header: 'x-api-version' }, default: "'v1'" }, [
      { path: '/api/v2/users', headers: { 'x-api-version': '3' } },
      { path: '/api/v2/users', headers: { 'x-api-version': '2024-06-01' } },
      { path: '/api/V2.1/users' },
      { path: '/users', headers: { accept: 'application/vnd.acme.v4+json' } },
      { path: '/users', headers: { accept: 'application/json; version=5' } },
      { path: '/users' },
      { path: '/api/v2/users', headers: { 'x-api-version': 'bad value!' } },
    ]);
    expect(got).toEqual(['v3', '2024-06-01', 'v2.1', 'v4', 'v5', 'v1', 'v2']);
  });

  it('sources can be turned off', async () => {
    expect(await run({ api_version: { path: false } }, [{ path: '/api/v2/x' }])).toEqual([undefined]);
  });
});
