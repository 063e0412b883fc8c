// The requests and configurations the WAF benches share (waf-envoy.mjs, waf-host.mjs,
// waf-cold.mjs), so their figures are of the same traffic.

/** A browser's ten headers. */
export const browserHeaders = {
  host: 'shop.example.com', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', accept: 'text/html,application/xhtml+xml',
  'accept-language': 'en-US,en;q=0.9', 'accept-encoding': 'gzip, deflate, br', referer: 'https://shop.example.com/', cookie: 'session=abc123; theme=dark',
  'x-request-id': '7f1c2a9e-5d1b-4c4e-9a3b-2d6f1e8b9c0a', 'cache-control': 'no-cache', 'sec-fetch-mode': 'navigate',
};

/**
 * The i-th GET with 10 headers and 5 query arguments, new values each time (the filter keeps
 * per-value results across requests, so a repeated request costs less than unseen traffic).
 */
export const getWithNewValues = (i) => ({
  path: `/products/search?q=running+shoes+${i}&size=${i % 50}&color=blue${i}&sort=price_asc&page=${i}`,
  headers: { ...browserHeaders, 'x-request-id': `req-${i}-${Date.now()}` },
});

/** A JSON order of at least `bytes` bytes: items of ids, SKUs, names, prices, tags and a note with an apostrophe. */
export function jsonBody(bytes) {
  const items = [];
  let s = '';
  for (let i = 0; s.length < bytes; i++) {
    items.push({ id: i, sku: `SKU-${1000 + i}`, name: `Item number ${i}`, price: 9.99 + i, tags: ['a', 'b'], note: "customer's choice" });
    s = JSON.stringify({ order: 42, items });
  }
  return s;
}

/** `body` (from jsonBody) with every item's name and SKU made new for the i-th request. */
export const withNewJsonValues = (body, i) => body.replaceAll('Item number', `Item ${i} number`).replaceAll('SKU-', `SKU${i}-`);

/**
 * A form body built to make a backtracking regex engine explode on patterns like (a+)+$ or
 * (\w+\s?)*$: long runs that almost match, then a breaking character; `n` bytes of run, fresh
 * for the i-th request (a repeated value would be answered from the per-value results).
 */
export const pathologicalForm = (n, i) => 'q=' + encodeURIComponent('a'.repeat(n) + '!' + i) + '&r=' + encodeURIComponent('<'.repeat(n / 4) + "'" + ' or '.repeat(n / 16) + i);

/** The upstream's answer in the Node host (sdk host's `upstream` option). */
export const okUpstream = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });

/** The filter's configuration with the bundled ruleset at PL1, audit lines off. */
export const bundledPl1 = { ruleset: { paranoia_level: 1 }, audit_log: false, log_level: 'error' };
/** One rule instead of the ruleset: the floor of the host and the filter's request handling. */
export const oneRuleFloor = { rules: 'SecRuleEngine On\nSecRequestBodyAccess On\nSecRule REQUEST_METHOD "@streq TRACE" "id:1,phase:1,deny"', audit_log: false, log_level: 'error' };

/**
 * Request bodies shaped against the request parsers, by name: `(n, i) => [content type, body of
 * about n characters]`, different for each `i` (as an attacker's would be: no per-value result
 * kept from an earlier request answers for it). Each made a parser's time or memory grow with the
 * square of n until the parsers were bounded (a pair's `=` or a reference's `;` searched to the
 * end of the body, text rebuilt by concatenation, every value's name repeating a long path); they
 * must grow linearly. Used by waf-host.mjs (time per request at two sizes) and
 * test/unit/waf/hostile-bodies.test.ts.
 */
const longKey = 'k'.repeat(1000);
export const hostileBodies = {
  'form, no =': (n, i = 0) => ['application/x-www-form-urlencoded', 'a&'.repeat(Math.floor(n / 2)) + `z=${i}`],
  'XML, bare &': (n, i = 0) => ['application/xml', '<r>' + '&'.repeat(n - 16) + i + '</r>'],
  'XML, declarations': (n, i = 0) => ['application/xml', '<r>' + '<?a>'.repeat(Math.floor(n / 4) - 4) + i + '</r>'],
  'XML, nested elements': (n, i = 0) => ['application/xml', '<a>x'.repeat(Math.floor(n / 4)) + i],
  'XML, deep elements': (n, i = 0) => ['application/xml', '<a>'.repeat(Math.floor(n / 3) - 8) + i],
  'JSON, long path': (n, i = 0) => {
    const levels = Math.floor(n / 2 / (longKey.length + 4));
    const values = Array.from({ length: Math.floor(n / 2 / 12) }, (_, k) => `"a${k}":${i}`).join(',');
    return ['application/json', `{"${longKey}":`.repeat(levels) + '{' + values + '}' + '}'.repeat(levels)];
  },
  'XML, long path': (n, i = 0) => {
    const levels = Math.floor(n / 2 / (longKey.length + 2));
    const values = Array.from({ length: Math.floor(n / 2 / 14) }, (_, k) => `<b${k} a='${i}'/>`).join('');
    return ['application/xml', `<${longKey}>`.repeat(levels) + values];
  },
};
