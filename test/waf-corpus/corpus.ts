/**
 * The WAF efficacy corpus: attack requests per family (payloads from payloads.ts, each with
 * evasions — double URL encoding, full-width Unicode, %u encoding, mixed case, SQL comments,
 * whitespace tricks, null bytes, parameter pollution, path tricks — placed in the query, a form
 * body, a JSON body, a multipart field, a cookie or a header), and benign requests that look
 * like real traffic (forms, JSON APIs, searches with quotes and apostrophes, code snippets,
 * uploads, browsing with real browser headers). Deterministic: the same list every run.
 */
import type { HttpRequestInit } from '../../sdk/src/host/index.js';
import { PAYLOADS, SCANNER_AGENTS, type Family } from './payloads.js';
import { BENIGN_TEXTS, CODE_SNIPPETS, SEARCHES } from './benign-data.js';

export interface CorpusCase {
  id: string;
  family: Family | 'benign';
  evasion: string;
  request: HttpRequestInit;
}

const BROWSER_UA = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'python-requests/2.31.0',
];

function browserHeaders(i: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: 'shop.example.com',
    'user-agent': BROWSER_UA[i % BROWSER_UA.length]!,
    accept: i % 3 === 0 ? 'application/json' : 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': ['en-US,en;q=0.9', 'de-DE,de;q=0.8,en;q=0.5', 'fr-FR,fr;q=0.9'][i % 3]!,
    'accept-encoding': 'gzip, deflate, br',
    ...extra,
  };
}

// ---- evasions ----
const enc = (s: string) => encodeURIComponent(s);
const encAll = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('');
const doubleEnc = (s: string) => enc(encAll(s));
/** ASCII ! .. ~ to the full-width forms U+FF01 .. U+FF5E. */
const fullWidth = (s: string) => [...s].map((c) => { const k = c.charCodeAt(0); return k >= 0x21 && k <= 0x7e ? String.fromCharCode(k - 0x21 + 0xff01) : c; }).join('');
/** IIS-style %uFFxx for punctuation. */
const percentU = (s: string) => [...s].map((c) => /[<>'"()/=;]/.test(c) ? '%uFF' + (c.charCodeAt(0) - 0x20).toString(16).toUpperCase().padStart(2, '0') : enc(c)).join('');
const mixedCase = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
const sqlComments = (s: string) => s.replace(/ /g, '/**/');
const tabs = (s: string) => s.replace(/ /g, '\t');
const newlines = (s: string) => s.replace(/ /g, '\n');
const ifs = (s: string) => s.replace(/ /g, '${IFS}');
const nullPrefix = (s: string) => '\u0000' + s;
const htmlEntities = (s: string) => [...s].map((c) => /[<>"'()=]/.test(c) ? `&#${c.charCodeAt(0)};` : c).join('');
const jsUnicode = (s: string) => s.replace(/[a-z]/g, (c, i: number) => (i % 3 === 0 ? '\\u00' + c.charCodeAt(0).toString(16) : c));

/** How a payload becomes a raw query value: some evasions are already percent-encoded. */
interface Evasion { name: string; raw?: (s: string) => string; encoded?: (s: string) => string }
const E = {
  plain: { name: 'plain', raw: (s: string) => s },
  double: { name: 'double-url-encoding', encoded: doubleEnc },
  fullwidth: { name: 'full-width-unicode', raw: fullWidth },
  percentU: { name: 'percent-u', encoded: percentU },
  mixed: { name: 'mixed-case', raw: mixedCase },
  comments: { name: 'sql-comments', raw: sqlComments },
  tabs: { name: 'tab-whitespace', raw: tabs },
  newlines: { name: 'newline-whitespace', raw: newlines },
  ifs: { name: 'ifs-whitespace', raw: ifs },
  nul: { name: 'null-byte', raw: nullPrefix },
  entities: { name: 'html-entities', raw: htmlEntities },
  jsunicode: { name: 'js-unicode-escapes', raw: jsUnicode },
  pollution: { name: 'parameter-pollution', raw: (s: string) => s },
} satisfies Record<string, Evasion>;

const EVASIONS: Record<string, Evasion[]> = {
  sqli: [E.plain, E.double, E.fullwidth, E.mixed, E.comments, E.tabs, E.nul, E.pollution],
  xss: [E.plain, E.double, E.fullwidth, E.percentU, E.mixed, E.entities, E.nul, E.pollution],
  lfi: [E.plain, E.double, E.nul, E.pollution],
  rfi: [E.plain, E.double, E.mixed, E.nul, E.pollution],
  rce: [E.plain, E.double, E.ifs, E.tabs, E.nul, E.pollution],
  php: [E.plain, E.double, E.mixed, E.nul, E.pollution],
  nodejs: [E.plain, E.double, E.jsunicode, E.pollution],
  java: [E.plain, E.double, E.mixed, E.newlines, E.pollution],
};

type Placement = 'query' | 'form' | 'json' | 'multipart' | 'cookie' | 'header';
const PLACEMENTS: Placement[] = ['query', 'form', 'json', 'query', 'multipart', 'form', 'cookie', 'json'];

function place(p: Placement, raw: string | null, encoded: string, i: number, pollution: boolean): HttpRequestInit {
  const value = raw ?? decodeURIComponentSafe(encoded);
  switch (p) {
    case 'query':
      return { method: 'GET', path: `/products/search?${pollution ? 'q=shoes&' : ''}q=${encoded}&page=1`, headers: browserHeaders(i) };
    case 'form':
      return { method: 'POST', path: '/account/profile', headers: browserHeaders(i, { 'content-type': 'application/x-www-form-urlencoded' }), body: `${pollution ? 'bio=hello&' : ''}name=jane&bio=${encoded}&save=1` };
    case 'json':
      return { method: 'POST', path: '/api/v1/comments', headers: browserHeaders(i, { 'content-type': 'application/json' }), body: JSON.stringify({ postId: 42, author: { name: 'jane' }, text: pollution ? ['hello', value] : value }) };
    case 'multipart': {
      const b = '----formdata7MA4YWxkTrZu0gW';
      const body = `--${b}\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n--${b}\r\nContent-Disposition: form-data; name="comment"\r\n\r\n${value}\r\n--${b}--\r\n`;
      return { method: 'POST', path: '/upload', headers: browserHeaders(i, { 'content-type': `multipart/form-data; boundary=${b}` }), body };
    }
    case 'cookie':
      return { method: 'GET', path: '/dashboard', headers: browserHeaders(i, { cookie: `theme=dark; pref=${encoded}` }) };
    case 'header':
      return { method: 'GET', path: '/', headers: browserHeaders(i, { 'user-agent': value }) };
  }
}

function decodeURIComponentSafe(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

export function attackCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  let n = 0;
  for (const [family, payloads] of Object.entries(PAYLOADS) as Array<[Family, string[]]>) {
    const evasions = EVASIONS[family]!;
    payloads.forEach((payload, pi) => {
      evasions.forEach((ev, ei) => {
        let placement = PLACEMENTS[(pi + ei) % PLACEMENTS.length]!;
        // Raw (decoded) placements cannot carry an already percent-encoded evasion.
        if (ev.encoded && placement !== 'query' && placement !== 'form' && placement !== 'cookie') placement = 'query';
        if (ev === E.pollution) placement = pi % 2 ? 'form' : 'query';
        if (ev === E.nul && placement === 'header') placement = 'query';
        const raw = ev.raw ? ev.raw(payload) : null;
        const encoded = ev.encoded ? ev.encoded(payload) : enc(raw!);
        out.push({ id: `${family}-${pi}-${ev.name}`, family, evasion: ev.name, request: place(placement, raw, encoded, n++, ev === E.pollution) });
      });
    });
  }
  // Log4Shell and SQLi in headers, as scanners send them.
  PAYLOADS.java.slice(0, 5).forEach((p, i) => {
    out.push({ id: `java-header-${i}`, family: 'java', evasion: 'header', request: { method: 'GET', path: '/', headers: browserHeaders(i, { 'user-agent': p, 'x-api-version': p }) } });
  });
  PAYLOADS.sqli.slice(0, 6).forEach((p, i) => {
    out.push({ id: `sqli-header-${i}`, family: 'sqli', evasion: 'header', request: { method: 'GET', path: '/', headers: browserHeaders(i, { referer: `https://shop.example.com/?id=${p}` }) } });
  });
  // Java serialized objects and gadget class names in Base64 (case-sensitive, so no case evasions).
  ['rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3Rvcg==', 'yv66vgAAADQAHQoABgAPCQAQABEIABIKABMAFAcAFQcAFgEABjxpbml0Pg==',
    'b3JnLmFwYWNoZS5jb21tb25zLmNvbGxlY3Rpb25zLmZ1bmN0b3JzLkludm9rZXJUcmFuc2Zvcm1lcg==', 'Y29tLnN1bi5vcmcuYXBhY2hlLnhhbGFuLmludGVybmFsLnhzbHRjLnRyYXguVGVtcGxhdGVzSW1wbA=='].forEach((p, i) => {
    out.push({ id: `java-base64-${i}`, family: 'java', evasion: 'plain', request: place(PLACEMENTS[i % PLACEMENTS.length]!, p, enc(p), n++, false) });
    out.push({ id: `java-base64-cookie-${i}`, family: 'java', evasion: 'plain', request: place('cookie', p, enc(p), n++, false) });
  });
  // Path tricks for file access.
  const paths = ['/static/../../../etc/passwd', '/static/..%2f..%2f..%2fetc%2fpasswd', '/static/%2e%2e/%2e%2e/etc/passwd', '/static/..%5c..%5c..%5cwindows%5cwin.ini',
    '/static/..;/..;/etc/passwd', '/static/.%2e/.%2e/etc/passwd', '/files/..%c0%af..%c0%afetc/passwd', '/.git/config', '/.env', '/app/.htpasswd', '/backup/.aws/credentials',
    '/static/%252e%252e/%252e%252e/etc/passwd', '/download?file=..%2F..%2F..%2Fetc%2Fpasswd', '/download?file=....//....//etc/passwd', '/view?page=%2e%2e%2f%2e%2e%2fproc%2fself%2fenviron'];
  paths.forEach((p, i) => out.push({ id: `lfi-path-${i}`, family: 'lfi', evasion: 'path-trick', request: { method: 'GET', path: p, headers: browserHeaders(i) } }));
  // Session fixation.
  const fixation: HttpRequestInit[] = [
    { path: '/login?jsessionid=ABC123DEF456', headers: browserHeaders(1) },
    { path: '/login?PHPSESSID=attackerfixed123', headers: browserHeaders(2, { referer: 'https://evil.example/lure' }) },
    { path: '/cart?sessionid=77aa88bb', headers: browserHeaders(3, { referer: 'http://phish.example/' }) },
    { path: '/?ASP.NET_SessionId=fixme0001', headers: browserHeaders(4) },
    { path: '/home;jsessionid=0123456789ABCDEF', headers: browserHeaders(5) },
    { path: '/home;JSESSIONID=FEDCBA9876543210', headers: browserHeaders(6) },
    { path: '/search?q=' + enc('<script>document.cookie="sessionid=abc; domain=.example.com"</script>'), headers: browserHeaders(7) },
    { path: '/search?q=' + enc('<meta http-equiv="Set-Cookie" content="PHPSESSID=evil">'), headers: browserHeaders(8) },
    { path: '/p?x=' + enc('";document.cookie="JSESSIONID=1234;path=/;expires=Fri, 01 Jan 2038 00:00:00 GMT'), headers: browserHeaders(9) },
    { path: '/login?session_id=s3ss10n', headers: browserHeaders(10, { referer: 'https://other.example/' }) },
    { path: '/login?cfid=1000&cftoken=2000', headers: browserHeaders(11) },
    { method: 'POST', path: '/login', headers: browserHeaders(12, { 'content-type': 'application/x-www-form-urlencoded' }), body: 'user=a&jsessionid=FIXED0001' },
  ];
  fixation.forEach((r, i) => out.push({ id: `fixation-${i}`, family: 'session_fixation', evasion: 'plain', request: { method: 'GET', ...r } }));
  // Scanners.
  SCANNER_AGENTS.forEach((ua, i) => {
    out.push({ id: `scanner-${i}`, family: 'scanner', evasion: 'plain', request: { method: 'GET', path: ['/', '/admin/', '/wp-login.php', '/index.php?id=1'][i % 4], headers: browserHeaders(i, { 'user-agent': ua }) } });
    out.push({ id: `scanner-mixed-${i}`, family: 'scanner', evasion: 'mixed-case', request: { method: 'GET', path: '/robots.txt', headers: browserHeaders(i, { 'user-agent': mixedCase(ua) }) } });
  });
  // Protocol attacks and violations.
  const proto: Array<[string, HttpRequestInit]> = [
    ['smuggling-in-arg', { path: '/p?x=' + enc('a\r\nGET /admin HTTP/1.1\r\nHost: internal') }],
    ['response-splitting', { path: '/redirect?to=' + enc('/home\r\nSet-Cookie: admin=1') }],
    ['response-splitting-2', { path: '/redirect?to=' + enc('%0d%0aContent-Length: 0%0d%0a%0d%0aHTTP/1.1 200 OK') }],
    ['header-injection-name', { path: '/p?' + enc('a\r\nx-injected') + '=1' }],
    ['header-injection-lf', { path: '/lang?l=' + enc('en\nLocation: https://evil.example') }],
    ['html-in-arg', { path: '/p?x=' + enc('<html><body>owned</body></html>') }],
    ['null-byte-arg', { path: '/file?name=report.pdf%00.exe' }],
    ['null-byte-name', { path: '/p?na%00me=1' }],
    ['invalid-url-encoding', { path: '/p?x=%zz%gg' }],
    ['full-width-uri', { path: '/p?x=%uff1cscript%uff1e' }],
    ['method-trace', { method: 'TRACE', path: '/' }],
    ['method-track', { method: 'TRACK', path: '/' }],
    ['method-debug', { method: 'DEBUG', path: '/default.aspx' }],
    ['method-propfind', { method: 'PROPFIND', path: '/webdav/' }],
    ['restricted-ext-bak', { path: '/index.php.bak' }],
    ['restricted-ext-sql', { path: '/db/dump.sql' }],
    ['restricted-ext-ini', { path: '/config/app.ini' }],
    ['restricted-ext-log', { path: '/logs/error.log' }],
    ['restricted-ext-config', { path: '/web.config' }],
    ['backup-file', { path: '/index.php~' }],
    ['restricted-header-proxy', { path: '/', headers: { proxy: 'http://evil.example:8080' } }],
    ['restricted-header-override', { path: '/api/users/1', headers: { 'x-http-method-override': 'DELETE' } }],
    ['restricted-header-middleware', { path: '/admin', headers: { 'x-middleware-subrequest': 'middleware:middleware:middleware' } }],
    ['get-with-body', { method: 'GET', path: '/p', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }],
    ['content-type-not-allowed', { method: 'POST', path: '/p', headers: { 'content-type': 'application/x-evil' }, body: 'x' }],
    ['content-type-charset', { method: 'POST', path: '/p', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-7' }, body: 'a=1' }],
    ['content-type-two-types', { method: 'POST', path: '/p', headers: { 'content-type': 'application/json, text/html' }, body: '{}' }],
    ['malformed-json', { method: 'POST', path: '/api/x', headers: { 'content-type': 'application/json' }, body: '{"a": "b", "c": ' }],
    ['malformed-multipart', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n' }],
    ['multipart-no-boundary', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data' }, body: 'abc' }],
    ['ldap-injection', { path: '/users?name=' + enc('*)(uid=*))(|(uid=*') }],
    ['ldap-injection-2', { path: '/users?name=' + enc('admin)(&(password=*)') }],
    ['range-abuse', { path: '/video.mp4', headers: { range: 'bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13' } }],
    ['hpp-array', { path: '/p?a[]]=1' }],
    ['shellshock-header', { path: '/cgi-bin/status', headers: { 'user-agent': '() { :; }; echo; /bin/cat /etc/passwd' } }],
    ['multipart-part-utf7', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=qq' }, body: '--qq\r\nContent-Disposition: form-data; name="bio"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+ADw-script+AD4-alert(1)+ADw-/script+AD4-\r\n--qq--\r\n' }],
    ['multipart-charset-field', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=qq' }, body: '--qq\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\nutf-7\r\n--qq\r\nContent-Disposition: form-data; name="bio"\r\n\r\n+ADw-script+AD4-\r\n--qq--\r\n' }],
    ['multipart-transfer-encoding', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=qq' }, body: '--qq\r\nContent-Disposition: form-data; name="bio"\r\nContent-Transfer-Encoding: base64\r\n\r\nPHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\r\n--qq--\r\n' }],
    ['multipart-quoted-separator-name', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=qq' }, body: '--qq\r\nContent-Disposition: form-data; name="bio;x"; filename="a.txt"\r\n\r\nhi\r\n--qq--\r\n' }],
    ['multipart-php-session-upload', { method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=qq' }, body: '--qq\r\nContent-Disposition: form-data; name="f"; filename="sess_d8ew88tqmabdcokhumchy8h"\r\n\r\n|O:8:"stdClass":0:{}\r\n--qq--\r\n' }],
    ['request-range-header', { path: '/video.mp4', headers: { 'request-range': 'bytes=0-1,2-3' } }],
    ['crlf-in-path', { path: '/index.php/PHP_VALUE%0Aauto_prepend_file=/etc/passwd' }],
  ];
  proto.forEach(([name, r], i) => out.push({ id: `protocol-${name}`, family: 'protocol', evasion: 'plain', request: { method: 'GET', ...r, headers: browserHeaders(i, (r.headers ?? {}) as Record<string, string>) } }));
  return out;
}

export function benignCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  let n = 0;
  const add = (evasion: string, request: HttpRequestInit) => out.push({ id: `benign-${n}-${evasion}`, family: 'benign', evasion, request: { ...request, headers: browserHeaders(n++, (request.headers ?? {}) as Record<string, string>) } });
  for (const q of SEARCHES) {
    add('search', { method: 'GET', path: `/products/search?q=${enc(q)}&sort=relevance&page=${(n % 5) + 1}` });
  }
  for (const t of BENIGN_TEXTS) {
    add('form-comment', { method: 'POST', path: '/blog/post/123/comments', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: '_ga=GA1.2.1234567890.1700000000; session=eyJ1aWQiOjQyfQ.ZmFrZQ' }, body: `author=${enc('Jane Doe')}&email=${enc('jane.doe+blog@example.org')}&comment=${enc(t)}&notify=on` });
    add('json-review', { method: 'POST', path: '/api/v2/reviews', headers: { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl' }, body: JSON.stringify({ productId: 'SKU-' + (1000 + n), rating: (n % 5) + 1, title: t.slice(0, 40), body: t, tags: ['verified', 'gift'], meta: { lang: 'en', client: { app: 'web', version: '5.12.3' } } }) });
  }
  for (const s of CODE_SNIPPETS) {
    add('code-snippet', { method: 'POST', path: '/api/snippets', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'example', language: s.lang, code: s.code, public: true }) });
  }
  const forms: Array<Record<string, string>> = [
    { first_name: 'María José', last_name: "O'Connor", email: 'mj.oconnor@example.ie', phone: '+353 1 234 5678', password: 'Tr0ub4dor&3!', password_confirm: 'Tr0ub4dor&3!' },
    { street: '221B Baker Street', city: 'London', postcode: 'NW1 6XE', country: 'GB', notes: 'Ring the bell twice; leave with the concierge if nobody answers.' },
    { card_name: 'J. R. R. Tolkien', amount: '49.99', currency: 'EUR', reference: 'INV-2024/0042 (2nd installment)' },
    { username: 'dev_ops-42', password: 'p@$$w0rd-with-#symbols', remember: 'true', redirect: '/settings/security?tab=2fa' },
    { subject: 'Refund for order #8841', message: "Hi team,\r\nthe parcel arrived damaged (see photos). I'd like a refund or a replacement.\r\nThanks,\r\nTom" },
    { q: 'tickets', from: '2024-06-01', to: '2024-06-30', adults: '2', children: '1', class: 'economy' },
    { company: 'Smith & Sons, Ltd.', vat: 'GB123456789', website: 'https://smith-and-sons.example.co.uk/about?ref=signup' },
    { title: 'Meeting notes 3/4', body: 'Agenda: 1) budget (+5% vs. last year) 2) hiring - 3 roles 3) Q&A; next meeting @ 10:30' },
  ];
  for (let r = 0; r < 4; r++) {
    forms.forEach((f, i) => add('form', { method: 'POST', path: ['/signup', '/checkout/address', '/checkout/pay', '/login', '/support/contact', '/travel/search', '/b2b/register', '/notes'][i], headers: { 'content-type': 'application/x-www-form-urlencoded', referer: 'https://shop.example.com/' }, body: new URLSearchParams({ ...f, csrf_token: 'a1B2c3D4e5F6g7H8' + r }).toString() }));
  }
  const gets = ['/', '/index.html', '/assets/app.3f2a1c.js', '/assets/styles.css?v=20240601', '/images/logo@2x.png', '/favicon.ico', '/products/42', '/products/42/reviews?page=2&per_page=20',
    '/category/shoes/running?size=42&color=blue&price_min=50&price_max=150', '/api/v1/users/me', '/api/v1/orders?status=shipped&since=2024-01-01T00:00:00Z', '/blog/2024/05/how-we-scaled-our-api',
    '/search?q=%22noise+cancelling%22+headphones', '/p/summer-sale?utm_source=newsletter&utm_medium=email&utm_campaign=june_2024', '/docs/getting-started#installation', '/api/v1/items?fields=id,name,price&sort=-created_at',
    '/maps?ll=48.8566,2.3522&z=12', '/calendar/2024-06?view=month', '/u/jane.doe', '/download/report-2024-Q1.pdf', '/oauth/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz', '/feed.xml', '/sitemap.xml',
    '/api/graphql?query=%7Bviewer%7Bname%7D%7D', '/wiki/C%2B%2B', '/wiki/Rock_%26_Roll', '/s?k=men%27s+shoes', '/tags/c%23', '/translate?text=caf%C3%A9%20cr%C3%A8me&from=fr&to=en', '/music?artist=Guns+N%27+Roses'];
  for (let r = 0; r < 4; r++) {
    gets.forEach((p) => add('browse', { method: 'GET', path: p, headers: { cookie: `_ga=GA1.2.${1000 + r}.1700000000; __utmz=111.1700000000.1.1.utmcsr=(direct)|utmccn=(direct)|utmcmd=(none); cart=%7B%22items%22%3A${r}%7D; consent=necessary,analytics`, referer: 'https://shop.example.com/' } }));
  }
  const jsons = [
    { user: { id: 42, name: 'Zoë Washburne', email: 'zoe@serenity.example', roles: ['pilot', 'crew'], address: { city: 'Shadow', zip: '00000' } } },
    { items: [{ sku: 'A-1', qty: 2, price: 19.99 }, { sku: 'B-7', qty: 1, price: 5 }], coupon: 'SUMMER-10%', note: "Please don't ring" },
    { query: 'query GetUser($id: ID!) { user(id: $id) { id name posts(first: 10) { edges { node { title } } } } }', variables: { id: '42' } },
    { event: 'page_view', ts: 1717171717, props: { path: '/pricing', referrer: 'https://www.google.com/', screen: '1920x1080', lang: 'de-DE' } },
    { filter: { and: [{ field: 'status', op: 'eq', value: 'open' }, { field: 'priority', op: 'gte', value: 3 }] }, sort: [{ field: 'updated', dir: 'desc' }], limit: 50 },
    { message: 'Build #1842 failed: test "select all rows" timed out after 30s', level: 'error', service: 'ci', tags: ['flaky', 'db'] },
    { name: '北京烤鸭 (Peking duck)', description: 'Crispy skin, served with pancakes & hoisin sauce — a classic!', price: { amount: 128, currency: 'CNY' } },
    { settings: { theme: 'dark', notifications: { email: true, sms: false }, timezone: 'America/New_York', dateFormat: 'MM/DD/YYYY' } },
    { op: 'replace', path: '/profile/bio', value: 'Backend dev. I <3 Go & Rust. Opinions are my own.' },
    { title: 'Why 1=1 is always true (a gentle intro to logic)', draft: true, wordCount: 1200 },
    { template: 'Total: ${total} (incl. tax)', formula: '=CONCAT(A1, B1)', locale: 'en-GB' },
    { service: { host: 'api.internal.example', port: 8080, healthPath: '/healthz' }, retries: 3, note: 'falls back to ip6-localhost in dev' },
  ];
  for (let r = 0; r < 6; r++) {
    jsons.forEach((j, i) => add('json-api', { method: ['POST', 'PUT', 'PATCH'][(i + r) % 3], path: `/api/v1/resource/${i}`, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(j) }));
  }
  for (let i = 0; i < 20; i++) {
    const b = '----WebKitFormBoundary' + (1000 + i);
    const name = ['holiday photo.jpg', 'CV_Jane-Doe (2024).pdf', 'résumé.docx', 'data_export.csv', 'diagram.v2.png'][i % 5];
    add('upload', { method: 'POST', path: '/files/upload', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: `--${b}\r\nContent-Disposition: form-data; name="description"\r\n\r\nMy file #${i} - "final" version\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\nbinarydata${i}\r\n--${b}--\r\n` });
  }
  return out;
}
