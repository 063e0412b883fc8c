// @meshward/sdk/assembly shared.ts (shared data with CAS, shared queues, tick timer) and
// metrics.ts (counters, gauges, histograms), through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError } from '../../../sdk/src/host/index.js';
import { loadProbe, probeBody } from './probe.js';

describe('shared data', () => {
  it('sets and gets values; a missing key is null', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'shared-get', ['k'])).toBe('null');
    expect(await probeBody(h, 'shared-set', ['k', 'v1'])).toBe('Ok');
    expect(await probeBody(h, 'shared-get', ['k'])).toBe('value=v1');
    expect(h.sharedData.getString('k')).toBe('v1');
    expect(await probeBody(h, 'shared-set', ['k', 'v2'])).toBe('Ok');
    expect(await probeBody(h, 'shared-get', ['k'])).toBe('value=v2');
  });

  it('reads what others stored', async () => {
    const h = await loadProbe();
    h.sharedData.set('from-host', 'hello');
    expect(await probeBody(h, 'shared-get', ['from-host'])).toBe('value=hello');
  });

  it('writes with a matching CAS and refuses a stale one', async () => {
    const h = await loadProbe();
    await probeBody(h, 'shared-set', ['k', 'first']);
    const stale = h.sharedData.get('k')!.cas;
    await probeBody(h, 'shared-set', ['k', 'second']);
    const current = h.sharedData.get('k')!.cas;
    expect(current).not.toBe(stale);
    expect(await probeBody(h, 'shared-set', ['k', 'lost', String(stale)])).toBe('CasMismatch');
    expect(h.sharedData.getString('k')).toBe('second');
    expect(await probeBody(h, 'shared-set', ['k', 'won', String(current)])).toBe('Ok');
    expect(h.sharedData.getString('k')).toBe('won');
    // CAS 0 always writes.
    expect(await probeBody(h, 'shared-set', ['k', 'forced', '0'])).toBe('Ok');
    expect(h.sharedData.getString('k')).toBe('forced');
  });

  it('read-modify-write: the CAS from getSharedData works once, then is stale', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'shared-cas', ['counter', 'a', 'b'])).toBe('first=Ok;second=CasMismatch;value=a');
    expect(await probeBody(h, 'shared-cas', ['counter', 'c', 'd'])).toBe('first=Ok;second=CasMismatch;value=c');
  });

  it('is shared by every worker (VM) of the plugin', async () => {
    const h = await loadProbe({ workers: 2 });
    expect(await probeBody(h, 'shared-set', ['k', 'from-0'], { worker: 0 })).toBe('Ok');
    expect(await probeBody(h, 'shared-get', ['k'], { worker: 1 })).toBe('value=from-0');
  });
});

describe('shared queues', () => {
  it('enqueues and dequeues in order, then reports Empty', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'queue-enqueue', ['item1'])).toBe('Ok');
    expect(await probeBody(h, 'queue-enqueue', ['item2'])).toBe('Ok');
    expect(await probeBody(h, 'queue-dequeue')).toBe('item=item1');
    expect(await probeBody(h, 'queue-dequeue')).toBe('item=item2');
    expect(await probeBody(h, 'queue-dequeue')).toBe('Empty');
  });

  it('resolves a registered queue by name and not an unknown one', async () => {
    const h = await loadProbe({ config: { queue: 'jobs' } });
    expect(await probeBody(h, 'queue-resolve', ['jobs'])).toBe('found');
    expect(await probeBody(h, 'queue-resolve', ['sdk-probe'])).toBe('not-found');
    expect(await probeBody(h, 'queue-enqueue', ['x', 'nope'])).toBe('no-queue');
    expect(await probeBody(h, 'queue-enqueue', ['via-name', 'jobs'])).toBe('Ok');
    expect(await probeBody(h, 'queue-dequeue', ['jobs'])).toBe('item=via-name');
  });

  it('resolves queues under the plugin vm_id', async () => {
    const h = await loadProbe({ vmId: 'vm-a' });
    expect(await probeBody(h, 'queue-resolve', ['sdk-probe'])).toBe('found');
  });

  it('sees items enqueued by others and calls onQueueReady for each', async () => {
    const h = await loadProbe();
    h.enqueue('sdk-probe', 'external');
    await h.settle();
    expect(h.metrics.counter('sdk_probe.queue_ready')).toBe(1);
    expect(await probeBody(h, 'queue-dequeue')).toBe('item=external');
    await probeBody(h, 'queue-enqueue', ['own']);
    await h.settle();
    expect(h.metrics.counter('sdk_probe.queue_ready')).toBe(2);
  });
});

describe('tick period', () => {
  it('calls onTick every tick_ms', async () => {
    const h = await loadProbe({ config: { tick_ms: 100 } });
    expect(h.metrics.counter('sdk_probe.ticks')).toBeUndefined();
    h.advanceTime(350);
    expect(h.metrics.counter('sdk_probe.ticks')).toBe(3);
    h.advanceTime(100);
    expect(h.metrics.counter('sdk_probe.ticks')).toBe(4);
  });

  it('does not tick when no period is set', async () => {
    const h = await loadProbe();
    h.advanceTime(10_000);
    expect(h.metrics.counter('sdk_probe.ticks')).toBeUndefined();
  });

  it('the probe rejects a bad configuration, naming the field', async () => {
    await expect(loadProbe({ config: { tick_ms: -1 } })).rejects.toBeInstanceOf(ConfigRejectedError);
    await expect(loadProbe({ config: { tick_ms: 'x' } })).rejects.toThrow(/tick_ms: expected integer, got string/);
  });
});

describe('metrics', () => {
  it('counter: increments accumulate and read back; zero or negative deltas are refused', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'metric', ['counter', 'probe.requests', 'inc', '3'])).toBe('result=Ok;value=3');
    expect(await probeBody(h, 'metric', ['counter', 'probe.requests', 'inc', '2'])).toBe('result=Ok;value=5');
    expect(await probeBody(h, 'metric', ['counter', 'probe.requests', 'inc', '0'])).toBe('result=BadArgument;value=5');
    expect(await probeBody(h, 'metric', ['counter', 'probe.requests', 'inc', '-1'])).toBe('result=BadArgument;value=5');
    expect(h.metrics.counter('probe.requests')).toBe(5);
    expect(h.metrics.has('wasmcustom.probe.requests')).toBe(true);
  });

  it('gauge: add (also negative) and set', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'metric', ['gauge', 'probe.inflight', 'add', '5'])).toBe('result=Ok;value=5');
    expect(await probeBody(h, 'metric', ['gauge', 'probe.inflight', 'add', '-7'])).toBe('result=Ok;value=-2');
    expect(await probeBody(h, 'metric', ['gauge', 'probe.inflight', 'set', '42'])).toBe('result=Ok;value=42');
    expect(h.metrics.gauge('probe.inflight')).toBe(42);
  });

  it('histogram: records samples', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'metric', ['histogram', 'probe.latency_ms', 'record', '10'])).toBe('result=Ok');
    expect(await probeBody(h, 'metric', ['histogram', 'probe.latency_ms', 'record', '250'])).toBe('result=Ok');
    expect(h.metrics.histogram('probe.latency_ms')).toEqual([10, 250]);
  });

  it('metrics with the same name are one metric across workers; kinds are separate', async () => {
    const h = await loadProbe({ workers: 2 });
    expect(await probeBody(h, 'metric', ['counter', 'shared.c', 'inc', '1'], { worker: 0 })).toBe('result=Ok;value=1');
    expect(await probeBody(h, 'metric', ['counter', 'shared.c', 'inc', '1'], { worker: 1 })).toBe('result=Ok;value=2');
    expect(await probeBody(h, 'metric', ['gauge', 'shared.c', 'set', '9'], { worker: 1 })).toBe('result=Ok;value=9');
    expect(h.metrics.counter('shared.c')).toBe(2);
    expect(h.metrics.gauge('shared.c')).toBe(9);
  });

  it('reports an unknown kind', async () => {
    const h = await loadProbe();
    expect(await probeBody(h, 'metric', ['meter', 'x', 'inc', '1'])).toBe('bad-kind');
  });
});
