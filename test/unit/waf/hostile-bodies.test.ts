// Bodies shaped to make the request parsers do work or hold memory that grows with the square of
// their size, at the bundled body limit (128 KiB): a form of `a&a&...` (each pair's `=` was
// looked for to the end of the body), XML of `&&&...` (each `&`'s `;` likewise, and the text was
// rebuilt by concatenation: 3.7 GiB for 32 KiB), XML of `<?a><?a>...`, and JSON or XML whose many
// values sit under one long path (each value's name repeats the path: 0.5-0.9 GiB for 60 KiB),
// and one value under tens of thousands of open elements (a recursive name overflowed the stack).
// What a user sees: the request is answered (parsed, or refused as a body that cannot be
// parsed), and the VM's memory stays where it was. Their time per request is measured in
// `bench/waf-host.mjs` (the hostile-body rows, growth per 4x input); tests assert no timing.
// build/waf-heap-probe.wasm is the same filter with exports that measure its heap.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, loadFilter, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { matchedRules, repoRoot, withRules } from '../../support/waf.js';
import { hostileBodies } from '../../../bench/lib/waf-workload.mjs';

const MiB = 1024 * 1024;
const SIZE = 127 * 1024;
const upstream = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
const memoryBytes = (f: ProxyWasmHost) => (f.vm(0).instance.exports['memory'] as WebAssembly.Memory).buffer.byteLength;

describe('hostile request bodies: answered, in the memory the VM has', () => {
  let f: ProxyWasmHost;
  let heap: Record<string, () => number>;
  beforeAll(async () => {
    const probe = await compileFilter(readFileSync(join(repoRoot, 'build', 'waf-heap-probe.wasm')));
    f = await loadFilter(probe, { name: 'waf', config: { ruleset: { paranoia_level: 1 }, audit_log: false } });
    heap = f.vm(0).instance.exports as Record<string, () => number>;
  });
  afterAll(() => f.close());

  // Parsed: 200. A path whose names would pass the body's budget (4 units per body unit): the
  // body cannot be parsed (REQBODY_ERROR), and rule 920000 blocks it.
  const expected: Record<string, { status: number; rules: number[] }> = {
    'form, no =': { status: 200, rules: [] },
    'XML, bare &': { status: 200, rules: [] },
    'XML, declarations': { status: 200, rules: [] },
    'XML, nested elements': { status: 403, rules: [920000] },
    // One value under ~43,000 open elements: its name is made by a loop (a recursion overflowed the stack).
    'XML, deep elements': { status: 200, rules: [] },
    'JSON, long path': { status: 403, rules: [920000] },
    'XML, long path': { status: 403, rules: [920000] },
  };

  it.each(Object.keys(expected))('%s', async (name) => {
    const shape = hostileBodies[name];
    expect(shape).toBeDefined();
    const [contentType, body] = shape!(SIZE);
    const vm = memoryBytes(f);
    heap['meshward_reset_peak']!();
    const res = await f.http({ method: 'POST', path: '/submit', headers: { 'content-type': contentType, 'user-agent': 'test', accept: '*/*' }, body, upstream });
    expect(res.trap).toBeUndefined();
    // The usual heap (rules, tables) plus this body's garbage: far below the VM (which must not grow).
    expect(heap['meshward_peak']!()).toBeLessThan(24 * MiB);
    expect(memoryBytes(f)).toBe(vm);
    expect(vm).toBeLessThanOrEqual(32 * MiB);
    expect(res.status).toBe(expected[name]!.status);
    for (const id of expected[name]!.rules) expect(matchedRules(res)).toContain(id);
  });
});

describe('the parsers still read what these shapes hold', () => {
  let waf: Awaited<ReturnType<typeof withRules>>;
  beforeAll(async () => {
    waf = await withRules([
      'SecRequestBodyAccess On',
      'SecRequestBodyLimit 1048576',
      'SecRule &ARGS_POST "@ge 1" "id:1,phase:2,pass,log,t:none"',
      'SecRule ARGS_POST:a "@streq 2" "id:2,phase:2,pass,log,t:none"',
      'SecRule ARGS_POST:b "@rx ^$" "id:3,phase:2,pass,log,t:none"',
      'SecRule ARGS_POST:xml.r "@streq &&x<&&" "id:4,phase:2,pass,log,t:none"',
      'SecRule ARGS_POST:xml.r.b@id "@streq 9" "id:5,phase:2,pass,log,t:none"',
      'SecRule ARGS_POST_NAMES "@streq xml.!doctype" "id:6,phase:2,pass,log,t:none"',
      'SecRule REQBODY_ERROR "!@eq 0" "id:7,phase:2,pass,log,t:none"',
    ].join('\n'));
  });
  afterAll(() => waf.close());
  const post = (contentType: string, body: string) => waf.matches({ method: 'POST', path: '/p', headers: { 'content-type': contentType }, body });

  it('a form pair without = is a name with an empty value; = after & belongs to the next pair', async () => {
    expect(await post('application/x-www-form-urlencoded', 'x&b&a=2&=&&c')).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(await post('application/x-www-form-urlencoded', 'a&b=1=2')).not.toContain(2);
  });

  it('XML entities: bare & kept, known references decoded, one that is too long kept as written', async () => {
    expect(await post('application/xml', '<r>&&amp;x&lt;&&</r>')).toContain(4);
    const got = await post('application/xml', '<r>&amp;&verylongentityname;</r>');
    expect(got).not.toContain(7);
  });

  it('XML of more values than the limit (16,384) is a body error, as JSON is; at the limit it is not', async () => {
    expect(await post('application/xml', '<r>' + '1<b/>'.repeat(16384) + '</r>')).not.toContain(7);
    expect(await post('application/xml', '<r>' + '1<b/>'.repeat(16385) + '</r>')).toContain(7);
    expect(await post('application/xml', '<r>' + '<b a="1"/>'.repeat(16384) + '<c>1</c></r>')).toContain(7);
  });

  it('XML declarations with and without an internal subset; repeated element paths keep their attributes', async () => {
    const got = await post('application/xml', '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r><?pi a?><b id="1"/><b id="9"/></r>');
    expect(got).toEqual(expect.arrayContaining([5, 6]));
    expect(got).not.toContain(7);
  });
});
