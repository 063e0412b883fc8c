import { afterEach, describe, expect, it } from 'vitest';
import { SharedData, loadFilter, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
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

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const readU32 = (b: Uint8Array | undefined): number | undefined =>
  b ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true) : undefined;

describe('shared data', () => {
  it('is shared by the VMs of all workers, with compare-and-swap', async () => {
    const f = await load('shared-data.wat', { workers: 2 });
    const op = async (worker: number, o: string) => (await f.http({ worker, headers: { 'x-op': o } })).upstreamRequest!.headers;

    expect((await op(0, 'incr'))['x-hits']).toBe('1');
    expect((await op(1, 'incr'))['x-hits']).toBe('2');
    expect((await op(0, 'get'))['x-hits']).toBe('2'); // worker 0 remembers this CAS
    expect((await op(1, 'incr'))['x-hits']).toBe('3'); // ... which this write makes stale
    expect((await op(0, 'set-saved'))['x-set-result']).toBe('8'); // CAS_MISMATCH
    expect(readU32(f.sharedData.get('hits')?.value)).toBe(3);

    expect((await op(1, 'get'))['x-hits']).toBe('3');
    expect((await op(1, 'set-saved'))['x-set-result']).toBe('0');
    expect(readU32(f.sharedData.get('hits')?.value)).toBe(999);
  });

  it('can be read and written by the test, and shared between hosts', async () => {
    const shared = new SharedData();
    const a = await load('shared-data.wat', { sharedData: shared });
    const b = await load('shared-data.wat', { sharedData: shared });
    shared.set('hits', u32(41));
    expect((await a.http({ headers: { 'x-op': 'incr' } })).upstreamRequest?.headers['x-hits']).toBe('42');
    expect((await b.http({ headers: { 'x-op': 'incr' } })).upstreamRequest?.headers['x-hits']).toBe('43');
    const { cas } = shared.get('hits')!;
    expect(shared.set('hits', u32(0), cas + 1)).toBe(8);
    expect(shared.set('hits', u32(0), cas)).toBe(0);
  });
});

describe('timers', () => {
  it('fires proxy_on_tick on every VM as the clock advances', async () => {
    const f = await load('tick-queue.wat', { workers: 2 });
    expect(f.metrics.get('ticks')).toBe(0);
    f.advanceTime(99);
    expect(f.metrics.get('ticks')).toBe(0);
    f.advanceTime(1);
    expect(f.metrics.get('ticks')).toBe(2);
    f.advanceTime(250);
    expect(f.metrics.get('ticks')).toBe(6);
    expect(f.logs.filter((l) => l.message === 'tick').map((l) => l.worker)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('moves the time the filter sees', async () => {
    const f = await load('wasi.wat', { clock: { start: new Date('2030-01-01T00:00:00Z') } });
    await f.http();
    const t0 = f.sharedData.get('now')!.value;
    f.advanceTime(1500);
    await f.http();
    const t1 = f.sharedData.get('now')!.value;
    const ns = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    expect(ns(t0)).toBe(BigInt(Date.parse('2030-01-01T00:00:00Z')) * 1_000_000n);
    expect(ns(t1) - ns(t0)).toBe(1_500_000_000n);
  });
});

describe('shared queues', () => {
  it('delivers proxy_on_queue_ready to the VM that registered the queue last', async () => {
    const f = await load('tick-queue.wat', { workers: 2 });
    f.enqueue('jobs', 'first');
    f.enqueue('jobs', 'second');
    await f.settle();
    const jobs = f.logs.filter((l) => l.message.startsWith('job: '));
    expect(jobs.map((l) => l.message)).toEqual(['job: first', 'job: second']);
    expect(jobs.every((l) => l.worker === 1)).toBe(true);
  });
});

describe('metrics', () => {
  it('keeps counters, gauges and histograms by name, shared across workers', async () => {
    const f = await load('metrics.wat', { workers: 2 });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await f.http();
      seen.push(res.upstreamRequest!.headers['x-count']!);
      expect(res.upstreamRequest!.headers['x-zero-increment']).toBe('2'); // BAD_ARGUMENT
    }
    expect(seen).toEqual(['1', '2', '3']);
    expect(f.metrics.get('requests_total')).toBe(3);
    expect(f.metrics.counter('wasmcustom.requests_total')).toBe(3);
    expect(f.metrics.gauge('active_requests')).toBe(0);
    expect(f.metrics.histogram('request_size')).toEqual([42, 42, 42]);
    expect(f.metrics.snapshot(true).counters).toEqual({ 'wasmcustom.requests_total': 3 });
  });
});
