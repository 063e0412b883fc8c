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
