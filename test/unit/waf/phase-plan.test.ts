// The engine's per-request shortcuts for the fixed cost of a request (docs/waf.md "Per-request
// fixed cost"): the per-phase plan (each phase's rules with skipAfter jumps resolved at load), the
// test that skips a rule none of whose variables has an entry, constant setvar keys and values,
// and the client address read only when a rule or an audit line needs it. Each case is one a
// wrong shortcut would answer differently from walking every rule and marker.
import { describe, expect, it } from 'vitest';
import type { HttpResult } from '../../../sdk/src/host/index.js';
import { auditLines, withRules } from '../../support/waf.js';

/** The rules that matched, in order, request and response phases alike (from the audit lines). */
const fired = (res: HttpResult) => auditLines(res).map((l) => l.rule_id);

/** Sends `sends` one after another; each label with the rules its request matched. */
async function matchesInTurn(w: { matches(init: never): Promise<number[]> }, sends: Array<[string, unknown]>): Promise<Array<[string, number[]]>> {
  const seen: Array<[string, number[]]> = [];
  for (const [label, req] of sends) seen.push([label, await w.matches(req as never)]);
  return seen;
}

describe('per-phase plan: skipAfter and skip keep their meaning', () => {
  it('skipAfter passes over rules of other phases and continues after the first later marker of its name', async () => {
    const w = await withRules([
      `SecRule ARGS:s "@streq 1" "id:1,phase:2,pass,log,skipAfter:M"`,
      `SecAction "id:2,phase:2,pass,log"`,
      `SecAction "id:3,phase:1,pass,log"`,
      `SecMarker M`,
      `SecAction "id:4,phase:2,pass,log"`,
      `SecMarker M`,
      `SecAction "id:5,phase:2,pass,log"`,
    ].join('\n'));
    // Phase 1 runs first (rule 3 is not skipped: the jump is within phase 2).
    expect(fired(await w.send({ path: '/?s=1' }))).toEqual([3, 1, 4, 5]);
    expect(fired(await w.send({ path: '/' }))).toEqual([3, 2, 4, 5]);
    w.close();
  });
  it('a skipAfter whose marker comes only earlier (or never) skips the rest of its phase', async () => {
    const w = await withRules([
      `SecMarker EARLY`,
      `SecRule ARGS:s "@streq 1" "id:1,phase:2,pass,log,skipAfter:EARLY"`,
      `SecRule ARGS:s "@streq 2" "id:2,phase:2,pass,log,skipAfter:NOWHERE"`,
      `SecAction "id:3,phase:2,pass,log"`,
      `SecAction "id:4,phase:1,pass,log"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/?s=1' }))).toEqual([4, 1]);
    expect(fired(await w.send({ path: '/?s=2' }))).toEqual([4, 2]);
    expect(fired(await w.send({ path: '/?s=3' }))).toEqual([4, 3]);
    w.close();
  });
  it('skipAfter on a marker right before the last rule of the phase, and skip:N counts only rules of the phase', async () => {
    const w = await withRules([
      `SecRule ARGS:s "@streq 1" "id:1,phase:2,pass,log,skipAfter:M,skip:1"`,
      `SecAction "id:2,phase:2,pass,log"`,
      `SecMarker M`,
      `SecAction "id:3,phase:1,pass,log"`,
      `SecAction "id:4,phase:2,pass,log"`,
      `SecAction "id:5,phase:2,pass,log"`,
      `SecAction "id:6,phase:2,pass,log,skip:2"`,
      `SecAction "id:7,phase:1,pass,log"`,
      `SecAction "id:8,phase:2,pass,log"`,
      `SecAction "id:9,phase:2,pass,log"`,
      `SecAction "id:10,phase:2,pass,log"`,
    ].join('\n'));
    // s=1: the jump lands on 4, skip:1 passes over it; 6's skip:2 passes over 8 and 9 (7 is phase 1).
    expect(fired(await w.send({ path: '/?s=1' }))).toEqual([3, 7, 1, 5, 6, 10]);
    expect(fired(await w.send({ path: '/' }))).toEqual([3, 7, 2, 4, 5, 6, 10]);
    w.close();
  });
  it('the skipAfter of a chain applies only when the whole chain matched', async () => {
    const w = await withRules([
      `SecRule ARGS:a "@streq 1" "id:1,phase:2,pass,log,skipAfter:M,chain"`,
      `  SecRule ARGS:b "@streq 1"`,
      `SecAction "id:2,phase:2,pass,log"`,
      `SecMarker M`,
      `SecAction "id:3,phase:2,pass,log"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/?a=1&b=1' }))).toEqual([1, 3]);
    expect(fired(await w.send({ path: '/?a=1&b=2' }))).toEqual([2, 3]);
    w.close();
  });
  it('ctl:ruleRemoveById made while a phase runs removes later rules of the plan', async () => {
    const w = await withRules([
      `SecRule ARGS:off "@streq 1" "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=3"`,
      `SecAction "id:2,phase:1,pass,log"`,
      `SecAction "id:3,phase:1,pass,log"`,
      `SecAction "id:4,phase:2,pass,log"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/?off=1' }))).toEqual([2, 4]);
    expect(fired(await w.send({ path: '/' }))).toEqual([2, 3, 4]);
    w.close();
  });
});

describe('rules whose variables have no entry in the request', () => {
  it('an absent collection or body never matches, a count of it does, and one present variable is enough', async () => {
    const w = await withRules([
      `SecRequestBodyAccess On`,
      `SecRule ARGS_POST|FILES|REQUEST_BODY "@unconditionalMatch" "id:1,phase:2,pass,log"`,
      `SecRule &ARGS_POST "@eq 0" "id:2,phase:2,pass,log"`,
      `SecRule ARGS_POST|REQUEST_HEADERS:x-a "@unconditionalMatch" "id:3,phase:2,pass,log"`,
      `SecRule REQUEST_COOKIES_NAMES "@unconditionalMatch" "id:4,phase:2,pass,log"`,
      `SecRule ARGS_GET_NAMES "@streq q" "id:6,phase:2,pass,log"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/' }))).toEqual([2]);
    expect(fired(await w.send({ path: '/?q=1', headers: { 'x-a': '1', cookie: 'c=1' } }))).toEqual([2, 3, 4, 6]);
    expect(fired(await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'p=1' }))).toEqual([1, 3]);
    expect(fired(await w.send({ method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: 'hello' }))).toEqual([1, 3]);
    w.close();
  });
  it('a screened rule runs only when one of its literals occurs in a variable it reads, in the form its transformations give', async () => {
    const w = await withRules([
      `SecRule ARGS "@rx union\\s+select" "id:1,phase:2,pass,log,t:none,t:urlDecodeUni,t:lowercase"`,
      `SecRule REQUEST_HEADERS:x-a "@contains attack" "id:2,phase:1,pass,log"`,
      `SecRule ARGS:b|!ARGS:a "@pm evil" "id:3,phase:2,pass,log"`,
    ].join('\n'));
    // Each literal only where the rule does not look: in a header, in another header, in an excluded argument.
    expect(fired(await w.send({ path: '/?a=evil', headers: { 'x-b': 'attack', 'x-c': 'union select' } }))).toEqual([]);
    // Where it looks: encoded twice and in capitals, in its one header, in its one argument.
    expect(fired(await w.send({ path: '/?q=UNION%2520SELECT&b=evil', headers: { 'x-a': 'an attack' } }))).toEqual([2, 1, 3]);
    // The same VM again, with the literals gone from the variables read.
    expect(fired(await w.send({ path: '/?q=union&b=select', headers: { 'x-a': 'a', 'x-b': 'an attack' } }))).toEqual([]);
    w.close();
  });
  it('one value read by rules whose transformations differ: each rule looks for its literals in its own form of the value', async () => {
    const w = await withRules([
      `SecRule REQUEST_HEADERS:x-a "@contains un ion" "id:1,phase:1,pass,log"`,
      `SecRule ARGS "@contains union" "id:2,phase:2,pass,log,t:removeWhitespace"`,
      `SecRule ARGS "@contains union" "id:3,phase:2,pass,log"`,
    ].join('\n'));
    // The header's rule meets the value first (its own form only); the argument's rules later,
    // one of them in the form without spaces, where its literal appears.
    expect(fired(await w.send({ path: '/?q=un%20ion', headers: { 'x-a': 'un ion' } }))).toEqual([1, 2]);
    expect(fired(await w.send({ path: '/?q=un%20ion' }))).toEqual([2]);
    expect(fired(await w.send({ path: '/?q=union', headers: { 'x-a': 'union' } }))).toEqual([2, 3]);
    w.close();
  });
  it('the screen reads a value without the case steps only where the later steps ignore case, and finds the same literals', async () => {
    const w = await withRules([
      // base64 cares about case: "D3DLDMLS" decodes to "wwevil" only once lowercased.
      `SecRule ARGS:a "@contains evil" "id:1,phase:2,pass,log,t:none,t:lowercase,t:base64Decode"`,
      // Comments and spaces ignore case: the literal is found in the capitals' own form.
      `SecRule ARGS:b "@contains union select" "id:2,phase:2,pass,log,t:none,t:lowercase,t:replaceComments,t:compressWhitespace"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/?a=D3DLDMLS&b=UNION/**/%20%20SELECT' }))).toEqual([1, 2]);
    expect(fired(await w.send({ path: '/?a=d3dldmls&b=UNION%09SELECT' }))).toEqual([1, 2]);
    expect(fired(await w.send({ path: '/?a=evil&b=UNIONSELECT' }))).toEqual([]);
    w.close();
  });
  it('a cmdLine rule is screened on the command line with case kept, and its operator still gets the lowercase form', async () => {
    const w = await withRules(`SecRule ARGS:c "@contains cat/etc" "id:1,phase:2,pass,log,t:none,t:cmdLine"`);
    // ^ dropped, the space before / dropped, lowercased: "cat/etc".
    expect(fired(await w.send({ path: '/?c=C%5EAT%20%2FETC' }))).toEqual([1]);
    expect(fired(await w.send({ path: '/?c=CAT%20%20ETC' }))).toEqual([]);
    w.close();
  });
  it('a multiMatch rule passes over a value whose forms cannot hold its literal, but not over one a step gives the literal', async () => {
    const w = await withRules([
      `SecRule ARGS:m "@contains a b" "id:1,phase:2,pass,log,t:none,t:compressWhitespace,multiMatch"`,
      `SecRule ARGS:n "@contains a b" "id:2,phase:2,pass,log,t:none,t:replaceNulls,multiMatch"`,
    ].join('\n'));
    // No space in either value: the steps put one there.
    expect(fired(await w.send({ path: '/?m=a%09b&n=a%00b' }))).toEqual([1, 2]);
    expect(fired(await w.send({ path: '/?m=ab&n=a-b' }))).toEqual([]);
    w.close();
  });
  it('response variables are present only in the response phases that have them', async () => {
    // Response-phase matches are audited when they block.
    const upstream = () => ({ status: 200, headers: { 'content-type': 'text/plain', 'x-r': '1' }, body: 'a secret' });
    const body = await withRules([
      `SecResponseBodyAccess On`,
      `SecRule RESPONSE_HEADERS_NAMES|RESPONSE_BODY "@rx ^x-r$|secret" "id:1,phase:2,deny,log"`,
      `SecRule RESPONSE_BODY "@contains secret" "id:3,phase:3,deny,log"`,
      `SecRule RESPONSE_BODY "@contains secret" "id:4,phase:4,deny,log"`,
    ].join('\n'));
    expect(fired(await body.send({ path: '/', upstream }))).toEqual([4]);
    body.close();
    const headers = await withRules(`SecRule RESPONSE_HEADERS_NAMES "@streq x-r" "id:2,phase:3,deny,log"`);
    expect(fired(await headers.send({ path: '/', upstream }))).toEqual([2]);
    headers.close();
  });
});

describe('setvar with constant keys and values', () => {
  it('a key in any case sets the lowercase TX variable; += and -= count from it', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:TX.Some_Key=5,setvar:'tx.other=a b'"`,
      `SecAction "id:2,phase:1,pass,nolog,setvar:tx.SOME_KEY=+3,setvar:tx.some_key=-1"`,
      `SecRule TX:some_key "@eq 7" "id:3,phase:2,pass,log"`,
      `SecRule TX:OTHER "@streq a b" "id:4,phase:2,pass,log"`,
      `SecAction "id:5,phase:2,pass,nolog,setvar:!tx.other"`,
      `SecRule &TX:other "@eq 0" "id:6,phase:2,pass,log"`,
    ].join('\n'));
    expect(fired(await w.send({ path: '/' }))).toEqual([3, 4, 6]);
    w.close();
  });
});

describe('the client address', () => {
  it('is read for a rule that inspects it, a macro that names it, and the audit line', async () => {
    const byTarget = await withRules(`SecRule REMOTE_ADDR "@ipMatch 127.0.0.1" "id:1,phase:1,pass,log"`);
    const res = await byTarget.send({ path: '/' });
    expect(auditLines(res).map((l) => [l.rule_id, l.client])).toEqual([[1, '127.0.0.1']]);
    byTarget.close();
    const byMacro = await withRules(`SecAction "id:1,phase:1,pass,nolog,setvar:tx.who=%{REMOTE_ADDR}"\nSecRule TX:who "@streq 127.0.0.1" "id:2,phase:2,pass,log,logdata:'%{remote_addr}'"`);
    const res2 = await byMacro.send({ path: '/' });
    expect(auditLines(res2).map((l) => [l.rule_id, l.data, l.client])).toEqual([[2, '127.0.0.1', '127.0.0.1']]);
    byMacro.close();
    // No rule reads it: the audit line still names the client.
    const neither = await withRules(`SecRule ARGS:a "@streq 1" "id:1,phase:2,deny,log"`, { ruleset: { paranoia_level: 1, inbound_threshold: 5 } });
    const res3 = await neither.send({ path: '/?a=1' });
    expect(res3.status).toBe(403);
    const lines = auditLines(res3);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.client === '127.0.0.1')).toBe(true);
    neither.close();
  });
});

describe('set-up rules computed once (phase 1\'s leading rules that read and write only TX)', () => {
  it('every transaction starts from their outcome, not from what an earlier request added to it', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.count=0"`,
      `SecRule &TX:limit "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.limit=2"`,
      `SecRule ARGS:a "@streq x" "id:3,phase:1,pass,nolog,setvar:tx.count=+1"`,
      `SecRule ARGS:b "@streq x" "id:4,phase:1,pass,nolog,setvar:tx.count=+1,setvar:tx.limit=9"`,
      `SecRule TX:count "@ge %{tx.limit}" "id:5,phase:1,deny,status:429"`,
    ].join('\n'));
    const statuses: number[] = [];
    for (const path of ['/?a=x', '/?a=x', '/?a=x&c=x', '/?a=x&b=x', '/?a=x', '/?a=x&b=x&c=x', '/?a=x']) {
      statuses.push((await w.send({ path })).status);
    }
    // count is 1 for ?a=x in every request; ?a=x&b=x makes it 2 but raises the limit to 9.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200]);
    const both = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.count=0"`,
      `SecRule ARGS:a "@streq x" "id:3,phase:1,pass,nolog,setvar:tx.count=+1"`,
      `SecRule ARGS:b "@streq x" "id:4,phase:1,pass,nolog,setvar:tx.count=+1"`,
      `SecRule TX:count "@ge 2" "id:5,phase:1,deny,status:429"`,
    ].join('\n'));
    const seen: number[] = [];
    for (const path of ['/?a=x', '/?a=x&b=x', '/?a=x', '/?b=x', '/?a=x&b=x']) seen.push((await both.send({ path })).status);
    expect(seen).toEqual([200, 429, 200, 200, 429]);
    w.close();
    both.close();
  });
  it('a rule that reads the request, or expands a request variable, ends the part computed once', async () => {
    const byHeader = await withRules([
      `SecRule REQUEST_HEADERS:x-plan "@streq gold" "id:1,phase:1,pass,nolog,setvar:tx.limit=100"`,
      `SecRule &TX:limit "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.limit=1"`,
      `SecRule ARGS:n "@gt %{tx.limit}" "id:3,phase:1,deny,status:429"`,
    ].join('\n'));
    const seen: number[] = [];
    for (const headers of [{}, { 'x-plan': 'gold' }, {}, { 'x-plan': 'gold' }]) seen.push((await byHeader.send({ path: '/?n=5', headers })).status);
    expect(seen).toEqual([429, 200, 429, 200]);
    byHeader.close();

    const byMacro = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.host=%{REQUEST_HEADERS.host}"`,
      `SecRule TX:host "@streq a.example" "id:2,phase:1,deny,status:403"`,
    ].join('\n'));
    const hosts: number[] = [];
    for (const host of ['b.example', 'a.example', 'b.example', 'a.example']) hosts.push((await byMacro.send({ path: '/', headers: { host } })).status);
    expect(hosts).toEqual([200, 403, 200, 403]);
    byMacro.close();
  });
  it('the last match they leave (MATCHED_VAR, MATCHED_VAR_NAME) is there in every transaction', async () => {
    const w = await withRules([
      `SecRule &TX:t "@eq 0" "id:1,phase:1,pass,nolog,setvar:tx.t=5"`,
      `SecRule MATCHED_VAR "@streq 0" "id:2,phase:1,pass,log,logdata:'%{MATCHED_VAR}'"`,
      `SecRule MATCHED_VAR_NAME "@streq MATCHED_VAR" "id:3,phase:1,pass,log"`,
    ].join('\n'));
    // Rule 2 reads the count rule 1 matched ("0"); its own match then names MATCHED_VAR (rule 3).
    for (let i = 0; i < 3; i++) {
      const lines = auditLines(await w.send({ path: `/?i=${i}` }));
      expect(lines.map((l) => [l.rule_id, l.data])).toEqual([[2, '0'], [3, '']]);
    }
    w.close();
  });
});

describe('rules settled on the set-up rules\' TX (a key nothing else writes: the paranoia-level checks)', () => {
  it('a TX key a later rule writes is tested in each request: by a constant key, a key built from a macro, or a capture', async () => {
    // One rule set per writer: a key built from a macro that starts the key may write any key.
    const cases: Array<[string, string, Array<[string, number]>]> = [
      [`SecRule ARGS:up "@streq 1" "id:2,phase:1,pass,nolog,setvar:tx.level=2"`, `SecRule TX:level "@ge 2" "id:10,phase:2,deny,status:403"`,
        [['/', 200], ['/?up=1', 403], ['/', 200]]],
      [`SecRule ARGS:k "@rx ^([a-z]+)$" "id:3,phase:1,pass,nolog,capture,setvar:tx.lvl_%{tx.1}=1"`, `SecRule TX:lvl_a "@eq 1" "id:11,phase:2,deny,status:403"`,
        [['/', 200], ['/?k=a', 403], ['/?k=b', 200]]],
      [`SecRule ARGS:any "@rx ^([a-z]+)$" "id:4,phase:1,pass,nolog,setvar:tx.%{MATCHED_VAR}=5"`, `SecRule TX:level "@ge 2" "id:12,phase:2,deny,status:403"`,
        [['/', 200], ['/?any=level', 403], ['/?any=other', 200]]],
      [`SecRule ARGS:c "@rx ^([a-z]+)$" "id:5,phase:1,pass,nolog,capture"`, `SecRule TX:1 "@streq zz" "id:13,phase:2,deny,status:403"`,
        [['/', 200], ['/?c=zz', 403], ['/?c=yy', 200]]],
    ];
    for (const [writer, reader, requests] of cases) {
      const w = await withRules([`SecAction "id:1,phase:1,pass,nolog,setvar:tx.level=1,setvar:tx.lvl_a=0"`, writer, reader].join('\n'));
      const seen: Array<[string, number]> = [];
      for (const [path] of requests) seen.push([path, (await w.send({ path })).status]);
      expect([writer, seen]).toEqual([writer, requests]);
      w.close();
    }
  });
  it('one that always matches still skips, leaves its match, and is tested again when a ctl removes its target', async () => {
    const w = await withRules([
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.pl=1"`,
      `SecRule REQUEST_HEADERS:x-full "@streq 1" "id:5,phase:1,pass,nolog,ctl:ruleRemoveTargetById=20;TX:pl"`,
      `SecRule TX:pl "@lt 2" "id:20,phase:2,pass,nolog,skipAfter:END"`,
      `SecRule ARGS "@streq x" "id:21,phase:2,deny,status:403"`,
      `SecMarker END`,
      `SecRule MATCHED_VAR_NAME "@streq TX:pl" "id:22,phase:2,pass,log"`,
      `SecRule TX:pl "@ge 2" "id:23,phase:2,pass,log"`,
    ].join('\n'));
    for (let i = 0; i < 2; i++) {
      const res = await w.send({ path: '/?a=x' });
      expect([res.status, fired(res)]).toEqual([200, [22]]);
    }
    expect((await w.send({ path: '/?a=x', headers: { 'x-full': '1' } })).status).toBe(403);
    expect((await w.send({ path: '/?a=x' })).status).toBe(200);
    w.close();
  });
});

describe('a value a screened rule is known not to match (its literal no longer lets the rule run for it)', () => {
  it('the rule still runs for other values with the literal, and other rules with that literal still see the value', async () => {
    const w = await withRules([
      `SecRule ARGS "@rx ^evil$" "id:1,phase:2,deny,status:403"`,
      `SecRule ARGS "@rx evil" "id:2,phase:2,pass,log"`,
      `SecRule ARGS "@rx (?:bad|evil)[0-9]+" "id:3,phase:2,pass,log"`,
    ].join('\n'));
    const seen: Array<[string, number, number[]]> = [];
    for (const path of ['/?a=notevil', '/?a=notevil', '/?a=evil', '/?a=evil', '/?a=notevil&b=evil', '/?a=notevil&c=evil7', '/?a=notevil', '/?a=evil']) {
      const res = await w.send({ path });
      seen.push([path, res.status, fired(res)]);
    }
    expect(seen).toEqual([
      ['/?a=notevil', 200, [2]],
      ['/?a=notevil', 200, [2]],
      ['/?a=evil', 403, [1]],
      ['/?a=evil', 403, [1]],
      ['/?a=notevil&b=evil', 403, [1]],
      ['/?a=notevil&c=evil7', 200, [2, 3]],
      ['/?a=notevil', 200, [2]],
      ['/?a=evil', 403, [1]],
    ]);
    w.close();
  });
});

describe('a rule on one request header whose value\'s verdict is known', () => {
  it('answers as evaluating it would: negated operators, a header met twice, a value seen before by another rule', async () => {
    const w = await withRules([
      `SecRule REQUEST_HEADERS:x-len "!@rx ^[0-9]+$" "id:1,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-h "@streq evil" "id:2,phase:1,pass,log"`,
      `SecRule REQUEST_HEADERS:x-h "@streq evil" "id:3,phase:1,pass,log,t:lowercase"`,
    ].join('\n'));
    const sends: Array<[string, Array<[string, string]>]> = [
      ['abc', [['x-len', 'abc'], ['x-h', 'ok']]],
      ['12', [['x-len', '12'], ['x-h', 'ok']]],
      ['abc again', [['x-len', 'abc'], ['x-h', 'ok']]],
      ['12 again', [['x-len', '12'], ['x-h', 'ok']]],
      ['evil', [['x-h', 'evil']]],
      ['EVIL', [['x-h', 'EVIL']]],
      ['ok then EVIL', [['x-h', 'ok'], ['x-h', 'EVIL']]],
      ['ok then evil', [['x-h', 'ok'], ['x-h', 'evil']]],
      ['ok', [['x-h', 'ok']]],
      ['EVIL again', [['x-h', 'EVIL']]],
    ];
    expect(await matchesInTurn(w, sends.map(([label, headers]) => [label, { path: '/', headers }]))).toEqual([
      ['abc', [1]],
      ['12', []],
      ['abc again', [1]],
      ['12 again', []],
      ['evil', [2, 3]],
      ['EVIL', [3]],
      ['ok then EVIL', [3]],
      ['ok then evil', [2, 3]],
      ['ok', []],
      ['EVIL again', [3]],
    ]);
    w.close();
  });
});

// multiMatch rules are screened too: their screen reads every form their operator runs on (the
// value and the result of each prefix of the list), and a form known not to match leaves the
// value's slot set. A gate whose rule reads a collection by key (`REQUEST_HEADERS:User-Agent`) or
// excludes a key (`!REQUEST_HEADERS:Referer`) does not run the rule for a literal only other
// keys' values hold. Each case below is one a screen of a single form, a slot dropped for the
// wrong value, or a key filter taken for the whole variable would answer differently from
// running the rule.
describe('screen gates of multiMatch rules and of rules reading some keys of a collection', () => {
  it('a multiMatch rule fires on a literal in the value, in a middle form or in the last form only', async () => {
    const w = await withRules([
      `SecRule ARGS "@contains a b" "id:1,phase:2,pass,log,t:none,t:urlDecodeUni,t:removeWhitespace,multiMatch"`,
      `SecRule ARGS "@contains %41" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni,multiMatch"`,
      `SecRule ARGS "@contains ../" "id:3,phase:2,pass,log,t:none,t:urlDecodeUni,multiMatch"`,
    ].join('\n'));
    const sends: Array<[string, string]> = [
      ['only the decoded form holds "a b" (the last form is "ab")', '/?v=a%2520b'],
      ['only the value holds "%41"', '/?v=%2541'],
      ['only the decoded form holds "../"', '/?v=%252e%252e%252f'],
      ['no form holds a literal', '/?v=a-b'],
      ['the first value again', '/?v=a%2520b'],
      ['a known value and a new one holding "../"', '/?v=a-b&w=x%2f..%2fy'],
      ['the known values alone', '/?v=a-b&w=a%2520b'],
    ];
    expect(await matchesInTurn(w, sends.map(([label, path]) => [label, { path }]))).toEqual([
      ['only the decoded form holds "a b" (the last form is "ab")', [1]],
      ['only the value holds "%41"', [2]],
      ['only the decoded form holds "../"', [3]],
      ['no form holds a literal', []],
      ['the first value again', [1]],
      ['a known value and a new one holding "../"', [3]],
      ['the known values alone', [1]],
    ]);
    w.close();
  });
  it('a rule reading some keys of a collection fires on a literal under those keys only, the same value under another key included', async () => {
    const w = await withRules([
      `SecRequestBodyAccess On`,
      `SecRule REQUEST_HEADERS:User-Agent|REQUEST_HEADERS:X-B "@contains ;sh" "id:1,phase:1,pass,log,t:none"`,
      `SecRule ARGS:q|REQUEST_COOKIES "@contains <x>" "id:2,phase:2,pass,log,t:none"`,
      `SecRule REQUEST_HEADERS:User-Agent|REQUEST_HEADERS "@contains {z}" "id:3,phase:1,pass,log,t:none"`,
    ].join('\n'));
    const sends: Array<[string, { path: string; method?: string; headers: Record<string, string>; body?: string }]> = [
      ['in another header only', { path: '/', headers: { 'x-a': 'a;sh' } }],
      ['in the User-Agent', { path: '/', headers: { 'user-agent': 'a;sh' } }],
      ['the same value in another header and X-B', { path: '/', headers: { 'x-a': 'a;sh', 'x-b': 'a;sh' } }],
      ['in another header only, again', { path: '/', headers: { 'x-a': 'a;sh' } }],
      ['in another argument only', { path: '/?r=%3Cx%3E', headers: {} }],
      ['in the argument read, from the body', { path: '/', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'r=%3Cx%3E&q=%3Cx%3E' }],
      ['in another body argument only', { path: '/', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'r=%3Cx%3E' }],
      ['in a cookie (read whole)', { path: '/', headers: { cookie: 'c=<x>' } }],
      ['in another header, for a rule also reading every header', { path: '/', headers: { 'x-a': '{z}' } }],
    ];
    expect(await matchesInTurn(w, sends)).toEqual([
      ['in another header only', []],
      ['in the User-Agent', [1]],
      ['the same value in another header and X-B', [1]],
      ['in another header only, again', []],
      ['in another argument only', []],
      ['in the argument read, from the body', [2]],
      ['in another body argument only', []],
      ['in a cookie (read whole)', [2]],
      ['in another header, for a rule also reading every header', [3]],
    ]);
    w.close();
  });
  it('an excluded header does not run the rule, and the same value under another header still fires it', async () => {
    const w = await withRules([
      `SecRule REQUEST_HEADERS|!REQUEST_HEADERS:Referer "@contains ../" "id:1,phase:1,pass,log,t:none,t:urlDecodeUni,multiMatch"`,
      `SecRule REQUEST_HEADERS|ARGS|!REQUEST_HEADERS:Referer|!ARGS:skip "@contains <x>" "id:2,phase:2,pass,log,t:none"`,
    ].join('\n'));
    const sends: Array<[string, { path: string; headers: Record<string, string> }]> = [
      ['in the Referer only', { path: '/', headers: { referer: 'https://a/b/../c' } }],
      ['the same value in another header too', { path: '/', headers: { referer: 'https://a/b/../c', 'x-from': 'https://a/b/../c' } }],
      ['the same value in another header alone', { path: '/', headers: { 'x-from': 'https://a/b/../c' } }],
      ['in the Referer only, again', { path: '/', headers: { referer: 'https://a/b/../c' } }],
      ['<x> in the Referer and an excluded argument', { path: '/?skip=%3Cx%3E', headers: { referer: '<x>' } }],
      ['<x> in the Referer and another argument', { path: '/?keep=%3Cx%3E', headers: { referer: '<x>' } }],
      ['<x> in an argument only', { path: '/?keep=%3Cx%3E', headers: {} }],
    ];
    expect(await matchesInTurn(w, sends)).toEqual([
      ['in the Referer only', []],
      ['the same value in another header too', [1]],
      ['the same value in another header alone', [1]],
      ['in the Referer only, again', []],
      ['<x> in the Referer and an excluded argument', []],
      ['<x> in the Referer and another argument', [2]],
      ['<x> in an argument only', [2]],
    ]);
    w.close();
  });
});

// A rule whose first link reads only the request's shape (method, protocol, file name, headers
// by key) and is known not to match with that shape is not run again while the shape repeats;
// a parameter made of TX keys only the set-up rules write is settled once. Each case is one a
// shape taken as unchanged, a skip after a first link that matched, or a parameter settled though
// a later rule writes its key would answer differently.
describe('rules of the request shape, and parameters settled on the set-up TX', () => {
  it('a shape rule runs again when a header it reads changes, and a chain runs whenever its first link matched', async () => {
    const w = await withRules([
      `SecRule REQUEST_HEADERS:X-A "@streq bad" "id:1,phase:1,pass,log"`,
      `SecRule REQUEST_METHOD "@streq GET" "id:2,phase:1,pass,log,chain"`,
      `  SecRule ARGS:a "@streq 1"`,
      `SecRule &REQUEST_HEADERS:X-C "@eq 2" "id:3,phase:1,pass,log"`,
    ].join('\n'));
    const sends: Array<[string, { path: string; method?: string; headers: Array<[string, string]> }]> = [
      ['plain', { path: '/?a=0', headers: [['x-a', 'ok']] }],
      ['the same shape, the chain matching', { path: '/?a=1', headers: [['x-a', 'ok']] }],
      ['X-A changed', { path: '/?a=0', headers: [['x-a', 'bad']] }],
      ['X-A back', { path: '/?a=0', headers: [['x-a', 'ok']] }],
      ['X-A twice, the second bad', { path: '/?a=0', headers: [['x-a', 'ok'], ['x-a', 'bad']] }],
      ['X-A ok, another header added', { path: '/?a=0', headers: [['x-a', 'ok'], ['x-b', 'bad']] }],
      ['X-C once', { path: '/?a=0', headers: [['x-a', 'ok'], ['x-c', '1']] }],
      ['X-C twice', { path: '/?a=0', headers: [['x-a', 'ok'], ['x-c', '1'], ['x-c', '1']] }],
      ['a POST of the same headers', { path: '/?a=1', method: 'POST', headers: [['x-a', 'ok']] }],
    ];
    expect(await matchesInTurn(w, sends)).toEqual([
      ['plain', []],
      ['the same shape, the chain matching', [2]],
      ['X-A changed', [1]],
      ['X-A back', []],
      ['X-A twice, the second bad', [1]],
      ['X-A ok, another header added', []],
      ['X-C once', []],
      ['X-C twice', [3]],
      ['a POST of the same headers', []],
    ]);
    w.close();
  });
  it('a chain of shape links that failed after its first link matched still leaves that match', async () => {
    const w = await withRules([
      `SecRule REQUEST_METHOD "@rx ^G" "id:20,phase:1,pass,log,chain"`,
      `  SecRule REQUEST_HEADERS:X-Z "@streq 1"`,
      `SecRule MATCHED_VAR "@streq GET" "id:21,phase:1,pass,log"`,
      // A first link with an action: its chain is run again whatever the shape.
      `SecRule REQUEST_METHOD "@rx ^G" "id:30,phase:1,pass,nolog,chain,setvar:tx.seen=+1"`,
      `  SecRule REQUEST_HEADERS:X-Z "@streq 1"`,
      `SecRule TX:seen "@eq 1" "id:31,phase:1,pass,log"`,
    ].join('\n'));
    const sends: Array<[string, { path: string; method: string; headers?: Record<string, string> }]> = [
      ['GET', { path: '/', method: 'GET' }],
      ['GET again', { path: '/', method: 'GET' }],
      ['POST', { path: '/', method: 'POST' }],
      ['GET with X-Z', { path: '/', method: 'GET', headers: { 'x-z': '1' } }],
      ['GET once more', { path: '/', method: 'GET' }],
      ['GET, once more', { path: '/', method: 'GET' }],
    ];
    expect(await matchesInTurn(w, sends)).toEqual([
      ['GET', [21, 31]],
      ['GET again', [21, 31]],
      ['POST', []],
      ['GET with X-Z', [20, 31]],
      ['GET once more', [21, 31]],
      ['GET, once more', [21, 31]],
    ]);
    w.close();
  });
  it('a parameter of TX keys is settled only when no rule after the set-up writes them', async () => {
    const w = await withRules([
      `SecAction "id:10,phase:1,pass,nolog,setvar:tx.allowed=GET POST,setvar:tx.other=GET"`,
      `SecRule ARGS:x "@streq 1" "id:12,phase:1,pass,nolog,setvar:tx.other=PUT"`,
      `SecRule REQUEST_METHOD "!@within %{tx.allowed}" "id:11,phase:1,pass,log"`,
      `SecRule REQUEST_METHOD "!@within %{tx.other}" "id:13,phase:1,pass,log"`,
    ].join('\n'));
    const sends: Array<[string, { path: string; method: string }]> = [
      ['GET', { path: '/', method: 'GET' }],
      ['PUT', { path: '/', method: 'PUT' }],
      ['GET again', { path: '/', method: 'GET' }],
      ['GET, tx.other set to PUT', { path: '/?x=1', method: 'GET' }],
      ['PUT, tx.other set to PUT', { path: '/?x=1', method: 'PUT' }],
      ['GET once more', { path: '/', method: 'GET' }],
    ];
    expect(await matchesInTurn(w, sends)).toEqual([
      ['GET', []],
      ['PUT', [11, 13]],
      ['GET again', []],
      ['GET, tx.other set to PUT', [13]],
      ['PUT, tx.other set to PUT', [11]],
      ['GET once more', []],
    ]);
    w.close();
  });
});
