// Literal screens: the WAF runs a rule's operator only on values holding one of the literals its
// match requires (derived from the regex at load, or the @pm phrases / @contains parameter). What
// a user sees must not change: every value a rule matches still fires it, including through
// optional parts, repetitions, (?i), small classes, and patterns with no literal at all (never
// screened); values without the literals do not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRules } from '../../support/waf.js';

type Rules = Awaited<ReturnType<typeof withRules>>;

// [operator, a value it matches, a value it does not match, screened by literals]
const CASES: Array<[string, string, string, boolean]> = [
  ['@rx union\\s*select', 'x union   select 1', 'union all', true], // \s* may be many spaces: no literal "unionselect"
  ['@rx a(?:b|c)?d', 'xacd', 'xaed', true],
  ['@rx (?i)SELECT\\s+\\*', 'select *', 'selector', true],
  ['@rx [xy]{2}z', 'yxz', 'xz', true],
  ['@rx ab*c', 'abbbc', 'abbb', true],
  ['@rx (?:ab){2,3}', 'xababab', 'abxab', true],
  ['@rx \\bfoo\\b|bar\\d{2,}', 'bar123', 'bar1', true],
  ['@rx ^$', '', 'x', false], // matches the empty value: nothing required
  ['@rx ^\\w{40,}$', 'a'.repeat(41), 'short', false], // a large class: nothing usable
  ['@pm Alpha beta', 'xxBETAyy', 'alp ha', true], // phrases match case-insensitively
  ['@contains Needle', 'aNeedleb', 'aneedleb', true], // case-sensitive operator behind a folded screen
  ['@beginsWith pre', 'prefix', 'xpre', true],
  ['@endsWith .php', 'shell.php', 'php.txt', true],
  ['!@rx ^ok$', 'nope', 'ok', false], // negated: never screened
];

describe('literal screens keep every match and drop only values without the literals', () => {
  let waf: Rules;
  beforeAll(async () => {
    const rules = ['SecRuleEngine On'];
    CASES.forEach(([op], i) => rules.push(`SecRule ARGS:v${i} "${op}" "id:${100 + i},phase:2,pass,log,t:none"`));
    waf = await withRules(rules.join('\n'), { log_level: 'info' });
  });
  afterAll(() => waf.close());

  for (const [i, [op, hit, miss]] of CASES.entries()) {
    it(`${op}: fires on ${JSON.stringify(hit)}, not on ${JSON.stringify(miss)}`, async () => {
      expect(await waf.matches({ path: `/?v${i}=${encodeURIComponent(hit)}` })).toEqual([100 + i]);
      expect(await waf.matches({ path: `/?v${i}=${encodeURIComponent(miss)}` })).toEqual([]);
    });
  }

  it('reports at load how many rules are screened (the patterns with usable literals)', () => {
    const line = waf.host.logs.map((l) => l.message).find((m) => m.includes('screened by literals'));
    expect(line).toBeDefined();
    const screened = CASES.filter(([, , , s]) => s).length;
    expect(line).toContain(`${screened} rule(s) screened by literals`);
  });
});

describe('multiMatch runs the operator on the original value and after each transformation that changed it', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules(
      'SecRuleEngine On\n' +
        'SecRule ARGS:a "@rx ^<x>$" "id:1,phase:2,pass,log,multiMatch,t:none,t:urlDecode,t:lowercase"\n' +
        'SecRule ARGS:b "@rx %3c" "id:2,phase:2,pass,log,multiMatch,t:none,t:urlDecode,t:lowercase"',
    );
  });
  afterAll(() => waf.close());

  it('a match only after a transformation fires', async () => {
    // The query decoding gives "%3CX%3E"; urlDecode gives "<X>"; lowercase "<x>".
    expect(await waf.matches({ path: '/?a=%253CX%253E' })).toEqual([1]);
  });
  it('a match only on the original value fires too', async () => {
    // "%3c" is in the value as received and gone after urlDecode.
    expect(await waf.matches({ path: '/?b=%253c' })).toEqual([2]);
  });
  it('a value no step makes match does not fire', async () => {
    expect(await waf.matches({ path: '/?a=plain&b=plain' })).toEqual([]);
  });
});
