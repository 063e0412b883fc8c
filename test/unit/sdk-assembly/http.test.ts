// @meshward/sdk/assembly http.ts: http_call with a handler object, unary gRPC calls (and the
// ABI 0.2.x gRPC metadata callbacks), clear_route_cache; through the sdk-probe filter in the
// Node host.
import { describe, expect, it } from 'vitest';
import type { GrpcCallResult, HttpCallOutcome } from '../../../sdk/src/host/index.js';
import { loadProbe, probe, probeHeaders, probeWasm, until } from './probe.js';

describe('httpCall', () => {
  it('sends the request and answers from the handler with the response', async () => {
    const h = await loadProbe();
    h.httpCallResponder = (call) => ({ status: 201, headers: { 'x-y': 'z' }, body: `called ${call.method} ${call.path}` });
    const res = await probe(h, 'http-call', ['authz', '/check?u=1', '500', '', 'x-y']);
    expect(res.status).toBe(200);
    expect(res.headers['x-probe-op']).toBe('http-call');
    expect(res.headers['x-call-status']).toBe('201');
    expect(res.headers['x-call-header']).toBe('z');
    expect(res.body).toBe('called GET /check?u=1');
    expect(res.upstreamRequest).toBeUndefined();
    expect(res.logs.map((l) => l.message)).toContain('sdk-probe: http-call answered 201');

    expect(h.httpCalls).toHaveLength(1);
    const sent = h.httpCalls[0]!.request;
    expect(sent.cluster).toBe('authz');
    expect(sent.authority).toBe('authz'); // defaults to the cluster name
    expect(sent.timeoutMs).toBe(500);
    expect(sent.headers).toContainEqual(['x-probe-call', '1']);
    expect(sent.headers.slice(0, 3)).toEqual([[':method', 'GET'], [':path', '/check?u=1'], [':authority', 'authz']]);
  });

  it('sends a body with POST; header lookups in the response are case-insensitive', async () => {
    const h = await loadProbe();
    h.httpCallResponder = (call) => ({ status: 200, headers: { 'X-Seen-Body': call.body }, body: 'ok' });
    const res = await probe(h, 'http-call', ['svc', '/submit', '', 'POST', 'X-SEEN-BODY']);
    expect(res.headers['x-call-header']).toBe('probe-body');
    expect(h.httpCalls[0]!.request.method).toBe('POST');
    expect(h.httpCalls[0]!.request.body).toBe('probe-body');
  });

  it('reports a missing response header as null and reads an empty body', async () => {
    const h = await loadProbe();
    h.httpCallResponder = () => ({ status: 204 });
    const res = await probe(h, 'http-call', ['svc', '/', '', '', 'x-none']);
    expect(res.headers['x-call-status']).toBe('204');
    expect(res.headers['x-call-header']).toBe('null');
    expect(res.body).toBe('');
  });

  it('returns the host refusal for an unknown cluster (nothing is sent)', async () => {
    const h = await loadProbe({ clusters: ['authz'] });
    const res = await probe(h, 'http-call', ['other', '/']);
    expect(res.status).toBe(500);
    expect(res.body).toBe('dispatch=BadArgument');
    expect(h.httpCalls).toHaveLength(0);
  });

  it('tells the handler when the call failed (reset)', async () => {
    const h = await loadProbe();
    h.httpCallResponder = () => 'reset';
    const res = await probe(h, 'http-call', ['svc', '/']);
    expect(res.status).toBe(502);
    expect(res.body).toBe('failed: reset');
  });

  it('gets Envoy\'s 504 when the call times out', async () => {
    const h = await loadProbe();
    h.httpCallResponder = () => new Promise<HttpCallOutcome>(() => undefined); // never answers
    const pending = probe(h, 'http-call', ['slow', '/', '250']);
    await until(() => h.httpCalls.length === 1);
    h.advanceTime(249);
    await new Promise<void>((r) => setImmediate(r));
    h.advanceTime(2);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers['x-call-status']).toBe('504');
    expect(res.body).toBe('upstream request timeout');
  });

  it('routes each response to the handler of its own call', async () => {
    const h = await loadProbe();
    const release: Array<() => void> = [];
    h.httpCallResponder = (call) =>
      new Promise<HttpCallOutcome>((resolve) => {
        release.push(() => resolve({ status: 200, body: `for ${call.path}` }));
      });
    const first = probe(h, 'http-call', ['svc', '/first']);
    const second = probe(h, 'http-call', ['svc', '/second']);
    await until(() => release.length === 2);
    release[1]!(); // answer the second call first
    release[0]!();
    expect((await first).body).toBe('for /first');
    expect((await second).body).toBe('for /second');
  });
});

describe('httpCall when the calling stream is gone', () => {
  it('drops the response quietly and keeps the VM healthy', async () => {
    const h = await loadProbe();
    let answer: ((o: HttpCallOutcome) => void) | undefined;
    h.httpCallResponder = () => new Promise<HttpCallOutcome>((resolve) => (answer = resolve));
    const stream = h.stream();
    stream.sendRequestHeaders(h.requestHeaders({ headers: probeHeaders('http-call', ['svc', '/late']) }), true);
    await until(() => answer !== undefined);
    stream.reset();
    answer!({ status: 200, body: 'too late' });
    await h.settle();
    expect(h.failed).toBe(false);
    expect(h.logs.filter((l) => l.level === 'error' || l.level === 'critical')).toEqual([]);
    expect(h.logs.map((l) => l.message)).not.toContain('sdk-probe: http-call answered 200'); // the handler did not run
    const next = await probe(h, 'prop', ['request.path'], { path: '/after' });
    expect(next.body).toBe('/after');
  });
});

describe('grpcCall', () => {
  it('delivers the response message to the handler', async () => {
    const h = await loadProbe();
    h.grpcCallResponder = (call) => ({ status: 0, message: `pong:${Buffer.from(call.message).toString()}` });
    const res = await probe(h, 'grpc-call', ['grpc-backend', 'test.Echo', 'Ping', 'hello']);
    expect(res.status).toBe(200);
    expect(res.body).toBe('message=pong:hello');
    const sent = h.grpcCalls[0]!.request;
    expect(sent.service).toBe('grpc-backend');
    expect(sent.serviceName).toBe('test.Echo');
    expect(sent.method).toBe('Ping');
    expect(sent.initialMetadata).toContainEqual(['x-probe-call', '1']);
    expect(sent.timeoutMs).toBe(1000);
  });

  it('delivers a failure status and message to onClose', async () => {
    const h = await loadProbe();
    h.grpcCallResponder = () => ({ status: 7, statusMessage: 'denied by policy' });
    const res = await probe(h, 'grpc-call', ['grpc-backend', 'test.Echo', 'Ping', 'x']);
    expect(res.body).toBe('closed=7;message=denied by policy');
  });

  it('returns the host refusal for an unknown cluster', async () => {
    const h = await loadProbe({ clusters: ['grpc-backend'] });
    const res = await probe(h, 'grpc-call', ['nowhere', 'test.Echo', 'Ping', 'x']);
    expect(res.status).toBe(500);
    expect(res.body).toBe('dispatch=ParseFailure');
  });

  it('delivers initial and trailing metadata (proxy_on_grpc_receive_trailing_metadata is exported)', async () => {
    const h = await loadProbe();
    let answer: ((r: GrpcCallResult) => void) | undefined;
    h.grpcCallResponder = () => new Promise<GrpcCallResult>((resolve) => (answer = resolve));
    const pending = probe(h, 'grpc-call', ['grpc-backend', 'test.Echo', 'Ping', 'x']);
    await until(() => answer !== undefined);
    const token = h.grpcCalls[0]!.request.token;
    h.grpcStreamEvent(0, token, { initialMetadata: [['x-init', '1']] });
    h.grpcStreamEvent(0, token, { trailingMetadata: [['grpc-status', '0'], ['x-trail', '2']] });
    answer!({ status: 0, message: 'done' });
    expect((await pending).body).toBe('message=done;initial=x-init:1;trailing=grpc-status:0,x-trail:2');
  });

  it('exports the ABI 0.2.x callback name next to proxy-runtime\'s misnamed one', () => {
    const names = WebAssembly.Module.exports(new WebAssembly.Module(probeWasm)).map((e) => e.name);
    expect(names).toContain('proxy_on_grpc_receive_trailing_metadata');
    expect(names).toContain('proxy_on_grpc_receive_initial_metadata');
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(probeWasm)).map((i) => i.name);
    expect(imports).not.toContain('proxy_clear_route_cache'); // 0.1.0-only: Envoy would refuse a 0.2.x module
  });
});

describe('clearRouteCache', () => {
  it('calls Envoy\'s clear_route_cache foreign function', async () => {
    const h = await loadProbe();
    const res = await probe(h, 'clear-route-cache');
    expect(res.body).toBe('Ok');
  });

  it('passes on the foreign function\'s own failure', async () => {
    const h = await loadProbe({ foreignFunctions: { clear_route_cache: () => ({ result: 10 }) } });
    expect((await probe(h, 'clear-route-cache')).body).toBe('InternalFailure');
  });
});
