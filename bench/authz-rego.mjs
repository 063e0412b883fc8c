// The cost of one Rego evaluation in the ext_authz server, in process (no gRPC), side by side:
//   object       the document built as an object and handed to opa-wasm, which stringifies it
//                (how the server evaluated Rego before input pruning)
//   full bytes   the whole document written as JSON bytes, evaluated by opa-wasm's evaluate
//   before       BENCH_BASELINE=<dir of another ext-authz build, e.g. main's ext-authz/dist>: that
//                build's RegoPolicy.evaluate (before/after in one run)
//   served       what the server does now: only the parts the policy's modules read, written
//                straight from the request's parts, encoded into the wasm memory, one opa_eval
// and the served path's steps on their own: writing the input JSON, opa_eval on it (the input
// encoded in, the result text out), reading the decision from the result text.
// For a few policies (the bench's, the docs' example, an OPA-Envoy-style one, one that needs the
// whole document), on the input documents of the bench's requests (JWT, seven signals, risk:
// about 2.3 KB of JSON). CPU time per evaluation (process.cpuUsage), the median of BENCH_ROUNDS
// (default 7) interleaved rounds (each starting with the next variant) of BENCH_ITERATIONS
// (default 4000) evaluations, with its range.
// Evaluations are timed with the decision cache off (policy.rego.decision_cache_size: 0).
// Also printed: the whole in-process Check (full pipeline) without and with the bench's policy,
// with the decision cache (the default: the bench's inputs repeat) and without it (and with
// BENCH_BASELINE, the same served by that build).
// Needs OPA (MESHWARD_HOME or `npx meshward setup --only opa`) and a built ext-authz (npm run build).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import * as ext from '../ext-authz/dist/index.js';
import { compileRego, interpretRegoResultText } from '../ext-authz/dist/policy/rego.js';
import { directEvaluator } from '../ext-authz/dist/policy/rego-eval.js';
import { BENCH_REGO, BENCH_REGO_ENTRYPOINT, benchRequests, fullPipelineConfig } from './lib/authz-fixtures.mjs';

const baseline = process.env.BENCH_BASELINE;
const before = baseline ? await import(pathToFileURL(join(baseline, 'index.js')).href) : undefined;

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const iterations = Number(process.env.BENCH_ITERATIONS ?? 4000);
const dir = mkdtempSync(join(tmpdir(), 'meshward-bench-rego-'));

const POLICIES = {
  'bench (authz-check)': [BENCH_REGO_ENTRYPOINT, BENCH_REGO],
  'docs example': ['meshward/authz/allow', `package meshward.authz

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
`],
  'OPA-Envoy style': ['envoy/authz/result', `package envoy.authz

import rego.v1

default allow := false

http_request := input.attributes.request.http

allow if {
  http_request.method == "GET"
  glob.match("/api/*", ["/"], http_request.path)
  input.identity.jwt.claims.role in {"viewer", "admin"}
  input.parsed_query.full == ["1"]
}

result := {"allow": allow, "headers": {"x-user": input.identity.jwt.subject}}
`],
  'walk(input) (full document)': ['fallback/allow', `package fallback

import rego.v1

default allow := false

allow if {
  walk(input, [_, value])
  value == "acme"
}
`],
};

// The bench's requests (as bench/authz-check.mjs), decided by the full pipeline to get real input documents.
const { jwk, attributes: requests } = await benchRequests();
const benchRego = join(dir, 'bench.rego');
writeFileSync(benchRego, POLICIES['bench (authz-check)'][1]);
const config = (rego, cache = true) => {
  const raw = fullPipelineConfig({ jwk, regoFile: rego ? benchRego : undefined });
  if (rego && !cache) raw.policy.rego.decision_cache_size = 0;
  return ext.parseConfig(raw);
};
const logger = new ext.Logger('info', () => {});
const full = await ext.Authorizer.create(config(false), { logger });
const withRego = await ext.Authorizer.create(config(true), { logger });
const withRegoUncached = await ext.Authorizer.create(config(true, false), { logger });
const fullBefore = before && (await before.Authorizer.create(config(false), { logger }));
const withRegoBefore = before && (await before.Authorizer.create(config(true), { logger }));
const sources = [];
const served = ext.RegoPolicy.prototype.evaluate;
ext.RegoPolicy.prototype.evaluate = function (source) {
  sources.push(source);
  return served.call(this, source);
};
for (const r of requests) await withRego.check(r, 'grpc');
ext.RegoPolicy.prototype.evaluate = served;

const encoder = new TextEncoder();
const cpu = (f, n) => {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i);
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
};
const asyncCpu = async (f, n) => {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) await f(i);
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
};
// Each round starts with the next variant: a variant that follows one that allocates a lot pays for
// its garbage collection, and a fixed order would always bill the same one.
const rotated = (xs, r) => xs.map((_, j) => xs[(j + r) % xs.length]);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;

const rows = [];
for (const [name, [entrypoint, rego]] of Object.entries(POLICIES)) {
  const file = join(dir, `${entrypoint.replace(/\W/g, '_')}.rego`);
  writeFileSync(file, rego);
  const policy = await ext.RegoPolicy.load({ files: [file], entrypoint, decisionCacheSize: 0 });
  const raw = await loadPolicy(compileRego(process.env.OPA_BIN ?? (await import('../sdk/dist/tools/index.js')).requireTool('opa').path, [file], entrypoint));
  const doc = (s) => ext.policyInputOf(s);
  const src = (i) => sources[i & 63];
  const policyBefore = before && (await before.RegoPolicy.load({ files: [file], entrypoint, decisionCacheSize: 0 }));
  const sourcesBefore = sources;
  const write = ext.policyInputWriter(policy.input.selection);
  const evaluator = directEvaluator(raw, entrypoint);
  const written = sources.map(write);
  const results = written.map(evaluator);
  // The three ways must agree before they are timed.
  for (const s of sources) {
    const a = JSON.stringify(raw.evaluate(doc(s)));
    const b = JSON.stringify(raw.evaluate(encoder.encode(ext.policyInputJson(s, true)).buffer));
    const c = JSON.stringify(raw.evaluate(encoder.encode(ext.policyInputJson(s, policy.input.selection)).buffer));
    if (a !== b || a !== c) throw new Error(`${name}: results differ: ${a} ${b} ${c}`);
  }
  for (const [i, s] of sources.entries()) {
    const now = policy.evaluate(s);
    const was = policyBefore?.evaluate(sourcesBefore[i]) ?? now;
    if (JSON.stringify(now) !== JSON.stringify(was) || JSON.stringify(JSON.parse(results[i])) !== JSON.stringify(raw.evaluate(doc(s)))) throw new Error(`${name}: served and before differ: ${JSON.stringify(now)} ${JSON.stringify(was)}`);
  }
  const ways = {
    object: (i) => raw.evaluate(doc(src(i))),
    'full bytes': (i) => raw.evaluate(encoder.encode(ext.policyInputJson(src(i), true)).buffer),
    ...(policyBefore ? { before: (i) => policyBefore.evaluate(sourcesBefore[i & 63]) } : {}),
    served: (i) => policy.evaluate(src(i)),
    'write input': (i) => write(src(i)),
    opa_eval: (i) => evaluator(written[i & 63]),
    'read result': (i) => interpretRegoResultText(results[i & 63], entrypoint),
  };
  const times = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  for (const f of Object.values(ways)) cpu(f, 1000); // warm up
  for (let r = 0; r < rounds; r++) for (const [k, f] of rotated(Object.entries(ways), r)) times[k].push(cpu(f, iterations));
  const bytes = (sel) => encoder.encode(ext.policyInputJson(sources[0], sel)).length;
  rows.push({ name, times, fullBytes: bytes(true), servedBytes: bytes(policy.input.selection), reads: policy.input.description });
}

const authorizers = { 'full pipeline': full, 'full + Rego (bench policy)': withRego, 'full + Rego, no decision cache': withRegoUncached, ...(before ? { 'full pipeline @before': fullBefore, 'full + Rego (bench policy) @before': withRegoBefore } : {}) };
const checks = Object.fromEntries(Object.keys(authorizers).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const [k, a] of rotated(Object.entries(authorizers), r)) checks[k].push(await asyncCpu((i) => a.check(requests[i & 63], 'grpc'), iterations));

console.log(`\nRego evaluation in process, CPU µs per evaluation (median of ${rounds} interleaved rounds of ${iterations}; range); input documents of the bench's 64 requests; Node ${process.version}\n`);
console.log(`| policy | object | full bytes |${before ? ' before |' : ''} served | served vs ${before ? 'before' : 'object'} | served: write input | opa_eval | read result | input JSON bytes full / served | the policy reads |`);
console.log(`| --- | ---: | ---: |${before ? ' ---: |' : ''} ---: | ---: | ---: | ---: | ---: | ---: | --- |`);
for (const r of rows) {
  const ref = r.times.before ?? r.times.object;
  console.log(`| ${r.name} | ${fmt(r.times.object)} | ${fmt(r.times['full bytes'])} |${before ? ` ${fmt(r.times.before)} |` : ''} ${fmt(r.times.served)} | ${(median(r.times.served) / median(ref)).toFixed(2)}x | ${fmt(r.times['write input'])} | ${fmt(r.times.opa_eval)} | ${fmt(r.times['read result'])} | ${r.fullBytes.toLocaleString('en-US')} / ${r.servedBytes.toLocaleString('en-US')} | ${r.reads} |`);
}
console.log('\n| whole Check in process | CPU µs per Check (median; range) |\n| --- | ---: |');
for (const [k, v] of Object.entries(checks)) console.log(`| ${k} | ${fmt(v)} |`);
const extra = (suffix) => (median(checks[`full + Rego (bench policy)${suffix}`]) - median(checks[`full pipeline${suffix}`])).toFixed(1);
console.log(`\nRego adds ${extra('')} µs per Check in process${before ? ` (before: ${extra(' @before')} µs)` : ''} (1-minute load average ${loadavg()[0].toFixed(1)}).`);
