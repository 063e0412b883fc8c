// The SecLang subset of the WAF filter, rule by rule in the Node host: every directive, action,
// variable, operator and transformation the docs list, and the loud rejection of anything else
// (the message names the rule id or line and the reason).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLines, matchedRules, wafRejection, withRules } from '../../support/waf.js';
import type { HttpRequestInit } from '../../../sdk/src/host/index.js';

type Rules = Awaited<ReturnType<typeof withRules>>;

const ONE = (vars: string, op: string, extra = '') => `SecRule ${vars} "${op}" "id:1,phase:2,pass,log${extra ? ',' + extra : ''}"`;

describe('transformations (t:) turn the value the operator sees into the documented form', () => {
  // Each case: a rule logs %{MATCHED_VAR} (the transformed value) for the header x-v or the
  // query argument v (already URL-decoded once, which lets a test send NUL bytes).
  const cases: Array<[string, { header?: string; query?: string }, string]> = [
    ['lowercase', { header: 'AbC' }, 'abc'],
    ['uppercase', { header: 'AbC' }, 'ABC'],
    ['urlDecode', { header: 'a%20b+c%2' }, 'a b c%2'],
    ['urlDecodeUni', { header: '%u0041%uFF1C%27x' }, "A<'x"],
    ['htmlEntityDecode', { header: '&lt;a&#x41;&#66;&quot;&amp;&colon;&#40' }, '<aAB"&:('],
    ['jsDecode', { header: '\\x41\\u0042\\n\\101\\q' }, 'AB\nAq'],
    ['cssDecode', { header: '\\41 b\\3c\\z' }, 'Ab<z'],
    ['base64Decode', { header: 'PHNjcmlwdD4=' }, '<script>'],
    ['hexDecode', { header: '3c7363726970743e' }, '<script>'],
    ['removeNulls', { query: 'a%00b' }, 'ab'],
    ['replaceNulls', { query: 'a%00b' }, 'a b'],
    ['removeWhitespace', { query: 'a%20b%09c%0a' }, 'abc'],
    ['compressWhitespace', { query: 'a%20%20%09%20b' }, 'a b'],
    ['replaceComments', { header: 'un/**/ion /* x' }, 'un ion  '],
    ['removeCommentsChar', { header: 'a/*b*/c--d#e' }, 'abcde'],
    ['removeComments', { header: 'a/*b*/c -- d' }, 'ac '],
    ['cmdLine', { header: 'C^a"t  /etc,p\'w;d' }, 'cat/etc pw d'],
    ['normalizePath', { header: '/a/./b/../c//d' }, '/a/c/d'],
    ['normalizePathWin', { header: '\\a\\..\\b\\c' }, '/b/c'],
    ['utf8toUnicode', { query: '%C3%A9x%E2%82%AC' }, '%u00e9x%u20ac'],
    ['trim', { query: '%20%20a%20b%09' }, 'a b'],
    ['trimLeft', { query: '%20%20a%20' }, 'a '],
    ['trimRight', { query: '%20a%20%20' }, ' a'],
    ['length', { header: 'abcd' }, '4'],
  ];
  let waf: Rules;
  beforeAll(async () => {
    const rules = cases.map(([t], i) =>
      `SecRule REQUEST_HEADERS:x-t "@streq ${t}" "id:${100 + i},phase:2,pass,log,chain"\n` +
      `  SecRule REQUEST_HEADERS:x-v|ARGS:v "@unconditionalMatch" "t:none,t:${t},setvar:tx.out=%{MATCHED_VAR}"`).join('\n') +
      '\nSecRule TX:out "@unconditionalMatch" "id:99,phase:2,pass,log,t:none,logdata:\'%{TX.out}\'"';
    waf = await withRules(rules);
  });
  afterAll(() => waf.close());
  it.each(cases)('%s', async (t, input, expected) => {
    const res = await waf.send({ path: input.query !== undefined ? `/?v=${input.query}` : '/', headers: { 'x-t': t, ...(input.header !== undefined ? { 'x-v': input.header } : {}) } });
    const line = auditLines(res).find((l) => l.rule_id === 99);
    expect(line?.data).toBe(expected);
  });
  it('urlDecode and urlDecodeUni keep what is not a whole escape, before, between and after escapes', async () => {
    const w = await withRules([
      `SecRule REQUEST_HEADERS:x-v "@unconditionalMatch" "id:1,phase:1,pass,log,t:none,t:urlDecode,logdata:'%{MATCHED_VAR}'"`,
      `SecRule REQUEST_HEADERS:x-w "@unconditionalMatch" "id:2,phase:1,pass,log,t:none,t:urlDecodeUni,logdata:'%{MATCHED_VAR}'"`,
    ].join('\n'));
    const decoded = async (name: string, value: string, id: number) =>
      auditLines(await w.send({ path: '/', headers: { [name]: value } })).find((l) => l.rule_id === id)?.data;
    expect(await decoded('x-v', 'plain text only', 1)).toBe('plain text only');
    expect(await decoded('x-v', '+lead%zz%%41%4+x%', 1)).toBe(' lead%zz%A%4 x%');
    expect(await decoded('x-v', '%u0041', 1)).toBe('%u0041'); // %u is urlDecodeUni's
    expect(await decoded('x-w', '%u0041b%uFF21%u004', 2)).toBe('AbA%u004');
    expect(await decoded('x-w', 'x%uZZ41%u12%41', 2)).toBe('x%uZZ41%u12A');
    w.close();
  });
  it('none resets the list (a rule sees the raw value again)', async () => {
    const w = await withRules(`SecRule REQUEST_HEADERS:x-v "@streq AbC" "id:1,phase:1,pass,log,t:lowercase,t:none"`);
    expect(await w.matches({ path: '/', headers: { 'x-v': 'AbC' } })).toEqual([1]);
    w.close();
  });
  it('a chain of transformations applies in order (double URL encoding)', async () => {
    const w = await withRules(`SecRule ARGS:q "@streq <script>" "id:1,phase:2,pass,log,t:urlDecodeUni,t:lowercase"`);
    expect(await w.matches({ path: '/?q=%253CSCRIPT%253E' })).toEqual([1]);
    w.close();
  });
});

describe('operators', () => {
  const cases: Array<[string, string, string, boolean]> = [
    // [operator, header x-v value, description, expected match]
    ['@rx ^a\\d+z$', 'a123z', 'rx match', true],
    ['@rx ^a\\d+z$', 'a12yz', 'rx no match', false],
    ['@rx (?i)SELECT', 'select', 'rx inline flag', true],
    ['@pm foo bar baz', 'xxBARxx', 'pm (case-insensitive)', true],
    ['@pm foo bar baz', 'qux', 'pm no match', false],
    ['@pmFromFile words.txt', 'say HELLO', 'pmFromFile', true],
    ['@pmFromFile words.txt', 'say nothing', 'pmFromFile no match', false],
    ['@contains needle', 'haystackneedlehay', 'contains', true],
    ['@contains needle', 'haystack', 'contains no match', false],
    ['@containsWord cat', 'the cat sat', 'containsWord', true],
    ['@containsWord cat', 'concatenate', 'containsWord inside a word', false],
    ['@beginsWith /admin', '/admin/users', 'beginsWith', true],
    ['@beginsWith /admin', '/user/admin', 'beginsWith no match', false],
    ['@endsWith .php', 'index.php', 'endsWith', true],
    ['@endsWith .php', 'index.php.txt', 'endsWith no match', false],
    ['@streq exact', 'exact', 'streq', true],
    ['@streq exact', 'exactly', 'streq no match', false],
    ['@eq 5', '5', 'eq', true],
    ['@eq 5', '6', 'eq no match', false],
    ['@ge 5', '5', 'ge equal', true],
    ['@ge 5', '4', 'ge below', false],
    ['@gt 5', '6', 'gt', true],
    ['@gt 5', '5', 'gt equal', false],
    ['@le 5', '5', 'le equal', true],
    ['@le 5', '6', 'le above', false],
    ['@lt 5', '4', 'lt', true],
    ['@lt 5', '5', 'lt equal', false],
    ['@within GET HEAD POST', 'HEAD', 'within', true],
    ['@within GET HEAD POST', 'DELETE', 'within no match', false],
    ['@ipMatch 10.0.0.0/8,192.168.1.7', '10.20.30.40', 'ipMatch range', true],
    ['@ipMatch 10.0.0.0/8,192.168.1.7', '192.168.1.7', 'ipMatch single address', true],
    ['@ipMatch 10.0.0.0/8,192.168.1.7', '11.0.0.1', 'ipMatch outside', false],
    ['@ipMatch 2001:db8::/32', '2001:db8::1', 'ipMatch IPv6', true],
    ['@detectSQLi', "1' OR '1'='1", 'detectSQLi', true],
    ['@detectSQLi', "O'Reilly books", 'detectSQLi benign', false],
    ['@detectXSS', '<script>alert(1)</script>', 'detectXSS', true],
    ['@detectXSS', 'x < y and y > z', 'detectXSS benign', false],
    ['@validateByteRange 32-126', 'plain text', 'validateByteRange inside', false],
    ['@validateByteRange 32-126', 'tab\there', 'validateByteRange outside', true],
    ['@validateUrlEncoding', 'a%20b', 'validateUrlEncoding valid', false],
    ['@validateUrlEncoding', 'a%zzb', 'validateUrlEncoding invalid', true],
    ['@validateUrlEncoding', 'a%2', 'validateUrlEncoding truncated', true],
    ['@validateUtf8Encoding', 'caf\u00e9', 'validateUtf8Encoding valid', false],
    ['@unconditionalMatch', 'anything', 'unconditionalMatch', true],
    ['!@contains needle', 'haystack', 'negation matches when the operator does not', true],
    ['!@contains needle', 'needle', 'negation does not match when the operator does', false],
    ['^implicit\\d$', 'implicit7', 'no @: implicit @rx', true],
  ];
  let waf: Rules;
  beforeAll(async () => {
    const rules = cases.map(([op, , desc], i) => `SecRule REQUEST_HEADERS:x-case "@streq ${i}" "id:${1000 + i},phase:1,pass,nolog,chain"\n  SecRule REQUEST_HEADERS:x-v "${op}" "t:none,setvar:tx.hit=1"`).join('\n') +
      '\nSecRule &TX:hit "@eq 1" "id:1,phase:1,pass,log"';
    waf = await withRules(rules, { data_files: { 'words.txt': '# greetings\nhello\n\nbonjour\n' } });
  });
  afterAll(() => waf.close());
  it.each(cases.map((c, i) => [c[2], i, c[1], c[3]] as const))('%s', async (_d, i, value, expected) => {
    const ids = await waf.matches({ path: '/', headers: { 'x-case': String(i), 'x-v': value } });
    expect(ids.includes(1)).toBe(expected);
  });
  it('validateUtf8Encoding flags invalid UTF-8 bytes (from a URL-decoded argument)', async () => {
    const w = await withRules(ONE('ARGS:v', '@validateUtf8Encoding'));
    expect(await w.matches({ path: '/?v=%C3%A9' })).toEqual([]);
    expect(await w.matches({ path: '/?v=%C3%28' })).toEqual([1]);
    expect(await w.matches({ path: '/?v=%C0%AF' })).toEqual([1]); // overlong
    w.close();
  });
  it('validateByteRange finds a NUL byte', async () => {
    const w = await withRules(ONE('ARGS', '@validateByteRange 1-255'));
    expect(await w.matches({ path: '/?v=a%00b' })).toEqual([1]);
    expect(await w.matches({ path: '/?v=ab' })).toEqual([]);
    w.close();
  });
  it('comparison operators expand macros in their parameter', async () => {
    const w = await withRules(`SecAction "id:1,phase:1,pass,nolog,setvar:tx.limit=3"\nSecRule ARGS:n "@gt %{tx.limit}" "id:2,phase:2,pass,log"`);
    expect(await w.matches({ path: '/?n=4' })).toEqual([2]);
    expect(await w.matches({ path: '/?n=3' })).toEqual([]);
    w.close();
  });
});

describe('variables', () => {
  const post = (body: string, type = 'application/x-www-form-urlencoded') => ({ method: 'POST', headers: { 'content-type': type }, body });
  const cases: Array<[string, string, Record<string, unknown>, boolean]> = [
    ['ARGS', '@streq v1', { path: '/p?a=v1' }, true],
    ['ARGS (body)', '@streq v2', { path: '/p', ...post('b=v2') }, true],
    ['ARGS_NAMES', '@streq secret', { path: '/p?secret=1' }, true],
    ['ARGS_GET', '@streq g', { path: '/p?a=g' }, true],
    ['ARGS_GET (not body)', '@streq g', { path: '/p', ...post('a=g') }, false],
    ['ARGS_GET_NAMES', '@streq qn', { path: '/p?qn=1' }, true],
    ['ARGS_POST', '@streq pv', { path: '/p', ...post('a=pv') }, true],
    ['ARGS_POST (not query)', '@streq pv', { path: '/p?a=pv' }, false],
    ['ARGS_POST_NAMES', '@streq pn', { path: '/p', ...post('pn=1') }, true],
    ['ARGS_COMBINED_SIZE', '@eq 6', { path: '/p?ab=cd&e=f' }, true],
    ['REQUEST_URI', '@streq /p/x?y=%27', { path: '/p/x?y=%27' }, true],
    ['REQUEST_URI_RAW', '@contains %27', { path: '/p/x?y=%27' }, true],
    ['REQUEST_FILENAME', '@streq /p/x.php', { path: '/p/x.php?y=1' }, true],
    ['REQUEST_BASENAME', '@streq x.php', { path: '/p/x.php?y=1' }, true],
    ['REQUEST_LINE', '@streq GET /p?q=1 HTTP/1.1', { path: '/p?q=1' }, true],
    ['QUERY_STRING', '@streq q=1&r=2', { path: '/p?q=1&r=2' }, true],
    ['REQUEST_METHOD', '@streq PUT', { path: '/p', method: 'PUT' }, true],
    ['REQUEST_PROTOCOL', '@rx ^HTTP/', { path: '/p' }, true],
    ['REQUEST_HEADERS:x-custom', '@streq hv', { path: '/p', headers: { 'x-custom': 'hv' } }, true],
    ['REQUEST_HEADERS:X-CUSTOM (keys are case-insensitive)', '@streq hv', { path: '/p', headers: { 'x-custom': 'hv' } }, true],
    ['REQUEST_HEADERS_NAMES', '@streq x-odd', { path: '/p', headers: { 'x-odd': '1' } }, true],
    ['REQUEST_COOKIES:sid', '@streq abc', { path: '/p', headers: { cookie: 'a=1; sid=abc' } }, true],
    ['REQUEST_COOKIES_NAMES', '@streq sid', { path: '/p', headers: { cookie: 'a=1; sid=abc' } }, true],
    ['REQUEST_BODY', '@contains raw body', { path: '/p', ...post('some raw body', 'text/plain') }, true],
    ['REQUEST_BODY_LENGTH', '@eq 13', { path: '/p', ...post('some raw body', 'text/plain') }, true],
    ['FILES', '@streq shell.php', { path: '/p', ...post('--XB\r\nContent-Disposition: form-data; name="up"; filename="shell.php"\r\nContent-Type: text/plain\r\n\r\n<?php ?>\r\n--XB--\r\n', 'multipart/form-data; boundary=XB') }, true],
    ['FILES_NAMES', '@streq up', { path: '/p', ...post('--XB\r\nContent-Disposition: form-data; name="up"; filename="a.txt"\r\n\r\nhi\r\n--XB--\r\n', 'multipart/form-data; boundary=XB') }, true],
    ['REMOTE_ADDR', '@ipMatch 127.0.0.0/8', { path: '/p' }, true],
    ['REQBODY_ERROR', '@eq 1', { path: '/p', ...post('{"a":', 'application/json') }, true],
    ['REQBODY_ERROR (valid JSON)', '@eq 1', { path: '/p', ...post('{"a":1}', 'application/json') }, false],
    ['REQBODY_PROCESSOR', '@streq JSON', { path: '/p', ...post('{"a":1}', 'application/json') }, true],
  ];
  it.each(cases)('%s', async (name, op, req, expected) => {
    const variable = name.split(' ')[0]!;
    const w = await withRules(`SecRequestBodyAccess On\n${ONE(variable, op)}`);
    expect((await w.matches(req as never)).includes(1)).toBe(expected);
    w.close();
  });
  it('query and form parts are the same whether met before or not: decoded, split at ?, # and &', async () => {
    // Parts with nothing to decode are taken from earlier requests' values (request.ts
    // setUri, parseUrlEncoded); each request must still see its own parts.
    const w = await withRules([
      'SecRequestBodyAccess On',
      `SecRule ARGS_GET:a "@streq xA" "id:1,phase:2,pass,log"`,
      `SecRule ARGS_GET_NAMES "@streq b c" "id:2,phase:2,pass,log"`,
      `SecRule REQUEST_FILENAME "@streq /p/x" "id:3,phase:2,pass,log"`,
      `SecRule REQUEST_BASENAME "@streq x" "id:4,phase:2,pass,log"`,
      `SecRule QUERY_STRING "@streq a=xA" "id:5,phase:2,pass,log"`,
      `SecRule ARGS_POST:xA "@streq a" "id:6,phase:2,pass,log"`,
    ].join('\n'));
    const sends: Array<[Record<string, unknown>, number[]]> = [
      [{ path: '/p/x?a=xA' }, [1, 3, 4, 5]],
      [{ path: '/p/x?a=x%41' }, [1, 3, 4]],
      [{ path: '/p/x?a=xA' }, [1, 3, 4, 5]],
      [{ path: '/p/x#frag?a=xA' }, [1, 3, 4, 5]],
      [{ path: '/p/xA?a=xA&b+c=1' }, [1, 2]],
      [{ path: '/p/x?a=xA%20&b%20c' }, [2, 3, 4]],
      [{ path: '/p', ...post('xA=a&x%41=a') }, [6]],
      [{ path: '/p', ...post('xA=ab') }, []],
    ];
    for (const [req, rules] of sends) expect([req.path, await w.matches(req as never)]).toEqual([req.path, rules]);
    w.close();
  });
  it('cookies: parts split at `;`, trimmed, split at the first `=`, values percent-decoded; the same whether met before or not', async () => {
    // request.ts parseCookies: one pass, parts with nothing to decode taken from earlier requests' values.
    const w = await withRules([
      `SecRule REQUEST_COOKIES:a "@streq 1" "id:1,phase:1,pass,log"`,
      `SecRule REQUEST_COOKIES:b "@streq A b" "id:2,phase:1,pass,log"`,
      `SecRule REQUEST_COOKIES_NAMES "@streq c" "id:3,phase:1,pass,log"`,
      `SecRule REQUEST_COOKIES:d "@streq =2" "id:4,phase:1,pass,log"`,
      `SecRule &REQUEST_COOKIES "@eq 5" "id:5,phase:1,pass,log"`,
      `SecRule REQUEST_COOKIES_NAMES "@streq x y" "id:6,phase:1,pass,log"`,
    ].join('\n'));
    const sends: Array<[string, number[]]> = [
      [' a = 1 ;; b=%41 b ; c ; =x ; d==2 ', [1, 2, 3, 4, 5]],
      [' a = 1 ;; b=%41 b ; c ; =x ; d==2 ', [1, 2, 3, 4, 5]],
      ['a=\t1\t;b=A b', [1, 2]],
      ['a=%31; x y =z', [1, 6]],
      ['a=12;b=%41b', []],
      ['', []],
    ];
    for (const [cookie, rules] of sends) expect([cookie, await w.matches({ path: '/p', headers: { cookie } } as never)]).toEqual([cookie, rules]);
    w.close();
  });
  it('a keyed header repeated past 8 times: each value inspected, a repeated value matched once', async () => {
    // Lists of keyed entries are collected per rule (engine.ts fewTargets). Past 8 entries a
    // list's values are deduplicated, as in the shared lists of whole collections: a value
    // repeated in many entries is inspected, and put in MATCHED_VARS, once.
    const w = await withRules([
      `SecRule REQUEST_HEADERS:x-a "@streq bad" "id:1,phase:1,pass,log"`,
      `SecRule &REQUEST_HEADERS:x-a "@gt 8" "id:2,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-a|REQUEST_HEADERS:x-b "@streq worse" "id:3,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-a "@streq ok" "id:4,phase:1,pass,log,chain"`,
      `  SecRule &MATCHED_VARS "@eq 1" ""`,
    ].join('\n'));
    const many: Array<[string, string]> = [];
    for (let i = 0; i < 12; i++) many.push(['x-a', i === 10 ? 'bad' : 'ok']);
    many.push(['x-b', 'worse']);
    expect(await w.matches({ path: '/p', headers: many } as never)).toEqual([1, 2, 3, 4]);
    // Up to 8 entries every entry counts: three "ok" entries are three matched variables.
    const few: Array<[string, string]> = [['x-a', 'ok'], ['x-a', 'bad'], ['x-a', 'ok'], ['x-a', 'ok']];
    expect(await w.matches({ path: '/p', headers: few } as never)).toEqual([1]);
    w.close();
  });
  it('each request starts with nothing of the ones before (a finished transaction\'s parts are reused)', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      `SecRule ARGS:a "@streq set" "id:1,phase:1,pass,nolog,setvar:tx.flag=1,ctl:ruleRemoveById=3"`,
      `SecRule TX:flag "@eq 1" "id:2,phase:2,pass,log"`,
      `SecRule REQUEST_METHOD "@streq GET" "id:3,phase:2,pass,log"`,
      `SecRule &ARGS "@eq 0" "id:4,phase:2,pass,log"`,
      `SecRule &REQUEST_COOKIES "@eq 0" "id:5,phase:2,pass,log"`,
      `SecRule &REQUEST_HEADERS:x-a "@eq 0" "id:6,phase:1,pass,log"`,
      `SecRule ARGS:b "@streq deny" "id:7,phase:2,deny,log"`,
      `SecRule RESPONSE_HEADERS:x-leak "@streq yes" "id:8,phase:3,pass,log"`,
      `SecRule REQBODY_ERROR "!@eq 0" "id:9,phase:2,pass,log"`,
      `SecRule REQUEST_HEADERS "@streq marker" "id:10,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS "@contains mark" "id:11,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-deny "@streq 1" "id:12,phase:1,deny,log"`,
    ].join('\n'));
    const leaky = () => ({ status: 200, headers: { 'x-leak': 'yes', 'content-type': 'text/plain' }, body: 'ok' });
    const quiet = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
    // Every logged match, the response's too.
    const logged = async (req: HttpRequestInit) => auditLines(await w.send(req)).map((l) => l.rule_id);
    const plain = { path: '/', upstream: quiet };
    // A request that sets and removes, then one that has none of it.
    expect(await logged({ path: '/?a=set&c=1', headers: { cookie: 's=1', 'x-a': '1' }, upstream: leaky })).toEqual([2, 8]);
    expect(await logged(plain)).toEqual([6, 3, 4, 5]);
    // A denied request, then one that passes.
    expect((await w.send({ path: '/?b=deny', headers: { 'x-a': '1' } })).status).toBe(403);
    const after = await w.send(plain);
    expect([after.status, auditLines(after).map((l) => l.rule_id)]).toEqual([200, [6, 3, 4, 5]]);
    // Denied in phase 1 (the phase's lists still kept), then a request without those headers.
    expect((await w.send({ path: '/', headers: { 'x-m': 'marker', 'x-deny': '1' } })).status).toBe(403);
    expect(await logged(plain)).toEqual([6, 3, 4, 5]);
    // A body that fails to parse, then a GET.
    expect(await logged({ method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{"a":', upstream: quiet })).toEqual([6, 4, 5, 9]);
    expect(await logged(plain)).toEqual([6, 3, 4, 5]);
    w.close();
  });
  it('JSON bodies are flattened into ARGS as json.a.b (array elements share the array name)', async () => {
    const w = await withRules(`SecRequestBodyAccess On\nSecRule ARGS:json.user.roles "@streq admin" "id:1,phase:2,pass,log"\nSecRule ARGS_NAMES "@streq json.user.name" "id:2,phase:2,pass,log"\nSecRule &ARGS:json.items.sku "@eq 2" "id:3,phase:2,pass,log"`);
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{"user":{"name":"x","roles":["u","admin"]},"items":[{"sku":"a"},{"sku":"b"}]}' })).toEqual([1, 2, 3]);
    w.close();
  });
  it('XML bodies: element text as xml.<path>, attributes as xml.<path>@name; other text bodies as ARGS_POST:body', async () => {
    const w = await withRules(`SecRequestBodyAccess On\nSecRule ARGS_POST:xml.order.item "@streq book" "id:1,phase:2,pass,log"\nSecRule ARGS_POST:xml.order.item@sku "@streq B-7" "id:2,phase:2,pass,log"\nSecRule ARGS_POST:body "@contains plain words" "id:3,phase:2,pass,log"\nSecRule REQBODY_PROCESSOR "@streq XML" "id:4,phase:2,pass,log"`);
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'application/xml' }, body: '<?xml version="1.0"?><order><item sku="B-7">book</item><!-- c --></order>' })).toEqual([1, 2, 4]);
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: 'some plain words here' })).toEqual([3]);
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'application/octet-stream' }, body: 'some plain words here' })).toEqual([]);
    w.close();
  });
  it('XML text and attribute values are inspected with entities and character references decoded', async () => {
    const w = await withRules(`SecRequestBodyAccess On\nSecRule ARGS_POST:xml.r.a@p "@streq x' or 1 > 1" "id:1,phase:2,pass,log"\nSecRule ARGS_POST:xml.r.a "@streq <b>&\\"'" "id:2,phase:2,pass,log"\nSecRule ARGS_POST:xml.r.c "@streq &bogus; &#xZZ; & &#0;" "id:3,phase:2,pass,log"`);
    const body = '<?xml version="1.0"?><r><a p="x&apos; or 1 &gt; 1">&lt;b&#62;&amp;&quot;&#x27;</a><c>&bogus; &#xZZ; & &#0;</c></r>';
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'application/xml' }, body })).toEqual([1, 2, 3]);
    w.close();
  });
  it('multipart fields are ARGS_POST, file names are FILES', async () => {
    const w = await withRules(`SecRequestBodyAccess On\nSecRule ARGS_POST:comment "@streq hello" "id:1,phase:2,pass,log"\nSecRule FILES:doc "@streq report.pdf" "id:2,phase:2,pass,log"`);
    const body = '--b1\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhello\r\n--b1\r\nContent-Disposition: form-data; name="doc"; filename="report.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b1--\r\n';
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'multipart/form-data; boundary=b1' }, body })).toEqual([1, 2]);
    w.close();
  });
  it('multipart part names and file names keep a quoted ; (the name a backend reads, not a prefix of it)', async () => {
    const w = await withRules(`SecRequestBodyAccess On\nSecRule FILES_NAMES "@streq fi;le" "id:1,phase:2,pass,log"\nSecRule FILES "@streq te;st.txt" "id:2,phase:2,pass,log"\nSecRule ARGS_POST:a;b "@streq v" "id:3,phase:2,pass,log"`);
    const body = '--b1\r\nContent-Disposition: form-data; name="fi;le"; filename="te;st.txt"\r\n\r\nx\r\n--b1\r\nContent-Disposition: form-data; name="a;b"\r\n\r\nv\r\n--b1--\r\n';
    expect(await w.matches({ method: 'POST', path: '/', headers: { 'content-type': 'multipart/form-data; boundary=b1' }, body })).toEqual([1, 2, 3]);
    w.close();
  });
  it('&COLLECTION counts, ! excludes, :/regex/ selects keys', async () => {
    const w = await withRules([
      `SecRule &ARGS "@eq 3" "id:1,phase:2,pass,log"`,
      `SecRule &ARGS:a "@eq 2" "id:2,phase:2,pass,log"`,
      `SecRule ARGS|!ARGS:a "@streq bad" "id:3,phase:2,pass,log"`,
      `SecRule ARGS:/^ke?y_/ "@streq hit" "id:4,phase:2,pass,log"`,
      `SecRule &REQUEST_HEADERS:x-none "@eq 0" "id:5,phase:1,pass,log"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?a=bad&a=x&ky_1=hit' })).toEqual([5, 1, 2, 4]);
    expect(await w.matches({ path: '/?b=bad' })).toEqual([5, 3]);
    w.close();
  });
  it('TX, MATCHED_VAR, MATCHED_VAR_NAME, MATCHED_VARS, MATCHED_VARS_NAMES', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.level=3"`,
      `SecRule TX:level "@eq 3" "id:2,phase:1,pass,log"`,
      `SecRule TX:/^lev/ "@eq 3" "id:3,phase:1,pass,log"`,
      // Each link sees what the previous link matched.
      `SecRule ARGS "@rx ^evil" "id:4,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VARS_NAMES "@streq ARGS:b" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:5,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VARS "@streq evil2" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:6,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VAR "@streq evil2" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:7,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VAR_NAME "@streq ARGS:b" "t:none"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?a=ok&b=evil2' })).toEqual([2, 3, 4, 5, 6, 7]);
    w.close();
  });
  it('MATCHED_VARS: every value the previous link matched, one or several', async () => {
    const w = await withRules([
      `SecRule ARGS "@rx ^evil" "id:1,phase:2,pass,log,chain"`,
      `  SecRule &MATCHED_VARS "@eq 2" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:2,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VARS "@streq evil1" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:3,phase:2,pass,log,chain"`,
      `  SecRule MATCHED_VARS_NAMES "@streq ARGS:b" "t:none"`,
      `SecRule ARGS "@rx ^evil" "id:4,phase:2,pass,log,chain"`,
      `  SecRule &MATCHED_VARS "@eq 1" "t:none"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?a=evil1&b=evil2' })).toEqual([1, 2, 3]);
    expect(await w.matches({ path: '/?a=evil1&b=ok' })).toEqual([2, 4]);
    w.close();
  });
  it('RESPONSE_STATUS, RESPONSE_HEADERS(_NAMES) in phase 3, RESPONSE_BODY in phase 4', async () => {
    const w = await withRules([
      'SecResponseBodyAccess On',
      `SecRule RESPONSE_STATUS "@streq 500" "id:1,phase:3,pass,log"`,
      `SecRule RESPONSE_HEADERS:x-leak "@streq yes" "id:2,phase:3,pass,log"`,
      `SecRule RESPONSE_HEADERS_NAMES "@streq x-leak" "id:3,phase:3,pass,log"`,
      `SecRule RESPONSE_BODY "@contains SQL syntax" "id:4,phase:4,deny,log"`,
    ].join('\n'));
    const res = await w.send({ path: '/', upstream: () => ({ status: 500, headers: { 'x-leak': 'yes', 'content-type': 'text/html' }, body: 'You have an error in your SQL syntax' }) });
    expect(auditLines(res).map((l) => l.rule_id)).toEqual([1, 2, 3, 4]);
    // The response headers left before the body was inspected: a phase-4 deny resets the
    // stream, and the body never reaches the client.
    expect(res.body).not.toContain('SQL');
    expect(res.reset).toBeTruthy();
    w.close();
  });
  it('RESPONSE_BODY is inspected when trailers follow the body too (gRPC-style responses)', async () => {
    const w = await withRules([
      'SecResponseBodyAccess On',
      'SecResponseBodyMimeType text/plain',
      `SecRule RESPONSE_BODY "@contains SQL syntax" "id:1,phase:4,deny,log"`,
      `SecRule RESPONSE_STATUS "@streq 200" "id:2,phase:5,pass,log"`,
    ].join('\n'));
    const upstream = (body: string) => () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: [body.slice(0, 10), body.slice(10)], trailers: { 'x-checksum': '1' } });
    const leak = await w.send({ path: '/', upstream: upstream('You have an error in your SQL syntax') });
    expect(auditLines(leak).map((l) => l.rule_id)).toEqual([1]);
    expect(leak.body).not.toContain('SQL');
    expect(leak.reset).toBeTruthy();
    const fine = await w.send({ path: '/', upstream: upstream('all rows returned, nothing to see') });
    expect([fine.status, fine.body, auditLines(fine).map((l) => l.rule_id)]).toEqual([200, 'all rows returned, nothing to see', [2]]);
    w.close();
  });
  it('response headers are read whole only when a rule reads them (a target or a macro, in any phase); RESPONSE_STATUS alone still works', async () => {
    const upstream = (status: number) => () => ({ status, headers: { 'x-leak': 'yes', 'content-type': 'text/plain' }, body: 'ok' });
    // Only the status is read: a 5xx is still denied, a 200 passes.
    let w = await withRules(`SecRule RESPONSE_STATUS "@rx ^5" "id:1,phase:3,deny,log"`);
    expect((await w.send({ path: '/', upstream: upstream(503) })).status).toBe(403);
    expect((await w.send({ path: '/', upstream: upstream(200) })).status).toBe(200);
    w.close();
    // The status is read when a rule first asks for it: in a macro, in a later phase, or
    // only after a skip (each response reads its own).
    w = await withRules([
      `SecAction "id:1,phase:3,pass,nolog,skipAfter:LATER"`,
      `SecRule RESPONSE_STATUS "@rx ." "id:2,phase:3,pass,log"`,
      `SecMarker LATER`,
      `SecAction "id:3,phase:4,pass,log,logdata:'status=%{RESPONSE_STATUS}'"`,
      `SecRule RESPONSE_STATUS "@streq 404" "id:4,phase:5,pass,log"`,
    ].join('\n'));
    for (const status of [404, 201]) {
      const lines = auditLines(await w.send({ path: '/', upstream: upstream(status) }));
      expect(lines.map((l) => [l.rule_id, l.data])).toEqual(status === 404 ? [[3, 'status=404'], [4, '']] : [[3, 'status=201']]);
    }
    w.close();
    // A phase-5 rule reading RESPONSE_HEADERS sees them (the logging phase runs at the response too).
    w = await withRules(`SecRule RESPONSE_STATUS "@streq 200" "id:1,phase:3,pass,log"\nSecRule RESPONSE_HEADERS:x-leak "@streq yes" "id:2,phase:5,pass,log"`);
    expect(auditLines(await w.send({ path: '/', upstream: upstream(200) })).map((l) => l.rule_id)).toEqual([1, 2]);
    w.close();
    // A macro naming a response header makes the whole map read too.
    w = await withRules(`SecRule RESPONSE_STATUS "@streq 200" "id:1,phase:3,pass,log,logdata:'leak=%{RESPONSE_HEADERS.x-leak}'"`);
    expect(auditLines(await w.send({ path: '/', upstream: upstream(200) })).map((l) => l.data)).toEqual(['leak=yes']);
    w.close();
  });
});

describe('non-ASCII text in rules', () => {
  // Request data is inspected as bytes (UTF-8 as sent); rules are read as bytes too, so a
  // literal, phrase or pattern with non-ASCII text matches the same text in a request.
  it('@streq, @contains, @pm, @pmFromFile and @rx with non-ASCII text match it; msg and logdata read back as text', async () => {
    const w = await withRules([
      `SecRule ARGS:a "@streq caf\u00e9" "id:1,phase:2,pass,log,msg:'caf\u00e9 seen',logdata:'%{MATCHED_VAR}'"`,
      `SecRule ARGS:b "@contains \u00fcber" "id:2,phase:2,pass,log"`,
      `SecRule ARGS:c "@pm \u65e5\u672c \u0416" "id:3,phase:2,pass,log"`,
      `SecRule ARGS:d "@rx ^gr\u00fc(?:n|en)$" "id:4,phase:2,pass,log"`,
      `SecRule ARGS:e "@pmFromFile words.txt" "id:5,phase:2,pass,log"`,
    ].join('\n'), { data_files: { 'words.txt': 'stra\u00dfe\n' } });
    try {
      const q = (v: Record<string, string>) => '/?' + new URLSearchParams(v).toString();
      const res = await w.send({ path: q({ a: 'caf\u00e9', b: 'x\u00fcbery', c: 'a\u65e5\u672cb', d: 'gr\u00fcn', e: 'hauptstra\u00dfe 1' }) });
      const lines = auditLines(res);
      expect(lines.map((l) => l.rule_id)).toEqual([1, 2, 3, 4, 5]);
      expect(lines[0]?.msg).toBe('caf\u00e9 seen');
      expect(lines[0]?.data).toBe('caf\u00e9');
      // The same letters in other bytes (decomposed, other case) do not match.
      expect(await w.matches({ path: q({ a: 'cafe\u0301', b: '\u00dcber', c: 'ab', d: 'gruen', e: 'strasse' }) })).toEqual([]);
    } finally {
      w.close();
    }
  });
});

describe('actions and directives', () => {
  it('deny blocks with the configured status and body; status: overrides it', async () => {
    const w = await withRules(`SecRule ARGS:a "@streq x" "id:1,phase:1,deny"\nSecRule ARGS:a "@streq y" "id:2,phase:1,deny,status:406"`, { block_status: 418, block_body: 'nope\n' });
    let res = await w.send({ path: '/?a=x' });
    expect([res.status, res.body]).toEqual([418, 'nope\n']);
    res = await w.send({ path: '/?a=y' });
    expect(res.status).toBe(406);
    w.close();
  });
  it('pass only scores; block (or no disruptive action) takes SecDefaultAction of its phase', async () => {
    const w = await withRules(`SecDefaultAction "phase:1,log,auditlog,deny,status:409"\nSecRule ARGS:a "@streq x" "id:1,phase:1,pass"\nSecRule ARGS:a "@streq y" "id:2,phase:1,block"\nSecRule ARGS:a "@streq z" "id:3,phase:1"\nSecRule ARGS:a "@streq w" "id:4,phase:2"`);
    expect((await w.send({ path: '/?a=x' })).status).toBe(200);
    expect((await w.send({ path: '/?a=y' })).status).toBe(409);
    expect((await w.send({ path: '/?a=z' })).status).toBe(409); // no disruptive action: the phase default
    expect((await w.send({ path: '/?a=w' })).status).toBe(200); // phase 2 keeps the built-in default, pass
    w.close();
  });
  it('allow stops rule processing for the request', async () => {
    const w = await withRules(`SecRule REMOTE_ADDR "@ipMatch 127.0.0.1" "id:1,phase:1,allow,nolog"\nSecRule ARGS "@contains attack" "id:2,phase:2,deny"`);
    expect((await w.send({ path: '/?a=attack' })).status).toBe(200);
    w.close();
  });
  it('macros expand references first, last, next to each other and alone, in msg, logdata and setvar names and values', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=A,setvar:tx.b=%{tx.a}%{tx.a},setvar:'tx.k_%{tx.a}=%{tx.b}-%{tx.a}'"`,
      `SecRule TX:k_a "@streq AA-A" "id:2,phase:1,pass,log,msg:'%{tx.a}',logdata:'%{tx.a}%{tx.b}:%{tx.k_a}x'"`,
      `SecRule TX:b "@streq %{tx.a}%{tx.a}" "id:3,phase:1,pass,log,msg:'plain',logdata:'x%{tx.b}'"`,
    ].join('\n'));
    const lines = auditLines(await w.send({ path: '/' }));
    expect(lines.map((l) => [l.rule_id, l.msg, l.data])).toEqual([[2, 'A', 'AAA:AA-Ax'], [3, 'plain', 'xAA']]);
    w.close();
  });
  it('log/nolog decide the audit line and the matched-rules list; msg, logdata, severity, tag, ver and macros', async () => {
    const w = await withRules([
      `SecRule ARGS:a "@rx (b+)" "id:7,phase:2,pass,log,capture,msg:'found %{TX.1} in %{MATCHED_VAR_NAME} by %{rule.id}',logdata:'%{MATCHED_VAR}/%{rule.msg}/%{REQUEST_HEADERS.host}',severity:'CRITICAL',tag:'attack-demo',tag:'x',ver:'v1',rev:'2',maturity:'9',accuracy:'9'"`,
      `SecRule ARGS:a "@rx b" "id:8,phase:2,pass,nolog"`,
    ].join('\n'));
    const res = await w.send({ path: '/?a=abbc', headers: { host: 'example.test' } });
    expect(matchedRules(res)).toEqual([7]);
    const line = auditLines(res)[0]!;
    expect(line).toMatchObject({ rule_id: 7, phase: 2, action: 'pass', severity: 'CRITICAL', tags: ['attack-demo', 'x'], matched_var: 'ARGS:a', method: 'GET', uri: '/?a=abbc' });
    expect(line.msg).toBe('found bb in ARGS:a by 7');
    expect(line.data).toBe('abbc/found bb in ARGS:a by 7/example.test');
    w.close();
  });
  it('setvar =, =+, =-, !unset and TX:0-9 captures', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=10,setvar:tx.a=+5,setvar:tx.a=-3,setvar:tx.gone=1,setvar:!tx.gone,setvar:tx.flag"`,
      `SecRule TX:a "@eq 12" "id:2,phase:1,pass,log"`,
      `SecRule &TX:gone "@eq 0" "id:3,phase:1,pass,log"`,
      `SecRule TX:flag "@eq 1" "id:4,phase:1,pass,log"`,
      `SecRule ARGS:d "@rx ^(\\d+)-(\\d+)$" "id:5,phase:2,pass,nolog,capture,chain"`,
      `  SecRule TX:2 "@streq 34" "t:none,chain"`,
      `  SecRule TX:0 "@streq 12-34" "t:none,setvar:tx.ok=1"`,
      `SecRule TX:ok "@eq 1" "id:6,phase:2,pass,log"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?d=12-34' })).toEqual([2, 3, 4, 6]);
    w.close();
  });
  it('TX lists its keys in insertion order: a value set again keeps its place, a key unset and set again goes last', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.k_a=1,setvar:tx.k_b=1,setvar:tx.k_c=1,setvar:!tx.k_b,setvar:tx.k_b=2,setvar:tx.k_a=3"`,
      // Enough keys to grow the table, three unset before it grows (dropped when it is rebuilt).
      `SecAction "id:2,phase:1,pass,nolog,setvar:tx.f_0=x,setvar:tx.f_1=x,setvar:tx.f_2=x,setvar:tx.f_3=x,setvar:tx.f_4=x,setvar:tx.f_5=x,setvar:tx.f_6=x,setvar:tx.f_7=x,setvar:tx.f_8=x,setvar:tx.f_9=x,setvar:tx.f_10=x,setvar:tx.f_11=x,setvar:tx.f_12=x,setvar:tx.f_13=x,setvar:tx.f_14=x,setvar:tx.f_15=x,setvar:tx.f_16=x,setvar:tx.f_17=x,setvar:tx.f_18=x,setvar:tx.f_19=x,setvar:!tx.f_0,setvar:!tx.f_8,setvar:!tx.f_16,setvar:tx.f_20=x,setvar:tx.f_21=x,setvar:tx.f_22=x,setvar:tx.f_23=x,setvar:tx.f_24=x,setvar:tx.f_25=x,setvar:tx.f_26=x,setvar:tx.f_27=x,setvar:tx.f_28=x,setvar:tx.f_29=x,setvar:tx.f_30=x,setvar:tx.f_31=x,setvar:tx.f_32=x,setvar:tx.f_33=x,setvar:tx.f_34=x,setvar:tx.f_35=x,setvar:tx.f_36=x,setvar:tx.f_37=x,setvar:tx.f_38=x,setvar:tx.f_39=x"`,
      `SecRule TX:/^k_/ "@rx ." "id:3,phase:1,pass,log"`,
      `SecRule &TX:/^f_/ "@eq 37" "id:4,phase:1,pass,log"`,
      `SecRule TX:k_a "@eq 3" "id:5,phase:1,pass,log"`,
    ].join('\n'));
    const res = await w.send({ path: '/' });
    expect(matchedRules(res)).toEqual([3, 4, 5]);
    expect(auditLines(res)[0]!.matched_var).toBe('TX:k_b');
    w.close();
  });
  it('verdicts and captures stay right when the same values come back in later requests (per-value results are kept)', async () => {
    const w = await withRules([
      `SecRule ARGS:d "@rx ^(\\d+)-(\\d+)$" "id:5,phase:2,pass,nolog,capture,chain"`,
      `  SecRule TX:2 "@streq 34" "t:none,setvar:tx.ok=1"`,
      `SecRule TX:ok "@eq 1" "id:6,phase:2,pass,log"`,
      `SecRule ARGS:want "@rx ." "id:7,phase:2,pass,nolog,setvar:tx.want=%{MATCHED_VAR}"`,
      `SecRule ARGS:x "@streq %{tx.want}" "id:8,phase:2,pass,log"`,
      `SecRule ARGS:y "@rx ^a" "id:9,phase:2,pass,log,t:lowercase"`,
    ].join('\n'));
    for (let round = 0; round < 2; round++) {
      expect(await w.matches({ path: '/?d=12-34' })).toContain(6);
      expect(await w.matches({ path: '/?d=12-35' })).not.toContain(6); // same first group, other capture
      expect(await w.matches({ path: '/?want=a&x=a' })).toContain(8);
      expect(await w.matches({ path: '/?want=b&x=a' })).not.toContain(8); // a macro parameter is never cached
      expect(await w.matches({ path: '/?y=Abc' })).toContain(9);
      expect(await w.matches({ path: '/?y=bAc' })).not.toContain(9);
    }
    w.close();
  });
  it('a setvar keyed by %{MATCHED_VAR} runs once per matched value (counting repeated parameters)', async () => {
    const w = await withRules(`SecRule ARGS_NAMES "@rx ." "id:1,phase:2,pass,nolog,setvar:tx.seen_%{MATCHED_VAR}=+1"\nSecRule TX:/^seen_/ "@gt 1" "id:2,phase:2,pass,log"`);
    expect(await w.matches({ path: '/?a=1&b=2&a=3' })).toEqual([2]);
    expect(await w.matches({ path: '/?a=1&b=2' })).toEqual([]);
    w.close();
  });
  it('chain: all links must match; only the first carries id and disruptive action', async () => {
    const w = await withRules(`SecRule ARGS:a "@streq 1" "id:1,phase:2,deny,chain"\n  SecRule ARGS:b "@streq 2"`);
    expect((await w.send({ path: '/?a=1&b=2' })).status).toBe(403);
    expect((await w.send({ path: '/?a=1&b=3' })).status).toBe(200);
    w.close();
  });
  it('skipAfter jumps past SecMarker; skip jumps N rules', async () => {
    const w = await withRules([
      `SecRule ARGS:skip "@streq 1" "id:1,phase:1,pass,nolog,skipAfter:END"`,
      `SecAction "id:2,phase:1,pass,log"`,
      `SecMarker END`,
      `SecAction "id:3,phase:1,pass,log,skip:1"`,
      `SecAction "id:4,phase:1,pass,log"`,
      `SecAction "id:5,phase:1,pass,log"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?skip=1' })).toEqual([3, 5]);
    expect(await w.matches({ path: '/' })).toEqual([2, 3, 5]);
    w.close();
  });
  it('ctl:ruleEngine, ctl:ruleRemoveById, ctl:ruleRemoveByTag, ctl:ruleRemoveTargetById', async () => {
    const w = await withRules([
      `SecRule REQUEST_FILENAME "@beginsWith /off" "id:1,phase:1,pass,nolog,ctl:ruleEngine=Off"`,
      `SecRule REQUEST_FILENAME "@beginsWith /detect" "id:2,phase:1,pass,nolog,ctl:ruleEngine=DetectionOnly"`,
      `SecRule REQUEST_FILENAME "@beginsWith /noid" "id:3,phase:1,pass,nolog,ctl:ruleRemoveById=100"`,
      `SecRule REQUEST_FILENAME "@beginsWith /notag" "id:4,phase:1,pass,nolog,ctl:ruleRemoveByTag=t1"`,
      `SecRule REQUEST_FILENAME "@beginsWith /notarget" "id:5,phase:1,pass,nolog,ctl:ruleRemoveTargetById=100-101;ARGS:q"`,
      `SecRule ARGS "@contains evil" "id:100,phase:2,deny,tag:t1"`,
    ].join('\n'));
    expect((await w.send({ path: '/x?q=evil' })).status).toBe(403);
    expect((await w.send({ path: '/off?q=evil' })).status).toBe(200);
    const detected = await w.send({ path: '/detect?q=evil' });
    expect([detected.status, matchedRules(detected)]).toEqual([200, [100]]);
    expect((await w.send({ path: '/noid?q=evil' })).status).toBe(200);
    expect((await w.send({ path: '/notag?q=evil' })).status).toBe(200);
    expect((await w.send({ path: '/notarget?q=evil' })).status).toBe(200);
    expect((await w.send({ path: '/notarget?other=evil' })).status).toBe(403);
    w.close();
  });
  it('multiMatch runs the operator after every transformation', async () => {
    const w = await withRules(`SecRule ARGS:a "@streq AB" "id:1,phase:2,pass,log,t:lowercase"\nSecRule ARGS:a "@streq AB" "id:2,phase:2,pass,log,multiMatch,t:lowercase"`);
    expect(await w.matches({ path: '/?a=AB' })).toEqual([2]);
    w.close();
  });
  it('SecRuleEngine DetectionOnly logs but never blocks; Off runs nothing', async () => {
    let w = await withRules(`SecRuleEngine DetectionOnly\nSecRule ARGS "@contains evil" "id:1,phase:1,deny"`);
    let res = await w.send({ path: '/?q=evil' });
    expect([res.status, matchedRules(res)]).toEqual([200, [1]]);
    expect(auditLines(res)[0]!.mode).toBe('detection_only');
    w.close();
    w = await withRules(`SecRuleEngine Off\nSecRule ARGS "@contains evil" "id:1,phase:1,deny"`);
    res = await w.send({ path: '/?q=evil' });
    expect([res.status, matchedRules(res)]).toEqual([200, []]);
    w.close();
  });
  it('SecRequestBodyAccess Off leaves the body uninspected', async () => {
    const w = await withRules(`SecRequestBodyAccess Off\nSecRule ARGS "@contains evil" "id:1,phase:2,deny"`);
    expect((await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=evil' })).status).toBe(200);
    w.close();
  });
  it('SecRequestBodyLimit with Reject answers 413; with ProcessPartial inspects the first bytes', async () => {
    const rule = `SecRule ARGS "@contains evil" "id:1,phase:2,deny"`;
    let w = await withRules(`SecRequestBodyAccess On\nSecRequestBodyLimit 64\nSecRequestBodyLimitAction Reject\n${rule}`);
    const big = 'a=' + 'x'.repeat(100);
    expect((await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big })).status).toBe(413);
    w.close();
    w = await withRules(`SecRequestBodyAccess On\nSecRequestBodyLimit 64\nSecRequestBodyLimitAction ProcessPartial\n${rule}`);
    expect((await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big })).status).toBe(200);
    expect((await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=evil&' + big })).status).toBe(403);
    w.close();
  });
  it('SecRuleRemoveById, SecRuleRemoveByTag and SecRuleUpdateTargetById act on every rule, wherever they appear', async () => {
    const w = await withRules([
      `SecRuleRemoveById 10 20-21`,
      `SecRule ARGS "@contains a" "id:10,phase:2,pass,log"`,
      `SecRule ARGS "@contains a" "id:20,phase:2,pass,log"`,
      `SecRule ARGS "@contains a" "id:30,phase:2,pass,log,tag:gone"`,
      `SecRule ARGS "@contains a" "id:40,phase:2,pass,log"`,
      `SecRuleRemoveByTag gone`,
      `SecRuleUpdateTargetById 40 "!ARGS:skip"`,
    ].join('\n'));
    expect(await w.matches({ path: '/?q=a' })).toEqual([40]);
    expect(await w.matches({ path: '/?skip=a' })).toEqual([]);
    w.close();
  });
  it('SecResponseBodyMimeType limits which response bodies are read', async () => {
    const w = await withRules(`SecResponseBodyAccess On\nSecResponseBodyMimeType application/json\nSecRule RESPONSE_BODY "@contains secret" "id:1,phase:4,deny"`);
    const blocked = await w.send({ path: '/', upstream: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"secret":1}' }) });
    expect(blocked.body).not.toContain('secret');
    expect(blocked.reset).toBeTruthy();
    const passed = await w.send({ path: '/', upstream: () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: 'secret' }) });
    expect([passed.status, passed.body, passed.reset ?? false]).toEqual([200, 'secret', false]);
    w.close();
  });
  it('comments, backslash continuations and quoting', async () => {
    const w = await withRules([
      '# a comment line',
      '   # an indented comment',
      'SecRule ARGS:q \\',
      '    "@streq it\'s \\"quoted\\"" \\',
      '    "id:1,phase:2,pass,log,\\',
      "     msg:'a, b'\"",
      "SecRule ARGS:r '@streq single' 'id:2,phase:2,pass,log'",
      'SecComponentSignature "accepted without effect"',
    ].join('\n'));
    expect(await w.matches({ path: "/?q=it's%20%22quoted%22&r=single" })).toEqual([1, 2]);
    w.close();
  });
});

describe('unsupported or invalid SecLang is rejected at load, naming the rule and the reason', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown directive', 'SecFooBar On', /rules: rules: line 1: SecFooBar: unsupported directive/],
    ['unknown operator', 'SecRule ARGS "@fuzzyMatch x" "id:42,phase:2,pass"', /rule id 42 \(line 1\): unsupported operator @fuzzyMatch/],
    ['unknown variable', 'SecRule XML:/* "@rx x" "id:43,phase:2,pass"', /rule id 43 \(line 1\): unsupported variable "XML"/],
    ['unknown transformation', 'SecRule ARGS "@rx x" "id:44,phase:2,pass,t:sha1"', /rule id 44 \(line 1\): unsupported transformation "sha1"/],
    ['unknown action', 'SecRule ARGS "@rx x" "id:45,phase:2,pass,exec:/bin/x"', /rule id 45 \(line 1\): unsupported action "exec"/],
    ['unsupported ctl', 'SecRule ARGS "@rx x" "id:46,phase:2,pass,ctl:auditEngine=On"', /rule id 46 \(line 1\): unsupported ctl "auditengine"/],
    ['setvar outside TX', 'SecRule ARGS "@rx x" "id:47,phase:2,pass,setvar:ip.block=1"', /rule id 47 \(line 1\): setvar "ip.block=1": only the TX collection/],
    ['backtracking-only regex', 'SecRule ARGS "@rx (a)\\1" "id:48,phase:2,pass"', /rule id 48 \(line 1\): @rx: cannot compile .*backreference/],
    ['lookahead', 'SecRule ARGS "@rx a(?=b)" "id:49,phase:2,pass"', /rule id 49 \(line 1\): @rx: cannot compile .*lookahead/],
    ['missing id', 'SecRule ARGS "@rx x" "phase:2,pass"', /line 1: SecRule without an id action/],
    ['duplicate id', 'SecAction "id:5,pass"\nSecAction "id:5,pass"', /rule id 5 \(line 2\): duplicate rule id/],
    ['bad phase', 'SecAction "id:6,phase:9,pass"', /rule id 6 \(line 1\): phase must be 1 to 5/],
    ['disruptive action in a chained rule', 'SecRule ARGS "@rx x" "id:7,chain"\nSecRule ARGS "@rx y" "deny"', /rule id 7 \(chained rule at line 2\): disruptive action `deny` is only allowed on the first rule of a chain/],
    ['dangling chain', 'SecRule ARGS "@rx x" "id:8,chain"', /rule id 8 \(line 1\): `chain` but no rule follows/],
    ['unknown macro', 'SecRule ARGS "@rx x" "id:9,msg:\'%{SESSION.id}\'"', /rule id 9 \(line 1\): unsupported macro %\{SESSION.id\}/],
    ['missing data file', 'SecRule ARGS "@pmFromFile nope.data" "id:10"', /rule id 10 \(line 1\): @pmFromFile: no data file "nope.data"/],
    ['bad ipMatch', 'SecRule REMOTE_ADDR "@ipMatch 10.0.0.300" "id:11"', /rule id 11 \(line 1\): @ipMatch: invalid address/],
    ['unterminated quote', 'SecRule ARGS "@rx x" "id:12', /line 1: unterminated quoted argument/],
    ['SecRuleEngine value', 'SecRuleEngine Maybe', /line 1: SecRuleEngine: expected On, DetectionOnly or Off/],
    ['update of a missing rule', 'SecRuleUpdateTargetById 999 "!ARGS:x"', /SecRuleUpdateTargetById: no rule with id 999/],
    ['selector on a scalar', 'SecRule REQUEST_URI:x "@rx y" "id:13"', /rule id 13 \(line 1\): variable REQUEST_URI takes no :selector/],
  ];
  it.each(cases)('%s', async (_name, rules, message) => {
    expect(await wafRejection({ rules })).toMatch(message);
  });
});
