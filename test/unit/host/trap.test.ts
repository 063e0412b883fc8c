import { afterEach, describe, expect, it } from 'vitest';
import { loadFilter, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { fixture } from './wat.js';

const hosts: ProxyWasmHost[] = [];
async function load(options: Parameters<typeof loadFilter>[1] = {}): Promise<ProxyWasmHost> {
  const f = await loadFilter(await fixture('trap.wat'), options);
  hosts.push(f);
  return f;
}
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

const crash = { headers: { 'x-crash': '1' } };

describe('a trapping filter', () => {
  it('is reported with Envoy\'s message, its backtrace and what it logged; the request fails closed with 503', async () => {
    const f = await load();
    let upstreamCalled = false;
    const res = await f.http({
      ...crash,
      upstream: () => {
        upstreamCalled = true;
        return {};
      },
    });
    expect(upstreamCalled).toBe(false);
    expect(res.status).toBe(503);
    expect(res.body).toBe('');
    expect(res.localReply).toMatchObject({ status: 503, details: 'wasm_fail_stream', source: 'fail_stream', grpcStatus: 14 });
    expect(res.trap?.function).toBe('proxy_on_request_headers');
    expect(res.trap?.reason).toBe('unreachable');
    expect(res.trap?.message).toMatch(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable\nProxy-Wasm plugin in-VM backtrace:\n {2}0: {2}0x[0-9a-f]+ - crash\n/);
    expect(res.trap?.abortMessage).toBe('boom: about to crash');
    expect(res.trap?.logs.map((l) => [l.level, l.message])).toContainEqual(['critical', 'boom: about to crash']);
    expect(f.logs.some((l) => l.level === 'error' && l.source === 'host' && l.message.startsWith('Function: proxy_on_request_headers failed'))).toBe(true);
  });

  it('leaves the host usable: later requests on the failed VM get the 503, restart() brings it back', async () => {
    const f = await load();
    await f.http(crash);
    expect(f.failed).toBe(true);
    const next = await f.http();
    expect(next.status).toBe(503);
    expect(next.localReply?.details).toBe('wasm_fail_stream');
    expect(next.trap).toBeUndefined();
    f.restart();
    expect(f.failed).toBe(false);
    const ok = await f.http();
    expect(ok.status).toBe(200);
    expect(ok.upstreamRequest?.headers['x-ok']).toBe('1');
  });

  it('only fails its own worker', async () => {
    const f = await load({ workers: 2 });
    expect((await f.http({ ...crash, worker: 0 })).status).toBe(503);
    expect((await f.http({ worker: 1 })).status).toBe(200);
    expect((await f.http({ worker: 0 })).status).toBe(503);
  });

  it('is bypassed with failurePolicy fail_open', async () => {
    const f = await load({ failurePolicy: 'fail_open' });
    const res = await f.http(crash);
    expect(res.status).toBe(200);
    expect(res.trap).toBeDefined();
    const next = await f.http();
    expect(next.status).toBe(200);
    expect(next.upstreamRequest?.headers['x-ok']).toBeUndefined();
  });

  it('gets a fresh VM for the next request with failurePolicy fail_reload', async () => {
    const f = await load({ failurePolicy: 'fail_reload' });
    expect((await f.http(crash)).status).toBe(503);
    const next = await f.http();
    expect(next.status).toBe(200);
    expect(next.upstreamRequest?.headers['x-ok']).toBe('1');
  });
});
