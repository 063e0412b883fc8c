// Where the paced run's GC pauses come from: how many bytes per Check a server promotes to V8's
// old generation (objects that survived two scavenges) while it answers a paced open-loop load,
// side by side for
//   node:http2   a bare node:http2 server answering each POST like a gRPC unary call (HEADERS,
//                one DATA, trailers): no grpc-js, no proto decoding
//   no-op        the bare grpc-js Authorization server of authz-check.mjs (default options)
// each under two clients: the lean raw HTTP/2 client of authz-check.mjs and a node:http2 client,
// so neither the bench's client nor grpc-js can hide the answer; and a node:http (HTTP/1.1
// keep-alive) server under a node:http client, the transport of Envoy's HTTP ext_authz mode. Promotion is what fills the old
// generation between mark-compacts, and every mark-compact is a pause of 10-100 ms that a paced
// Check waits on. The server measures its own old-generation growth over the middle half of the
// run (the positive steps of its size, sampled every 5 ms) and counts the mark-compacts in it. Pinning as in authz-check: BENCH_PIN=1.
// BENCH_RATE (default 5000), BENCH_PACED_SECONDS (default 3), BENCH_SERVER_FLAGS as there.
// It also splits that growth with v8.GCProfiler (old-generation size before and after each GC):
// what the server allocated straight into old space between GCs (node:http2 hands every header
// value to JavaScript as an external string and every header name as an internalized string,
// both of which V8 allocates in old space) and what scavenges promoted; and it lists the
// mark-compacts' pauses. BENCH_CONCURRENCY=<n> replaces the paced run with a closed loop of n
// calls in flight for BENCH_CHECKS calls (default 20000; middle half measured): on a busy
// machine a paced server falls behind and what is in flight at each scavenge (and so promoted)
// grows with the backlog, while the closed loop measures the same thing at any load.
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, createServer as h1server, request as h1request } from 'node:http';
import { connect as h2connect, constants as h2c, createServer as h2server } from 'node:http2';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import * as grpc from '@grpc/grpc-js';
import { rawH2Client } from './lib/raw-h2-client.mjs';

const rate = Number(process.env.BENCH_RATE ?? 5000);
const seconds = Number(process.env.BENCH_PACED_SECONDS ?? 3);
const pin = process.env.BENCH_PIN === '1';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 0);
const closedLoopChecks = Number(process.env.BENCH_CHECKS ?? 20000);
const self = fileURLToPath(import.meta.url);
const PATH = '/envoy.service.auth.v3.Authorization/Check';

/** Bytes in V8's old generation (old, large-object and code spaces). */
function oldGeneration() {
  return getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('new')).reduce((n, s) => n + s.space_used_size, 0);
}

/** The same from a GCProfiler record's heapSpaceStatistics. */
function oldGenerationOf(spaces) {
  return spaces.filter((s) => !s.spaceName.startsWith('new')).reduce((n, s) => n + s.spaceUsedSize, 0);
}

/**
 * From the GCs between mark and read: bytes scavenges moved into old space, bytes the program
 * allocated straight into old space between GCs, and each mark-compact's pause (ms).
 */
function splitOldGrowth(records) {
  let promoted = 0;
  let direct = 0;
  const pauses = [];
  let previousAfter;
  for (const r of records) {
    const before = oldGenerationOf(r.beforeGC.heapSpaceStatistics);
    const after = oldGenerationOf(r.afterGC.heapSpaceStatistics);
    if (previousAfter !== undefined && before > previousAfter) direct += before - previousAfter;
    if (r.gcType === 'Scavenge' && after > before) promoted += after - before;
    if (r.gcType === 'MarkSweepCompact') pauses.push(r.cost / 1000);
    previousAfter = after;
  }
  return { promoted, direct, pauses };
}

async function serve(kind) {
  let port;
  if (kind === 'node:http') {
    // The same answer over HTTP/1.1 keep-alive: the transport floor of the HTTP ext_authz mode.
    const server = h1server({ keepAliveTimeout: 60_000 }, (req, res) => {
      req.on('data', () => {});
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/grpc' });
        res.end(Buffer.from([0, 0, 0, 0, 4, 10, 2, 8, 0]));
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else if (kind === 'node:http2') {
    // An OK CheckResponse, gRPC-framed: status {code: 0}.
    const answer = Buffer.from([0, 0, 0, 0, 4, 10, 2, 8, 0]);
    const server = h2server();
    server.on('stream', (stream) => {
      stream.on('data', () => {});
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(answer);
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else {
    const ext = await import('../ext-authz/dist/index.js');
    const server = new grpc.Server();
    server.addService(ext.serviceDefinitions().authorization, { Check: (_call, cb) => cb(null, { status: { code: 0 }, ok_response: {} }) });
    port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  }
  let majors = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  }).observe({ entryTypes: ['gc'] });
  // Promotion = what the old generation gains between mark-compacts: the positive steps of its
  // size, sampled every 5 ms (a mark-compact's drop is not subtracted).
  let last = oldGeneration();
  let filled = 0;
  setInterval(() => {
    const now = oldGeneration();
    if (now > last) filled += now - last;
    last = now;
  }, 5);
  let from;
  let profiler;
  process.on('message', (m) => {
    if (m === 'mark') {
      from = { filled, majors };
      profiler = new GCProfiler();
      profiler.start();
    }
    if (m === 'read') process.send({ grew: filled - from.filled, majors: majors - from.majors, ...splitOldGrowth(profiler.stop().statistics) });
  });
  process.send({ port });
}

function request(child, message) {
  child.send(message);
  return new Promise((r) => child.once('message', r));
}

/** node:http2 client with the same unary call shape as the raw client. */
function nodeH2Client(port) {
  const session = h2connect(`http://127.0.0.1:${port}`);
  return {
    call: (framed) => new Promise((resolve, reject) => {
      const s = session.request({ [h2c.HTTP2_HEADER_METHOD]: 'POST', [h2c.HTTP2_HEADER_PATH]: PATH, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks = [];
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.end(framed);
    }),
    close: () => session.close(),
  };
}

/** node:http client on keep-alive sockets (as Envoy's HTTP/1.1 pool to an ext_authz http_service). */
function nodeH1Client(port) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    call: (framed) => new Promise((resolve, reject) => {
      const r = h1request({ host: '127.0.0.1', port, method: 'POST', path: PATH, agent }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      r.on('error', reject);
      r.end(framed);
    }),
    close: () => agent.destroy(),
  };
}

async function measure(kind, clientKind, framed) {
  const child = fork(self, ['--serve', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [] });
  const { port } = await new Promise((r) => child.once('message', r));
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(child.pid)], { stdio: 'ignore' });
  const client = clientKind === 'raw' ? await rawH2Client('127.0.0.1', port, PATH) : clientKind === 'node:http' ? nodeH1Client(port) : nodeH2Client(port);
  // Warm-up (JIT, connection), then the paced run, each Check timed from when it was sent.
  for (let i = 0; i < 2000; i++) await client.call(framed);
  if (concurrency > 0) return closedLoop(child, client, kind, clientKind, framed);
  const latencies = [];
  const inflight = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let due = start;
  let sent = 0;
  let marked = 0;
  let window = 0;
  let reading;
  while (due < end) {
    const now = performance.now();
    if (now < due) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    // The middle half of the run: after warm-up effects, before the drain.
    if (marked === 0 && now > start + (end - start) / 4) {
      marked = 1;
      window = sent;
      child.send('mark');
    } else if (marked === 1 && now > start + ((end - start) * 3) / 4) {
      marked = 2;
      window = sent - window;
      reading = request(child, 'read');
    }
    const t = performance.now();
    inflight.push(client.call(framed).then(() => latencies.push(performance.now() - t)));
    sent++;
    due += 1000 / rate;
  }
  await Promise.all(inflight);
  const read = await reading;
  client.close();
  child.kill();
  return summary(kind, clientKind, latencies, read, window);
}

function summary(kind, clientKind, latencies, read, window) {
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return {
    kind, clientKind, p50: pct(50), p99: pct(99), perCheck: read.grew / window, majors: read.majors,
    directPerCheck: read.direct / window, promotedPerCheck: read.promoted / window, pauses: read.pauses,
  };
}

/** BENCH_CONCURRENCY: `concurrency` calls always in flight; the middle half of the calls measured. */
async function closedLoop(child, client, kind, clientKind, framed) {
  const latencies = [];
  let next = 0;
  let reading;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < closedLoopChecks) {
      const i = next++;
      if (i === Math.floor(closedLoopChecks / 4)) child.send('mark');
      if (i === Math.floor((closedLoopChecks * 3) / 4)) reading = request(child, 'read');
      const t = performance.now();
      await client.call(framed);
      latencies.push(performance.now() - t);
    }
  }));
  const read = await reading;
  client.close();
  child.kill();
  return summary(kind, clientKind, latencies, read, closedLoopChecks / 2);
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3]);
} else {
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const ext = await import('../ext-authz/dist/index.js');
  const bytes = ext.serviceDefinitions().authorization.Check.requestSerialize({
    attributes: { request: { http: { method: 'GET', path: '/api/orders/7', host: 'api.example.com', headers: { ':path': '/api/orders/7', 'user-agent': 'bench' } } } },
  });
  const framed = Buffer.alloc(5 + bytes.length);
  framed.writeUInt32BE(bytes.length, 1);
  bytes.copy(framed, 5);
  const rows = [];
  for (const kind of ['node:http2', 'no-op']) for (const clientKind of ['raw', 'node:http2']) rows.push(await measure(kind, clientKind, framed));
  rows.push(await measure('node:http', 'node:http', framed));
  const os = await import('node:os');
  const load = concurrency > 0 ? `${concurrency} calls in flight, closed loop, ${closedLoopChecks} calls` : `${rate} Checks/s paced (${seconds} s)`;
  console.log(`\nOld-generation growth per Check while a server answers ${load} (middle half measured; Node ${process.version}; load average ${os.loadavg()[0].toFixed(1)}${pin ? '; client CPU 0, server CPU 1' : ''})\n`);
  console.log('| server | client | p50 ms | p99 ms | old-generation bytes per Check | of which allocated straight into old space | promoted by scavenges | mark-compacts in the window (pause ms) |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const fmtBytes = (n) => Math.round(n).toLocaleString('en-US');
  for (const r of rows) {
    const pauses = r.pauses.length ? ` (${r.pauses.map((p) => p.toFixed(0)).join(', ')})` : '';
    console.log(`| ${r.kind} | ${r.clientKind === 'raw' ? 'lean raw HTTP/2' : r.clientKind} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${fmtBytes(r.perCheck)} | ${fmtBytes(r.directPerCheck)} | ${fmtBytes(r.promotedPerCheck)} | ${r.majors}${pauses} |`);
  }
}
