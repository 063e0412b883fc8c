// Selectors with a plain key (`REQUEST_HEADERS:Host`, `ARGS:id`) read their entries through an
// index of the collection's lowercased names. What a user sees must be what comparing every name
// gives: every entry of that name in request order, names matched case-insensitively, names that
// share the index's hash kept apart, and an entry added after a lookup (the host header made from
// `:authority`) found by later ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLines, withRules } from '../../support/waf.js';

type Rules = Awaited<ReturnType<typeof withRules>>;

const RULES = [
  'SecRuleEngine On',
  `SecRule &ARGS:dup "@eq 4" "id:1,phase:2,pass,log,t:none"`,
  `SecRule ARGS:dup "@streq third" "id:2,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'"`,
  `SecRule ARGS:dup "@streq UPPER" "id:3,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  // "ab1cd" and "ab1xd": the same length and the same first, middle and last units.
  `SecRule ARGS:ab1cd "@streq yes" "id:4,phase:2,pass,log,t:none"`,
  `SecRule &ARGS:ab1cd "@eq 1" "id:5,phase:2,pass,log,t:none"`,
  `SecRule REQUEST_HEADERS:x-target "@streq hit" "id:6,phase:1,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  `SecRule &REQUEST_HEADERS:x-absent "@eq 0" "id:7,phase:1,pass,log,t:none"`,
  // The host header is added from :authority after the filter looked for one.
  `SecRule REQUEST_HEADERS:Host "@streq index.example" "id:8,phase:1,pass,log,t:none"`,
  // MATCHED_VAR is the last value matched, in request order.
  `SecRule ARGS:dup "@rx ^" "id:9,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR}'"`,
];

describe('plain-key selectors find their entries by name', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules(RULES.join('\n'), { audit_log: true });
  });
  afterAll(() => waf.close());

  async function dataOf(path: string, headers: Record<string, string> = {}, authority?: string): Promise<Map<number, string>> {
    const res = await waf.send({ path, headers, authority });
    return new Map(auditLines(res).map((l) => [l.rule_id, l.data]));
  }

  it('every entry of a repeated name, in order, names compared without case', async () => {
    const filler = Array.from({ length: 30 }, (_, i) => `f${i}=v${i}`);
    const q = ['dup=first', ...filler.slice(0, 10), 'dup=second', ...filler.slice(10, 20), 'DUP=UPPER', ...filler.slice(20), 'dup=third'].join('&');
    const got = await dataOf('/p?' + q);
    expect(got.has(1)).toBe(true); // four entries named dup, whatever their case
    expect(got.get(2)).toBe('ARGS:dup=third');
    expect(got.get(3)).toBe('ARGS:DUP');
    expect(got.get(9)).toBe('third');
  });

  it('a name with the same hash as the key is not selected', async () => {
    const got = await dataOf('/p?ab1xd=yes&ab1cd=no');
    expect(got.has(4)).toBe(false);
    expect(got.has(5)).toBe(true);
    const hit = await dataOf('/p?ab1xd=no&ab1cd=yes');
    expect(hit.has(4)).toBe(true);
  });

  it('among many headers, only the one named is read; an absent one counts 0', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 40; i++) headers[`x-h${i}`] = 'hit';
    headers['x-target'] = 'hit';
    const got = await dataOf('/p', headers);
    expect(got.get(6)).toBe('REQUEST_HEADERS:x-target');
    expect(got.has(7)).toBe(true);
    const none = await dataOf('/p', { 'x-targe': 'hit', 'x-targets': 'hit' });
    expect(none.has(6)).toBe(false);
  });

  it('the host header made from :authority is found after an earlier lookup', async () => {
    const got = await dataOf('/p', {}, 'index.example');
    expect(got.has(8)).toBe(true);
  });
});
