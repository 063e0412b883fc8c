import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Authorizer, interpretRegoResult, Logger, parseConfig, RegoPolicy, untar, type CheckAttributes } from '../../../ext-authz/src/index.js';
import { requireTool } from '../../../sdk/src/tools/resolve.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-rego-'));
const REGO = `package meshward.authz

import rego.v1

default allow := false

# Reads the CheckRequest mirror, the identity and the signals, as documented.
allow if {
  input.attributes.request.http.method == "GET"
  input.parsed_path[0] == "public"
}

allow if {
  input.identity.workload.namespace == "shop"
  input.attributes.request.http.headers["x-tenant"] == data.tenants[_]
  not input.signals.ip_blocklist.matched
}

decision := {"allow": allow, "reason": sprintf("method %s", [input.attributes.request.http.method])}
`;
writeFileSync(join(dir, 'authz.rego'), REGO);
writeFileSync(join(dir, 'data.json'), JSON.stringify({ tenants: ['acme'] }));

function attrs(o: { method?: string; path?: string; headers?: Record<string, string>; principal?: string; ip?: string }): CheckAttributes {
  return {
    source: { address: { socket_address: { address: o.ip ?? '10.0.0.1' } }, ...(o.principal ? { principal: o.principal } : {}) },
    request: { http: { method: o.method ?? 'GET', path: o.path ?? '/', headers: o.headers ?? {} } },
  };
}

async function authorizer(entrypoint: string, extra: Record<string, unknown> = {}): Promise<Authorizer> {
  const config = parseConfig({ policy: { rego: { file: 'authz.rego', data_file: 'data.json', entrypoint }, ...extra }, signals: { ip_blocklist: { cidrs: ['192.0.2.0/24'] } } }, { baseDir: dir });
  return Authorizer.create(config, { logger: new Logger('error', () => {}) });
}

describe('Rego policies compiled with the managed OPA and run with opa-wasm', () => {
  it('a boolean entrypoint decides, reading attributes, parsed_path, identity, signals and data', async () => {
    const a = await authorizer('meshward/authz/allow');
    expect((await a.check(attrs({ path: '/public/index.html' }), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs({ method: 'POST', path: '/public/x' }), 'grpc')).result).toBe('deny');
    const shop = { principal: 'spiffe://cluster.local/ns/shop/sa/cart', method: 'POST', path: '/orders', headers: { 'x-tenant': 'acme' } };
    const allowed = await a.check(attrs(shop), 'grpc');
    expect(allowed).toMatchObject({ result: 'allow', policy: 'rego:meshward/authz/allow', reason: 'rego meshward/authz/allow = true' });
    expect((await a.check(attrs({ ...shop, headers: { 'x-tenant': 'other' } }), 'grpc')).result).toBe('deny');
    // The block list signal denies first; the rego rule also reads it.
    expect((await a.check(attrs({ ...shop, ip: '192.0.2.9' }), 'grpc')).reason).toMatch(/^signal ip_blocklist/);
  });

  it('an object entrypoint: {allow, reason}; dots in the entrypoint are accepted', async () => {
    const a = await authorizer('meshward.authz.decision');
    const d = await a.check(attrs({ method: 'PUT', path: '/x' }), 'http');
    expect(d).toMatchObject({ result: 'deny', status: 403, policy: 'rego:meshward/authz/decision', reason: 'rego meshward/authz/decision.allow = false: method PUT' });
  });

  it('native policies run first: a native DENY wins, a native ALLOW still needs Rego', async () => {
    const a = await authorizer('meshward/authz/allow', {
      policies: [{ name: 'no-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/public/admin*'] } }] }] }],
    });
    expect(await a.check(attrs({ path: '/public/admin' }), 'grpc')).toMatchObject({ result: 'deny', policy: 'no-admin' });
    expect(await a.check(attrs({ path: '/public/ok' }), 'grpc')).toMatchObject({ result: 'allow', reason: 'no ALLOW policy; rego meshward/authz/allow = true' });
  });

  it('a prebuilt bundle (opa build -t wasm) loads without OPA at run time', async () => {
    const out = join(dir, 'bundle.tar.gz');
    const r = spawnSync(requireTool('opa').path, ['build', '-t', 'wasm', '-e', 'meshward/authz/allow', '-o', out, join(dir, 'authz.rego')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect([...untar(readFileSync(out)).keys()].sort()).toEqual(expect.arrayContaining(['.manifest', 'data.json', 'policy.wasm']));
    const config = parseConfig({ policy: { rego: { bundle: out, entrypoint: 'meshward/authz/allow' } } });
    const a = await Authorizer.create(config, { logger: new Logger('error', () => {}), opaPath: () => Promise.reject(new Error('OPA must not be needed')) });
    expect((await a.check(attrs({ path: '/public/' }), 'grpc')).result).toBe('allow');
  });

  it('a Rego file that does not compile fails at start with OPA\'s message', async () => {
    writeFileSync(join(dir, 'broken.rego'), 'package broken\n\nallow if {\n');
    const config = parseConfig({ policy: { rego: { file: 'broken.rego', entrypoint: 'broken/allow' } } }, { baseDir: dir });
    await expect(RegoPolicy.load(config.policy.rego!)).rejects.toThrow(/opa build failed for broken\.rego:[\s\S]*broken\.rego:/);
  });

  it('decisions of a policy that calls no host built-in are kept by input: same answers, counted as hits', async () => {
    const cached = await authorizer('meshward/authz/allow');
    const none = await Authorizer.create(
      parseConfig({ policy: { rego: { file: 'authz.rego', data_file: 'data.json', entrypoint: 'meshward/authz/allow', decision_cache_size: 0 } }, signals: { ip_blocklist: { cidrs: ['192.0.2.0/24'] } } }, { baseDir: dir }),
      { logger: new Logger('error', () => {}) },
    );
    expect(cached.policy.summary.rego_decision_cache).toBe('4096 decisions');
    expect(none.policy.summary.rego_decision_cache).toBe('off');
    expect(none.policy.regoDecisionCacheStats).toBeUndefined();
    const requests = [
      attrs({ path: '/public/a' }),
      attrs({ method: 'POST', path: '/public/a' }),
      attrs({ principal: 'spiffe://cluster.local/ns/shop/sa/cart', method: 'POST', path: '/orders', headers: { 'x-tenant': 'acme' } }),
      attrs({ principal: 'spiffe://cluster.local/ns/shop/sa/cart', method: 'POST', path: '/orders', headers: { 'x-tenant': 'other' } }),
      attrs({ principal: 'spiffe://cluster.local/ns/bank/sa/cart', method: 'POST', path: '/orders', headers: { 'x-tenant': 'acme' } }),
    ];
    for (let round = 0; round < 3; round++) {
      for (const r of requests) {
        const [a, b] = [await cached.check(r, 'grpc'), await none.check(r, 'grpc')];
        expect([a.result, a.reason]).toEqual([b.result, b.reason]);
      }
    }
    // Five distinct inputs (the parts the policy reads), each evaluated once, then served from the cache.
    expect(cached.policy.regoDecisionCacheStats).toEqual({ hits: 10, misses: 5 });
    expect(cached.metrics.render()).toContain('meshward_authz_rego_decision_cache_total{result="hit"} 10');
  });

  it('a policy that calls a host built-in (time.now_ns) is evaluated every time', async () => {
    writeFileSync(join(dir, 'clock.rego'), 'package clock\n\nimport rego.v1\n\nallow if time.now_ns() > 0\n');
    const a = await Authorizer.create(parseConfig({ policy: { rego: { file: 'clock.rego', entrypoint: 'clock/allow' } } }, { baseDir: dir }), { logger: new Logger('error', () => {}) });
    expect(a.policy.summary.rego_decision_cache).toBe('off (the policy calls host built-ins)');
    for (let i = 0; i < 3; i++) expect((await a.check(attrs({}), 'grpc')).result).toBe('allow');
    expect(a.policy.regoDecisionCacheStats).toBeUndefined();
    expect(() => parseConfig({ policy: { rego: { file: 'clock.rego', entrypoint: 'clock/allow', decision_cache_size: -1 } } }, { baseDir: dir })).toThrow(/policy\.rego\.decision_cache_size/);
  });

  it.each<[unknown, { allowed: boolean; reason: string }]>([
    [[{ result: true }], { allowed: true, reason: 'rego e = true' }],
    [[{ result: false }], { allowed: false, reason: 'rego e = false' }],
    [[], { allowed: false, reason: 'rego e is undefined' }],
    [[{ result: { allowed: true } }], { allowed: true, reason: 'rego e.allow = true' }],
    [[{ result: { allow: 'yes' } }], { allowed: false, reason: 'rego e is not a boolean or {allow: boolean}' }],
    [[{ result: 1 }], { allowed: false, reason: 'rego e is not a boolean or {allow: boolean}' }],
  ])('interprets the result set %j', (set, expected) => {
    expect(interpretRegoResult(set, 'e')).toEqual(expected);
  });
});
