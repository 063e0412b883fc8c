import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Authorizer,
  Logger,
  parseConfig,
  parsedQuery,
  policyInputOf,
  policyInputJson,
  RegoPolicy,
  regoInputPaths,
  selectedJson,
  selectionOf,
  type CheckAttributes,
  type Identity,
  interpretRegoResult,
  type InputSelection,
  type PolicyInputSource,
} from '../../../ext-authz/src/index.js';
import { compileRego, interpretRegoResultText } from '../../../ext-authz/src/policy/rego.js';
import { directEvaluator, type OpaPolicyLike } from '../../../ext-authz/src/policy/rego-eval.js';
import { requireTool } from '../../../sdk/src/tools/resolve.js';
import { scratchFiles } from '../../support/scratch-files.js';

// The server writes a Rego policy only the parts of the input document its modules can read.
// These tests hold that to the same decisions as the full document (what opa-wasm wrote before).

const regoFile = scratchFiles('rego-input').write;
let opa: string;
beforeAll(() => {
  opa = requireTool('opa').path;
});


/** A policy of POLICIES as files. */
function policyFiles(name: string, prefix = ''): string[] {
  const p = POLICIES[name]!;
  return [p.rego, ...(p.modules ?? [])].map((text, i) => regoFile(`${prefix}${name}-${i}.rego`, text));
}

const POLICIES: Record<string, { rego: string; entrypoint: string; data?: object; modules?: string[] }> = {
  // docs/ext-authz.md's example
  docs: {
    entrypoint: 'meshward/authz/allow',
    rego: `package meshward.authz

import rego.v1

default allow := false

allow if {
  input.identity.kind == "jwt"
  input.identity.jwt.claims.role == "admin"
}

allow if {
  input.attributes.request.http.method == "GET"
  input.parsed_path[0] == "public"
}
`,
  },
  // bench/authz-check.mjs's policy
  bench: {
    entrypoint: 'bench/authz/allow',
    rego: `package bench.authz

import rego.v1

default allow := false

allow if {
  input.identity.kind == "jwt"
  input.risk.score < 70
  input.attributes.request.http.method in {"GET", "POST"}
}
`,
  },
  // test/unit/ext-authz/rego.test.ts's policy: data, signals, headers, an object entrypoint
  workloads: {
    entrypoint: 'meshward/authz/decision',
    data: { tenants: ['acme'] },
    rego: `package meshward.authz

import rego.v1

default allow := false

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
`,
  },
  // OPA-Envoy style: an alias of the request, the bearer token decoded in Rego, parsed_path and
  // parsed_query, a header looked up by a variable, an imported alias, a helper function.
  'opa-envoy': {
    entrypoint: 'envoy/authz/result',
    rego: `package envoy.authz

import rego.v1
import input.attributes.source.address.socket_address as peer

default allow := false

http_request := input.attributes.request.http

# (io.jwt.decode has no wasm implementation in opa-wasm; the payload decoded by hand)
claims := json.unmarshal(base64url.decode(payload)) if {
  [_, encoded] := split(http_request.headers.authorization, " ")
  [_, payload, _] := split(encoded, ".")
}

tenant_header(name) := v if v := http_request.headers[name]

allow if {
  http_request.method == "GET"
  claims.role == "viewer"
  glob.match("/api/*", ["/"], http_request.path)
}

allow if {
  http_request.method == "POST"
  input.parsed_path == ["api", "orders"]
  input.parsed_query.dry_run == ["1"]
  tenant_header("x-tenant") == "acme"
  startswith(peer.address, "10.")
}

result := {"allow": allow, "headers": {"x-user": claims.sub}} if claims.sub
result := {"allow": allow} if not claims.sub
`,
  },
  // Reads every value anywhere (walk): only the full document gives the same answer.
  walk: {
    entrypoint: 'fallback/allow',
    rego: `package fallback

import rego.v1

default allow := false

allow if {
  walk(input, [_, value])
  value == "admin"
}
`,
  },
  // A variable first key: input[k].
  'dynamic-key': {
    entrypoint: 'dyn/allow',
    rego: `package dyn

import rego.v1

allow if {
  some k
  input[k].kind == "jwt"
  count(input[k].jwt.audiences) > 1
}
`,
  },
  // Names bound to input paths, read by sub-paths: a local, an import, a rule (OPA-Envoy's
  // http_request); an alias that is bound but never read (whether the path exists still decides).
  aliases: {
    entrypoint: 'alias/authz/allow',
    rego: `package alias.authz

import rego.v1
import input.attributes.request.http as req
import input.identity

http_request := input.attributes.request.http

default allow := false

allow if {
  h := input.attributes.request.http
  h.method == "GET"
  startswith(h.path, "/api")
  identity.kind == "jwt"
  claims := input.identity.jwt.claims
  claims.role in {"viewer", "admin"}
}

allow if {
  req.method == "POST"
  http_request.headers["x-tenant"] == "acme"
  identity.workload.namespace == "shop"
}

allow if {
  c := input.identity.jwt.claims
  http_request.method == "DELETE"
}
`,
  },
  // Aliases read as a whole: walk, object.get, some/every over them, a rule run with part of
  // input replaced (with), an alias expression under with, a variable key.
  'alias-escapes': {
    entrypoint: 'escapes/allow',
    rego: `package escapes

import rego.v1

default allow := false

allow if {
  id := input.identity
  walk(id, [_, value])
  value == "admin"
}

allow if {
  h := input.attributes.request.http
  object.get(h, ["headers", "x-role"], "") == "admin"
}

allow if {
  r := input.risk
  r.score < 50
  every reason in r.reasons { startswith(reason, "waf") }
  some s in r.signals
  s.name == "waf"
}

is_delete if input.attributes.request.http.method == "DELETE"

allow if {
  q := input.parsed_query
  is_delete with input.attributes.request.http.method as q.method[0]
}

allow if {
  s := input.signals
  some name
  s[name].matched == true
  name == "allow_list"
}
`,
  },
  // A binding under `with` is not an alias: what replaces the path is read.
  'with-binding': {
    entrypoint: 'withbinding/allow',
    rego: `package withbinding

import rego.v1

allow if {
  m := input.attributes.request.http.method with input.attributes.request.http.method as input.attributes.request.http.headers["x-method"]
  m == "PATCH"
}
`,
  },
  // A name bound and never read: whether the bound path exists still decides.
  'bound-unread': {
    entrypoint: 'unread/allow',
    rego: `package unread

import rego.v1

default allow := false

allow if {
  jwt := input.identity.jwt
  input.attributes.request.http.method == "DELETE"
}
`,
  },
  // The entrypoint is the package: its value holds the rule alias's whole value.
  'package-entrypoint': {
    entrypoint: 'pkgwide',
    rego: `package pkgwide

import rego.v1

http_request := input.attributes.request.http

allow if http_request.method == "GET"
`,
  },
  // Rule aliases read from another package through data: by path (sub-paths), or as part of
  // their package's value (whole).
  'data-refs': {
    entrypoint: 'viadata/main/allow',
    modules: [
      `package viadata.aliases

import rego.v1

http_request := input.attributes.request.http
`,
      `package viadata.peers

import rego.v1

peer := input.attributes.source.address.socket_address
`,
    ],
    rego: `package viadata.main

import rego.v1

default allow := false

allow if data.viadata.aliases.http_request.method == "POST"

allow if {
  some name, value in data.viadata.peers
  name == "peer"
  startswith(value.address, "192.")
}
`,
  },
};

function b64url(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
const unsignedJwt = (claims: object) => `${b64url({ alg: 'ES256', typ: 'JWT' })}.${b64url(claims)}.c2ln`;

function attrs(o: { method?: string; path?: string; headers?: Record<string, string>; ip?: string }): CheckAttributes {
  return {
    source: { address: { socket_address: { address: o.ip ?? '10.0.0.1', port_value: 40000 } } },
    destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8080 } } },
    request: { http: { method: o.method ?? 'GET', path: o.path ?? '/', host: 'api.example.com', headers: o.headers ?? {} } },
  };
}

function jwtIdentity(claims: Record<string, unknown>, audiences = ['api']): Identity {
  return { kind: 'jwt', jwt: { issuer: 'https://issuer.test', subject: String(claims['sub']), principal: `https://issuer.test/${String(claims['sub'])}`, audiences, claims, from: 'bearer' } } as Identity;
}

const workload: Identity = { kind: 'workload', workload: { id: 'spiffe://cluster.local/ns/shop/sa/cart', principal: 'cluster.local/ns/shop/sa/cart', trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart', from: 'peer' } } as Identity;
const risk = (score: number) => ({ score, reasons: score ? [`waf:anomaly ${score}`] : [], signals: () => [{ name: 'waf', score, weight: 50, contribution: score, reasons: [] }] });

// Requests chosen so that every policy above both allows and denies some of them.
const SOURCES: Array<[string, PolicyInputSource]> = [
  ['admin GET /admin', { attrs: attrs({ path: '/admin/users', headers: { authorization: `Bearer ${unsignedJwt({ sub: 'ann', role: 'admin' })}` } }), identity: jwtIdentity({ sub: 'ann', role: 'admin' }, ['api', 'admin']), signals: {}, risk: risk(10) }],
  ['viewer GET /api/orders', { attrs: attrs({ path: '/api/orders?page=2', headers: { authorization: `Bearer ${unsignedJwt({ sub: 'bob', role: 'viewer' })}`, 'x-tenant': 'acme' } }), identity: jwtIdentity({ sub: 'bob', role: 'viewer' }), signals: { waf: { score: 0 } }, risk: risk(0) }],
  ['viewer DELETE, risky', { attrs: attrs({ method: 'DELETE', path: '/api/orders/1' }), identity: jwtIdentity({ sub: 'bob', role: 'viewer' }), signals: {}, risk: risk(80) }],
  ['anonymous GET /public', { attrs: attrs({ path: '/public/index.html' }), identity: { kind: 'anonymous' }, signals: {} }],
  ['anonymous POST /public', { attrs: attrs({ method: 'POST', path: '/public/x' }), identity: { kind: 'anonymous' }, signals: {} }],
  ['workload POST dry run', { attrs: attrs({ method: 'POST', path: '/api/orders?dry_run=1', headers: { 'x-tenant': 'acme' } }), identity: workload, signals: { ip_blocklist: { score: 0, matched: false } } }],
  ['workload from a blocked address', { attrs: attrs({ method: 'POST', path: '/orders', headers: { 'x-tenant': 'acme' }, ip: '192.0.2.9' }), identity: workload, signals: { ip_blocklist: { score: 100, matched: true } } }],
  ['workload, other tenant', { attrs: attrs({ method: 'POST', path: '/api/orders?dry_run=1', headers: { 'x-tenant': 'other' }, ip: '172.16.0.1' }), identity: workload, signals: {} }],
  ['"admin" only in a header', { attrs: attrs({ path: '/x', headers: { 'x-role': 'admin' } }), identity: { kind: 'anonymous' }, signals: {} }],
  ['odd keys', { attrs: attrs({ path: '/p?__proto__=1&constructor=2', headers: JSON.parse('{"__proto__": "admin", "constructor": "y"}') as Record<string, string> }), identity: { kind: 'anonymous' }, signals: {} }],
  ['anonymous GET from 192.0.2.7', { attrs: attrs({ path: '/z', ip: '192.0.2.7' }), identity: { kind: 'anonymous' }, signals: {} }],
  ['an API key', { attrs: attrs({ method: 'POST', path: '/api/orders', headers: { 'x-api-key': 'k', 'x-tenant': 'acme' } }), identity: { kind: 'api_key', apiKey: { id: 'ci', principal: 'svc:ci', labels: { team: 'build' }, header: 'x-api-key' } } as Identity, signals: {}, risk: risk(20) }],
  ['anonymous DELETE', { attrs: attrs({ method: 'DELETE', path: '/api/orders/1' }), identity: { kind: 'anonymous' }, signals: {} }],
  ['a method override header', { attrs: attrs({ path: '/x', headers: { 'x-method': 'PATCH' } }), identity: { kind: 'anonymous' }, signals: {} }],
  ['a method in the query', { attrs: attrs({ path: '/x?method=DELETE' }), identity: { kind: 'anonymous' }, signals: {} }],
  ['allow-listed', { attrs: attrs({ method: 'PUT', path: '/y' }), identity: { kind: 'anonymous' }, signals: { allow_list: { score: 0, matched: true } } }],
];

const fullInput = (s: PolicyInputSource) => policyInputOf(s);

describe('Rego input pruning: the paths a policy reads', () => {
  it.each<[string, string[]]>([
    ['docs', ['identity.kind', 'identity.jwt.claims.role', 'attributes.request.http.method', 'parsed_path']],
    ['bench', ['identity.kind', 'risk.score', 'attributes.request.http.method']],
    ['workloads', ['attributes.request.http.method', 'attributes.request.http.headers.x-tenant', 'parsed_path', 'identity.workload.namespace', 'signals.ip_blocklist.matched']],
    // Aliases are followed to what is read through them (http_request's headers by a variable name: all of them).
    ['opa-envoy', ['attributes.source.address.socket_address.address', 'attributes.request.http.headers', 'attributes.request.http.method', 'attributes.request.http.path', 'parsed_path', 'parsed_query.dry_run']],
    ['aliases', ['attributes.request.http.method', 'attributes.request.http.path', 'attributes.request.http.headers.x-tenant', 'identity.kind', 'identity.jwt.claims.role', 'identity.workload.namespace']],
    ['alias-escapes', ['identity', 'attributes.request.http', 'risk.score', 'risk.reasons', 'risk.signals', 'parsed_query.method', 'signals']],
    ['with-binding', ['attributes.request.http.method', 'attributes.request.http.headers.x-method']],
    ['bound-unread', ['attributes.request.http.method', 'identity.jwt (whether it exists)']],
    ['package-entrypoint', ['attributes.request.http']],
    ['data-refs', ['attributes.request.http.method', 'attributes.source.address.socket_address']],
  ])('%s keeps only %j', (name, paths) => {
    const got = regoInputPaths(opa, policyFiles(name), POLICIES[name]!.entrypoint);
    expect(got.selection).not.toBe(true);
    expect(got.description.split(', ').sort()).toEqual([...paths].sort());
  });

  it.each<[string, string, string]>([
    ['walk', POLICIES['walk']!.rego, 'reads input as a whole'],
    ['dynamic-key', POLICIES['dynamic-key']!.rego, 'reads input[<variable>]'],
    ['assigned whole', 'package a\n\nimport rego.v1\n\nallow if {\n  x := input\n  x.identity.kind == "jwt"\n}\n', 'reads input as a whole'],
    ['with input as', 'package a\n\nimport rego.v1\n\nallow if {\n  inner with input as {"identity": {"kind": "jwt"}}\n}\n\ninner if input.identity.kind == "jwt"\n', 'reads input as a whole'],
    ['object.get on input', 'package a\n\nimport rego.v1\n\nallow if object.get(input, ["identity", "kind"], "") == "jwt"\n', 'reads input as a whole'],
    ['some k, v in input', 'package a\n\nimport rego.v1\n\nallow if {\n  some k, v in input\n  k == "risk"\n}\n', 'reads input as a whole'],
    ['import input', 'package a\n\nimport rego.v1\nimport input as req\n\nallow if req.identity.kind == "jwt"\n', 'reads input as a whole'],
    ['every over input', 'package a\n\nimport rego.v1\n\nallow if {\n  every k, _ in input { k != "debug" }\n}\n', 'reads input as a whole'],
    ['walk on a local alias of input', 'package a\n\nimport rego.v1\n\nallow if {\n  doc := input\n  walk(doc, [_, "admin"])\n}\n', 'reads input as a whole'],
  ])('%s: the full document', (name, rego, why) => {
    const got = regoInputPaths(opa, [regoFile(`full-${name.replace(/\W+/g, '-')}.rego`, rego)]);
    expect(got).toEqual({ selection: true, description: `full document (${why})` });
  });

  it('rule aliases are followed only with the entrypoint known and not covering them', () => {
    const files = policyFiles('opa-envoy', 'entry-');
    const http = (e?: string) => regoInputPaths(opa, files, e).description.split(', ').filter((p) => p.startsWith('attributes.request'));
    expect(http('envoy/authz/result')).toEqual(['attributes.request.http.headers', 'attributes.request.http.method', 'attributes.request.http.path']);
    // Without the entrypoint, or with one the server could read the alias's value through: all of it.
    expect(http()).toEqual(['attributes.request.http']);
    expect(http('envoy/authz')).toEqual(['attributes.request.http']);
    expect(http('envoy.authz.result')).toEqual(['attributes.request.http']);
  });

  it('several files: the union of what each reads; a policy that never reads input gets {}', () => {
    const a = regoFile('multi-a.rego', 'package m\n\nimport rego.v1\n\nallow if {\n  input.identity.kind == "jwt"\n  data.m.helper\n}\n');
    const b = regoFile('multi-b.rego', 'package m\n\nimport rego.v1\n\nhelper if input.risk.score < 50\n');
    expect(regoInputPaths(opa, [a, b]).description).toBe('identity.kind, risk.score');
    const none = regoInputPaths(opa, [regoFile('none.rego', 'package n\n\nimport rego.v1\n\nallow := true\n')]);
    expect(none.description).toBe('nothing (the policy never reads input)');
    expect(policyInputJson(SOURCES[0]![1], none.selection)).toBe('{}');
  });
});

describe('Rego input pruning: same decisions as the full document', () => {
  it.each(Object.keys(POLICIES))('%s', async (name) => {
    const p = POLICIES[name]!;
    const files = policyFiles(name, 'same-');
    const paths = regoInputPaths(opa, files, p.entrypoint);
    const policy = await loadPolicy(compileRego(opa, files, p.entrypoint));
    if (p.data) policy.setData(p.data);
    const results: string[] = [];
    for (const [label, source] of SOURCES) {
      const json = policyInputJson(source, paths.selection);
      // The old path: opa-wasm stringifying the whole document object.
      const before = policy.evaluate(fullInput(source));
      const after = policy.evaluate(new TextEncoder().encode(json).buffer);
      expect(after, label).toEqual(before);
      results.push(JSON.stringify(before));
      if (paths.selection === true) expect(JSON.parse(json), label).toEqual(JSON.parse(JSON.stringify(fullInput(source))));
      else expect(json.length, label).toBeLessThan(JSON.stringify(fullInput(source)).length);
    }
    // The requests reach more than one answer, so an input missing a part the policy reads shows.
    expect(new Set(results).size, results.join(' ')).toBeGreaterThan(1);
  });

  it('the full selection writes the same document as policyInput', () => {
    for (const [label, source] of SOURCES) expect(JSON.parse(policyInputJson(source, true)), label).toEqual(JSON.parse(JSON.stringify(fullInput(source))));
  });
});

describe('parsed_query', () => {
  it('a query key named like an Object member is just a key (it used to throw)', () => {
    expect(JSON.parse(JSON.stringify(parsedQuery('/p?constructor=2&__proto__=1&toString=3&a=1&a=2')))).toEqual(JSON.parse('{"constructor":["2"],"__proto__":["1"],"toString":["3"],"a":["1","2"]}'));
  });
});

describe('selectedJson', () => {
  const value = { a: { b: 'x', c: [1, { d: 2 }], e: 'str' }, f: null, g: undefined };
  it.each<[string[][], unknown]>([
    [[['a', 'b']], { a: { b: 'x' } }],
    [[['a', 'c', 'd']], { a: { c: [1, { d: 2 }] } }], // an array is kept whole
    [[['a', 'e', 'length']], { a: { e: 'str' } }], // so is a string
    [[['a', 'missing'], ['f'], ['g']], { a: {}, f: null }],
    [[['a', 'b'], ['a']], { a: value.a }], // the shorter path wins
    [[['__proto__'], ['constructor'], ['a', 'toString']], { a: {} }], // inherited keys are not followed
  ])('%j', (paths, expected) => {
    expect(JSON.parse(selectedJson(value, selectionOf(paths))!)).toEqual(expected);
  });
});

describe('RegoPolicy.evaluate writes the input bytes for each evaluation', () => {
  it('inputs of the same length and a large one are each decided on their own bytes', async () => {
    const file = regoFile('bytes.rego', 'package bytes\n\nimport rego.v1\n\nallow if input.attributes.request.http.headers["x-tenant"] == "acme"\n');
    const policy = await RegoPolicy.load({ files: [file], entrypoint: 'bytes/allow' }, () => Promise.resolve(opa));
    const source = (tenant: string, pad = ''): PolicyInputSource => ({ attrs: attrs({ headers: { 'x-tenant': tenant, ...(pad ? { 'x-pad': pad } : {}) } }), identity: { kind: 'anonymous' }, signals: {} });
    // "acme" and "acmf": the same JSON length, so the same reused buffer.
    expect(policy.evaluate(source('acme')).allowed).toBe(true);
    expect(policy.evaluate(source('acmf')).allowed).toBe(false);
    expect(policy.evaluate(source('acme')).allowed).toBe(true);
    // Not read by the policy: the 40 KB header is not written at all.
    expect(policy.evaluate(source('acme', 'x'.repeat(40_000))).allowed).toBe(true);
    // Read by a policy on the whole document: written afresh, decided as before.
    const whole = regoFile('bytes-whole.rego', 'package whole\n\nimport rego.v1\n\nallow if {\n  x := input\n  x.attributes.request.http.headers["x-tenant"] == "acme"\n  count(x.attributes.request.http.headers["x-pad"]) == 40000\n}\n');
    const wholePolicy = await RegoPolicy.load({ files: [whole], entrypoint: 'whole/allow' }, () => Promise.resolve(opa));
    expect(wholePolicy.input.selection).toBe(true);
    expect(wholePolicy.evaluate(source('acme', 'x'.repeat(40_000))).allowed).toBe(true);
    expect(wholePolicy.evaluate(source('acmf', 'x'.repeat(40_000))).allowed).toBe(false);
  });
});

describe('the server reports what it writes for the policy', () => {
  it('summary.rego_input: the kept paths, or the full document and why', async () => {
    const logger = new Logger('error', () => {});
    const bench = regoFile('summary-bench.rego', POLICIES['bench']!.rego);
    const a = await Authorizer.create(parseConfig({ policy: { rego: { file: bench, entrypoint: 'bench/authz/allow' } } }), { logger });
    expect(a.policy.summary.rego_input).toBe('identity.kind, risk.score, attributes.request.http.method');
    expect(a.policy.summary.rego_eval).toBe('opa_eval');
    const walk = regoFile('summary-walk.rego', POLICIES['walk']!.rego);
    const b = await Authorizer.create(parseConfig({ policy: { rego: { file: walk, entrypoint: 'fallback/allow' } } }), { logger });
    expect(b.policy.summary.rego_input).toBe('full document (reads input as a whole)');
  });
});

describe('the input written part by part', () => {
  // Selections into every part the server builds lazily (identity, its jwt, risk), present or not,
  // some only as far as whether a path exists (an empty map).
  const selections: Array<[string, InputSelection]> = [
    ['identity.kind, risk.score', selectionOf([['identity', 'kind'], ['risk', 'score']])],
    ['identity.jwt.claims.role, identity.principal', selectionOf([['identity', 'jwt', 'claims', 'role'], ['identity', 'principal']])],
    ['identity.jwt whole, identity.workload.namespace', selectionOf([['identity', 'jwt'], ['identity', 'workload', 'namespace']])],
    ['identity.api_key, identity.jwt.subject, identity.jwt.from, identity.jwt.presenter', selectionOf([['identity', 'api_key'], ['identity', 'jwt', 'subject'], ['identity', 'jwt', 'from'], ['identity', 'jwt', 'presenter']])],
    ['risk whole', selectionOf([['risk']])],
    ['risk.signals, risk.reasons', selectionOf([['risk', 'signals'], ['risk', 'reasons']])],
    ['exists: identity.jwt, risk', selectionOf([], [['identity', 'jwt'], ['risk']])],
    ['keys no part has', selectionOf([['identity', 'nope'], ['risk', 'nope'], ['nope'], ['identity', 'jwt', 'nope']])],
    ['parsed_query.page, signals.waf.score, attributes.request.http.headers.x-tenant', selectionOf([['parsed_query', 'page'], ['signals', 'waf', 'score'], ['attributes', 'request', 'http', 'headers', 'x-tenant']])],
  ];
  it.each(selections)('%s: the same JSON as the selection of the whole document', (_name, selection) => {
    for (const [label, source] of SOURCES) {
      expect(policyInputJson(source, selection), label).toBe(selectedJson(policyInputOf(source), selection));
    }
  });

  it('the per-signal list of input.risk is built only when selected', () => {
    let built = 0;
    const source: PolicyInputSource = { ...SOURCES[0]![1], risk: { score: 5, reasons: [], signals: () => (built++, []) } };
    policyInputJson(source, selectionOf([['risk', 'score'], ['identity', 'kind']]));
    expect(built).toBe(0);
    policyInputJson(source, selectionOf([['risk', 'signals']]));
    policyInputJson(source, true);
    expect(built).toBe(2);
  });
});

describe('the direct opa_eval evaluator', () => {
  it.each(Object.keys(POLICIES))('%s: the same result sets as opa-wasm evaluate', async (name) => {
    const p = POLICIES[name]!;
    const files = policyFiles(name, 'direct-');
    const policy = await loadPolicy(compileRego(opa, files, p.entrypoint));
    if (p.data) policy.setData(p.data);
    const direct = directEvaluator(policy as unknown as OpaPolicyLike, p.entrypoint);
    expect(direct).toBeDefined();
    for (const [label, source] of SOURCES) {
      const json = policyInputJson(source, true);
      const text = direct!(json);
      expect(JSON.parse(text), label).toEqual(policy.evaluate(new TextEncoder().encode(json).buffer, p.entrypoint));
      expect(interpretRegoResultText(text, p.entrypoint), label).toEqual(interpretRegoResult(JSON.parse(text), p.entrypoint));
    }
  });

  it('an input larger than the wasm memory grows it, and later inputs are decided on their own bytes', async () => {
    const file = regoFile('grow.rego', 'package grow\n\nimport rego.v1\n\nallow if {\n  x := input\n  x.attributes.request.http.headers["x-tenant"] == "acme"\n}\n');
    const policy = await RegoPolicy.load({ files: [file], entrypoint: 'grow/allow' }, () => Promise.resolve(opa));
    expect(policy.evaluation).toBe('opa_eval');
    const source = (tenant: string, pad: string): PolicyInputSource => ({ attrs: attrs({ headers: { 'x-tenant': tenant, 'x-pad': pad } }), identity: { kind: 'anonymous' }, signals: {} });
    // The memory starts at 5 pages (320 KiB); 2 MB of header (UTF-8 two-byte characters too).
    expect(policy.evaluate(source('acme', 'é'.repeat(1_000_000))).allowed).toBe(true);
    expect(policy.evaluate(source('acmf', 'x'.repeat(2_000_000))).allowed).toBe(false);
    expect(policy.evaluate(source('acme', '')).allowed).toBe(true);
    expect(policy.evaluate(source('acmf', '')).allowed).toBe(false);
  });

  it('a policy without what the direct call needs (ABI before 1.2) is not given one', () => {
    const like = (o: Partial<OpaPolicyLike>): OpaPolicyLike => ({ evaluate: () => [], wasmInstance: { exports: { opa_eval: () => 0 } } as unknown as WebAssembly.Instance, mem: new WebAssembly.Memory({ initial: 1 }), minorVersion: 2, dataAddr: 8, dataHeapPtr: 64, entrypoints: { 'a/allow': 0 }, ...o });
    expect(directEvaluator(like({}), 'a/allow')).toBeDefined();
    expect(directEvaluator(like({ minorVersion: 1 }), 'a/allow')).toBeUndefined();
    expect(directEvaluator(like({ dataHeapPtr: undefined }), 'a/allow')).toBeUndefined();
    expect(directEvaluator(like({ wasmInstance: { exports: {} } as unknown as WebAssembly.Instance }), 'a/allow')).toBeUndefined();
    expect(directEvaluator(like({}), 'a/other')).toBeUndefined();
  });

  it('the result text: booleans and undefined read without parsing, objects as before', () => {
    for (const text of ['[{"result":true}]', '[{"result":false}]', '[]', '[{"result":{"allow":false,"decision":"step_up","acr_values":"mfa","reason":"r"}}]', '[{"result":{"allow":true}}]', '[{"result":1}]']) {
      expect(interpretRegoResultText(text, 'e/p'), text).toEqual(interpretRegoResult(JSON.parse(text), 'e/p'));
    }
  });
});
