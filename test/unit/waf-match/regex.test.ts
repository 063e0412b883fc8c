/**
 * sdk/assembly/regex.ts (the SDK's linear-time regex, used by the WAF and attributes filters) through build/waf-match-probe.wasm:
 *  - differential: thousands of generated (pattern, input) pairs against JavaScript's RegExp, on
 *    the syntax where the two agree (ASCII text; no \r, whose handling by '.' differs; groups
 *    compared only when no capture sits inside a repetition, where JS resets captures per
 *    iteration and RE2 keeps the last one);
 *  - handpicked CRS-style patterns on attack-like and benign inputs;
 *  - RE2-only rejections (backreferences, lookaround, ...) with the position of the offence;
 *  - linear time on inputs that make backtracking engines explode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, openProbe, rx, unhex, type Probe } from './probe.js';

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Gen {
  src: string;
  /** A capture group sits inside a repetition (JS and RE2 report such groups differently). */
  capInRepeat: boolean;
  /** Can match the empty string. */
  nullable: boolean;
  /**
   * A repetition of something that can match empty: JS refuses empty iterations (and backtracks
   * into them), RE2 accepts them, so which text matches may differ; whether it matches may not.
   */
  emptyLoop: boolean;
}

function genPattern(rand: () => number, depth: number, inRepeat: boolean): Gen {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const atoms = ['a', 'b', 'c', 'ab', '.', '[ab]', '[^a]', '[a-c]', '\\d', '\\w', '\\s', '\\W', '1', ' ', '_', '-', '\\.', '[\\d_]', '[^\\s]'];
  const r = rand();
  if (depth <= 0 || r < 0.35) return { src: pick(atoms), capInRepeat: false, nullable: false, emptyLoop: false };
  if (r < 0.45) return { src: pick(['^', '$', '\\b', '\\B']), capInRepeat: false, nullable: true, emptyLoop: false };
  if (r < 0.65) {
    const n = 2 + Math.floor(rand() * 3);
    const parts = Array.from({ length: n }, () => genPattern(rand, depth - 1, inRepeat));
    return {
      src: parts.map((p) => p.src).join(''),
      capInRepeat: parts.some((p) => p.capInRepeat),
      nullable: parts.every((p) => p.nullable),
      emptyLoop: parts.some((p) => p.emptyLoop),
    };
  }
  if (r < 0.75) {
    const n = 2 + Math.floor(rand() * 2);
    const parts = Array.from({ length: n }, () => genPattern(rand, depth - 1, inRepeat));
    return {
      src: `(?:${parts.map((p) => p.src).join('|')})`,
      capInRepeat: parts.some((p) => p.capInRepeat),
      nullable: parts.some((p) => p.nullable),
      emptyLoop: parts.some((p) => p.emptyLoop),
    };
  }
  if (r < 0.87) {
    const inner = genPattern(rand, depth - 1, inRepeat);
    return { ...inner, src: `(${inner.src})`, capInRepeat: inner.capInRepeat || inRepeat };
  }
  const inner = genPattern(rand, depth - 1, true);
  const q = pick(['*', '+', '?', '{2}', '{1,3}', '{0,2}', '{2,}', '*?', '+?', '??', '{1,2}?']);
  const minZero = ['*', '?', '{0,2}', '*?', '??'].includes(q);
  // Wrap so the quantifier applies to the whole inner pattern.
  return {
    src: `(?:${inner.src})${q}`,
    capInRepeat: inner.capInRepeat,
    nullable: inner.nullable || minZero,
    // (JS fails an optional iteration that matched empty, even for ?, and backtracks into it.)
    emptyLoop: inner.emptyLoop || inner.nullable,
  };
}

function genInput(rand: () => number): string {
  const alphabet = 'aabbc 1_-.\nA';
  const n = Math.floor(rand() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** JS's answer in the probe's format: "null" or hex fields joined by ",". */
function jsExec(pattern: string, input: string, flags = ''): string {
  const m = new RegExp(pattern, flags).exec(input);
  if (!m) return 'null';
  return m.slice(0, 10).map((g) => hex(g ?? '')).join(',');
}

describe('regex (RE2 semantics) through build/waf-match-probe.wasm', () => {
  let probe: Probe;
  beforeAll(async () => {
    probe = await openProbe();
  });
  afterAll(() => probe?.close());

  it('agrees with JavaScript RegExp on 4,000 generated (pattern, input) pairs', async () => {
    const rand = rng(Number(process.env.REGEX_SEED ?? 20261202)); // REGEX_SEED replays another sample
    const cases: { pattern: string; input: string; flags: string; groups: boolean; text: boolean }[] = [];
    let textCompared = 0;
    while (cases.length < 4000) {
      const g = genPattern(rand, 4, false);
      // JS flags i, m, s; ours: i as the compile argument, m and s inline as (?ms).
      const flags = (rand() < 0.2 ? 'i' : '') + (rand() < 0.2 ? 'm' : '') + (rand() < 0.2 ? 's' : '');
      for (let k = 0; k < 5; k++) cases.push({ pattern: g.src, input: genInput(rand), flags, groups: !g.capInRepeat && !g.emptyLoop, text: !g.emptyLoop });
    }
    const ours = (c: { pattern: string; flags: string }) => {
      const inline = c.flags.replace('i', '');
      return { pattern: inline ? `(?${inline})${c.pattern}` : c.pattern, flags: c.flags.includes('i') ? 'i' : '-' };
    };
    const lines = cases.flatMap((c) => {
      const o = ours(c);
      return [rx.test(o.pattern, c.input, o.flags), rx.exec(o.pattern, c.input, o.flags)];
    });
    const out = await probe.run(lines);
    const mismatches: string[] = [];
    let matched = 0;
    cases.forEach((c, i) => {
      const want = jsExec(c.pattern, c.input, c.flags);
      const gotTest = out[2 * i];
      const gotExec = out[2 * i + 1]!;
      if (want !== 'null') matched++;
      const wantTest = want === 'null' ? '0' : '1';
      const view = (r: string) => (r === 'null' ? 'null' : !c.text ? 'match' : c.groups ? r : r.split(',')[0]);
      const wantCmp = view(want);
      const gotCmp = view(gotExec);
      if (c.text) textCompared++;
      if (gotTest !== wantTest || gotCmp !== wantCmp) {
        mismatches.push(`/${c.pattern}/${c.flags} on ${JSON.stringify(c.input)}: test ${gotTest} exec ${gotExec} (JS ${want})`);
      }
    });
    expect(mismatches.slice(0, 10)).toEqual([]);
    // The generator must exercise both outcomes for the comparison to mean something.
    expect(matched).toBeGreaterThan(1000);
    expect(textCompared).toBeGreaterThan(3000);
    expect(cases.length - matched).toBeGreaterThan(500);
  });

  it('matches CRS-style patterns as JavaScript does', async () => {
    const patterns: [string, string][] = [
      ['(?i:union\\s+(?:all\\s+)?select)', 'i'],
      ['\\b(?:select|insert|update|delete)\\b.{0,40}\\b(?:from|into|set)\\b', 'i'],
      ['<script[^>]*>[\\s\\S]*?', 'i'],
      ['(?:\\.\\./|\\.\\.\\\\)', ''],
      ['^(?:get|post|head|options|put|delete|patch)$', 'i'],
      ['[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]', ''],
      ['(?:;|\\||`|\\$\\(|&&)\\s*(?:cat|ls|id|whoami|wget|curl)\\b', ''],
      ['\\bon(?:load|error|click|mouseover)\\s*=', 'i'],
      ['^[\\w.+-]+@[\\w-]+\\.[\\w.]+$', ''],
      ['(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})', ''],
      ['javascript\\s*:', 'i'],
      ['(?:\'|")\\s*(?:or|and)\\s*(?:\'|")?\\d+(?:\'|")?\\s*=\\s*(?:\'|")?\\d+', 'i'],
      ['%(?:2e|2f|5c|00)', 'i'],
      ['^[^?#]*\\.(?:php|asp|aspx|jsp)(?:$|\\?)', 'i'],
      ['(?:a|b)*?c{2,4}', ''],
    ];
    const inputs = [
      "1' UNION ALL SELECT password FROM users--",
      'select name from t',
      'Please SELECT a color, then update the form',
      '<script>alert(1)</script>',
      '<SCRIPT src=x>',
      '../../etc/passwd',
      '..\\..\\windows\\win.ini',
      'GET',
      'get ',
      'a\u0001b',
      'x; cat /etc/passwd',
      'echo $(id)',
      '<img src=x onerror = alert(1)>',
      'Dear John, onload we go',
      'john.doe+tag@example.co.uk',
      'not an email@',
      'client 192.168.10.254 connected',
      'JaVaScRiPt :alert(1)',
      "' or '1'='1",
      '" OR 2=2',
      'O\'Brien and Sons',
      '%2e%2E%2f',
      '/index.php?x=1',
      '/index.php',
      '/img/logo.png',
      'ababcccc',
      '',
    ];
    const cases = patterns.flatMap(([p, f]) => inputs.map((s) => ({ p, f, s })));
    const out = await probe.run(cases.map((c) => rx.exec(c.p, c.s, c.f || '-')));
    // JS has no inline (?i:...); give it the flag instead (every pattern here is wholly (?i) or not).
    const want = cases.map((c) => jsExec(c.p.replace(/^\(\?i:(.*)\)$/, '(?:$1)'), c.s, c.f));
    expect(out).toEqual(want);
    expect(out.filter((o) => o !== 'null').length).toBeGreaterThan(20);
  });

  it('supports the syntax rules use: escapes, classes, flags, counted repetition, lazy quantifiers', async () => {
    const cases: [string, string, string, string][] = [
      // pattern, flags, input, expected whole match or "null"
      ['\\x41\\u00e9\\t\\n', '-', 'xA\u00e9\t\ny', 'A\u00e9\t\n'],
      ['\\x{41}+', '-', 'AAA', 'AAA'],
      ['[\\x30-\\x39]+', '-', 'ab123c', '123'],
      ['[a\\-z]+', '-', 'b-az', '-az'],
      ['[]a]+', '-', 'x]a]', ']a]'],
      ['[^]a]+', '-', ']]xy', 'xy'],
      ['[[:digit:][:upper:]]+', '-', 'abC3Dx', 'C3D'],
      ['[[:^alpha:]]+', '-', 'ab12!c', '12!'],
      ['\\Aab', '-', 'abab', 'ab'],
      ['ab\\z', '-', 'abab', 'ab'],
      ['\\Aab\\z', '-', 'abab', 'null'],
      ['(?m)^b$', '-', 'a\nb\nc', 'b'],
      ['^b$', '-', 'a\nb\nc', 'null'],
      ['(?s)a.b', '-', 'a\nb', 'a\nb'],
      ['a.b', '-', 'a\nb', 'null'],
      ['(?i)straße', '-', 'STRAßE', 'STRAßE'],
      ['(?i)\u00e9t\u00e9', '-', '\u00c9T\u00c9', '\u00c9T\u00c9'],
      ['a(?i:b)c', '-', 'aBc', 'aBc'],
      ['a(?i:b)c', '-', 'aBC', 'null'],
      ['(?i)a(?-i:b)c', '-', 'ABC', 'null'],
      ['(?i)a(?-i:b)c', '-', 'AbC', 'AbC'],
      ['(?U)a+', '-', 'aaa', 'a'],
      ['(?U)a+?', '-', 'aaa', 'aaa'],
      ['a{3}', '-', 'aaaa', 'aaa'],
      ['a{2,}', '-', 'aaaa', 'aaaa'],
      ['a{1,2}?', '-', 'aaaa', 'a'],
      ['a{,2}', '-', 'a{,2}', 'a{,2}'],
      ['x{', '-', 'x{', 'x{'],
      ['<.+?>', '-', '<a><b>', '<a>'],
      ['<.+>', '-', '<a><b>', '<a><b>'],
      ['\\Qa.b*c\\E+', '-', 'a.b*cc', 'a.b*cc'],
      ['(?P<word>\\w+)', '-', '  hi ', 'hi'],
      ['(?<n>\\d+)', '-', 'x42', '42'],
      ['\\/etc\\/passwd', '-', '/etc/passwd', '/etc/passwd'],
      ['\\bcat\\b', '-', 'concatenate', 'null'],
      ['\\Bcat\\B', '-', 'concatenate', 'cat'],
      ['\\0101', '-', 'x\b1', '\b1'], // \010 then "1", as RE2 and JS read it
      ['[\\b]', '-', 'a\bb', '\b'],
      ['\\v\\f', '-', '\u000b\u000c', '\u000b\u000c'],
      // The idle-state prefilter skips units that cannot begin a match; what it skips still
      // sets the previous-unit flags the assertions need.
      ['\\bcat', '-', 'concat and cat', 'cat'],
      ['(?m)^x\\d', '-', 'ax1\nbx2\nx3', 'x3'],
      ['\\Bx', '-', '- x yx', 'x'],
      ['%2e%2e', 'i', 'a'.repeat(3000) + '%2E%2e', '%2E%2e'],
      ['\u4e2d\u6587', '-', 'abc \u4e2d\u6587', '\u4e2d\u6587'],
    ];
    const out = await probe.run(cases.map(([p, f, s]) => rx.exec(p, s, f)));
    expect(out.map((o) => (o === 'null' ? 'null' : unhex(o.split(',')[0])))).toEqual(cases.map((c) => c[3]));
  });

  it('reports the groups: at most nine, "" for a group that did not take part', async () => {
    const out = await probe.run([
      rx.exec('(a)|(b)', 'b'),
      rx.exec('(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)', 'abcdefghijk'),
      rx.exec('(?:x(\\d+))+', 'x1x22'),
      rx.compile('(a)(?:b)(?P<n>c)'),
    ]);
    expect(out[0]!.split(',').map(unhex)).toEqual(['b', '', 'b']);
    expect(out[1]!.split(',').map(unhex)).toEqual(['abcdefghijk', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    // RE2 keeps the last iteration's capture.
    expect(out[2]!.split(',').map(unhex)).toEqual(['x1x22', '22']);
    expect(out[3]).toBe('ok 2');
  });

  it('refuses what RE2 refuses, naming the construct and its position', async () => {
    const cases: [string, number, RegExp][] = [
      ['(a)\\1', 3, /backreference \\1/],
      ['(?P<x>a)(?P=x)', 8, /backreference/],
      ['(?<x>a)\\k<x>', 7, /backreference \\k/],
      ['foo(?=bar)', 3, /lookahead/],
      ['foo(?!bar)', 3, /lookahead/],
      ['(?<=foo)bar', 0, /lookbehind/],
      ['(?<!foo)bar', 0, /lookbehind/],
      ['(?>a+)b', 0, /atomic group/],
      ['a*+b', 2, /possessive|repetition of a repetition/],
      ['a**', 2, /repetition of a repetition/],
      ['a{2,1001}', 1, /repetition count too large.*1000/],
      ['a{1001}', 1, /repetition count too large/],
      ['a{3,2}', 1, /maximum is below the minimum/],
      ['*a', 0, /missing argument to repetition/],
      ['a|+', 2, /missing argument to repetition/],
      ['(ab', 0, /missing closing \)/],
      ['ab)', 2, /unmatched \)/],
      ['[ab', 0, /missing closing \]/],
      ['[z-a]', 1, /invalid class range/],
      ['ab\\', 2, /trailing backslash/],
      ['\\Z', 0, /\\Z is not supported/],
      ['\\pL', 0, /Unicode classes/],
      ['(?x)a b', 0, /unsupported group or flag \(\?x/],
      ['(?#comment)a', 0, /comment group/],
      ['(?(1)a|b)', 0, /conditional/],
      ['(?R)', 0, /recursion/],
      ['\\q', 0, /unknown escape \\q/],
      ['[[:foo:]]', 1, /unknown POSIX class/],
      ['(?:a{1000}){1000}', 0, /pattern too large/],
    ];
    const out = await probe.run(cases.map(([p]) => rx.compile(p)));
    cases.forEach(([p, pos, msg], i) => {
      const m = /^error (-?\d+) (.*)$/.exec(out[i]!);
      expect(m, `${p}: ${out[i]}`).not.toBeNull();
      expect(Number(m![1]), `${p}: ${out[i]}`).toBe(pos);
      expect(m![2], p).toMatch(msg);
    });
    // A refused pattern never matches (test/exec answer with the error rather than a result).
    expect((await probe.run([rx.test('(a)\\1', 'aa')]))[0]).toMatch(/^error 3 backreference/);
  });

  it('stays linear on inputs that make backtracking explode: (a+)+$ on 100k "a" + "!"', async () => {
    const evil = 'a'.repeat(100_000) + '!';
    const out = await probe.run([
      rx.test('(a+)+$', evil),
      rx.exec('(a+)+$', evil),
      rx.test('(a+)+$', 'a'.repeat(100_000)),
      rx.test('(a|aa)*c', evil),
      rx.test('(.*a){20}b', evil),
      rx.test('(x+x+)+y', 'x'.repeat(50_000)),
      rx.exec('(\\w+\\s?)+$', 'word '.repeat(10_000) + '!'),
      rx.exec('^(a+)+b', 'a'.repeat(50_000) + 'b'),
    ]);
    expect(out.slice(0, 6)).toEqual(['0', 'null', '1', '0', '0', '0']);
    expect(out[6]).toBe('null');
    expect(out[7]!.split(',').map(unhex)).toEqual(['a'.repeat(50_000) + 'b', 'a'.repeat(50_000)]);
  });

  it('handles hostile patterns: deep nesting (refused past 100), the (a?){n}a{n} classic, big alternations', async () => {
    // Nesting is limited (100) so the recursive parser and compiler stay well inside the stack.
    const deep = '(?:('.repeat(45) + 'a' + ')?)'.repeat(45);
    // Each + copies its operand once more: nested 40 deep that is 2^40 instructions, refused
    // before any is emitted.
    const doubling = '(?:'.repeat(40) + 'a' + ')+'.repeat(40);
    const tooDeep = '('.repeat(150) + 'a' + ')'.repeat(150);
    const classic = '(?:a?){500}a{500}';
    const words = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}x`);
    const alternation = `\\b(?:${words.join('|')})\\b`;
    const out = await probe.run([
      rx.test(deep, 'xxa'),
      rx.compile(tooDeep),
      rx.test(classic, 'a'.repeat(500)),
      rx.test(classic, 'a'.repeat(499)),
      rx.exec(classic, 'a'.repeat(700)),
      rx.test(alternation, 'text with w1bsx inside'),
      rx.test(alternation, 'text with w1bsxy inside'),
      rx.compile('a{1000}b{1000}c{1000}'),
      rx.compile(doubling),
    ]);
    expect(out[0]).toBe('1');
    expect(out[1]).toMatch(/^error \d+ groups nested too deeply/);
    expect(out.slice(2, 4)).toEqual(['1', '0']);
    expect(unhex(out[4]!.split(',')[0])).toBe('a'.repeat(700));
    expect(out.slice(5, 7)).toEqual(['1', '0']);
    expect(out[7]).toBe('ok 0');
    expect(out[8]).toMatch(/^error 0 pattern too large/);
  });

  it('keeps its DFA cache bounded on a pattern with exponentially many states, and stays correct', async () => {
    const rand = rng(7);
    const pattern = '(?:a|b)*a(?:a|b){14}c';
    const inputs = Array.from({ length: 20 }, (_, i) => {
      let s = '';
      for (let k = 0; k < 3000; k++) s += rand() < 0.5 ? 'a' : 'b';
      return i % 2 ? s + 'c' : s;
    });
    const out = await probe.run([...inputs.map((s) => rx.test(pattern, s)), `dfastats - ${hex(pattern)}`]);
    // 'c' only ever ends the input, so a match needs an 'a' 15 units before it (JS's backtracking
    // engine takes seconds on these inputs, so the answer is computed directly).
    expect(out.slice(0, 20)).toEqual(inputs.map((s) => (s.endsWith('c') && s[s.length - 16] === 'a' ? '1' : '0')));
    expect(out.slice(0, 20)).toContain('1');
    const stats = /^states=(\d+) flushes=(\d+) bytes=(\d+)$/.exec(out[20]!)!;
    expect(Number(stats[2])).toBeGreaterThan(0);
    expect(Number(stats[1])).toBeLessThan(2000);
    // The default budget is 64 KiB of cache; the table may be up to one row over, plus scratch.
    expect(Number(stats[3])).toBeLessThan(160 * 1024);
  });

  it('matches non-ASCII text as UTF-16 code units', async () => {
    const out = await probe.run([
      rx.exec('caf.', 'un café'),
      rx.exec('[\u00e0-\u00ff]+', 'naïve façade'),
      rx.exec('\u4e2d+', 'x\u4e2d\u4e2dy'),
      rx.exec('[^\\x00-\\x7f]+', 'abc\u00e9\u4e2ddef'),
      rx.test('^.$', '\u{1F600}'), // two code units
      rx.test('^..$', '\u{1F600}'),
    ]);
    expect(out.slice(0, 4).map((o) => unhex(o))).toEqual(['café', 'ï', '\u4e2d\u4e2d', '\u00e9\u4e2d']);
    expect(out.slice(4)).toEqual(['0', '1']);
  });
});
