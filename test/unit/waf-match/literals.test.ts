// The literal screen's required literals (filters/waf/seclang/literals.ts), through the probe:
// every match of a pattern holds one of them (after the screen's folding: ASCII letters to
// lowercase; tab, vertical tab and form feed to the space), and among the sets that would do,
// the one ordinary values hold least often is chosen, so a rule runs on fewer benign values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, openProbe, rx, unhex, type Probe } from './probe.js';

/** What the screen sees of a value: ASCII letters lowercased; tab, vertical tab and form feed as spaces. */
const screenForm = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[\t\v\f]/g, ' ');

describe('required literals of a regex (the WAF literal screen)', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await openProbe();
  });
  afterAll(() => probe.close());

  const literals = async (pattern: string): Promise<string[] | null> => {
    const [res] = await probe.run([`literals - ${hex(pattern)}`]);
    if (res === 'null') return null;
    return res!.split(',').map(unhex);
  };

  it('prefers a rare unit to a common word: "|" rather than "sh", which words such as "shoes" hold', async () => {
    expect(await literals('\\|\\s*(?:sh|bash)\\b')).toEqual(['|']);
  });

  it('costs a word\'s beginning after a space as the common thing it is: "$" rather than " sh" (as in "running shoes")', async () => {
    expect(await literals('[;&|]\\s*\\$\\w+\\s+(?:wget|curl|nc|bash|sh)\\b')).toEqual(['$']);
  });

  it('joins the literals before a whitespace run with it: "sh " rather than "sh"', async () => {
    const set = (await literals('\\b(?:sh|bash|zsh)\\s+-[a-z]*c\\b'))!;
    expect(set).toContain('sh ');
    expect(set).toContain('sh\n'); // line breaks stay units of their own
    expect(set).not.toContain('sh');
    for (const lit of set) expect(lit).toMatch(/^(?:sh|bash|zsh)[ \n\r]$/);
  });

  it('folds the tab, vertical tab and form feed to the space, and keeps line breaks apart', async () => {
    expect(await literals('x[\\t\\x0b\\f ]y')).toEqual(['x y']);
    expect((await literals('a\\tb|c\\nd'))!.sort()).toEqual(['a b', 'c\nd']);
  });

  it('joins what a repetition ends with to what follows it', async () => {
    expect(await literals('(?:ab)+c')).toEqual(['abc']);
    expect(await literals('z(?:xy)+')).toEqual(['zxy']);
  });

  it('has no set for a pattern that can match without a literal', async () => {
    expect(await literals('\\w+')).toBeNull();
    expect(await literals('a|\\d*')).toBeNull();
  });

  // Patterns and values they match: the screen must let every one through.
  const MATCHES: Array<[string, string[]]> = [
    ['(?i)\\b(?:sh|bash|zsh)\\s+-[a-z]*c\\b', ['bash\t-c id', 'SH\n-c x', 'zsh \x0b -lc', 'sh\f-c']],
    ['(?i)\\|\\s*(?:sh|bash)\\b', ['a|sh', 'x |\tBASH;']],
    ['(?i)(?:ab)+c', ['ababc', 'xABc']],
    ['(?i)select\\s+\\*\\s+from', ['SELECT\t*\nFROM', 'select * from']],
    ['[;&|]\\s*[\'"](?:curl|wget)[\'"]\\s+\\S', ['a; "curl"\thttp', "|'wget' x"]],
    ['(?:[;&|\\n\\r`]|\\$\\()\\s*(?:whoami|id)\\b', ['x\nid', 'a$( whoami', 'q`id`']],
    ['[;&|]\\s*\\$\\w+\\s+(?:wget|curl|nc|bash|sh)\\b', ['a; $x bash', '|$cmd\tsh']],
  ];
  for (const [pattern, values] of MATCHES) {
    it(`every match of ${pattern} holds one of its literals`, async () => {
      const set = (await literals(pattern))!;
      expect(set).not.toBeNull();
      const results = await probe.run(values.map((v) => rx.test(pattern, v)));
      for (const [i, v] of values.entries()) {
        expect(results[i], `${JSON.stringify(v)} should match ${pattern}`).toBe('1');
        expect(set.some((lit) => screenForm(v).includes(lit)), `${JSON.stringify(v)} holds none of ${JSON.stringify(set)}`).toBe(true);
      }
    });
  }
});
