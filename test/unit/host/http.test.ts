import { afterEach, describe, expect, it } from 'vitest';
import { HeaderMap, loadFilter, type HttpCallRequest, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { fixture } from './wat.js';

const hosts: ProxyWasmHost[] = [];
async function load(name: string, options: Parameters<typeof loadFilter>[1] = {}): Promise<ProxyWasmHost> {
  const f = await loadFilter(await fixture(name), options);
  hosts.push(f);
  return f;
}
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

describe('http() and the echo upstream', () => {
  it('sends the request through the filter to the echo upstream and back', async () => {
    const f = await load('headers.wat');
    const res = await f.http({ method: 'post', path: '/things?x=1', headers: { 'x-a': '1', 'x-remove': 'gone' }, body: 'hi' });
    expect(res.status).toBe(200);
    const echoed = res.json<{ method: string; path: string; headers: Record<string, string>; body: string }>();
    expect(echoed.method).toBe('POST');
    expect(echoed.path).toBe('/things?x=1');
    expect(echoed.body).toBe('hi');
    expect(echoed.headers).toEqual(res.upstreamRequest?.headers);
    expect(echoed.headers['host']).toBe('localhost');
    expect(echoed.headers['x-envoy-expected-rq-timeout-ms']).toBe('15000');
    expect(echoed.headers['content-length']).toBe('2');
  });

  it('joins repeated headers like the Node echo upstream', async () => {
    const f = await load('headers.wat');
    const res = await f.http({ headers: [['x-multi', 'a'], ['x-multi', 'b'], ['cookie', 'c=1'], ['cookie', 'd=2']] });
    expect(res.upstreamRequest?.headers['x-multi']).toBe('a, b');
    expect(res.upstreamRequest?.headers['cookie']).toBe('c=1; d=2');
  });

  it('lets x-echo-status pick the upstream status', async () => {
    const f = await load('headers.wat');
    expect((await f.http({ headers: { 'x-echo-status': '418' } })).status).toBe(418);
  });

  it('uses a scripted upstream when given one', async () => {
    const f = await load('headers.wat');
    const res = await f.http({
      upstream: (req) => ({ status: 201, headers: { 'x-up': req.path }, body: ['part1,', 'part2'] }),
      path: '/u',
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-up']).toBe('/u');
    expect(res.body).toBe('part1,part2');
  });
});

describe('header manipulation', () => {
  it('applies add / replace / remove to the request and reads values, sizes and pairs', async () => {
    const f = await load('headers.wat');
    const res = await f.http({ path: '/p', headers: { 'x-a': '1', 'x-remove': 'gone' } });
    const up = res.upstreamRequest!.headerMap;
    expect(up.get('x-added')).toBe('yes');
    expect(up.get('x-a')).toBe('2');
    expect(up.has('x-remove')).toBe(false);
    expect(up.get('x-path')).toBe('/p');
    expect(up.get('x-missing-result')).toBe('1'); // NOT_FOUND
    // What the filter saw: :authority, :path, :method, :scheme, x-a, x-remove, x-forwarded-proto, x-request-id.
    expect(up.get('x-count')).toBe('8');
    // The byte size (Envoy's byteSize: key + value lengths) was taken after x-count was added.
    const seen = new HeaderMap(
      up.pairs().filter(([k]) => !['x-added', 'x-path', 'x-missing-result', 'x-size', 'x-envoy-expected-rq-timeout-ms'].includes(k)),
    );
    seen.set('x-a', '1');
    seen.add('x-remove', 'gone');
    expect(up.get('x-size')).toBe(String(seen.byteSize));
  });

  it('modifies response headers; request headers are no longer accessible then (BAD_ARGUMENT, as in Envoy)', async () => {
    const f = await load('headers.wat');
    const res = await f.http({ upstream: () => ({ status: 202, headers: { 'x-resp': 'old' } }) });
    expect(res.headers['x-resp']).toBe('1');
    expect(res.headers['x-status-seen']).toBe('202');
    expect(res.headers['x-req-in-resp']).toBe('2');
  });

  it('replaces a whole map with proxy_set_header_map_pairs', async () => {
    const f = await load('headers.wat');
    const res = await f.http({ upstream: () => ({ status: 200, headers: { 'x-replace-all': '1', 'x-other': 'o' }, body: '' }) });
    expect(res.status).toBe(201);
    expect(res.headerList).toEqual([
      [':status', '201'],
      ['x-only', '1'],
    ]);
  });
});

describe('local replies', () => {
  it('answers locally without calling the upstream; the reply goes through the response callbacks', async () => {
    const f = await load('local-reply.wat');
    let upstreamCalls = 0;
    const res = await f.http({
      headers: { 'x-deny': '1' },
      upstream: () => {
        upstreamCalls++;
        return { status: 200 };
      },
    });
    expect(upstreamCalls).toBe(0);
    expect(res.upstreamRequest).toBeUndefined();
    expect(res.status).toBe(403);
    expect(res.body).toBe('go away');
    expect(res.headers).toEqual({
      'x-reason': 'test',
      'content-length': '7',
      'content-type': 'text/plain',
      'x-seen-response': '1',
    });
    expect(res.localReply).toMatchObject({ status: 403, body: 'go away', details: 'denied_by_wasm', source: 'filter' });
    expect(res.localReply?.grpcStatus).toBeUndefined();
    expect(res.responseDetails).toBe('denied_by_wasm');
  });

  it('turns a local reply into a gRPC trailers-only response for gRPC requests', async () => {
    const f = await load('local-reply.wat');
    const res = await f.http({ method: 'POST', headers: { 'x-deny': '1', 'content-type': 'application/grpc' }, body: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers['grpc-status']).toBe('7');
    expect(res.headers['grpc-message']).toBe('go away');
    expect(Object.keys(res.headers).slice(0, 4)).toEqual(['x-reason', 'content-type', 'grpc-status', 'grpc-message']);
    expect(res.body).toBe('');
  });

  it('replaces an upstream response directly when sent from the response path (no second response callback)', async () => {
    const f = await load('local-reply.wat');
    const res = await f.http({ upstream: () => ({ status: 200, headers: { 'x-deny-response': '1' }, body: 'upstream body' }) });
    expect(res.status).toBe(418);
    expect(res.body).toBe('teapot');
    expect(res.headers).toEqual({ 'content-length': '6', 'content-type': 'text/plain' });
    expect(res.upstreamRequest).toBeDefined();
  });

  it('lets other requests through', async () => {
    const f = await load('local-reply.wat');
    const res = await f.http();
    expect(res.status).toBe(200);
    expect(res.headers['x-seen-response']).toBe('1');
    expect(res.localReply).toBeUndefined();
  });
});

describe('bodies', () => {
  it('buffers chunks with StopIterationAndBuffer: each call sees the whole body so far', async () => {
    const f = await load('body.wat');
    const res = await f.http({ method: 'POST', body: ['hello ', 'world'] });
    // HTTP/1 codec: 'hello ' (eos=false), 'world' (eos=false), '' (eos=true).
    expect(f.metrics.get('body_calls')).toBe(3);
    expect(f.metrics.get('last_body_size')).toBe(11);
    expect(res.upstreamRequest?.body).toBe('[hello world]');
    // The filter did not fix content-length: Envoy would forward the mismatch (upstream sees a bad request).
    expect(res.warnings).toEqual([
      expect.stringContaining('request to the upstream: content-length says 11 but the body has 13 bytes'),
    ]);
  });

  it('marks the last chunk end_of_stream when http1Codec is off', async () => {
    const f = await load('body.wat', { http1Codec: false });
    const res = await f.http({ method: 'POST', body: ['a', 'b'] });
    expect(f.metrics.get('body_calls')).toBe(2);
    expect(res.upstreamRequest?.body).toBe('[ab]');
  });

  it('answers 413 (through the filter\'s response callbacks) when buffering goes over the buffer limit', async () => {
    const f = await load('body.wat', { bufferLimitBytes: 16 });
    const res = await f.http({ method: 'POST', body: 'x'.repeat(20) });
    expect(res.status).toBe(413);
    expect(res.localReply).toMatchObject({ source: 'buffer_limit', details: 'request_payload_too_large', body: 'Payload Too Large' });
    // Envoy 1.40 does the same: the filter's response callbacks rewrite the 413 body too.
    expect(res.body).toBe('replaced-body');
    expect(res.upstreamRequest).toBeUndefined();
  });

  it('replaces a whole response body with proxy_set_buffer_bytes', async () => {
    const f = await load('body.wat');
    const res = await f.http({ upstream: () => ({ status: 200, body: ['long ', 'upstream ', 'body'] }) });
    expect(res.body).toBe('replaced-body');
    expect(res.headers['content-length']).toBeUndefined();
  });
});

describe('pause, continue and http_call', () => {
  const ok = (call: HttpCallRequest) => ({ status: 200, body: `pong:${call.body}` });

  it('pauses the request for an http_call and continues it from the response callback', async () => {
    const calls: HttpCallRequest[] = [];
    const f = await load('http-call.wat', {
      httpCallResponder: async (call) => {
        calls.push(call);
        await new Promise((r) => setTimeout(r, 5));
        return ok(call);
      },
    });
    const res = await f.http({ method: 'POST', path: '/resource', body: 'payload' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ cluster: 'auth', method: 'GET', path: '/check', authority: 'auth', body: 'ping', timeoutMs: 5000 });
    // As Envoy's async client sends it.
    expect(calls[0]?.headers).toEqual([
      [':method', 'GET'],
      [':path', '/check'],
      [':authority', 'auth'],
      ['content-length', '4'],
      ['x-envoy-internal', 'true'],
      ['x-envoy-expected-rq-timeout-ms', '5000'],
    ]);
    expect(res.status).toBe(200);
    expect(res.upstreamRequest?.headers['x-auth']).toBe('ok');
    expect(res.upstreamRequest?.headers['x-auth-body']).toBe('pong:ping');
    // The body that arrived while the request was paused still reaches the upstream.
    expect(res.upstreamRequest?.body).toBe('payload');
    expect(f.httpCalls[0]?.outcome).toEqual({ status: 200, body: 'pong:ping' });
  });

  it('sends the local reply the filter chooses after a denied call', async () => {
    const f = await load('http-call.wat', { httpCallResponder: () => ({ status: 401 }) });
    const res = await f.http();
    expect(res.status).toBe(403);
    expect(res.body).toBe('denied');
    expect(res.upstreamRequest).toBeUndefined();
  });

  it('reports a reset call as a call without headers', async () => {
    const f = await load('http-call.wat', { httpCallResponder: () => 'reset' });
    const res = await f.http();
    expect(res.status).toBe(500);
    expect(res.body).toBe('auth call failed');
  });

  it('answers a timed-out call with Envoy 504 "upstream request timeout"', async () => {
    const f = await load('http-call.wat', { httpCallResponder: () => 'timeout' });
    const res = await f.http();
    expect(res.status).toBe(403);
    expect(f.httpCalls[0]?.outcome).toBe('timeout');
  });

  it('times a call out on the host clock when the upstream never answers', async () => {
    const f = await load('http-call.wat', { httpCallResponder: () => new Promise(() => {}) });
    const pending = f.http();
    await new Promise((r) => setTimeout(r, 10));
    f.advanceTime(4999);
    await new Promise((r) => setTimeout(r, 10));
    f.advanceTime(1);
    const res = await pending;
    expect(res.status).toBe(403); // the filter denies anything but 200
  });

  it('rejects calls to unknown clusters with BAD_ARGUMENT when clusters are listed', async () => {
    const f = await load('http-call.wat', { clusters: ['other'] });
    const res = await f.http();
    expect(res.upstreamRequest?.headers['x-call-result']).toBe('2');
  });

  it('can be driven step by step with a stream', async () => {
    let release: (() => void) | undefined;
    const f = await load('http-call.wat', {
      httpCallResponder: () =>
        new Promise((resolve) => {
          release = () => resolve({ status: 200, body: 'b' });
        }),
    });
    const s = f.stream();
    s.sendRequestHeaders({ ':method': 'POST', ':path': '/', ':authority': 'h', ':scheme': 'http' });
    expect(s.requestPaused).toBe('headers');
    s.sendRequestBody('abc', false);
    s.sendRequestBody('def', true);
    expect(s.upstreamRequest.headers).toBeNull();
    await new Promise((r) => setTimeout(r, 1));
    release?.();
    await f.settle();
    expect(s.requestPaused).toBe(false);
    expect(s.upstreamRequest.headers?.get('x-auth')).toBe('ok');
    expect(s.upstreamRequest.body).toBe('abcdef');
    expect(s.upstreamRequest.end).toBe(true);
    s.sendResponseHeaders({ ':status': '204' }, true);
    expect(s.completed).toBe(true);
    expect(s.downstreamResponse.headers?.get(':status')).toBe('204');
  });
});
