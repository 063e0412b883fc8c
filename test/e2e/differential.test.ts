// Fidelity of the Node host, shown against real Envoy: each scenario runs the same filter, config
// and request in both and compares what a user observes (status, headers downstream and
// upstream, bodies, local replies, log lines, metric values). Filters come from three sources:
// our SDK (AssemblyScript) and hand-written WAT (no SDK at all).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifferentialRun, fixtureWasm, type DiffRequest, type Expectations, type Setup } from '../support/differential.js';
import { fixture } from '../unit/host/wat.js';

interface Case {
  name: string;
  request: DiffRequest;
  expect?: Expectations;
  /** Runs before the request (e.g. to set what a side service answers). */
  before?: () => void;
  /** A property of the observation that must hold too, so a case cannot pass vacuously. */
  check?: (o: import('../support/differential.js').Observation) => void;
}

function scenarioGroup(title: string, setup: () => Promise<Setup>, cases: Case[]): void {
  describe(title, () => {
    let run: DifferentialRun;
    beforeAll(async () => {
      run = new DifferentialRun(await setup());
      await run.start();
      if (run.envoyStartError) throw run.envoyStartError;
      if (run.hostStartError) throw run.hostStartError;
    });
    afterAll(async () => {
      await run?.stop();
    });
    it('loads with the same filter log lines', () => {
      expect(run.hostStartupLogs()).toEqual(run.envoyStartupLogs());
    });
    for (const c of cases) {
      it(c.name, async () => {
        c.before?.();
        const { envoy, host } = await run.both(c.request, c.expect);
        expect(host).toEqual(envoy);
        c.check?.(envoy);
      });
    }
  });
}

function rejectionGroup(title: string, setup: () => Promise<Setup>, message: string): void {
  it(title, async () => {
    const run = new DifferentialRun(await setup());
    try {
      await run.start();
      expect(run.envoyStartError, 'Envoy refuses the config').toBeDefined();
      expect(run.hostStartError, 'the host refuses the config').toBeDefined();
      expect(run.envoyStartupLogs()).toContain(message);
      expect(run.hostStartupLogs()).toEqual(run.envoyStartupLogs());
    } finally {
      await run.stop();
    }
  });
}

let authStatus = 200;
const echoHeaders = ['x-added', 'x-a', 'x-remove', 'x-auth', 'x-auth-body', 'x-client'];

describe('differential: Node host vs real Envoy', () => {
  // --- A filter written with our SDK (AssemblyScript) ---
  scenarioGroup(
    'add-header (SDK, AssemblyScript)',
    async () => ({ name: 'add-header', wasm: fixtureWasm('add-header'), config: { response_headers: { 'x-meshward': 'on', 'content-type': 'text/x-replaced' } } }),
    [
      { name: 'GET: headers set on the response, request unchanged upstream', request: { path: '/a', headers: { 'x-client': 'c1' } }, expect: { responseHeaders: ['x-meshward', 'content-type'], upstreamHeaders: ['x-client'] }, check: (o) => expect(o.headers['x-meshward']).toBe('on') },
      { name: 'POST with a body: body reaches the upstream intact', request: { method: 'POST', path: '/b', body: 'hello body' }, expect: { responseHeaders: ['x-meshward'] }, check: (o) => expect(o.body).toMatchObject({ echo: { body: 'hello body' } }) },
      { name: 'upstream 404: headers still set', request: { path: '/c', headers: { 'x-echo-status': '404' } }, expect: { responseHeaders: ['x-meshward'] }, check: (o) => expect(o.status).toBe(404) },
      { name: 'query string and method preserved', request: { method: 'DELETE', path: '/d?x=1&y=two' }, expect: { responseHeaders: ['x-meshward', 'content-type'] } },
    ],
  );
  rejectionGroup('add-header: a config with a bad field is refused by both, with the same message', async () => ({ name: 'add-header', wasm: fixtureWasm('add-header'), config: { response_headers: { 'x-a': 5 } } }), 'error: add-header: invalid plugin configuration: response_headers.x-a: expected string, got number');
  rejectionGroup('add-header: an empty config is refused by both', async () => ({ name: 'add-header', wasm: fixtureWasm('add-header'), config: '' }), 'error: add-header: invalid plugin configuration: configuration is empty; expected a JSON object');

  scenarioGroup('trap-on-request (SDK): fail closed after a trap', async () => ({ name: 'trap-on-request', wasm: fixtureWasm('trap-on-request'), config: '{}' }), [
    { name: 'a normal request passes', request: { path: '/fine' }, check: (o) => expect(o.status).toBe(200) },
    { name: 'a trapping request gets 503 with an empty body and the abort message is logged', request: { path: '/trap/x' }, expect: { logs: true }, check: (o) => { expect(o.status).toBe(503); expect(o.logs).toContain('critical: abort: trap-on-request: deliberate trap for /trap/x at test/fixtures/filters/trap-on-request/filter.ts:17:7'); } },
    { name: 'after the trap the VM is failed: later requests get 503 too', request: { path: '/fine' }, check: (o) => expect(o.status).toBe(503) },
  ]);

  // --- Hand-written WAT filters: no SDK at all ---
  scenarioGroup('headers.wat (hand-written WAT)', async () => ({ name: 'headers', wasm: await fixture('headers.wat') }), [
    { name: 'request headers added, replaced and removed before the upstream', request: { path: '/h', headers: { 'x-a': '1', 'x-remove': 'gone' } }, expect: { upstreamHeaders: echoHeaders, responseHeaders: ['x-resp', 'x-status-seen'] }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-added': 'yes', 'x-a': '2', 'x-remove': null } } }) },
    { name: 'response headers replaced wholesale when the upstream asks', request: { path: '/h2', headers: { 'x-echo-status': '202' } }, expect: { responseHeaders: ['x-resp', 'x-status-seen', 'x-only'] } },
  ]);
  scenarioGroup('local-reply.wat (hand-written WAT)', async () => ({ name: 'local-reply', wasm: await fixture('local-reply.wat') }), [
    { name: 'x-deny: local 403 with body and headers, upstream not called', request: { path: '/deny', headers: { 'x-deny': '1' } }, expect: { responseHeaders: ['x-reason', 'x-seen-response', 'content-type'] }, check: (o) => { expect(o.status).toBe(403); expect(o.body).toEqual({ raw: 'go away' }); } },
    { name: 'no x-deny: passes, response marked', request: { path: '/ok' }, expect: { responseHeaders: ['x-reason', 'x-seen-response'] }, check: (o) => expect(o.status).toBe(200) },
    { name: 'upstream answers x-deny-response: replaced by a local 418 from the response path', request: { path: '/up', headers: { 'x-echo-response-header': 'x-deny-response: 1' } }, expect: { responseHeaders: ['x-seen-response', 'x-deny-response'] }, check: (o) => { expect(o.status).toBe(418); expect(o.body).toEqual({ raw: 'teapot' }); } },
  ]);
  scenarioGroup('config.wat (hand-written WAT): VM and plugin configuration', async () => ({ name: 'config', wasm: await fixture('config.wat'), vmConfig: 'vm-settings-1', config: 'plugin-settings-1' }), [
    { name: 'requests pass once configured', request: { path: '/configured' }, check: (o) => expect(o.status).toBe(200) },
  ]);
  rejectionGroup('config.wat: a plugin configuration starting with "bad" is refused by both', async () => ({ name: 'config', wasm: await fixture('config.wat'), config: 'bad-settings' }), 'error: bad-settings');
  scenarioGroup('trap.wat (hand-written WAT)', async () => ({ name: 'trap', wasm: await fixture('trap.wat') }), [
    { name: 'a normal request passes with x-ok', request: { path: '/t' }, expect: { upstreamHeaders: ['x-ok'] }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-ok': '1' } } }) },
    { name: 'x-crash: the filter logs and traps; 503', request: { path: '/t', headers: { 'x-crash': '1' } }, expect: { logs: true }, check: (o) => expect(o.status).toBe(503) },
    { name: 'the failed VM answers 503 to the next request', request: { path: '/t' }, check: (o) => expect(o.status).toBe(503) },
  ]);
  scenarioGroup('metrics.wat (hand-written WAT)', async () => ({ name: 'metrics', wasm: await fixture('metrics.wat') }), [
    { name: 'first request: counter 1', request: { path: '/m1' }, expect: { responseHeaders: ['x-count', 'x-zero-increment'], metrics: ['requests_total'] }, check: (o) => expect(o.metrics['requests_total']).toBe(1) },
    { name: 'second request: counter 2', request: { path: '/m2' }, expect: { responseHeaders: ['x-count'], metrics: ['requests_total'] }, check: (o) => expect(o.metrics['requests_total']).toBe(2) },
  ]);
  scenarioGroup('shared-data.wat (hand-written WAT)', async () => ({ name: 'shared-data', wasm: await fixture('shared-data.wat') }), [
    { name: 'incr from nothing', request: { path: '/s', headers: { 'x-op': 'incr' } }, expect: { upstreamHeaders: ['x-hits'] }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-hits': '1' } } }) },
    { name: 'incr again', request: { path: '/s', headers: { 'x-op': 'incr' } }, expect: { upstreamHeaders: ['x-hits'] } },
    { name: 'get remembers the CAS', request: { path: '/s', headers: { 'x-op': 'get' } }, expect: { upstreamHeaders: ['x-hits'] } },
    { name: 'another write makes that CAS stale', request: { path: '/s', headers: { 'x-op': 'incr' } }, expect: { upstreamHeaders: ['x-hits'] }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-hits': '3' } } }) },
    { name: 'set with the stale CAS: CAS_MISMATCH (8)', request: { path: '/s', headers: { 'x-op': 'set-saved' } }, expect: { upstreamHeaders: ['x-set-result'] }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-set-result': '8' } } }) },
  ]);
  scenarioGroup('body.wat (hand-written WAT)', async () => ({ name: 'body', wasm: await fixture('body.wat') }), [
    { name: 'response body replaced whole', request: { path: '/b' }, expect: { responseHeaders: [] }, check: (o) => expect(o.body).toEqual({ raw: 'replaced-body' }) },
  ]);
  scenarioGroup(
    'http-call.wat (hand-written WAT): pause, http_call, continue',
    async () => ({
      name: 'http-call',
      wasm: await fixture('http-call.wat'),
      // The call carries nothing of the caller's request, so each case sets the auth answer.
      sideServices: [{ cluster: 'auth', handler: (req) => (authStatus === 200 ? { status: 200, body: `auth saw ${req.method} ${req.path} ${req.body}` } : { status: authStatus, body: 'no' }) }],
    }),
    [
      { name: 'auth service says 200: request continues with x-auth headers', before: () => (authStatus = 200), request: { path: '/protected' }, expect: { upstreamHeaders: echoHeaders }, check: (o) => expect(o.body).toMatchObject({ echo: { headers: { 'x-auth': 'ok', 'x-auth-body': 'auth saw GET /check ping' } } }) },
      { name: 'auth service says 401: local 403 "denied", upstream not reached', before: () => (authStatus = 401), request: { path: '/protected-2' }, expect: { upstreamHeaders: echoHeaders }, check: (o) => { expect(o.status).toBe(403); expect(o.body).toEqual({ raw: 'denied' }); } },
    ],
  );

  // --- The SDK's helpers, one probe filter, both hosts ---
  const probe = (op: string, ...args: string[]): DiffRequest => ({
    path: '/probe',
    headers: Object.fromEntries([['x-probe', op], ...args.map((a, i) => [`x-arg-${i + 1}`, a])]),
  });
  const probeOut: Expectations = { responseHeaders: ['x-probe-op'] };
  scenarioGroup('sdk-probe (SDK helpers)', async () => ({ name: 'sdk-probe', wasm: fixtureWasm('sdk-probe'), config: '{"log_level":"info"}' }), [
    { name: 'base64url decode (strict)', request: probe('b64url-decode', 'aGVsbG8'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: '68656c6c6f' }) },
    { name: 'base64 decode refuses non-canonical trailing bits', request: probe('b64-decode', 'aGVsbG9='), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'null' }) },
    { name: 'glob match, case-insensitive', request: probe('match', 'glob', '/API/*/users', '/api/v1/users', 'i'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'true' }) },
    { name: 'CIDR contains an IPv4-mapped IPv6 client', request: probe('cidr-contains', '10.0.0.0/8', '::ffff:10.1.2.3'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'true' }) },
    { name: 'property request.path', request: probe('prop', 'request.path'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: '/probe' }) },
    { name: 'property request.method', request: probe('prop', 'request.method'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'GET' }) },
    { name: 'a missing property is null, never a trap', request: probe('property', 'no.such.property', 'string'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'null' }) },
    { name: 'filter state set and read back', request: probe('filter-state-set', 'meshward_user', 'alice'), expect: probeOut },
    { name: 'shared data CAS: second write with a stale CAS is refused', request: probe('shared-cas', 'diff-key', 'one', 'two'), expect: probeOut, check: (o) => expect(o.body).toEqual({ raw: 'first=Ok;second=CasMismatch;value=one' }) },
    { name: 'counter metric increments and reads back', request: probe('metric', 'counter', 'probe_hits', 'inc', '3'), expect: { ...probeOut, metrics: ['probe_hits'] } },
    { name: 'a log line below log_level is dropped', request: probe('log', 'debug', 'quiet please'), expect: { ...probeOut, logs: true }, check: (o) => expect(o.body).toEqual({ raw: 'disabled' }) },
    { name: 'a log line at warn is written', request: probe('log', 'warn', 'heads up'), expect: { ...probeOut, logs: true }, check: (o) => expect(o.logs).toContain('warn: heads up') },
    { name: 'local response with headers and details', request: probe('local-response', '429', 'slow down', 'retry-after=7;x-why=quota', 'probe_quota'), expect: { responseHeaders: ['retry-after', 'x-why'] }, check: (o) => { expect(o.status).toBe(429); expect(o.body).toEqual({ raw: 'slow down' }); } },
    { name: 'request body replaced before the upstream', request: { ...probe('request-body-edit', 'replace', 'new body'), method: 'POST', body: 'old body' }, check: (o) => expect(o.body).toMatchObject({ echo: { body: 'new body' } }) },
    { name: 'response body replaced on the way back', request: { ...probe('response-body-edit', 'replace', 'rewritten'), path: '/probe-resp' }, check: (o) => expect(o.body).toEqual({ raw: 'rewritten' }) },
  ]);
});
