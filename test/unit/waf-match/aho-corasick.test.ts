/**
 * PhraseMatcher (filters/waf/match/aho-corasick.ts, for @pm / @pmFromFile) through
 * build/waf-match-probe.wasm, against a direct search in JavaScript: which phrase ends first in
 * the input (the shortest of those ending there), case-insensitive by default as @pm is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, openProbe, unhex, type Probe } from './probe.js';

/** The reference: the phrase whose first occurrence ends earliest (shortest on a tie). */
function firstPhrase(phrases: string[], input: string, ci: boolean): string | null {
  const hay = ci ? input.replace(/[A-Z]/g, (c) => c.toLowerCase()) : input;
  let best: string | null = null;
  let bestEnd = Infinity;
  for (const p of phrases) {
    if (p === '') continue;
    const at = hay.indexOf(ci ? p.replace(/[A-Z]/g, (c) => c.toLowerCase()) : p);
    if (at < 0) continue;
    const end = at + p.length;
    if (end < bestEnd || (end === bestEnd && best !== null && p.length < best.length)) {
      best = p;
      bestEnd = end;
    }
  }
  return best;
}

const pm = (phrases: string[], input: string, ci = true) => `pm ${ci ? 'i' : '-'} ${phrases.map(hex).join(',')} ${hex(input)}`;
const pmAny = (phrases: string[], input: string, ci = true) => `pmany ${ci ? 'i' : '-'} ${phrases.map(hex).join(',')} ${hex(input)}`;

describe('PhraseMatcher through build/waf-match-probe.wasm', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await openProbe();
  });
  afterAll(() => probe?.close());

  it('finds the classic overlapping set (he, she, his, hers) as a direct search does', async () => {
    const phrases = ['he', 'she', 'his', 'hers'];
    const inputs = ['ushers', 'ahishers', 'xyz', 'HERS', 'she', 'h', ''];
    const out = await probe.run(inputs.map((s) => pm(phrases, s)));
    expect(out.map((o) => (o === 'null' ? null : unhex(o)))).toEqual(inputs.map((s) => firstPhrase(phrases, s, true)));
    expect(out[0]).not.toBe('null');
  });

  it('agrees with a direct search on 3,000 random phrase sets and inputs, both case modes', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const alpha = 'abcAB é-';
    const word = (max: number) => Array.from({ length: 1 + Math.floor(rand() * max) }, () => alpha[Math.floor(rand() * alpha.length)]).join('');
    const cases = Array.from({ length: 3000 }, () => ({
      phrases: Array.from({ length: 1 + Math.floor(rand() * 8) }, () => word(4)),
      input: word(30),
      ci: rand() < 0.5,
    }));
    const out = await probe.run(cases.flatMap((c) => [pm(c.phrases, c.input, c.ci), pmAny(c.phrases, c.input, c.ci)]));
    const want = cases.map((c) => firstPhrase(c.phrases, c.input, c.ci));
    cases.forEach((c, i) => {
      const got = out[2 * i] === 'null' ? null : unhex(out[2 * i]);
      expect(got, JSON.stringify(c)).toBe(want[i]);
      expect(out[2 * i + 1]).toBe(want[i] === null ? '0' : '1');
    });
    expect(want.filter((w) => w !== null).length).toBeGreaterThan(500);
    expect(want.filter((w) => w === null).length).toBeGreaterThan(100);
  });

  it('case: insensitive by default (ASCII), exact when asked; non-ASCII matched exactly', async () => {
    const out = await probe.run([
      pm(['SELECT'], 'xx select yy'),
      pm(['SELECT'], 'xx select yy', false),
      pm(['SELECT'], 'xx SELECT yy', false),
      pm(['café'], 'CAFÉ'),
      pm(['café'], 'un café'),
      pm([], 'anything'),
      pm(['', 'x'], 'yx'),
    ]);
    expect(out.map((o) => (o === 'null' ? null : unhex(o)))).toEqual(['SELECT', null, 'SELECT', null, 'café', null, 'x']);
  });

  it('a large list (5,000 phrases, as @pmFromFile loads) matches in one pass', async () => {
    const phrases = Array.from({ length: 5000 }, (_, i) => `agent-${i.toString(36)}-bot`);
    const input = 'Mozilla/5.0 (compatible; agent-' + (4321).toString(36) + '-bot/1.0)';
    const miss = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) '.repeat(2000);
    const out = await probe.run([pm(phrases, input), pm(phrases, miss), pmAny(phrases, miss)]);
    expect(unhex(out[0])).toBe(`agent-${(4321).toString(36)}-bot`);
    expect(out.slice(1)).toEqual(['null', '0']);
  });
});
