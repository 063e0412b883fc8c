// The screen's per-value group hints (engine.ts ValueTable.groupHints): one computation per value
// tells which screen groups (rules of one transformation list) can have a literal in the form
// their list reads, so a list's walk skips the others in one load. A group whose list may change
// more than a value's case must never be answered from the value's own form, and each group must
// read only its own slots of the scan (groups here span several 32-bit words of it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRules } from '../../support/waf.js';

type Rules = Awaited<ReturnType<typeof withRules>>;

/** Screen groups by transformation list; 40 @contains rules each, so slot ranges cross words. */
const GROUPS: Array<{ base: number; letter: string; t: string }> = [
  { base: 100, letter: 'a', t: 't:none' },
  { base: 200, letter: 'b', t: 't:none,t:urlDecode' },
  { base: 300, letter: 'c', t: 't:none,t:removeWhitespace' },
  { base: 400, letter: 'd', t: 't:none,t:lowercase' },
  { base: 500, letter: 'e', t: 't:none,t:urlDecode,t:lowercase' },
  { base: 600, letter: 'f', t: 't:none,t:htmlEntityDecode' },
];
const PER_GROUP = 40;

const RULES = ['SecRuleEngine On'];
// Interleaved by group, so a value is first asked for by a list that changes it as often as by one that does not.
for (let k = 0; k < PER_GROUP; k++) {
  for (const g of GROUPS) RULES.push(`SecRule ARGS "@contains zz${g.letter}${k}x" "id:${g.base + k},phase:2,pass,log,${g.t}"`);
}

/** 70 plain arguments (a list large enough to be screened through its survivors) and the extra ones. */
function query(extra: Record<string, string>): string {
  const args: string[] = [];
  for (let i = 0; i < 70; i++) args.push(`k${i}=plain+value+${i}`);
  for (const [k, v] of Object.entries(extra)) args.push(`${k}=${v}`);
  return '/p?' + args.join('&');
}

describe('screen group hints answer each group as its own screen would', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules(RULES.join('\n'));
  });
  afterAll(() => waf.close());

  const matches = async (extra: Record<string, string>) => (await waf.matches({ path: query(extra) })).sort((a, b) => a - b);

  it('a literal in the value itself fires its group (first and last slots of each group)', async () => {
    for (const k of [0, 31, 32, 39]) {
      expect(await matches({ q: `zza${k}x` })).toEqual([100 + k]);
      // lowercase-only lists read the value itself (the screen folds case)
      expect(await matches({ q: `ZZD${k}X` })).toEqual([400 + k]);
    }
  });

  it('a literal that only a transformation makes fires that group alone', async () => {
    // %25 -> "%" after the query's own decoding: the value holds zz%62<k>x, urlDecode makes zzb<k>x.
    for (const k of [0, 17, 39]) {
      expect(await matches({ q: `zz%25${(98).toString(16)}${k}x` })).toEqual([200 + k]);
      expect(await matches({ q: `zz+c+${k}+x` })).toEqual([300 + k]);
      expect(await matches({ q: `ZZ%25${(69).toString(16)}${k}X` })).toEqual([500 + k]);
      expect(await matches({ q: `zz%26%23102;${k}x` })).toEqual([600 + k]);
    }
  });

  it('one value can fire a group from its own form and another from a transformed form', async () => {
    expect(await matches({ q: 'zza39x+zzc0x' })).toEqual([139, 300]);
    expect(await matches({ q: 'zzd5x%2520zz%25625x', r: 'zza1x' })).toEqual([101, 205, 405]);
  });

  it('values seen before (kept per value across requests) give the same answers', async () => {
    for (let round = 0; round < 2; round++) {
      expect(await matches({ q: 'zz%2562x7' })).toEqual([]);
      expect(await matches({ q: 'zz%25627x' })).toEqual([207]);
      expect(await matches({ a: 'zz%25627x', b: 'zz+c+7+x', c: 'zza7x' })).toEqual([107, 207, 307]);
    }
  });
});

// multiMatch runs the operator on the value and after each step that changed it; a value that the
// whole list leaves alone (none of its steps' trigger units in it) is tested once. Each value
// below needs exactly one step of the list (or none) to match: a fast path that missed a step's
// trigger (uppercase for lowercase, `%` for urlDecode, `&` for htmlEntityDecode) loses the match.
describe('multiMatch tests every form a step of the list changed', () => {
  let waf: Rules;
  beforeAll(async () => {
    waf = await withRules([
      'SecRuleEngine On',
      'SecRule ARGS "@rx ^zzq<1$" "id:1,phase:2,pass,log,multiMatch,t:none,t:lowercase,t:urlDecode,t:htmlEntityDecode"',
      // Not lowercased: only the value itself (or a decoded form) can match.
      'SecRule ARGS "@rx ^ZZQ<2$" "id:2,phase:2,pass,log,multiMatch,t:none,t:urlDecode,t:htmlEntityDecode"',
    ].join('\n'));
  });
  afterAll(() => waf.close());

  const matches = async (v: string) => (await waf.matches({ path: query({ q: v }) })).sort((a, b) => a - b);

  it('the value itself, and each step that changed it', async () => {
    for (let round = 0; round < 2; round++) {
      expect(await matches('zzq%3C1')).toEqual([1]); // the query's decoding gives zzq<1: no step changes it
      expect(await matches('ZZQ%3C1')).toEqual([1]); // lowercase
      expect(await matches('zzq%253C1')).toEqual([1]); // urlDecode (after lowercase: %3c)
      expect(await matches('zzq%26lt;1')).toEqual([1]); // htmlEntityDecode
      expect(await matches('ZZQ%253C2')).toEqual([2]); // urlDecode, no lowercase in rule 2's list
      expect(await matches('ZZQ%26lt;2')).toEqual([2]);
      expect(await matches('ZZQ%3C2')).toEqual([2]);
      expect(await matches('zzq%3C2')).toEqual([]);
      expect(await matches('zzq%3C3')).toEqual([]);
    }
  });
});
