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
  // The screen's literal is "bash " (joined across \s+): a tab, vertical tab or form feed there
  // must pass it as a space does; "shoes" holds no literal.
  ['@rx \\b(?:sh|bash)\\s+-[a-z]*c\\b', 'bash\t-c id', 'shoes -c', true],
  ['@rx a[\\t ]b', 'xa\tb', 'ab', true],
  ['@rx a\\sb', 'xa\x0bb', 'a-b', true],
  // @validateByteRange has no literal: its slot comes from the value's units (a disallowed byte).
  ['@validateByteRange 1-255', 'a\0b', 'a b', true],
  ['@validateByteRange 32-126', 'caf\u00e9', 'plain text', true], // é is two bytes above 126
  ['@validateByteRange 32-126', 'a\tb', 'a~b', true],
  ['@validateByteRange 97-122', 'abD', 'abd', true], // an upper-case letter shares its summary bit with its lower case
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

// The engine skips work a value's character summary proves useless: a transformation list none of
// whose steps can change the value (no "%" for urlDecode, no upper case for lowercase, ...), a
// scan of a form the case-insensitive screen already read (lists that change only case share one
// scan of the value), and multiMatch forms that cannot hold a required literal. Each case below
// needs the skipped step, the right form or the literal to appear only after a transformation, so
// a skip taken wrongly loses the match.
describe('work skipped by character summaries never loses a match', () => {
  let waf: Rules;
  const RULES: Array<[string, string, string, string]> = [
    // [operator, transformations and flags, a value that fires the rule, one that does not]
    ['@contains <script', 't:none,t:urlDecodeUni', '%3Cscript', 'script'], // the literal appears only after decoding
    ['@contains union', 't:none,t:lowercase', 'UNION', 'unio n'], // case-only list: the screen reads the value itself
    ['@rx ^select$', 't:none,t:cmdLine', 'SELECT', 'se lect'], // cmdLine on a plain value only folds case
    ['@rx ^selectx$', 't:none,t:cmdLine', 'SELECT\\x', 'selectx '], // ... but drops backslashes: a form of its own
    ['@contains ab', 't:none,t:removeWhitespace', 'a b', 'a-b'], // removeWhitespace builds a new string
    ['@rx ^a b$', 't:none,t:compressWhitespace', 'a   b', 'ab'],
    ['@rx ^x$', 't:none,t:trim', '  x ', 'x y'],
    // Lone spaces between words are left alone by these; a space at an edge, in a run or before
    // '/' or '(' is not, and each such value must get its own transformed form.
    ['@rx ^a b c$', 't:none,t:compressWhitespace', 'a b  c', 'a b c d'],
    ['@rx ^x y$', 't:none,t:trimLeft', ' x y', 'x  y'],
    ['@rx ^x y$', 't:none,t:trimRight', 'x y ', 'x y z'],
    ['@rx ^cat /etc$', 't:none,t:compressWhitespace', 'cat  /etc', 'cat /etcx'],
    ['@rx ^cat/etc$', 't:none,t:cmdLine', 'cat /etc', 'cat etc'],
    ['@rx ^exec\\($', 't:none,t:cmdLine', 'EXEC (', 'exec x('],
    ['@rx ^a b$', 't:none,t:removeNulls,t:compressWhitespace', 'a \0 b', 'a \0b c'], // the run appears only once the null is gone
    ['@contains </', 't:none,t:htmlEntityDecode', '&lt;/', 'lt;/'],
    ['@contains alert(', 't:none,t:jsDecode', 'alert\\x28', 'alert'],
    ['@rx etc/passwd', 't:none,t:normalizePathWin', 'etc\\.\\passwd', 'etc-passwd'],
    ['@rx \\.\\./', 't:none,t:urlDecodeUni,multiMatch', '%2e%2e/', '%2e/'], // multiMatch: the literal only in the decoded form
    ['@pm javascript', 't:none,t:removeNulls,t:lowercase,multiMatch', 'JAVA\0SCRIPT', 'java script'],
    ['@rx \\bbash\\s+-c', 't:none,t:urlDecodeUni,multiMatch', 'bash%09-c', 'bashful -c'], // the literal "bash " stands for "bash\t" too
    // A byte range on a decoded form: the NUL of %00 and of %u0100 (which decodes to its low byte) only appears after decoding.
    ['@validateByteRange 1-255', 't:none,t:urlDecodeUni', 'a%00b', 'a%41b'],
    ['@validateByteRange 1-255', 't:none,t:urlDecodeUni', 'x%u0100', 'x%u0041'],
    // Long values (a body's size) are summarized another way: the one unit that triggers the step is at the end.
    ['@contains <script', 't:none,t:urlDecodeUni', 'a'.repeat(3000) + '%3Cscript', 'a'.repeat(3000) + '3Cscript'],
    ['@contains %u00e9', 't:none,t:utf8toUnicode', 'b'.repeat(3000) + 'é', 'b'.repeat(3000) + 'e'],
  ];
  beforeAll(async () => {
    const lines = ['SecRuleEngine On'];
    RULES.forEach(([op, actions], i) => lines.push(`SecRule ARGS:v${i} "${op}" "id:${200 + i},phase:2,pass,log,${actions}"`));
    waf = await withRules(lines.join('\n'));
  });
  afterAll(() => waf.close());

  const show = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 6)}…(${v.length} chars)…${v.slice(-12)}` : v);
  for (const [i, [op, actions, hit, miss]] of RULES.entries()) {
    it(`${op} (${actions}): fires on ${show(hit)}, not on ${show(miss)}`, async () => {
      // Values are sent URL-encoded: the rule reads them as written here ("%3C" stays encoded).
      const enc = encodeURIComponent;
      expect(await waf.matches({ path: `/?v${i}=${enc(hit)}` })).toEqual([200 + i]);
      // Twice: the second time answers from what was kept for the value.
      expect(await waf.matches({ path: `/?v${i}=${enc(hit)}` })).toEqual([200 + i]);
      expect(await waf.matches({ path: `/?v${i}=${enc(miss)}` })).toEqual([]);
    });
  }
});

describe('@detectXSS and @detectSQLi skip only values no form of which can hold one of their cues', () => {
  // A detector flags only values holding one of its cues ("<", quotes, "(", SQL words, ...). The
  // engine judges from a value's characters and what each transformation of the rule may add
  // whether any form can hold one, and runs neither the transformations nor the detector when
  // none can. Each value below holds no cue itself: only the decoding step makes the attack.
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const RULES: Array<[string, string, string, string]> = [
    // [operator, transformations and flags, a value that fires the rule, one that does not]
    ['@detectXSS', 't:none,t:jsDecode,t:lowercase', '\\x3cSCRIPT\\x3ealert\\x281\\x29\\x3c/script\\x3e', 'SCRIPT alert 1'],
    ['@detectXSS', 't:none,t:base64Decode,t:lowercase', b64('<script>alert(1)</script>  '), 'Item 5 number 12'], // no "=" padding, no "+"
    ['@detectXSS', 't:none,t:lowercase,t:urlDecodeUni', '%3CSCRIPT%3Ealert%281%29%3C/SCRIPT%3E', 'SCRIPT alert 1'],
    ['@detectSQLi', 't:none,t:hexDecode', hex("1' OR '1'='1"), '3132333435'],
    ['@detectSQLi', 't:none,t:base64Decode', b64("1' UNION SELECT password FROM users--"), 'SKU5-1000'],
    ['@detectSQLi', 't:none,t:urlDecodeUni,multiMatch', '1%27%20%4fR%20%271%27%3D%271', 'Item 5 number 12'],
    // One cue each: the literal screen reads the cues too, and must pass none of them over.
    ['@detectXSS', 't:none', '<script>', 'script'],
    ['@detectSQLi', 't:none', "admin'--", 'admin--'],
    ['@detectSQLi', 't:none,t:urlDecodeUni,multiMatch', 'admin%27--', 'admin%25--'],
  ];
  let waf: Rules;
  beforeAll(async () => {
    const lines = ['SecRuleEngine On'];
    RULES.forEach(([op, actions], i) => lines.push(`SecRule ARGS:v${i} "${op}" "id:${300 + i},phase:2,pass,log,${actions}"`));
    waf = await withRules(lines.join('\n'));
  });
  afterAll(() => waf.close());

  for (const [i, [op, actions, hit, miss]] of RULES.entries()) {
    it(`${op} (${actions}): fires on ${JSON.stringify(hit)}, not on ${JSON.stringify(miss)}`, async () => {
      const enc = encodeURIComponent;
      expect(await waf.matches({ path: `/?v${i}=${enc(hit)}` })).toEqual([300 + i]);
      expect(await waf.matches({ path: `/?v${i}=${enc(hit)}` })).toEqual([300 + i]);
      expect(await waf.matches({ path: `/?v${i}=${enc(miss)}` })).toEqual([]);
    });
  }

  it('a value holding a cue only once decoded still fires when the rule reads it undecoded elsewhere', async () => {
    // The same value read by two rules: the gate of one must not answer for the other.
    const w = await withRules('SecRuleEngine On\n' +
      'SecRule ARGS:a "@detectXSS" "id:1,phase:2,pass,log,t:none"\n' +
      'SecRule ARGS:a "@detectXSS" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni"');
    try {
      expect(await w.matches({ path: `/?a=${encodeURIComponent('%3Cscript%3Ealert(1)%3C/script%3E')}` })).toEqual([2]);
      expect(await w.matches({ path: `/?a=${encodeURIComponent('<script>alert(1)</script>')}` })).toEqual([1, 2]);
    } finally {
      w.close();
    }
  });
});

// A value's own scan is left out when every rule asking about it decodes it first (a request
// line or query string with '+' or '%'); a later rule reading the same value as it is must still
// get the value's own literals.
describe('a value first asked about only by decoding rules is still screened as it is for a later rule', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules(
      'SecRuleEngine On\n' +
        'SecRule REQUEST_HEADERS:X-A "@contains <x" "id:1,phase:2,pass,log,t:none,t:urlDecodeUni"\n' +
        'SecRule ARGS:b "@contains %3cx" "id:2,phase:2,pass,log,t:none"',
    );
  });
  afterAll(() => waf.close());

  it('both rules fire on the same value, the decoding one first', async () => {
    // The header and the argument hold the same text, "%3cx": one value for the engine.
    expect(await waf.matches({ path: '/?b=%253cx', headers: { 'x-a': '%3cx' } })).toEqual([1, 2]);
    expect(await waf.matches({ path: '/?b=%253cx', headers: { 'x-a': '%3cx' } })).toEqual([1, 2]);
    expect(await waf.matches({ path: '/?b=%253cy', headers: { 'x-a': '%3cy' } })).toEqual([]);
  });
});
