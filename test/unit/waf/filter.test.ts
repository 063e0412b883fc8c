// The WAF filter's outputs in the Node host with the bundled ruleset: block (403 by default, a
// configurable status and body, nothing internal leaked) or detection only; the anomaly score
// and matched rule ids as filter state and the x-meshward-waf-score header (a forged one never
// passes); one JSON audit line per match; metrics per rule family and action; configuration
// errors named by field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { anomalyScore, auditLines, loadWaf, matchedRules, wafRejection, withRules } from '../../support/waf.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/waf.js';

const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', accept: 'text/html' };

describe('WAF filter with the bundled ruleset', () => {
  let waf: ProxyWasmHost;
  beforeAll(async () => { waf = await loadWaf({ ruleset: { paranoia_level: 1 } }); });
  afterAll(() => waf.close());

  it('blocks an attack with 403 and a body that names no rule, no score, no internals', async () => {
    const res = await waf.http({ path: "/search?q=1'%20UNION%20SELECT%20password%20FROM%20users--", headers: browser });
    expect(res.status).toBe(403);
    expect(res.body).toBe('Request blocked by the web application firewall.\n');
    expect(res.upstreamRequest).toBeUndefined();
    expect(JSON.stringify(res.headers)).not.toMatch(/942|score|waf/i);
    expect(anomalyScore(res)).toBeGreaterThanOrEqual(5);
    expect(matchedRules(res)).toContain(949110);
    expect(matchedRules(res).some((id) => Math.floor(id / 1000) === 942)).toBe(true);
  });

  it('passes benign traffic with the score header upstream and the outputs in filter state', async () => {
    const res = await waf.http({ path: "/search?q=O'Reilly%20books&page=2", headers: browser });
    expect(res.status).toBe(200);
    expect(res.upstreamRequest!.headers['x-meshward-waf-score']).toBe('0');
    expect(res.filterState['wasm.meshward.waf.anomaly_score']).toBe('0');
    expect(res.filterState['wasm.meshward.waf.matched_rules']).toBe('');
  });

  it('removes a forged x-meshward-waf-score and writes its own', async () => {
    const res = await waf.http({ path: '/', headers: { ...browser, 'x-meshward-waf-score': '-1000' } });
    expect(res.upstreamRequest!.headers['x-meshward-waf-score']).toBe('0');
  });

  it('a score below the threshold passes, and the header carries it', async () => {
    const res = await waf.http({ path: '/', headers: { host: '203.0.113.9', ...browser } }); // numeric Host: a warning (3)
    expect(res.status).toBe(200);
    expect(res.upstreamRequest!.headers['x-meshward-waf-score']).toBe('3');
    expect(matchedRules(res)).toEqual([920350]);
  });

  it('inspects bodies: urlencoded, JSON (nested), multipart fields and file names', async () => {
    const form = await waf.http({ method: 'POST', path: '/login', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, body: "user=admin'--&pass=x" });
    expect(form.status).toBe(403);
    const json = await waf.http({ method: 'POST', path: '/api', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ a: { b: ['ok', '<script>alert(1)</script>'] } }) });
    expect(json.status).toBe(403);
    expect(auditLines(json).some((l) => l.matched_var === 'ARGS:json.a.b')).toBe(true);
    const b = 'XyZ';
    const upload = await waf.http({ method: 'POST', path: '/upload', headers: { ...browser, 'content-type': `multipart/form-data; boundary=${b}` }, body: `--${b}\r\nContent-Disposition: form-data; name="f"; filename="shell.php"\r\n\r\n<?php system($_GET[1]); ?>\r\n--${b}--\r\n` });
    expect(upload.status).toBe(403);
    const ok = await waf.http({ method: 'POST', path: '/api', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Zoë', note: "I'd like 2 of these, please" }) });
    expect(ok.status).toBe(200);
  });

  it('refuses a body it cannot parse (fail closed): malformed JSON scores critical', async () => {
    const res = await waf.http({ method: 'POST', path: '/api', headers: { ...browser, 'content-type': 'application/json' }, body: '{"a": ' });
    expect(res.status).toBe(403);
    expect(matchedRules(res)).toContain(920000);
  });

  it('writes one JSON audit line per logged match, clipped, with the request context', async () => {
    const res = await waf.http({ path: '/?q=' + encodeURIComponent('<script>alert(1)</script>'.repeat(40)), headers: browser });
    const lines = auditLines(res);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) {
      expect(l).toMatchObject({ waf: 'match', method: 'GET', mode: 'block', client: '127.0.0.1' });
      expect(l.data.length).toBeLessThanOrEqual(300);
    }
    expect(lines.find((l) => l.rule_id === 941100)).toMatchObject({ family: 'xss', severity: 'CRITICAL', matched_var: 'ARGS:q' });
    expect(lines.find((l) => l.rule_id === 949110)).toMatchObject({ action: 'deny', family: 'blocking' });
  });

  it('counts matches per rule family and action, and requests per outcome', async () => {
    const before = waf.metrics.get('waf.rule.sqli.pass') ?? 0;
    const blockedBefore = waf.metrics.get('waf.requests.blocked') ?? 0;
    await waf.http({ path: "/?id=1'%20or%20'1'%3D'1", headers: browser });
    expect(waf.metrics.get('waf.rule.sqli.pass')!).toBeGreaterThan(before);
    expect(waf.metrics.get('waf.rule.blocking.deny')).toBeGreaterThanOrEqual(1);
    expect(waf.metrics.get('waf.requests.blocked')).toBe(blockedBefore + 1);
    expect(waf.metrics.get('waf.requests.allowed')).toBeGreaterThanOrEqual(1);
  });
});

describe('WAF filter configuration', () => {
  it('detection_only lets attacks through, with the score, the matched rules and mode in the audit line', async () => {
    const waf = await loadWaf({ ruleset: {}, mode: 'detection_only' });
    const res = await waf.http({ path: '/?q=%3Cscript%3Ealert(1)%3C/script%3E', headers: browser });
    expect(res.status).toBe(200);
    expect(Number(res.upstreamRequest!.headers['x-meshward-waf-score'])).toBeGreaterThanOrEqual(5);
    expect(matchedRules(res)).toContain(949110);
    expect(auditLines(res)[0]!.mode).toBe('detection_only');
    expect(waf.metrics.get('waf.requests.detected')).toBe(1);
    waf.close();
  });

  it('block_status and block_body are configurable', async () => {
    const waf = await loadWaf({ ruleset: {}, block_status: 406, block_body: 'Not acceptable.\n' });
    const res = await waf.http({ path: '/?q=%3Cscript%3Ealert(1)%3C/script%3E', headers: browser });
    expect([res.status, res.body]).toEqual([406, 'Not acceptable.\n']);
    waf.close();
  });

  it('paranoia_level and inbound_threshold change what blocks', async () => {
    const probe = { path: '/p?a=1&a=2', headers: browser }; // repeated parameter: PL3 rule 921180
    let waf = await loadWaf({ ruleset: { paranoia_level: 1 } });
    expect((await waf.http(probe)).status).toBe(200);
    waf.close();
    waf = await loadWaf({ ruleset: { paranoia_level: 3 } });
    expect((await waf.http(probe)).status).toBe(403);
    waf.close();
    waf = await loadWaf({ ruleset: { paranoia_level: 3, inbound_threshold: 100 } });
    expect((await waf.http(probe)).status).toBe(200);
    waf.close();
  });

  it('response rules follow the paranoia level too: a 5xx status is a finding from PL2 (950100), not at PL1', async () => {
    const serverError = { path: '/report', headers: browser, upstream: () => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'oops' }) };
    const outcome = async (waf: Awaited<ReturnType<typeof loadWaf>>) => {
      const res = await waf.http(serverError);
      waf.close();
      return [res.status, auditLines(res).map((l) => l.rule_id)];
    };
    expect(await outcome(await loadWaf({ ruleset: { paranoia_level: 1 } }))).toEqual([500, []]);
    // Error weight 4 reaches the default outbound threshold (4): 959100 denies the response.
    expect(await outcome(await loadWaf({ ruleset: { paranoia_level: 2 } }))).toEqual([403, [950100, 959100]]);
    // A rule that raises the detection level for some requests brings 950100 back for them;
    // the blocking level stays 1, so it is logged and does not count.
    const raise = 'SecRule REQUEST_FILENAME "@beginsWith /report" "id:1001,phase:1,pass,nolog,setvar:tx.detection_paranoia_level=2"';
    expect(await outcome(await loadWaf({ ruleset: { paranoia_level: 1, exclusions: raise } }))).toEqual([500, [950100]]);
  });

  it('exclusions: a ctl rule and SecRuleRemoveById tune false positives away', async () => {
    const fp = { path: '/notes?text=' + encodeURIComponent("it's fine' OR 'x'='x"), headers: browser };
    let waf = await loadWaf({ ruleset: {} });
    expect((await waf.http(fp)).status).toBe(403);
    waf.close();
    waf = await loadWaf({ ruleset: { exclusions: 'SecRule REQUEST_FILENAME "@beginsWith /notes" "id:1000,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=attack-sqli;ARGS:text"' } });
    expect((await waf.http(fp)).status).toBe(200);
    expect((await waf.http({ ...fp, path: fp.path.replace('/notes', '/other') })).status).toBe(403);
    waf.close();
    waf = await loadWaf({ ruleset: { exclusions: 'SecRuleRemoveByTag attack-sqli' } });
    expect((await waf.http(fp)).status).toBe(200);
    waf.close();
  });

  it('custom rules run after the bundled ones; data_files feed @pmFromFile', async () => {
    const waf = await loadWaf({
      ruleset: {},
      rules: 'SecRule ARGS "@pmFromFile blocked-words.txt" "id:10001,phase:2,deny,msg:\'blocked word\'"',
      data_files: { 'blocked-words.txt': 'forbidden\nverboten\n' },
    });
    expect((await waf.http({ path: '/?q=ist+verboten', headers: browser })).status).toBe(403);
    expect((await waf.http({ path: '/?q=allowed', headers: browser })).status).toBe(200);
    waf.close();
  });

  const cases: Array<[string, object, RegExp]> = [
    ['neither rules nor ruleset', {}, /rules: expected `rules` \(SecLang text\), `ruleset`/],
    ['bad mode', { ruleset: {}, mode: 'audit' }, /mode: expected one of block, detection_only/],
    ['bad paranoia level', { ruleset: { paranoia_level: 5 } }, /ruleset\.paranoia_level: expected an integer from 1 to 4/],
    ['bad threshold', { ruleset: { inbound_threshold: 0 } }, /ruleset\.inbound_threshold: expected an integer from 1/],
    ['unknown ruleset field', { ruleset: { paranoia: 2 } }, /ruleset: unknown field "paranoia"/],
    ['bad block status', { ruleset: {}, block_status: 99 }, /block_status: expected an integer from 200 to 599/],
    ['data file not a string', { rules: 'SecAction "id:1"', data_files: { a: 1 } }, /data_files\.a: expected string/],
    ['bad exclusions', { ruleset: { exclusions: 'SecRule ARGS "@nope x" "id:1"' } }, /ruleset\.exclusions: exclusions: rule id 1 \(line 1\): unsupported operator @nope/],
    ['exclusion id clashing with a bundled rule', { ruleset: { exclusions: 'SecAction "id:942100,pass"' } }, /rule id 942100 .*duplicate rule id/],
    ['bad log level', { ruleset: {}, log_level: 'loud' }, /log_level: expected one of/],
    ['unknown field', { ruleset: {}, rule: 'x' }, /unknown field "rule"/],
  ];
  it.each(cases)('rejects %s, naming the field', async (_name, cfg, message) => {
    expect(await wafRejection(cfg)).toMatch(message);
  });

  it('the bundled ruleset loads at every paranoia level', async () => {
    for (const pl of [1, 2, 3, 4]) (await loadWaf({ ruleset: { paranoia_level: pl } })).close();
  });

  it('filters/waf/rules.generated.ts is in sync with filters/waf/rules/*.conf', () => {
    expect(() => execFileSync(process.execPath, [join(repoRoot, 'scripts', 'gen-waf-rules.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('pathological input stays linear: a 64 KiB argument of a backtracking trap is inspected in bounded time', async () => {
    const waf = await loadWaf({ ruleset: { paranoia_level: 4 } });
    const evil = 'a'.repeat(65536) + '!';
    const t0 = performance.now();
    const res = await waf.http({ method: 'POST', path: '/x', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=' + evil });
    const ms = performance.now() - t0;
    expect(res.trap).toBeUndefined();
    expect([200, 403]).toContain(res.status);
    // No timing assertion (see bench/waf-envoy.mjs); record it for the log.
    console.log(`64 KiB pathological argument at PL4: ${ms.toFixed(0)} ms in the Node host`);
    waf.close();
  });
});

describe('WAF filter header decoding', () => {
  // Header names and values seen lately come back as the same strings (sdk headers.ts,
  // decodeFieldReusing): a value must still be exactly what this request sent, even when it
  // shares the reuse table's slot with another (same length, same first and last 8 bytes).
  it('each request sees its own header values, across requests, colliding values and non-ASCII ones', async () => {
    const one = 'AAAAAAAA-1-BBBBBBBB', two = 'AAAAAAAA-2-BBBBBBBB';
    const w = await withRules([
      `SecRule REQUEST_HEADERS:x-a "@streq ${one}" "id:1,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-b "@streq ${two}" "id:2,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-c "@streq ab" "id:3,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-u "@streq caf\u00e9" "id:4,phase:1,pass,log"`,
    ].join('\n'));
    try {
      for (let round = 0; round < 3; round++) {
        expect(await w.matches({ path: '/', headers: { 'x-a': one, 'x-b': two, 'x-c': 'ab', 'x-u': 'caf\u00e9' } })).toEqual([1, 2, 3, 4]);
        expect(await w.matches({ path: '/', headers: { 'x-a': two, 'x-b': one, 'x-c': 'ba', 'x-u': 'cafe' } })).toEqual([]);
      }
    } finally {
      w.close();
    }
  });
});

describe('WAF filter with streams interleaved', () => {
  // The engine keeps a phase's target lists for the next phase when the request did not change,
  // reuses the lists of finished transactions, and keeps per-value results across requests:
  // a request whose body arrives while hundreds of others come and go must be judged as if alone.
  it('a request paused between headers and body gets the same verdict as when sent alone', async () => {
    const waf = await loadWaf({ ruleset: { paranoia_level: 1 }, audit_log: false, log_level: 'error' });
    try {
      const headers = { ':method': 'POST', ':path': '/search?q=1', ':authority': 'shop.example.com', ':scheme': 'http', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0' };
      const body = "comment=hello&id=1' UNION SELECT password FROM users--";
      const alone = await waf.http({ method: 'POST', path: '/search?q=1', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0' }, body });
      expect(alone.status).toBe(403);
      const rules = matchedRules(alone);
      expect(rules.length).toBeGreaterThan(0);
      const paused = Array.from({ length: 20 }, () => {
        const s = waf.stream();
        s.sendRequestHeaders(headers, false);
        return s;
      });
      for (let i = 0; i < 300; i++) {
        const res = await waf.http({ path: `/products?page=${i}&sort=price`, headers: { 'x-request-id': `r-${i}`, cookie: `session=${i}` } });
        expect(res.status).toBe(200);
      }
      for (const s of paused) {
        s.sendRequestBody(body, true);
        expect(s.localReply?.status).toBe(403);
        const got = new TextDecoder().decode(s.filterStateValue('meshward.waf.matched_rules'));
        expect(got.split(',').map(Number)).toEqual(rules);
      }
    } finally {
      waf.close();
    }
  });
});
