import { describe, expect, it } from 'vitest';
import { HeaderMap, ManualClock, Metrics, SharedQueues, deserializePairs, serializePairs } from '../../../sdk/src/host/index.js';
import { MutableBuffer } from '../../../sdk/src/host/context.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('pair serialization', () => {
  it('matches the format in the Proxy-Wasm spec', () => {
    const bytes = serializePairs([
      ['a', '1'],
      ['b', '22'],
    ]);
    expect(Array.from(bytes)).toEqual([2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0]);
    expect(deserializePairs(bytes)).toEqual([
      ['a', '1'],
      ['b', '22'],
    ]);
  });

  it('reads malformed data as an empty map, like Envoy', () => {
    const bytes = serializePairs([['k', 'v']]);
    expect(deserializePairs(bytes.subarray(0, bytes.length - 1))).toEqual([]);
    expect(deserializePairs(new Uint8Array([5, 0, 0, 0]))).toEqual([]);
    expect(deserializePairs(new Uint8Array(0))).toEqual([]);
  });
});

describe('HeaderMap', () => {
  it('lower-cases names, keeps pseudo-headers first, and replaces by remove + add', () => {
    const m = new HeaderMap({ 'X-A': '1', 'x-b': ['2', '3'] });
    m.add(':path', '/');
    expect(m.pairs()).toEqual([
      [':path', '/'],
      ['x-a', '1'],
      ['x-b', '2'],
      ['x-b', '3'],
    ]);
    m.set('x-a', 'new');
    expect(m.pairs().at(-1)).toEqual(['x-a', 'new']);
    m.set('X-B', 'one');
    expect(m.getAll('x-b')).toEqual(['one']);
    expect(m.byteSize).toBe(':path'.length + 1 + 'x-b'.length + 3 + 'x-a'.length + 3);
  });
});

describe('body buffer writes (proxy_set_buffer_bytes)', () => {
  const buf = (s: string) => new MutableBuffer(Buffer.from(s));
  it('prepends at 0/0, replaces at 0/size, appends past the end, rejects the middle', () => {
    const b = buf('body');
    expect(b.write(0, 0, Buffer.from('<'))).toBe(0);
    expect(text(b.bytes())).toBe('<body');
    expect(b.write(0xffffffff, 0, Buffer.from('>'))).toBe(0);
    expect(text(b.bytes())).toBe('<body>');
    expect(b.write(0, 3, Buffer.from('['))).toBe(0);
    expect(text(b.bytes())).toBe('[dy>');
    expect(b.write(0, b.size(), Buffer.from('new'))).toBe(0);
    expect(text(b.bytes())).toBe('new');
    expect(b.write(1, 1, Buffer.from('x'))).toBe(2);
  });
});

describe('ManualClock', () => {
  it('fires timers in order at their own time', () => {
    const c = new ManualClock({ start: 0 });
    const fired: string[] = [];
    c.setTimer(20, () => fired.push(`b@${c.now() / 1_000_000n}`));
    c.setTimer(10, () => {
      fired.push(`a@${c.now() / 1_000_000n}`);
      c.setTimer(5, () => fired.push(`c@${c.now() / 1_000_000n}`));
    });
    const cancel = c.setTimer(12, () => fired.push('never'));
    cancel();
    c.advance(30);
    expect(fired).toEqual(['a@10', 'c@15', 'b@20']);
    expect(c.now()).toBe(30_000_000n);
  });
});

describe('SharedQueues and Metrics', () => {
  it('queues are per VM id and name; the last registrant is notified', () => {
    const q = new SharedQueues();
    const seen: string[] = [];
    const t = q.register('vm', 'jobs', () => seen.push('first'));
    expect(q.register('vm', 'jobs', () => seen.push('second'))).toBe(t);
    expect(q.resolve('vm', 'jobs')).toBe(t);
    expect(q.resolve('other', 'jobs')).toBe(0);
    expect(q.enqueue(t, 'x')).toBe(0);
    expect(seen).toEqual(['second']);
    expect(text(q.dequeue(t).value!)).toBe('x');
    expect(q.dequeue(t).result).toBe(7);
    expect(q.enqueue(999, 'x')).toBe(1);
  });

  it('metrics are found with or without the wasmcustom. prefix', () => {
    const m = new Metrics();
    m.define('counter', 'hits').value = 3n;
    m.define('histogram', 'lat').samples.push(5n);
    expect(m.get('wasmcustom.hits')).toBe(3);
    expect(m.get('lat')).toBe(1);
    expect(m.histogram('lat')).toEqual([5]);
    expect(m.get('nope')).toBeUndefined();
  });
});
