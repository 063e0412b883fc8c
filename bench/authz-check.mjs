// ext_authz Check throughput and latency on this machine, side by side in one run:
//   no-op       a bare grpc-js Authorization server answering OK (the floor: gRPC + proto cost)
//   empty       @meshward/ext-authz with an empty config (its request/response mapping, decision log)
//   full        @meshward/ext-authz: JWT (ES256, cached keys) + 7 risk signals + YAML policies
//   full+rego   the same plus a Rego policy (opa-wasm)
//   full+redis  the full pipeline with its risk history in a local redis-server (state: redis://)
//   no-op-lean  the no-op server decoding with the same lean codec as ours (grpc-js transport)
//   no-op-h2    the same codec on our lean HTTP/2 transport (the floor of our own stack)
// and the same over Envoy's HTTP ext_authz mode (`http_service`: HTTP/1.1, the original method,
// path and allowed headers, no body), on our server's HTTP Check port (the gRPC port off):
//   http-no-op      a bare node:http keep-alive server answering 200 to each Check (the HTTP floor)
//   http-full       the full pipeline over HTTP (the same config; the client address from x-forwarded-for)
//   http-full+rego  the same plus the Rego policy
// BENCH_VARIANTS=no-op,jwt+yaml,full picks variants (jwt+yaml: the full config without signals;
// http-jwt+yaml the same over HTTP).
// Each server runs in its own child process; the load generator runs in this process with a fixed number of calls in flight. Latency is measured by the client per
// call, so it includes the client's own cost.
// gRPC variants: BENCH_CLIENT: `h2` (default) is a lean load generator, like a proxy's: one HTTP/2 connection
// (bench/lib/raw-h2-client.mjs: HTTP/2 framing written directly on a socket), each Check one gRPC
// unary call with its request bytes encoded and gRPC-framed ahead of time, the answer read from
// the response bytes; `grpc-js` is a @grpc/grpc-js client (it needs about as much CPU per call as
// the server, so on 2 cores it limits Checks/s; a node:http2 client does too).
// HTTP variants: a lean HTTP/1.1 client (bench/lib/raw-h1-client.mjs) on BENCH_HTTP_CONNECTIONS
// (default 64) keep-alive connections, one request in flight on each, as Envoy's connection pool
// to an http_service; each Check the bytes Envoy 1.40 sends (captured from Envoy: method, path
// after path_prefix /authz, host, content-length: 0, the allowed headers, x-envoy-internal and
// x-envoy-expected-rq-timeout-ms), encoded ahead of time; the answer's status code is read.
// All servers start first; then each variant gets BENCH_SECONDS (default 6) of saturated load
// with BENCH_CONCURRENCY (default 32) calls in flight, cut into BENCH_ROUNDS (default 6) windows
// that take turns across the variants, and the server CPU per Check is the median window's.
// A second, paced run per variant (BENCH_PACED_SECONDS, default 2) offers BENCH_RATE Checks/s (default 5000) open-loop and measures
// each Check from the moment it was sent (and, in the `from due` column, from the moment it was
// due, which adds the client's own lateness): the latency a proxy sees when the server is not
// saturated. The sender never waits for answers (no coordinated omission: a stalled server cannot
// slow the offered load); due Checks go out on a 1 ms tick (a busy loop would take CPU from the
// server on a shared machine), and how late the client itself sent them is printed (p99).
// BENCH_PIN=1 pins the client to CPU 0 and the servers to CPU 1 (taskset); BENCH_SERVER_FLAGS
// passes V8 flags to the servers. The paced run also reports the servers' and the client's
// event-loop delay and GC pauses: what a slow Check waited on, and the CPU steal (/proc/stat) of
// the saturated windows and of each paced run: on a VM whose hypervisor takes the vCPUs away
// (steal), every server stalls alike and the paced p99 says more about the host than the server.
// BENCH_DECISION_LOG: `pipe` (default) has our servers write their decision lines to stdout, a
// pipe a `cat > /dev/null` drains, as a container's log; `drop` makes the lines but does not write them.
// `full@grpc-js`, `full+rego@grpc-js`, `empty@grpc-js`: the same server on the grpc-js transport
// (node:http2) instead of the lean HTTP/2 layer (`server.grpc.transport`).
// BENCH_BASELINE=<dir of another ext-authz build, e.g. /tmp/old/ext-authz/dist> adds `full@before`
// and `full+rego@before` rows served by that build (before/after in one run).
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { rawH1Client } from './lib/raw-h1-client.mjs';
import { rawH2Client } from './lib/raw-h2-client.mjs';
import * as grpc from '@grpc/grpc-js';
import { BENCH_REGO, benchRequests, fullPipelineConfig } from './lib/authz-fixtures.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const pacedSeconds = Number(process.env.BENCH_PACED_SECONDS ?? 2);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const rate = Number(process.env.BENCH_RATE ?? 5000);
const clientKind = process.env.BENCH_CLIENT ?? 'h2';
const baseline = process.env.BENCH_BASELINE;
const pin = process.env.BENCH_PIN === '1';
const httpConnections = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 64);
/** Envoy's `http_service.path_prefix` in the HTTP variants (and the server's `server.http.path_prefix`). */
const HTTP_PATH_PREFIX = '/authz';
const self = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------ server side

async function serve(name, setupJson) {
  // `<variant>@before`: the same variant served by the BENCH_BASELINE build; `<variant>@grpc-js`:
  // this build with `server.grpc.transport: grpc-js` (node:http2) instead of the lean transport.
  const [variant, build] = name.split('@');
  const transport = build === 'grpc-js' ? { transport: 'grpc-js' } : {};
  const ext = await import(build === 'before' ? pathToFileURL(join(baseline, 'index.js')).href : '../ext-authz/dist/index.js');
  const setup = JSON.parse(setupJson);
  // Decision lines go to stdout as in production (a pipe the parent drains, as a container
  // runtime does), or with BENCH_DECISION_LOG=drop are made and dropped unwritten.
  const serverOptions = process.env.BENCH_DECISION_LOG === 'drop' ? { logSink: () => {} } : {};
  let port;
  if (variant === 'http-no-op') {
    // What any HTTP Check server does at least: node:http parses the request line and headers,
    // the (empty) body is drained, 200 allows.
    const { createServer } = await import('node:http');
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else if (variant === 'no-op') {
    // What any Check server does at least: decode the request (proto-loader), answer OK.
    const server = new grpc.Server();
    server.addService(ext.serviceDefinitions().authorization, { Check: (_call, cb) => cb(null, { status: { code: 0 }, ok_response: {} }) });
    port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  } else if (variant === 'no-op-lean') {
    // The same with our lean codec: the request decoded to CheckAttributes, an OK answer encoded.
    const check = ext.serviceDefinitions().authorization.Check;
    const def = { Check: { ...check, requestDeserialize: (b) => b, responseSerialize: (b) => b } };
    const ok = { id: '', result: 'allow', status: 200, reason: '', identity: { kind: 'anonymous' }, upstreamHeaders: {}, removeHeaders: [], responseHeaders: {} };
    const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
    server.addService(def, { Check: (call, cb) => { ext.decodeCheckRequest(call.request); cb(null, ext.encodeCheckResponse(ok)); } });
    port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  } else if (variant === 'no-op-h2') {
    // The no-op on our own transport: the lean HTTP/2 layer and codec, an OK answer, no pipeline.
    const { startLeanGrpc } = await import('../ext-authz/dist/protocol/grpc-lean.js');
    const ok = { id: '', result: 'allow', status: 200, reason: '', identity: { kind: 'anonymous' }, upstreamHeaders: {}, removeHeaders: [], responseHeaders: {} };
    const quiet = () => {};
    const authorizer = { checkAndAnswer: (_attrs, _protocol, target, answer) => answer(target, ok), checkFailed: quiet, logger: { warn: quiet } };
    port = (await startLeanGrpc(authorizer, '127.0.0.1', 0)).port;
  } else if (variant === 'empty') {
    const server = await ext.startAuthzServer({ server: { grpc: { host: '127.0.0.1', port: 0, ...transport }, http: { enabled: false }, admin: { enabled: false } }, reload: { enabled: false } }, serverOptions);
    port = server.ports.grpc;
  } else {
    // `http-full`: the same pipeline on the HTTP Check port only.
    const http = variant.startsWith('http-');
    const pipeline = http ? variant.slice('http-'.length) : variant;
    const config = {
      ...fullPipelineConfig({ jwk: setup.jwk, signals: pipeline !== 'jwt+yaml', regoFile: pipeline === 'full+rego' ? setup.rego : undefined }),
      log_level: 'info',
      server: http
        ? { grpc: { enabled: false }, http: { host: '127.0.0.1', port: 0, path_prefix: HTTP_PATH_PREFIX, client_ip_header: 'x-forwarded-for' }, admin: { enabled: false } }
        : { grpc: { host: '127.0.0.1', port: 0, ...transport }, http: { enabled: false }, admin: { enabled: false } },
      ...(pipeline === 'full+redis' ? { state: { url: setup.redisUrl, key_prefix: `bench:${Date.now()}:`, timeout_ms: 200 } } : {}),
    };
    const server = await ext.startAuthzServer(config, serverOptions);
    port = http ? server.ports.http : server.ports.grpc;
  }
  process.on('SIGINT', () => process.exit(0));
  // The parent brackets the measured window: the server's own CPU time per Check, whatever the client costs.
  let mark;
  let stalls;
  process.on('message', (m) => {
    if (m === 'start') mark = process.cpuUsage();
    if (m === 'stop') {
      const d = process.cpuUsage(mark);
      process.send({ cpuUs: d.user + d.system });
    }
    // Around the paced run: how long this server's event loop was held up, and by GC.
    if (m === 'stalls-start') stalls = stallProbe();
    if (m === 'stalls-stop') process.send({ stalls: stalls.stop() });
  });
  process.send({ port });
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], process.argv[4]);
} else {
  await main();
}

// ------------------------------------------------------------------------------ stalls

/**
 * Event-loop delay (p99, max) and GC pauses (count, max, total) of this process from now until
 * stop(): they tell whether a slow paced Check waited on the server, the client or neither (the
 * machine itself: the scheduler or the hypervisor).
 */
function stallProbe() {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gc = { count: 0, maxMs: 0, totalMs: 0, major: 0, majorMaxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      // Mark-compact (the whole heap) as against scavenges of the young generation.
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorMaxMs = Math.max(gc.majorMaxMs, e.duration);
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  // Promotion (what fills the old generation between mark-compacts, so what makes them come):
  // the positive steps of the old generation's size, sampled every 5 ms, as in authz-h2-promotion.mjs.
  let lastOld = oldGenerationBytes();
  let promoted = 0;
  const sampler = setInterval(() => {
    const now = oldGenerationBytes();
    if (now > lastOld) promoted += now - lastOld;
    lastOld = now;
  }, 5);
  return {
    stop() {
      loop.disable();
      observer.disconnect();
      clearInterval(sampler);
      return { loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, gc, heapMiB: process.memoryUsage().heapUsed / 2 ** 20, promotedBytes: promoted };
    },
  };
}

/**
 * The machine's CPU time so far from /proc/stat (jiffies): all of it, and the part the hypervisor
 * gave to other guests ("steal": this VM's vCPUs wanted to run and could not). Undefined off Linux.
 */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** Steal as a share of the machine's CPU time between two cpuTimes() readings (NaN when unknown). */
function stealShare(a, b) {
  return a && b && b.total > a.total ? (b.steal - a.steal) / (b.total - a.total) : Number.NaN;
}

/** Bytes in V8's old generation (old, large-object and code spaces). */
function oldGenerationBytes() {
  return getHeapSpaceStatistics().filter((sp) => !sp.space_name.startsWith('new')).reduce((n, sp) => n + sp.space_used_size, 0);
}

function formatStalls(s, checks) {
  const promoted = checks ? `, promoted ${(s.promotedBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(s.promotedBytes / checks).toLocaleString('en-US')} bytes per Check)` : '';
  return `loop delay p99 ${s.loopP99Ms.toFixed(1)} / max ${s.loopMaxMs.toFixed(1)} ms, GC ${s.gc.count}× max ${s.gc.maxMs.toFixed(1)} ms (total ${s.gc.totalMs.toFixed(0)} ms; ${s.gc.major} mark-compact, max ${s.gc.majorMaxMs.toFixed(1)} ms)${promoted}, heap ${s.heapMiB.toFixed(0)} MiB`;
}

// ------------------------------------------------------------------------------ client side

function startServer(variant, setup) {
  const execArgv = [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    // e.g. `--max-semi-space-size=32`: V8 flags for the servers only (not the client).
    ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  // The servers' stdout (their decision lines) goes down a pipe to a `cat > /dev/null` of its own,
  // as to a log collector: not read by this process, whose event loop and GC would otherwise
  // carry every decision line and add that to the latencies it measures.
  const sink = spawn('sh', ['-c', 'exec cat > /dev/null'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const child = fork(self, ['--serve', variant, JSON.stringify(setup)], { stdio: ['ignore', sink.stdin, 'inherit', 'ipc'], execArgv });
  child.once('exit', () => sink.kill());
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${variant} server exited (${code})`)));
  });
}

function serverCpu(child, message) {
  child.send(message);
  if (message === 'start') return Promise.resolve(0);
  return new Promise((resolve) => child.once('message', (m) => resolve(m.cpuUs)));
}

function serverStalls(child, message) {
  child.send(message);
  if (message === 'stalls-start') return Promise.resolve(undefined);
  return new Promise((resolve) => child.once('message', (m) => resolve(m.stalls)));
}

function percentile(sorted, p) {
  // No answers at all (every Check failed): NaN, and the failures are printed with the stalls.
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A @grpc/grpc-js client: call(request) -> the decoded CheckResponse's status code. */
function grpcJsClient(ext, port) {
  const Client = grpc.makeGenericClientConstructor(ext.serviceDefinitions().authorization, 'Authorization');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: (req) => new Promise((res, rej) => client.Check(req.object, (e, r) => (e ? rej(e) : res(r.status?.code ?? 0)))),
    close: () => client.close(),
  };
}

/** The first varint of field `field` in the protobuf message bytes (undefined if absent). */
function varintField(buf, start, end, field) {
  let pos = start;
  const varint = () => {
    let v = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = buf[pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  };
  while (pos < end) {
    const tag = varint();
    const f = Math.floor(tag / 8);
    const w = tag % 8;
    if (w === 0) {
      const v = varint();
      if (f === field) return v;
    } else if (w === 2) {
      const len = varint();
      if (f === field) return { start: pos, end: pos + len };
      pos += len;
    } else if (w === 1) pos += 8;
    else if (w === 5) pos += 4;
    else throw new Error(`wire type ${w}`);
  }
  return undefined;
}

/** The lean client (bench/lib/raw-h2-client.mjs): the answer is the CheckResponse's status.code, read from its bytes. */
async function h2Client(port) {
  const client = await rawH2Client('127.0.0.1', port, '/envoy.service.auth.v3.Authorization/Check');
  return {
    call: async (req) => {
      const body = await client.call(req.framed);
      const status = varintField(body, 0, body.length, 1);
      return status ? (varintField(body, status.start, status.end, 1) ?? 0) : 0;
    },
    close: () => client.close(),
  };
}

/** The lean HTTP/1.1 client (bench/lib/raw-h1-client.mjs): the answer is the HTTP status. */
async function h1Client(port) {
  const client = await rawH1Client('127.0.0.1', port, { connections: httpConnections });
  return { call: (req) => client.call(req.http), close: () => client.close() };
}

/**
 * The HTTP check request Envoy's ext_authz filter (`http_service`) sends for a request with
 * these CheckRequest attributes: the original method, the path after `path_prefix`, the original
 * host, `content-length: 0`, the allowed headers (here every header the pipeline reads, and
 * x-forwarded-for carrying the client address, x-forwarded-proto the scheme), then the two headers
 * Envoy's router adds (as captured from Envoy 1.40). Pre-encoded as bytes.
 */
function envoyHttpCheckRequest(attributes) {
  const http = attributes.request.http;
  const lines = [`${http.method} ${HTTP_PATH_PREFIX}${http.path} HTTP/1.1`, `host: ${http.host}`, 'content-length: 0'];
  for (const [name, value] of Object.entries(http.headers)) if (!name.startsWith(':')) lines.push(`${name}: ${value}`);
  lines.push(`x-forwarded-for: ${attributes.source.address.socket_address.address}`, `x-forwarded-proto: ${http.scheme}`);
  lines.push('x-envoy-internal: true', 'x-envoy-expected-rq-timeout-ms: 500');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** The median over the rounds of `r`'s window cost over `floor`'s window of the same round. */
function pairedRatio(r, floor) {
  const q = r.byRound.map((us, k) => us / floor.byRound[k]).sort((x, y) => x - y);
  const mid = q.length >> 1;
  return q.length % 2 ? q[mid] : (q[mid - 1] + q[mid]) / 2;
}

/** A load generator bound to one server: warm-up, saturated windows (interleaved across servers), a paced run. */
async function loader(variant, port, requests, child) {
  const ext = await import('../ext-authz/dist/index.js');
  const client = variant.startsWith('http-') ? await h1Client(port) : clientKind === 'grpc-js' ? grpcJsClient(ext, port) : await h2Client(port);
  const call = client.call;
  let i = 0;
  const next = () => requests[i++ % requests.length];
  const latencies = [];
  const statuses = new Map();
  const windows = []; // { checks, cpuUs, seconds }
  return {
    /** JIT, connections, caches. */
    async warm(ms) {
      const end = performance.now() + ms;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) await call(next()).catch(() => {});
      }));
    },
    /** `concurrency` calls in flight for `ms`; the server's CPU time over the window. */
    async saturate(ms) {
      await serverCpu(child, 'start');
      const before = latencies.length;
      const t0 = performance.now();
      const deadline = t0 + ms;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const s = performance.now();
          // A failed call (e.g. a connection the server closed with it in flight) is counted, not fatal.
          const code = await call(next()).catch(() => 'failed');
          latencies.push(performance.now() - s);
          statuses.set(code, (statuses.get(code) ?? 0) + 1);
        }
      }));
      const seconds = (performance.now() - t0) / 1000;
      const cpuUs = await serverCpu(child, 'stop');
      windows.push({ checks: latencies.length - before, cpuUs, seconds });
    },
    /** Open loop: one Check due every 1/rate s, sent on a 1 ms tick, each timed from when it was sent. */
    async paced(ms) {
      // Preallocated: arrays grown by push are reallocated as large objects in the client's old
      // generation, and each reallocation brings the client's next mark-compact closer (a stall
      // that lands in the measured latency).
      const capacity = Math.ceil((ms / 1000) * rate * 1.2) + 1000;
      const samples = () => {
        const values = new Float64Array(capacity);
        let n = 0;
        return { push: (v) => { if (n < capacity) values[n++] = v; }, sorted: () => values.subarray(0, n).sort(), get length() { return n; } };
      };
      const paced = samples();
      const fromDue = samples();
      const late = samples();
      let failedChecks = 0;
      // Answers still due, counted rather than kept as promises: holding every Check's promise
      // to the end (100,000 in a 20 s run) grows the client's old generation, and the client's
      // mark-compacts land in the measured latency.
      let outstanding = 0;
      let drained;
      const settle = () => {
        if (--outstanding === 0) drained?.();
      };
      const interval = 1000 / rate;
      await serverStalls(child, 'stalls-start');
      const clientStalls = stallProbe();
      const cpuBefore = cpuTimes();
      const pacedEnd = performance.now() + ms;
      let due = performance.now();
      while (due < pacedEnd) {
        const now = performance.now();
        if (now < due) {
          // A tick, not a busy loop: on a shared 2-core machine spinning would take CPU from the server.
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        late.push(now - due);
        const sent = performance.now();
        const dueAt = due;
        outstanding++;
        call(next()).then(
          () => {
            const done = performance.now();
            paced.push(done - sent);
            fromDue.push(done - dueAt);
            settle();
          },
          () => {
            failedChecks++;
            settle();
          },
        );
        due += interval;
      }
      if (outstanding) await new Promise((r) => (drained = r));
      const pacedSteal = stealShare(cpuBefore, cpuTimes());
      const stalls = { server: await serverStalls(child, 'stalls-stop'), client: clientStalls.stop() };
      const pacedSorted = paced.sorted();
      const lateSorted = late.sorted();
      const fromDueSorted = fromDue.sorted();
      return { pacedFailed: failedChecks, pacedChecks: pacedSorted.length, pacedP50: percentile(pacedSorted, 50), pacedP99: percentile(pacedSorted, 99), pacedDueP99: percentile(fromDueSorted, 99), pacedMax: pacedSorted[pacedSorted.length - 1] ?? NaN, pacedPerSecond: pacedSorted.length / (ms / 1000), lateP99: percentile(lateSorted, 99), pacedSteal, stalls };
    },
    result() {
      const sorted = [...latencies].sort((x, y) => x - y);
      const checks = windows.reduce((n, w) => n + w.checks, 0);
      const secs = windows.reduce((n, w) => n + w.seconds, 0);
      // The median window: a burst of other work on the shared machine inflates one window, not the figure.
      const byRound = windows.map((w) => w.cpuUs / w.checks);
      const perWindow = [...byRound].sort((x, y) => x - y);
      return {
        byRound,
        perSecond: checks / secs, p50: percentile(sorted, 50), p99: percentile(sorted, 99), statuses,
        serverUsPerCheck: perWindow[Math.floor(perWindow.length / 2)], serverUsRange: [perWindow[0], perWindow[perWindow.length - 1]],
      };
    },
    close: () => client.close(),
  };
}

/** Every thread of process `pid` onto one CPU (taskset -a: V8's GC and compiler threads too). */
function pinTo(pid, cpu) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

async function main() {
  // BENCH_PIN=1: the client on CPU 0, every server on CPU 1, so neither's threads (GC, JIT)
  // preempt the other: the latency a server sees with a core of its own, as behind a real proxy.
  if (pin) pinTo(process.pid, 0);
  const dir = mkdtempSync(join(tmpdir(), 'meshward-bench-authz-'));
  const rego = join(dir, 'bench.rego');
  writeFileSync(rego, BENCH_REGO);
  const { jwk, attributes } = await benchRequests();
  const requests = attributes.map((a) => ({ attributes: a }));
  // A throwaway redis-server for the full+redis variant (nothing persisted).
  const { requireTool } = await import('../sdk/dist/tools/index.js');
  const { freePort } = await import('../sdk/dist/envoy/index.js');
  const redisPort = await freePort();
  const redis = spawn(requireTool('redis').path, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const setup = { jwk, rego, redisUrl: `redis://127.0.0.1:${redisPort}` };
  // Each request encoded once (proto-loader), and gRPC-framed for the h2 client: 0 (uncompressed), length (big-endian).
  const ext = await import('../ext-authz/dist/index.js');
  const serialize = ext.serviceDefinitions().authorization.Check.requestSerialize;
  const prepared = requests.map((object) => {
    const bytes = serialize(object);
    const framed = Buffer.alloc(5 + bytes.length);
    framed.writeUInt32BE(bytes.length, 1);
    bytes.copy(framed, 5);
    return { object, framed, http: envoyHttpCheckRequest(object.attributes) };
  });
  const rows = [];
  let saturatedSteal = Number.NaN;
  const variants = process.env.BENCH_VARIANTS?.split(',') ?? ['no-op', 'no-op-lean', 'empty', 'full', 'full+rego', 'full+redis', 'http-no-op', 'http-full', 'http-full+rego', ...(baseline ? ['full@before', 'full+rego@before', 'http-full@before'] : [])];
  const servers = [];
  try {
    // Every server starts first; the saturated windows then take turns (round-robin), so each
    // variant sees the same mix of other load on the machine.
    for (const variant of variants) {
      const { child, port } = await startServer(variant, setup);
      if (pin) pinTo(child.pid, 1);
      servers.push({ variant, child, load: await loader(variant, port, prepared, child) });
    }
    for (const s of servers) await s.load.warm(1000);
    const saturatedFrom = cpuTimes();
    for (let round = 0; round < rounds; round++) for (const s of servers) await s.load.saturate((seconds * 1000) / rounds);
    saturatedSteal = stealShare(saturatedFrom, cpuTimes());
    for (const s of servers) rows.push({ variant: s.variant, ...s.load.result(), ...(await s.load.paced(pacedSeconds * 1000)) });
  } finally {
    for (const s of servers) {
      s.load.close();
      // SIGINT lets a --cpu-prof child write its profile.
      s.child.kill(process.env.BENCH_CPU_PROF ? 'SIGINT' : 'SIGTERM');
    }
    redis.kill();
  }
  const floor = rows[0];
  // Floors of our own stack, when run: the lean codec on grpc-js, and on the lean transport.
  const leanFloors = ['no-op-lean', 'no-op-h2'].map((v) => rows.find((r) => r.variant === v)).filter((r) => r && r !== floor);
  const httpFloor = floor.variant === 'http-no-op' ? undefined : rows.find((r) => r.variant === 'http-no-op');
  const client = clientKind === 'grpc-js' ? 'a @grpc/grpc-js client' : 'a lean HTTP/2 client (pre-encoded requests, bench/lib/raw-h2-client.mjs)';
  const httpClient = `a lean HTTP/1.1 client on ${httpConnections} keep-alive connections (pre-encoded requests, bench/lib/raw-h1-client.mjs)`;
  console.log(`\next_authz Check over gRPC and, in the http-* rows, over Envoy's HTTP mode (server: one child process each${pin ? ', pinned to CPU 1' : ''}; client: ${client}, for http-* ${httpClient}${pin ? ', pinned to CPU 0' : ''}, ${concurrency} in flight; ${seconds} s per variant in ${rounds} interleaved windows, then ${pacedSeconds} s paced; our servers' decision lines ${process.env.BENCH_DECISION_LOG === 'drop' ? 'made but not written' : 'written to a pipe'}; Node ${process.version})\n`);
  console.log(`| server | Checks/s | p50 ms | p99 ms | Checks/s offered ${rate}/s | p50 ms at ${rate}/s | p99 ms at ${rate}/s | p99 ms at ${rate}/s from due | server CPU µs per Check (median window; range) | cost vs ${floor.variant} (server CPU) |${leanFloors.map((f) => ` cost vs ${f.variant} |`).join('')}${httpFloor ? ' cost vs http-no-op |' : ''} server core-capacity Checks/s | answers |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${leanFloors.map(() => ' ---: |').join('')}${httpFloor ? ' ---: |' : ''} ---: | --- |`);
  for (const r of rows) {
    const http = r.variant.startsWith('http-');
    const answers = [...r.statuses].map(([c, n]) => `${c === 'failed' ? 'failed' : http ? `HTTP ${c}` : c === 0 ? 'OK' : `code ${c}`}: ${n}`).join(', ');
    const vs = (f) => ` ${(r.serverUsPerCheck / f.serverUsPerCheck).toFixed(2)}x (paired ${pairedRatio(r, f).toFixed(2)}x) |`;
    console.log(
      `| ${r.variant} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Math.round(r.pacedPerSecond).toLocaleString('en-US')} | ${r.pacedP50.toFixed(2)} | ${r.pacedP99.toFixed(2)} | ${r.pacedDueP99.toFixed(2)} | ${r.serverUsPerCheck.toFixed(0)} (${r.serverUsRange.map((x) => x.toFixed(0)).join('-')}) |${vs(floor)}${leanFloors.map(vs).join('')}${httpFloor ? vs(httpFloor) : ''} ${Math.round(1e6 / r.serverUsPerCheck).toLocaleString('en-US')} | ${answers} |`,
    );
  }
  const os = await import('node:os');
  console.log(`\n"server core-capacity" = 1 / server CPU per Check: what one fully busy server core would answer. Checks/s and latency are what this client reached (1-minute load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores).`);
  console.log(`"cost vs": the median windows' ratio; "paired": the median over the rounds of the ratio between the two servers' windows of the same round (side by side, so a slow spell of the machine weighs on both).`);
  const percent = (x) => (Number.isNaN(x) ? 'unknown' : `${(100 * x).toFixed(0)}%`);
  console.log(`CPU steal (time this VM's vCPUs were ready but the hypervisor ran other guests; it shows as stalls of every server alike): ${percent(saturatedSteal)} of the machine's CPU time during the saturated windows; paced runs: ${rows.map((r) => `${r.variant} ${percent(r.pacedSteal)}`).join(', ')}.`);
  console.log(`"at ${rate}/s": the paced run (open loop), each Check timed from when it was sent ("from due": from when it was due, so the client's own lateness is in it); "Checks/s offered" is what was answered in it. Client send lateness p99 (ms): ${rows.map((r) => `${r.variant} ${r.lateP99.toFixed(1)}`).join(', ')}.`);
  console.log(`\nStalls during each paced run (what a slow Check waited on; the loop-delay probe samples every 1 ms):`);
  for (const r of rows) console.log(`- ${r.variant}: slowest Check ${r.pacedMax.toFixed(1)} ms;${r.pacedFailed ? ` ${r.pacedFailed} Checks failed (no answer);` : ''} server ${formatStalls(r.stalls.server, r.pacedChecks)}; client ${formatStalls(r.stalls.client)}`);
  for (const name of ['full', 'full+rego', 'http-full', 'http-full+rego']) {
    const r = rows.find((x) => x.variant === name);
    if (!r) continue;
    const ratio = (f) => {
      const median = r.serverUsPerCheck / f.serverUsPerCheck;
      const pairs = pairedRatio(r, f);
      return `${median.toFixed(2)}x ${f.variant} (paired ${pairs.toFixed(2)}x) ${median <= 2 && pairs <= 2 ? 'met' : 'NOT met'}`;
    };
    console.log(
      `goals (${name}): >= 5,000 Checks/s: ${Math.round(r.perSecond) >= 5000 ? 'met' : 'NOT met'} (${Math.round(r.perSecond)} saturated, core capacity ${Math.round(1e6 / r.serverUsPerCheck)}); ` +
        `p99 < 5 ms at ${rate}/s: ${r.pacedP99 < 5 && r.pacedPerSecond >= 0.95 * rate ? 'met' : 'NOT met'} (${r.pacedP99.toFixed(2)} ms, ${Math.round(r.pacedPerSecond)}/s answered; saturated with ${concurrency} in flight: ${r.p99.toFixed(1)} ms); ` +
        `within 2x of the floor's cost: ${[...new Set([floor, ...leanFloors, name.startsWith('http-') ? rows.find((x) => x.variant === 'http-no-op') : undefined])].filter(Boolean).map(ratio).join(', ')}`,
    );
  }
}
