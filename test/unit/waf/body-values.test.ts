// The request-body value path's shortcuts (docs/waf.md "Speed and memory", body values round):
// JSON keys and values reused from the text when they repeat at a path, names lowered once per
// distinct string, values interned by content in the engine's own table and by identity when a
// collection repeats one string, and the value table let go at the end of a request side once
// past its bounds. Each case is built so that a wrong shortcut changes what a user sees (a rule
// that should match does not, or the reverse).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLines, withRules } from '../../support/waf.js';

type Rules = Awaited<ReturnType<typeof withRules>>;
const post = (body: string) => ({ method: 'POST', path: '/api', headers: { 'content-type': 'application/json' }, body });

describe('JSON keys and values that repeat at a path', () => {
  let w: Rules;
  beforeAll(async () => {
    w = await withRules([
      'SecRequestBodyAccess On',
      // Counts of entries by name: a key taken for another would move them.
      'SecRule &ARGS:json.items.kA "@eq 3" "id:1,phase:2,pass,log"',
      'SecRule &ARGS:json.items.sku "@eq 4" "id:2,phase:2,pass,log"',
      // Values equal in length to a recent one at the same path, and more distinct ones than are remembered.
      'SecRule ARGS:json.items.t "@streq ba" "id:3,phase:2,pass,log"',
      'SecRule ARGS:json.items.t "@streq e" "id:4,phase:2,pass,log"',
      'SecRule ARGS:json.items.t "@streq zz" "id:5,phase:2,pass,log"',
      // An object with more keys than are compared one by one (the rest through a map).
      'SecRule ARGS:json.wide.f19 "@streq v19" "id:6,phase:2,pass,log"',
      'SecRule &ARGS:json.wide.f3 "@eq 2" "id:7,phase:2,pass,log"',
      'SecRule ARGS_NAMES "@streq json.wide.f20" "id:8,phase:2,pass,log"',
      // Literals and numbers reused at a path are still their own text.
      'SecRule ARGS:json.flags "@streq null" "id:9,phase:2,pass,log"',
      'SecRule &ARGS:json.flags "@eq 6" "id:10,phase:2,pass,log"',
      'SecRule ARGS:json.n "@streq 12" "id:11,phase:2,pass,log"',
    ].join('\n'));
  });
  afterAll(() => w?.close());

  it('keys in any order, escaped or not, name the same entries', async () => {
    // kA written as k\u0041 in one object; keys in another order in each object.
    const body = '{"items":[{"sku":"1","kA":"x","t":"ab"},{"kA":"y","sku":"2","t":"ba"},{"t":"c","k\\u0041":"z","sku":"3"},{"sku":"4","t":"d"}]}';
    expect(await w.matches(post(body))).toEqual([1, 2, 3]);
  });

  it('a value is matched by its own text when more distinct values than are remembered repeat at its path', async () => {
    const ts = ['ab', 'a', 'b', 'c', 'd', 'ab', 'e', 'b', 'ab', 'zy', 'zz'];
    const body = JSON.stringify({ items: ts.map((t, i) => ({ t, sku: String(i) })) });
    const got = await w.matches(post(body));
    expect(got).toContain(4);
    expect(got).toContain(5);
    expect(got).not.toContain(3);
    // Without the last value, 5 no longer matches (zy is as long as zz).
    expect(await w.matches(post(JSON.stringify({ items: ts.slice(0, -1).map((t) => ({ t })) })))).not.toContain(5);
  });

  it('an object with many keys, repeated across objects', async () => {
    const wide: Record<string, string> = {};
    for (let i = 0; i < 24; i++) wide[`f${i}`] = `v${i}`;
    const other: Record<string, string> = { f3: 'again', f21: 'x' };
    const got = await w.matches(post(JSON.stringify({ wide: [wide, other] })));
    expect(got).toEqual(expect.arrayContaining([6, 7, 8]));
    const fewer = { ...wide };
    delete fewer['f20'];
    delete fewer['f19'];
    const got2 = await w.matches(post(JSON.stringify({ wide: [fewer] })));
    expect(got2).not.toContain(6);
    expect(got2).not.toContain(7);
    expect(got2).not.toContain(8);
  });

  it('literals and numbers repeated at a path', async () => {
    expect(await w.matches(post('{"flags":[true,false,true,null,1,1],"n":[1,12,12,1]}'))).toEqual(expect.arrayContaining([9, 10, 11]));
    expect(await w.matches(post('{"flags":[true,false,true,false,1,1],"n":[1,21,2]}'))).toEqual([10]);
  });
});

describe('argument names are selected case-insensitively', () => {
  it('for every entry, with names repeated in runs of more distinct names than are remembered', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule ARGS:json.user.name "@streq x9" "id:1,phase:2,pass,log"',
      'SecRule ARGS:json.user.k0 "@streq late" "id:2,phase:2,pass,log"',
      'SecRule ARGS|!ARGS:json.user.k3 "@streq skip" "id:3,phase:2,pass,log"',
    ].join('\n'));
    try {
      // Mixed-case keys k0..k10 and Name, in every object: the lowered name of each is its own.
      const users = [];
      for (let i = 0; i < 10; i++) {
        const u: Record<string, string> = {};
        for (let k = 0; k <= 10; k++) u[k % 2 ? `K${k}` : `k${k}`] = `v${k}`;
        u['NaMe'] = `x${i}`;
        users.push(u);
      }
      users[9]!['k0'] = 'late';
      // The excluded key holds the only "skip": the exclusion must still see its name.
      users[4]!['K3'] = 'skip';
      const res = await w.send(post(JSON.stringify({ user: users })));
      const ids = auditLines(res).map((a) => a.rule_id);
      expect(ids).toEqual([1, 2]);
      expect(auditLines(res).find((a) => a.rule_id === 1)!.matched_var).toBe('ARGS:json.user.NaMe');
    } finally {
      w.close();
    }
  });
});

describe('the value table across requests', () => {
  it('many distinct values, then a request past the table bounds, then small ones: every value is judged by its own text', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule ARGS "@streq needle" "id:1,phase:2,pass,log,msg:%{MATCHED_VAR_NAME}"',
      'SecRule ARGS "@rx ^v1234$" "id:2,phase:2,pass,log"',
    ].join('\n'));
    try {
      // 10,000 distinct values (past the table's 8,192): interned, rehashed, let go at the end.
      const big = (extra: Record<string, string>) => JSON.stringify({ v: Array.from({ length: 10000 }, (_, i) => `v${i}`), ...extra });
      expect(await w.matches(post(big({})))).toEqual([2]);
      expect(await w.matches(post('{"a":"needle"}'))).toEqual([1]);
      expect(await w.matches(post('{"a":"v1234"}'))).toEqual([2]);
      expect(await w.matches(post('{"a":"v12345"}'))).toEqual([]);
      const res = await w.send(post(big({ z: 'needle' })));
      expect(auditLines(res).map((a) => [a.rule_id, a.msg])).toEqual([[1, 'ARGS:json.z'], [2, '']]);
      expect(await w.matches(post('{"a":"needlE"}'))).toEqual([]);
    } finally {
      w.close();
    }
  });
});

describe('target lists of large bodies kept for the next request', () => {
  it('a list reused from one body to the next holds only the next body\'s entries', async () => {
    // Lists of more than 1,024 entries go to a pool of their own and are emptied there: what a
    // body collected must not be seen again with the next one, shorter or longer.
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule &ARGS "@eq 1500" "id:1,phase:2,pass,log"',
      'SecRule ARGS "@contains evil" "id:2,phase:2,pass,log,msg:%{MATCHED_VAR_NAME}"',
      'SecRule &ARGS_NAMES "@ge 2000" "id:3,phase:2,pass,log"',
    ].join('\n'));
    try {
      const body = (n: number, evilAt: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i === evilAt ? 'so evil' : `v${i}`])));
      expect(await w.matches(post(body(2000, 1999)))).toEqual([2, 3]);
      expect(await w.matches(post(body(1500, -1)))).toEqual([1]);
      const res = await w.send(post(body(1500, 10)));
      expect(auditLines(res).map((a) => [a.rule_id, a.msg])).toEqual([[1, ''], [2, 'ARGS:json.k10']]);
      expect(await w.matches(post(body(2500, -1)))).toEqual([3]);
    } finally {
      w.close();
    }
  });
});

describe('JSON values taken from the value table by their text', () => {
  // A JSON value the table already holds is taken from it instead of copied, found by a hash of
  // its units, then compared unit by unit. These pairs have one length and one hash
  // (filters/waf/engine.ts unitsHash, found by a search): one differs only in its last three
  // units, the other only in its first eight bytes, so a lookup that trusted the hash or skipped
  // a part of the compare would hand back the held value for the other.
  const tailPair = ['abcdF)#', 'abcd1-.'];
  const headPair = ['u5aaxyz', 'flacxyz'];

  /** unitsHash of engine.ts, to keep the pairs above honest if it changes. */
  function unitsHash(s: string): bigint {
    const M = (1n << 64n) - 1n;
    const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
    const u = [...s].map((c) => BigInt(c.charCodeAt(0)));
    let h = (BigInt(u.length) * 0x9e3779b97f4a7c15n) & M;
    let i = 0;
    for (; i + 4 <= u.length; i += 4) h = rotl(((h ^ (u[i]! | (u[i + 1]! << 16n) | (u[i + 2]! << 32n) | (u[i + 3]! << 48n))) * 0xbf58476d1ce4e5b9n) & M, 29n);
    let tail = 0n;
    for (let shift = 0n; i < u.length; i++, shift += 16n) tail |= u[i]! << shift;
    h = ((h ^ tail) * 0x94d049bb133111ebn) & M;
    h ^= h >> 32n;
    h = (h * 0xbf58476d1ce4e5b9n) & M;
    return h >> 32n;
  }

  it('the pairs still collide under the engine\'s hash', () => {
    expect(unitsHash(tailPair[0]!)).toBe(unitsHash(tailPair[1]!));
    expect(unitsHash(headPair[0]!)).toBe(unitsHash(headPair[1]!));
  });

  it('a value is reused only when every unit is equal', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      `SecRule ARGS:json.t "@streq ${tailPair[1]}" "id:1,phase:2,pass,log"`,
      `SecRule ARGS:json.h "@streq ${headPair[1]}" "id:2,phase:2,pass,log"`,
      `SecRule ARGS:json.t "@streq ${tailPair[0]}" "id:3,phase:2,pass,log"`,
    ].join('\n'));
    try {
      expect(await w.matches(post(JSON.stringify({ t: tailPair[0], h: headPair[0] })))).toEqual([3]);
      // Now held by the table: their partners collide with them and are still their own text.
      expect(await w.matches(post(JSON.stringify({ t: tailPair[1], h: headPair[1] })))).toEqual([1, 2]);
      expect(await w.matches(post(JSON.stringify({ t: tailPair[0], h: headPair[0] })))).toEqual([3]);
    } finally {
      w.close();
    }
  });
});

describe('long values hashed from a sample of their units', () => {
  it('two bodies of one length that differ only where the hash does not read are still told apart', async () => {
    // A value of more than 1,024 units is hashed from its first and last 256 units and 256
    // four-unit reads spread over the rest (every 17 units for 5,000): unit 1,966 is not read,
    // so these two bodies hash alike and only the content comparison tells them apart.
    const w = await withRules(['SecRequestBodyAccess On', 'SecRule REQUEST_BODY "@contains b" "id:1,phase:2,pass,log"'].join('\n'));
    try {
      const plain = (body: string) => ({ method: 'POST', path: '/t', headers: { 'content-type': 'text/plain' }, body });
      const a = 'a'.repeat(5000);
      const b = a.slice(0, 1966) + 'b' + a.slice(1967);
      expect(await w.matches(plain(a))).toEqual([]);
      expect(await w.matches(plain(b))).toEqual([1]);
      expect(await w.matches(plain(a))).toEqual([]);
      expect(await w.matches(plain(b))).toEqual([1]);
    } finally {
      w.close();
    }
  });
});

describe('a body kept in the value table, names selected once per distinct name', () => {
  it('a body sent again is judged as the first time, and a change in it is seen', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule ARGS "@rx (?i)union\\s+select" "id:1,phase:2,pass,log,t:none,t:lowercase"',
      'SecRule ARGS "@pm needle" "id:2,phase:2,pass,log"',
      'SecRule REQUEST_BODY "@contains NEEDLE" "id:3,phase:2,pass,log,t:none,t:uppercase"',
    ].join('\n'));
    try {
      // ~4,000 values, within the table's bounds: the second request finds every result kept.
      const items = (mark: string) => JSON.stringify({ items: Array.from({ length: 600 }, (_, i) => ({ id: i, sku: `SKU-${i}`, name: i === 333 ? mark : `Item number ${i}`, tags: ['a', 'b'] })) });
      for (let round = 0; round < 2; round++) {
        expect(await w.matches(post(items('x UNION  Select y')))).toEqual([1]);
        expect(await w.matches(post(items('a needle')))).toEqual([2, 3]);
        expect(await w.matches(post(items('Item number 333')))).toEqual([]);
      }
    } finally {
      w.close();
    }
  });

  it('a key selector and a key-regex exclusion apply to each entry by its own name, more names than are remembered', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule ARGS|!ARGS:/^json\\.items\\.s\\d$/ "@streq hit" "id:1,phase:2,pass,log,msg:%{MATCHED_VAR_NAME}"',
      'SecRule ARGS:/^json\\.items\\.s[0-4]$/ "@streq hit" "id:2,phase:2,pass,log,msg:%{MATCHED_VAR_NAME}"',
      'SecRule ARGS_NAMES|!ARGS_NAMES:/^json\\.items\\.s[5-9]$/ "@rx ^json\\.items\\.s" "id:3,phase:2,pass,log"',
    ].join('\n'));
    try {
      // `names` + 1 names per object, in turn, twenty objects: 11 names are more than the eight
      // remembered, 5 are fewer (later objects' names are then answered from the first's).
      const body = (at: string, names: number) => JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => {
        const o: Record<string, string> = {};
        for (let k = 0; k < names; k++) o[`s${k}`] = i === 15 && `s${k}` === at ? 'hit' : 'no';
        o.t = i === 15 && at === 't' ? 'hit' : 'no';
        return o;
      }) });
      const msgs = async (at: string, names: number) => auditLines(await w.send(post(body(at, names)))).map((a) => [a.rule_id, a.msg]);
      for (const names of [10, 4]) {
        if (names > 7) expect(await msgs('s7', names)).toEqual([[3, '']]);
        expect(await msgs('s3', names)).toEqual([[2, 'ARGS:json.items.s3'], [3, '']]);
        expect(await msgs('t', names)).toEqual([[1, 'ARGS:json.items.t'], [3, '']]);
      }
    } finally {
      w.close();
    }
  });
});

describe('JSON with whitespace between its tokens', () => {
  it('pretty-printed (spaces, tabs, CR LF, around the whole text) gives the names and values of compact JSON', async () => {
    const w = await withRules([
      'SecRequestBodyAccess On',
      'SecRule ARGS:json.order.items.name "@streq Item 7" "id:1,phase:2,pass,log"',
      'SecRule &ARGS "@eq 6" "id:2,phase:2,pass,log"',
      'SecRule ARGS:json.order.note "@streq null" "id:3,phase:2,pass,log"',
      'SecRule ARGS:json.order.id "@streq 42" "id:4,phase:2,pass,log"',
      'SecRule REQBODY_ERROR "!@eq 0" "id:5,phase:2,pass,log"',
    ].join('\n'));
    try {
      const doc = { order: { id: 42, items: [{ name: 'Item 7', qty: 2 }, { name: 'x y', qty: 1 }], note: null } };
      const bodies = [
        JSON.stringify(doc),
        JSON.stringify(doc, null, 2),
        JSON.stringify(doc, null, '\t').replace(/\n/g, '\r\n'),
        ' \n' + JSON.stringify(doc, null, 1) + ' \n ',
        JSON.stringify(doc).replace(/([:,[\]{}])/g, ' $1 '),
      ];
      for (const body of bodies) expect(await w.matches(post(body)), body).toEqual([1, 2, 3, 4]);
      // Not whitespace: a form feed is (isSpace), a non-breaking space is not.
      expect(await w.matches(post('{"order":\f{"id":42}}'))).toEqual([4]);
      expect(await w.matches(post('{"order":\u00a0{"id":42}}'))).toContain(5);
    } finally {
      w.close();
    }
  });
});

describe('JSON strings read four units at a time', () => {
  it('a quote or a backslash escape at any place in a key or value ends or decodes it there', async () => {
    // The flattener looks for the closing quote four units at a time: a quote or backslash in
    // any of the four places, in strings of every length around those steps, must be found.
    const lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12];
    const lines = ['SecRequestBodyAccess On', 'SecRule REQBODY_ERROR "!@eq 0" "id:1,phase:2,pass,log"'];
    const doc: Record<string, string> = {};
    let id = 10;
    const expected: number[] = [];
    for (const n of lengths) {
      // A plain value of n units, under a key of n 'k's and a suffix.
      const key = 'k'.repeat(n) + `p${n}`;
      doc[key] = 'a'.repeat(n);
      lines.push(`SecRule ARGS:json.${key} "@rx ^a{${n}}$" "id:${id},phase:2,pass,log"`);
      expected.push(id++);
      for (let k = 0; k <= n; k++) {
        // An escaped quote, then an escaped backslash, after k of n units.
        doc[`q${n}_${k}`] = 'a'.repeat(k) + '"' + 'b'.repeat(n - k);
        lines.push(`SecRule ARGS:json.q${n}_${k} "@rx ^a{${k}}\\x22b{${n - k}}$" "id:${id},phase:2,pass,log"`);
        expected.push(id++);
        doc[`s${n}_${k}`] = 'a'.repeat(k) + '\\' + 'b'.repeat(n - k);
        lines.push(`SecRule ARGS:json.s${n}_${k} "@rx ^a{${k}}\\x5cb{${n - k}}$" "id:${id},phase:2,pass,log"`);
        expected.push(id++);
      }
    }
    const w = await withRules(lines.join('\n'));
    try {
      expect(await w.matches(post(JSON.stringify(doc)))).toEqual(expected);
      // An unterminated string of every length is an error, not a value.
      for (const n of lengths) expect(await w.matches(post(`{"a":"${'x'.repeat(n)}`)), `length ${n}`).toEqual([1]);
    } finally {
      w.close();
    }
  });
});
