// The attributes filter's outputs and safety in the Node host: headers to the upstream, filter
// state, response headers, first-match-wins, anti-forgery, lazy host reads, and hostile input
// (deep nesting, huge expressions, pathological regular expressions) that is refused or
// evaluated without a trap.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadAttributes, rejection, wasmPath } from './helpers.js';

const tierConfig = (extra: Record<string, unknown> = {}) => ({
  attributes: [
    {
      name: 'tier',
      rules: [
        { when: "request.headers['x-plan'] == 'gold'", value: "'premium'" },
        { when: "request.headers['x-plan'] in ['silver', 'gold']", value: "'standard'" },
        { when: "request.headers['x-plan'] == 'weird'", value: "request.headers['x-missing']" },
      ],
      default: "'free'",
      outputs: { header: 'x-tier', response_header: 'x-tier-out' },
      ...extra,
    },
  ],
});

describe('outputs', () => {
  it('writes the request header, filter state and response header; the first matching rule wins', async () => {
    const f = await loadAttributes(tierConfig());
    try {
      const gold = await f.http({ path: '/', headers: { 'x-plan': 'gold' } });
      expect(gold.upstreamRequest!.headers['x-tier']).toBe('premium');
      expect(gold.filterState['wasm.meshward.attr.tier']).toBe('premium');
      expect(gold.headers['x-tier-out']).toBe('premium');
      const silver = await f.http({ path: '/', headers: { 'x-plan': 'silver' } });
      expect(silver.upstreamRequest!.headers['x-tier']).toBe('standard');
      const none = await f.http({ path: '/' });
      expect(none.upstreamRequest!.headers['x-tier']).toBe('free');
      // A matched rule whose value is absent falls back to the default.
      const weird = await f.http({ path: '/', headers: { 'x-plan': 'weird' } });
      expect(weird.upstreamRequest!.headers['x-tier']).toBe('free');
    } finally {
      f.close();
    }
  });

  it('filter_state: false keeps the value out of filter state', async () => {
    const f = await loadAttributes({ attributes: [{ name: 'a', rules: [{ value: "'v'" }], outputs: { header: 'x-a', filter_state: false } }] });
    try {
      const res = await f.http({ path: '/' });
      expect(res.upstreamRequest!.headers['x-a']).toBe('v');
      expect(res.filterState['wasm.meshward.attr.a']).toBeUndefined();
    } finally {
      f.close();
    }
  });

  it('an absent attribute writes nothing', async () => {
    const f = await loadAttributes({ attributes: [{ name: 'peer', spiffe: 'namespace', outputs: { header: 'x-peer-ns' } }] });
    try {
      const res = await f.http({ path: '/' });
      expect(res.upstreamRequest!.headers['x-peer-ns']).toBeUndefined();
      expect(res.filterState['wasm.meshward.attr.peer']).toBeUndefined();
    } finally {
      f.close();
    }
  });

  it('lists and maps render as JSON; numbers and booleans as text', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'l', rules: [{ value: "request.url_path.split('/')" }] },
        { name: 'm', rules: [{ value: "{'method': request.method, 'n': 2}" }] },
        { name: 'b', rules: [{ value: 'source.port > 0' }] },
      ],
    });
    try {
      const res = await f.http({ method: 'GET', path: '/a/b' });
      expect(JSON.parse(res.filterState['wasm.meshward.attr.l']!)).toEqual(['', 'a', 'b']);
      expect(JSON.parse(res.filterState['wasm.meshward.attr.m']!)).toEqual({ method: 'GET', n: 2 });
      expect(res.filterState['wasm.meshward.attr.b']).toBe('true');
    } finally {
      f.close();
    }
  });

  it('later attributes read earlier ones (attr.<name>)', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'op', operation: { 'GET /users/{id}': 'GetUser', 'DELETE /users/{id}': 'DeleteUser' } },
        { name: 'risky', rules: [{ when: "attr.op.startsWith('Delete')", value: 'true' }], default: 'false', outputs: { header: 'x-risky' } },
      ],
    });
    try {
      expect((await f.http({ method: 'DELETE', path: '/users/1' })).upstreamRequest!.headers['x-risky']).toBe('true');
      expect((await f.http({ method: 'GET', path: '/users/1' })).upstreamRequest!.headers['x-risky']).toBe('false');
    } finally {
      f.close();
    }
  });

  it('a value with control characters goes to filter state but never into a header', async () => {
    const f = await loadAttributes({ attributes: [{ name: 'sub', rules: [{ value: 'jwt.claims.sub' }], outputs: { header: 'x-sub', response_header: 'x-sub' } }] });
    try {
      const res = await f.http({ path: '/', properties: { 'meshward.jwt.claims': JSON.stringify({ sub: 'a\r\nx-admin: true' }) } });
      expect(res.trap).toBeUndefined();
      expect(res.upstreamRequest!.headers['x-sub']).toBeUndefined();
      expect(res.upstreamRequest!.headers['x-admin']).toBeUndefined();
      expect(res.headers['x-sub']).toBeUndefined();
      expect(res.filterState['wasm.meshward.attr.sub']).toBe('a\r\nx-admin: true');
    } finally {
      f.close();
    }
  });
});

describe('request header lookups', () => {
  // The request's headers are indexed by name once per request; lookups must find every entry,
  // in the order the client sent them, among many headers whose names share index buckets.
  it('repeated values join in order; every one of many headers is found; absent names are absent', async () => {
    const headers: Array<[string, string]> = Array.from({ length: 80 }, (_, i) => [`x-h${i}`, `v${i}`]);
    headers.splice(40, 0, ['x-h5', 'again']);
    headers.push(['x-h5', 'last'], ['x-h79', 'end']);
    const wanted = [0, 5, 17, 40, 63, 64, 79];
    const f = await loadAttributes({
      attributes: [
        ...wanted.map((i) => ({ name: `h${i}`, rules: [{ value: `request.headers['x-h${i}']` }] })),
        { name: 'absent', rules: [{ value: "has(request.headers['x-h80'])" }] },
        { name: 'count', rules: [{ value: 'size(request.headers)' }] },
      ],
    });
    try {
      const res = await f.http({ path: '/', headers });
      expect(res.trap).toBeUndefined();
      const got = Object.fromEntries(wanted.map((i) => [i, res.filterState[`wasm.meshward.attr.h${i}`]]));
      expect(got).toEqual({ 0: 'v0', 5: 'v5,again,last', 17: 'v17', 40: 'v40', 63: 'v63', 64: 'v64', 79: 'v79,end' });
      expect(res.filterState['wasm.meshward.attr.absent']).toBe('false');
      // The 80 names plus the host's pseudo-headers, repeated names counted once.
      expect(Number(res.filterState['wasm.meshward.attr.count'])).toBeGreaterThanOrEqual(80);
      // The next request's index holds only its own headers.
      const next = await f.http({ path: '/', headers: [['x-h79', 'only'], ['x-h0', 'zero']] });
      expect(wanted.map((i) => next.filterState[`wasm.meshward.attr.h${i}`])).toEqual(['zero', undefined, undefined, undefined, undefined, undefined, 'only']);
    } finally {
      f.close();
    }
  });
});

describe('ip_in_cidr across requests', () => {
  // The answer for the last address is kept (a connection's requests repeat source.address); a
  // new address, in or out of the ranges, well-formed or not, is tested afresh.
  it('answers for each request\'s own address, repeated or new', async () => {
    const f = await loadAttributes({ attributes: [{ name: 'internal', rules: [{ value: "ip_in_cidr(source.address, ['10.0.0.0/8', '2001:db8::/32'])" }] }] });
    const addresses = ['10.1.2.3:5000', '10.1.2.3:5000', '192.168.0.1:5000', '192.168.0.1:5000', '10.1.2.3:5000', 'garbage', '10.9.9.9:1',
      '[::ffff:10.0.0.1]:5', '[2001:db8::7]:443', '[2001:db9::7]:443', '10.1.2.3:99999', '10.1.2.3:5000'];
    try {
      const got: Array<string | undefined> = [];
      for (const address of addresses) got.push((await f.http({ path: '/', properties: { source: { address } } })).filterState['wasm.meshward.attr.internal']);
      expect(got).toEqual(['true', 'true', 'false', 'false', 'true', 'false', 'true', 'true', 'true', 'false', 'false', 'true']);
    } finally {
      f.close();
    }
  });
});

describe('anti-forgery', () => {
  it('incoming headers named like an output are removed, whether or not the attribute is present', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'tier', rules: [{ value: "'free'" }], outputs: { header: 'x-tier' } },
        { name: 'ns', spiffe: 'namespace', outputs: { header: 'x-peer-ns' } },
      ],
    });
    try {
      const res = await f.http({ path: '/', headers: { 'x-tier': 'premium', 'X-Peer-NS': 'kube-system', 'x-other': 'kept' } });
      const up = res.upstreamRequest!.headers;
      expect(up['x-tier']).toBe('free');
      expect(up['x-peer-ns']).toBeUndefined();
      expect(up['x-other']).toBe('kept');
    } finally {
      f.close();
    }
  });

  it('a repeated forged header is removed whole; the upstream gets exactly one value, ours', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'tier', rules: [{ value: "'free'" }], outputs: { header: 'x-tier' } },
        { name: 'plan', rules: [{ value: "'basic'" }], outputs: { header: 'x-plan-out' } },
      ],
    });
    try {
      const res = await f.http({ path: '/', headers: [['x-tier', 'premium'], ['x-plan-out', 'gold'], ['x-tier', 'admin']] });
      const up = res.upstreamRequest!.headers;
      expect(up['x-tier']).toBe('free');
      expect(up['x-plan-out']).toBe('basic');
    } finally {
      f.close();
    }
  });

  it('a forged header cannot feed the rules either: expressions see the request after removal', async () => {
    const f = await loadAttributes({
      attributes: [{ name: 'tier', rules: [{ when: "has(request.headers['x-tier'])", value: "'forged'" }], default: "'clean'", outputs: { header: 'x-tier' } }],
    });
    try {
      const res = await f.http({ path: '/', headers: { 'x-tier': 'premium' } });
      expect(res.upstreamRequest!.headers['x-tier']).toBe('clean');
    } finally {
      f.close();
    }
  });

  it('the upstream cannot supply a response-header attribute: replaced, or removed when absent', async () => {
    const f = await loadAttributes({ attributes: [{ name: 'ns', spiffe: 'namespace', outputs: { response_header: 'x-peer-ns' } }] });
    try {
      const res = await f.http({ path: '/', upstream: () => ({ status: 200, headers: { 'x-peer-ns': 'spoofed' } }) });
      expect(res.headers['x-peer-ns']).toBeUndefined();
      const mtls = await f.http({
        path: '/',
        properties: { connection: { mtls: true, uri_san_peer_certificate: 'spiffe://td/ns/shop/sa/web' } },
        upstream: () => ({ status: 200, headers: { 'x-peer-ns': 'spoofed' } }),
      });
      expect(mtls.headers['x-peer-ns']).toBe('shop');
    } finally {
      f.close();
    }
  });
});

describe('compiled state is reused across requests', () => {
  it('a regular expression and path templates give each request its own answer', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'num', rules: [{ value: "request.url_path.matches('/users/[0-9]+$')" }] },
        { name: 'op', operation: { 'GET /users/{id}': 'GetUser', 'GET /users/{id}/x/**': 'GetX' } },
      ],
    });
    try {
      const seen: Array<[string | undefined, string | undefined]> = [];
      for (const path of ['/users/12', '/users/ab', '/users/7', '/users/7/x/a/b', '/nope', '/users/99999']) {
        const res = await f.http({ path });
        seen.push([res.filterState['wasm.meshward.attr.num'], res.filterState['wasm.meshward.attr.op']]);
      }
      expect(seen).toEqual([
        ['true', 'GetUser'], ['false', 'GetUser'], ['true', 'GetUser'], ['false', 'GetX'], ['false', undefined], ['true', 'GetUser'],
      ]);
    } finally {
      f.close();
    }
  });
});

describe('lean ABI entry (@meshward/sdk/assembly/abi-headers)', () => {
  it('exports only the callbacks a headers-only filter needs', () => {
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(wasmPath))).map((e) => e.name);
    for (const needed of ['proxy_on_context_create', 'proxy_on_request_headers', 'proxy_on_response_headers', 'proxy_on_delete', 'proxy_on_configure', 'malloc']) {
      expect(exports).toContain(needed);
    }
    for (const skipped of ['proxy_on_request_body', 'proxy_on_response_body', 'proxy_on_log', 'proxy_on_done', 'proxy_on_request_trailers']) {
      expect(exports).not.toContain(skipped);
    }
  });

  it('writes no per-request bookkeeping lines, even at trace level, and serves many streams', async () => {
    const f = await loadAttributes({ log_level: 'trace', attributes: [{ name: 'a', rules: [{ value: "'v'" }], outputs: { response_header: 'x-a' } }] });
    try {
      for (let i = 0; i < 50; i++) {
        const res = await f.http({ path: `/${i}`, body: 'x'.repeat(10) });
        expect(res.headers['x-a']).toBe('v');
        expect(res.logs.filter((l) => !l.message.startsWith('attributes:'))).toEqual([]);
      }
    } finally {
      f.close();
    }
  });
});

describe('lazy reads', () => {
  it('reads only the attributes the evaluated expressions need, once per request', async () => {
    const f = await loadAttributes({
      log_level: 'debug',
      attributes: [
        {
          name: 'a',
          rules: [
            { when: "request.method == 'GET'", value: 'request.method' },
            { when: "request.headers['x-b'] == '1'", value: 'connection.uri_san_peer_certificate' },
          ],
        },
        { name: 'b', rules: [{ when: "request.method == 'GET'", value: "'again'" }] },
      ],
    });
    try {
      // The host computes this property on each lookup: count how often the filter asks for it.
      let sanLookups = 0;
      const properties = { connection: { uri_san_peer_certificate: () => { sanLookups++; return 'spiffe://td/ns/a/sa/b'; } } };
      const get = await f.http({ method: 'GET', path: '/', properties });
      expect(get.logs.map((l) => l.message)).toContain('attributes: 1 distinct attribute read(s)');
      expect(sanLookups).toBe(0);
      const post = await f.http({ method: 'POST', path: '/', headers: { 'x-b': '1' }, properties });
      expect(post.logs.map((l) => l.message)).toContain('attributes: 3 distinct attribute read(s)');
      expect(sanLookups).toBe(1);
      expect(post.filterState['wasm.meshward.attr.a']).toBe('spiffe://td/ns/a/sa/b');
    } finally {
      f.close();
    }
  });

  it('log_level warn keeps debug lines out', async () => {
    const f = await loadAttributes({ log_level: 'warn', attributes: [{ name: 'a', rules: [{ value: '1' }] }] });
    try {
      const res = await f.http({ path: '/' });
      expect(res.logs.filter((l) => l.message.startsWith('attributes:'))).toEqual([]);
    } finally {
      f.close();
    }
  });
});

describe('hostile input', () => {
  const value = (expr: string) => ({ attributes: [{ name: 'h', rules: [{ value: expr }] }] });

  it('deep nesting is refused at load', async () => {
    expect(await rejection(value('('.repeat(5000) + '1' + ')'.repeat(5000)))).toMatch(/expression longer than 4096 characters/);
    expect(await rejection(value('('.repeat(100) + '1' + ')'.repeat(100)))).toMatch(/at 32: expression nested deeper than 32/);
    expect(await rejection(value('!'.repeat(200) + 'true'))).toMatch(/expression nested deeper than 32/);
    expect(await rejection(value('['.repeat(100) + ']'.repeat(100)))).toMatch(/expression nested deeper than 32/);
  });

  it('huge expressions are bounded', async () => {
    expect(await rejection(value(Array(1500).fill('1').join('+')))).toMatch(/expression too large \(more than 1000 nodes\)/);
    expect(await rejection(value(Array(600).fill('true').join('||')))).toMatch(/expression too large/);
    expect(await rejection(value(`'${'a'.repeat(5000)}'`))).toMatch(/expression longer than 4096 characters/);
  });

  it('bad regular expressions are refused at load', async () => {
    for (const re of ['(', '[a-', 'a{2,1}', '(?=a)', '(?<=a)b', '*a', '(a)\\\\1', 'a{1,1001}', 'a++']) {
      expect(await rejection(value(`'x'.matches('${re}')`))).toMatch(/matches: invalid regular expression/);
    }
    expect(await rejection(value("'x'.matches('(?:(?:a|b){1000}){1000}')"))).toMatch(/matches: invalid regular expression: pattern too large/);
  });

  it('pathological patterns run in linear time over large inputs, without a trap', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'r1', rules: [{ value: "request.headers['x-a'].matches('^(a+)+$')" }] },
        { name: 'r2', rules: [{ value: "request.headers['x-a'].matches('(a|aa)*b')" }] },
        { name: 'r3', rules: [{ value: "request.headers['x-a'].matches('(x+x+)+y')" }] },
        { name: 'r4', rules: [{ value: "size(request.headers['x-a'].split('a'))" }] },
        { name: 'r5', rules: [{ value: "request.headers['x-a'].matches('a{100}$')" }] },
      ],
    });
    try {
      // A backtracking engine needs ~2^60000 steps on r1; this one answers (the test's timeout is the bound).
      const input = 'a'.repeat(60000) + '!';
      const res = await f.http({ path: '/', headers: { 'x-a': input } });
      expect(res.trap).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.filterState['wasm.meshward.attr.r1']).toBe('false');
      expect(res.filterState['wasm.meshward.attr.r2']).toBe('false');
      expect(res.filterState['wasm.meshward.attr.r3']).toBe('false');
      expect(res.filterState['wasm.meshward.attr.r4']).toBe('1000'); // split is capped at 1000 parts
      expect(res.filterState['wasm.meshward.attr.r5']).toBe('false');
    } finally {
      f.close();
    }
  });

  it('hostile claims (deep JSON, huge numbers, wrong types) are absent or false, never a trap', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'c1', rules: [{ value: 'jwt.claims.a' }] },
        { name: 'c2', rules: [{ value: 'jwt.claims.n + 1' }] },
        { name: 'c3', rules: [{ value: "jwt.claims.s.startsWith('x')" }] },
        { name: 'c4', rules: [{ value: 'jwt.claims.n * jwt.claims.n' }] },
        { name: 'c5', rules: [{ value: 'size(jwt.claims.s)' }] },
      ],
    });
    try {
      const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
      const r1 = await f.http({ path: '/', properties: { 'meshward.jwt.claims': deep } });
      expect(r1.trap).toBeUndefined();
      expect(r1.filterState['wasm.meshward.attr.c1']).toBeUndefined();
      const r2 = await f.http({ path: '/', properties: { 'meshward.jwt.claims': JSON.stringify({ n: 9007199254740991, s: 5 }) } });
      expect(r2.trap).toBeUndefined();
      expect(r2.filterState['wasm.meshward.attr.c2']).toBe('9007199254740992');
      expect(r2.filterState['wasm.meshward.attr.c3']).toBeUndefined();
      expect(r2.filterState['wasm.meshward.attr.c4']).toBeUndefined(); // int64 overflow is absent
      expect(r2.filterState['wasm.meshward.attr.c5']).toBeUndefined();
    } finally {
      f.close();
    }
  });
});

// The filter is built with AssemblyScript's minimal runtime (filters/attributes/asconfig.json): no
// collection runs inside a request, and the ABI entry collects after every 256th finished stream,
// or after the first stream that made the memory grow.
describe('memory (minimal runtime, collected between streams)', () => {
  const memoryBytes = (f: Awaited<ReturnType<typeof loadAttributes>>) =>
    (f.vm(0).instance.exports['memory'] as WebAssembly.Memory).buffer.byteLength;

  it('stays flat over thousands of requests that each leave garbage behind', async () => {
    const f = await loadAttributes({
      attributes: [
        { name: 'ua', rules: [{ value: "request.headers['user-agent'].lower()" }], outputs: { header: 'x-ua' } },
        { name: 'client', client_class: {} },
        { name: 'parts', rules: [{ value: "size(request.headers['user-agent'].split(' '))" }] },
      ],
    });
    try {
      // ~16 KiB of UTF-16 per decoded copy of this header, several copies per request.
      const ua = 'Mozilla/5.0 ' + 'x'.repeat(8000);
      const send = async (i: number) => {
        const res = await f.http({ path: `/r/${i}`, headers: { 'user-agent': `${ua} ${i}` } });
        expect(res.trap).toBeUndefined();
        expect(res.upstreamRequest!.headers['x-ua']).toBe(`${ua.toLowerCase()} ${i}`);
        expect(res.filterState['wasm.meshward.attr.parts']).toBe('3');
      };
      for (let i = 0; i < 600; i++) await send(i);
      const warm = memoryBytes(f);
      // Without collection these would add well over 100 MiB.
      for (let i = 600; i < 3600; i++) await send(i);
      expect(memoryBytes(f)).toBeLessThanOrEqual(warm + 2 * 1024 * 1024);
    } finally {
      f.close();
    }
  });

  it('a collection while other streams are open keeps their pending response headers', async () => {
    const f = await loadAttributes({
      attributes: [{ name: 'id', rules: [{ value: "request.headers['x-id']" }], outputs: { response_header: 'x-id-out' } }],
    });
    try {
      // 100 streams wait for their response while 600 others finish (collections) around them.
      const open = Array.from({ length: 100 }, (_, i) => {
        const s = f.stream();
        s.sendRequestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'h', ':scheme': 'http', 'x-id': `open-${i}` }, true);
        return s;
      });
      for (let i = 0; i < 600; i++) {
        const res = await f.http({ path: '/', headers: { 'x-id': `done-${i}` } });
        expect(res.headers['x-id-out']).toBe(`done-${i}`);
      }
      open.forEach((s, i) => {
        s.sendResponseHeaders({ ':status': '200' }, true);
        expect(s.completed).toBe(true);
        expect(s.downstreamResponse.headers?.get('x-id-out')).toBe(`open-${i}`);
      });
    } finally {
      f.close();
    }
  });
});
