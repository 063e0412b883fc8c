// @meshward/sdk/assembly match.ts (exact/prefix/suffix/contains/glob matchers, ASCII case folding,
// header-list helpers) and headers.ts reads, through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { probe, probeBody, useProbe } from './probe.js';

const host = useProbe();
const match = (kind: string, pattern: string, subject: string, ignoreCase = false): Promise<string> =>
  probeBody(host(), 'match', [kind, pattern, subject, ignoreCase ? 'i' : '']);

type Case = [kind: string, pattern: string, subject: string, ignoreCase: boolean, expected: boolean];

describe('Matcher', () => {
  const cases: Case[] = [
    ['exact', '/a', '/a', false, true],
    ['exact', '/a', '/A', false, false],
    ['exact', '/a', '/A', true, true],
    ['exact', '/a', '/a/', false, false],
    ['exact', '/ab', '/a', false, false],
    ['exact', 'Host', 'hOST', true, true],
    ['exact', '', '', false, true],
    ['exact', '', 'x', false, false],
    ['prefix', '/api/', '/api/v1', false, true],
    ['prefix', '/api/', '/api', false, false],
    ['prefix', '/api/', '/apix/', false, false],
    ['prefix', '/API/', '/api/x', false, false],
    ['prefix', '/API/', '/api/x', true, true],
    ['prefix', '', 'anything', false, true],
    ['prefix', '/long/prefix', '/lo', false, false],
    ['suffix', '.json', '/a/b.json', false, true],
    ['suffix', '.json', '/a/b.JSON', false, false],
    ['suffix', '.json', '/a/b.JSON', true, true],
    ['suffix', '.json', '/a/b.json/x', false, false],
    ['suffix', 'long-suffix', 'x', false, false],
    ['suffix', '', 'x', false, true],
    ['contains', 'adm', '/xadmin', false, true],
    ['contains', 'ADM', '/xadmin', false, false],
    ['contains', 'ADM', '/xadmin', true, true],
    ['contains', 'zz', '/a', false, false],
    ['contains', 'abc', 'ab', false, false],
    ['glob', '*', '', false, true],
    ['glob', '*', 'anything/at/all', false, true],
    ['glob', '?', '', false, false],
    ['glob', '?', 'a', false, true],
    ['glob', '?', 'ab', false, false],
    ['glob', '/api/*/users', '/api/v1/users', false, true],
    ['glob', '/api/*/users', '/api/v1/x/users', false, true],
    ['glob', '/api/*/users', '/api/users', false, false],
    ['glob', '/api/*/users', '/api/v1/users/1', false, false],
    ['glob', '*.example.com', 'api.example.com', false, true],
    ['glob', '*.example.com', 'example.com', false, false],
    ['glob', '*.example.com', 'api.example.com.evil.io', false, false],
    ['glob', '*.EXAMPLE.com', 'api.example.COM', true, true],
    ['glob', '*.EXAMPLE.com', 'api.example.COM', false, false],
    ['glob', 'a*b*c', 'abc', false, true],
    ['glob', 'a*b*c', 'aXXbYYc', false, true],
    ['glob', 'a*b*c', 'acb', false, false],
    ['glob', '*a', 'bbba', false, true],
    ['glob', 'a*', 'ba', false, false],
    ['glob', '**', 'x', false, true],
    ['glob', 'a?c', 'abc', false, true],
    ['glob', 'a?c', 'ac', false, false],
    ['glob', '*ab*ab*', 'xabyabz', false, true],
    ['glob', '*ab*ab*', 'xabyz', false, false],
    ['glob', '/v?/*', '/v2/items', false, true],
    ['glob', 'exact', 'exact', false, true],
    ['glob', 'exact', 'exactly', false, false],
    ['glob', `${'*a'.repeat(8)}*b`, 'a'.repeat(60), false, false],
    ['glob', `${'*a'.repeat(8)}*`, 'a'.repeat(60), false, true],
  ];
  it.each(cases)('%s %j vs %j (ignoreCase %s) is %s', async (kind, pattern, subject, ignoreCase, expected) => {
    expect(await match(kind, pattern, subject, ignoreCase)).toBe(String(expected));
  });

  it('rejects an unknown kind (no regex support)', async () => {
    expect(await match('regex', '^/a$', '/a')).toBe('bad-kind');
    expect(await match('Prefix', '/a', '/a')).toBe('bad-kind');
  });
});

describe('lowercaseAscii', () => {
  it.each([
    ['X-Foo-BAR', 'x-foo-bar'],
    ['already-lower', 'already-lower'],
    ['MiXeD_123', 'mixed_123'],
    ['@[`{', '@[`{'], // the characters around A-Z and a-z stay
  ])('%j -> %j', async (input, expected) => {
    expect(await probeBody(host(), 'lowercase', [input])).toBe(expected);
  });
});

describe('header helpers', () => {
  const headers: Array<[string, string]> = [
    ['x-multi', 'a'],
    ['x-single', 'one'],
    ['x-multi', 'b'],
    ['x-multi', 'c, d'],
  ];
  it('headerFirst finds the first value, comparing names case-insensitively', async () => {
    expect(await probeBody(host(), 'header-first', ['x-multi'], { headers })).toBe('a');
    expect(await probeBody(host(), 'header-first', ['X-MULTI'], { headers })).toBe('a');
    expect(await probeBody(host(), 'header-first', ['x-single'], { headers })).toBe('one');
    expect(await probeBody(host(), 'header-first', ['x-missing'], { headers })).toBe('null');
  });

  it('headerAll returns every value in order', async () => {
    expect(await probeBody(host(), 'header-all', ['X-Multi'], { headers })).toBe('3:a|b|c, d');
    expect(await probeBody(host(), 'header-all', ['x-single'], { headers })).toBe('1:one');
    expect(await probeBody(host(), 'header-all', ['x-missing'], { headers })).toBe('0:');
  });

  it('getHeaderValue reads one header from the host, null when absent', async () => {
    expect(await probeBody(host(), 'header-get', ['x-single'], { headers })).toBe('one');
    expect(await probeBody(host(), 'header-get', [':method'], { method: 'PUT' })).toBe('PUT');
    expect(await probeBody(host(), 'header-get', [':path'], { path: '/p?q=1' })).toBe('/p?q=1');
    expect(await probeBody(host(), 'header-get', ['x-missing'], { headers })).toBe('null');
  });

  it('getHeaderPairsFlat gives UTF-8 text, or with `bytes` one unit per byte for a value that is not ASCII', async () => {
    const units = (reuse: string, mode: string, name: string, value: string) =>
      probeBody(host(), 'header-units', [reuse, mode, name], { headers: [[name, value]] });
    for (const reuse of ['', 'reuse']) {
      expect(await units(reuse, 'text', 'x-v', 'café')).toBe('63 61 66 e9');
      expect(await units(reuse, 'bytes', 'x-v', 'café')).toBe('63 61 66 c3 a9');
      expect(await units(reuse, 'bytes', 'x-v', '日')).toBe('e6 97 a5');
      expect(await units(reuse, 'text', 'x-v', 'abc')).toBe('61 62 63');
      expect(await units(reuse, 'bytes', 'x-v', 'abc')).toBe('61 62 63');
    }
    // A value decoded as bytes is not handed back as text later (nor the reverse).
    expect(await units('reuse', 'bytes', 'x-w', 'ñ-1')).toBe('c3 b1 2d 31');
    expect(await units('reuse', 'text', 'x-w', 'ñ-1')).toBe('f1 2d 31');
    expect(await units('reuse', 'bytes', 'x-w', 'ñ-1')).toBe('c3 b1 2d 31');
    // Longer than the reuse cache keeps: decoded every time.
    expect(await units('reuse', 'bytes', 'x-long', 'é'.repeat(200))).toBe(Array(200).fill('c3 a9').join(' '));
    expect(await units('reuse', 'text', 'x-long', 'é'.repeat(200))).toBe(Array(200).fill('e9').join(' '));
  });

  it('requests without x-probe pass through untouched', async () => {
    const res = await host().http({ path: '/plain', headers: { 'x-a': '1' } });
    expect(res.status).toBe(200);
    expect(res.upstreamRequest?.path).toBe('/plain');
    expect(res.headers['x-probe-op']).toBeUndefined();
  });

  it('answers 400 for an unknown operation', async () => {
    const res = await probe(host(), 'no-such-op');
    expect(res.status).toBe(400);
    expect(res.body).toBe('unknown probe operation: no-such-op');
  });
});
