// Target lists that start with another shared list: a rule on `ARGS|REQUEST_HEADERS:x-tail`
// starts from the entries (and the screen's survivors) the `ARGS` list collected in the same
// phase and collects only the rest. What a user sees must be what collecting every target gives:
// matches in the shared part and in the rest, the first variable holding a value reported, and a
// list whose later targets exclude something never built from the shorter one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLines, withRules } from '../../support/waf.js';

type Rules = Awaited<ReturnType<typeof withRules>>;

const RULES = [
  'SecRuleEngine On',
  // The shorter list, used first (its entries and survivors are then kept for the phase).
  'SecRule ARGS "@contains zzprefix" "id:1,phase:2,pass,log,t:none"',
  // Longer lists starting with it (screened by literals: survivors come from the shorter list).
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@contains zztail" "id:2,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@contains zzprefix" "id:3,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@streq zzdup" "id:4,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  // Not screened by literals (no usable literal): every entry of the list is visited.
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@rx ^\\d{12,}$" "id:5,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  // A later exclusion applies to ARGS too: this list is collected on its own.
  'SecRule ARGS|!ARGS:secret "@contains zzprefix" "id:6,phase:2,pass,log,t:none"',
  // A longer list used before the shorter one (which it collects first): ARGS_NAMES then ARGS.
  `SecRule ARGS_NAMES|ARGS|REQUEST_FILENAME "@contains zzlate" "id:7,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
  'SecRule ARGS_NAMES|ARGS "@contains zzlate" "id:8,phase:2,pass,log,t:none"',
  // Three @rx rules without literals and with one transformation list: one alternation screens
  // them (its survivors are taken from the shorter list too).
  'SecRule ARGS "@rx ^\\w{30,}$" "id:9,phase:2,pass,log,t:lowercase"',
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@rx ^\\w{31,}$" "id:10,phase:2,pass,log,t:lowercase,logdata:'%{MATCHED_VAR_NAME}'"`,
  `SecRule ARGS|REQUEST_HEADERS:x-tail "@rx ^\\w{32,}$" "id:11,phase:2,pass,log,t:lowercase,logdata:'%{MATCHED_VAR_NAME}'"`,
];

/** More than 8 entries, so the lists drop duplicate values (the path that shares entries). */
function query(extra: Record<string, string>): string {
  const args: Record<string, string> = {};
  for (let i = 0; i < 10; i++) args[`k${i}`] = `plain value ${i}`;
  return '/p?' + new URLSearchParams({ ...args, ...extra }).toString();
}

describe('a target list that starts with another shared list keeps every match', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules(RULES.join('\n'), { audit_log: true });
  });
  afterAll(() => waf.close());

  async function dataOf(path: string, headers: Record<string, string> = {}): Promise<Map<number, string>> {
    const res = await waf.send({ path, headers });
    return new Map(auditLines(res).map((l) => [l.rule_id, l.data]));
  }

  it('a value in the shared part fires the longer list\'s rules (screen survivors taken from the shorter list)', async () => {
    const got = await dataOf(query({ q: 'a zzprefix b' }));
    expect([...got.keys()].sort()).toEqual([1, 3, 6]);
    expect(got.get(3)).toBe('ARGS:q');
  });

  it('a value only in the rest of the targets fires too', async () => {
    const got = await dataOf(query({}), { 'x-tail': 'the zztail header' });
    expect([...got.keys()]).toEqual([2]);
    expect(got.get(2)).toBe('REQUEST_HEADERS:x-tail');
  });

  it('a value in both parts is reported under the first variable holding it, as before', async () => {
    expect((await dataOf(query({ d: 'zzdup' }), { 'x-tail': 'zzdup' })).get(4)).toBe('ARGS:d');
    expect((await dataOf(query({}), { 'x-tail': 'zzdup' })).get(4)).toBe('REQUEST_HEADERS:x-tail');
  });

  it('a rule without literals sees the shared part and the rest', async () => {
    expect((await dataOf(query({ n: '123456789012' }))).get(5)).toBe('ARGS:n');
    expect((await dataOf(query({}), { 'x-tail': '123456789012' })).get(5)).toBe('REQUEST_HEADERS:x-tail');
  });

  it('rules screened by one alternation see the shared part and the rest', async () => {
    const long = 'W'.repeat(33);
    const inArgs = await dataOf(query({ w: long }));
    expect([...inArgs.keys()].sort((a, b) => a - b)).toEqual([9, 10, 11]);
    expect(inArgs.get(11)).toBe('ARGS:w');
    const inHeader = await dataOf(query({}), { 'x-tail': long });
    expect([...inHeader.keys()].sort((a, b) => a - b)).toEqual([10, 11]);
    expect(inHeader.get(11)).toBe('REQUEST_HEADERS:x-tail');
  });

  it('lists collected again on later requests (their arrays reused) report exactly that request\'s matches', async () => {
    // The match moves between arguments, lists and rules from request to request; what an
    // earlier request's screen found must neither linger nor be lost.
    const steps: Array<[Record<string, string>, Record<string, string>, number[], string]> = [
      [{ z1: 'x', z2: 'y', q: 'a zzprefix b' }, {}, [1, 3, 6], 'ARGS:q'],
      [{}, {}, [], ''],
      [{ w: 'zzprefix' }, { 'x-tail': 'zztail' }, [1, 2, 3, 6], 'ARGS:w'],
      [{ a: '1', b: '2', c: '3', q: 'zzprefix' }, {}, [1, 3, 6], 'ARGS:q'],
      [{}, { 'x-tail': 'zztail' }, [2], ''],
      [{ q: 'zzprefix' }, {}, [1, 3, 6], 'ARGS:q'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [args, headers, ids, name] of steps) {
        const got = await dataOf(query(args), headers);
        expect([...got.keys()].sort((a, b) => a - b)).toEqual(ids);
        if (name) expect(got.get(3)).toBe(name);
      }
    }
  });

  it('an exclusion among the later targets still removes the excluded argument', async () => {
    const got = await dataOf(query({ secret: 'zzprefix' }));
    expect(got.has(1)).toBe(true);
    expect(got.has(3)).toBe(true);
    expect(got.has(6)).toBe(false);
  });

  it('a longer list used first collects the shorter one and matches in both parts', async () => {
    expect((await dataOf(query({ v: 'zzlate' }))).get(7)).toBe('ARGS:v');
    expect((await dataOf(query({ zzlate: '1' }))).get(7)).toBe('ARGS_NAMES:zzlate');
    const uri = await dataOf(query({}).replace('/p?', '/zzlate?'));
    expect(uri.get(7)).toBe('REQUEST_FILENAME');
    expect(uri.has(8)).toBe(false);
    expect([...(await dataOf(query({ v: 'zzlate' }))).keys()].sort()).toEqual([7, 8]);
  });
});

// Collecting a whole collection reserves room for all of its first occurrences at once and keeps
// only those not already in the list: the room not used must not stay in the list as entries.
describe('a target whose values are all in the list already adds no entry', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules([
      'SecRuleEngine On',
      // Runs first on a fresh VM: the first argument's value is the first value interned (id 0).
      'SecRule ARGS "@contains zzfirst" "id:1,phase:2,pass,log,t:none"',
      // Every ARGS_GET_NAMES entry is already there from ARGS_NAMES: none is added for it.
      `SecRule ARGS_NAMES|ARGS_GET_NAMES "@contains zzfirst" "id:2,phase:2,pass,log,t:none,logdata:'%{MATCHED_VAR_NAME}'"`,
      `SecRule ARGS_NAMES|ARGS_GET_NAMES "@rx ^k\\d$" "id:3,phase:2,pass,log,t:none"`,
    ].join('\n'), { audit_log: true });
  });
  afterAll(() => waf.close());

  it('only the names are inspected, each once', async () => {
    const args = ['a=zzfirst'];
    for (let i = 0; i < 10; i++) args.push(`k${i}=v${i}`);
    const res = await waf.send({ path: '/p?' + args.join('&') });
    const lines = auditLines(res);
    expect(lines.map((l) => l.rule_id)).toEqual([1, 3]);
  });
});
