// Risk history: the in-memory store, the RESP client, and the Redis store against a real
// redis-server: two stores (two replicas) share windows, locations and devices; when Redis goes
// away each keeps deciding from its local history, and reconnects when Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommand, MemoryState, parseReply, RedisState, RespClient, RespError } from '../../../ext-authz/src/index.js';
import { startRedis, type RedisServer } from '../../support/redis.js';

const T0 = 1_770_000_000_000;
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.stop();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MemoryState', () => {
  it('sliding windows count events inside the window only, and report the oldest', async () => {
    const s = new MemoryState();
    await s.hit('k', 10_000, T0);
    await s.hit('k', 10_000, T0 + 4_000);
    expect(await s.hit('k', 10_000, T0 + 9_000)).toEqual({ count: 3, oldestMs: T0 });
    expect(await s.count('k', 10_000, T0 + 10_500)).toEqual({ count: 2, oldestMs: T0 + 4_000 });
    expect(await s.count('k', 10_000, T0 + 30_000)).toEqual({ count: 0 });
    await s.close();
  });

  it('keeps a window in time order when the clock steps back, across expiry and growth', async () => {
    const s = new MemoryState();
    await s.hit('k', 10_000, T0 + 5_000);
    await s.hit('k', 10_000, T0 + 3_000);
    await s.hit('k', 10_000, T0 + 6_000);
    // The event stored late but dated earliest is the first to expire.
    expect(await s.count('k', 10_000, T0 + 13_500)).toEqual({ count: 2, oldestMs: T0 + 5_000 });
    // One hit per ms in a 100 ms window: the window wraps its storage many times over.
    for (let t = 0; t < 1_000; t++) await s.hit('w', 100, T0 + t);
    expect(await s.count('w', 100, T0 + 999)).toEqual({ count: 100, oldestMs: T0 + 900 });
    // Growing while events expire out of the middle of the stored range keeps them in order.
    for (let t = 0; t < 300; t++) await s.hit('g', 1_000, T0 + t * 7);
    expect(await s.count('g', 1_000, T0 + 299 * 7)).toEqual({ count: 143, oldestMs: T0 + 157 * 7 });
    await s.close();
  });

  it('keeps at most 10,000 events per window, the most recent', async () => {
    const s = new MemoryState();
    for (let i = 0; i < 10_050; i++) await s.hit('busy', 3_600_000, T0 + i);
    expect(await s.count('busy', 3_600_000, T0 + 10_050)).toEqual({ count: 10_000, oldestMs: T0 + 50 });
    await s.close();
  });

  it('values and sets expire; the number of keys is bounded', async () => {
    const s = new MemoryState(3);
    await s.set('a', '1', 1000, T0);
    expect(await s.get('a', T0 + 999)).toBe('1');
    expect(await s.get('a', T0 + 1000)).toBeUndefined();
    await s.addMember('d', 'x', 1000, T0);
    await s.addMember('d', 'y', 1000, T0 + 500);
    expect(await s.isMember('d', 'x', T0 + 1400)).toEqual({ known: true, size: 2 });
    expect(await s.isMember('d', 'x', T0 + 1500)).toEqual({ known: false, size: 0 });
    for (const k of ['k1', 'k2', 'k3', 'k4']) await s.set(k, k, 10_000, T0);
    expect(s.size).toBe(3);
    expect(await s.get('k1', T0)).toBeUndefined();
    expect(await s.get('k4', T0)).toBe('k4');
    await s.close();
  });

  it('evicts the least recently written key, counting rewrites and window hits as writes', async () => {
    const s = new MemoryState(3);
    await s.set('a', '1', 60_000, T0);
    await s.hit('w', 60_000, T0);
    await s.addMember('d', 'x', 60_000, T0);
    // `a` and the window are written again: `d` is now the least recently written.
    await s.set('a', '2', 60_000, T0 + 1);
    await s.hit('w', 60_000, T0 + 2);
    await s.set('n', 'new', 60_000, T0 + 3);
    expect(s.size).toBe(3);
    expect(await s.isMember('d', 'x', T0 + 4)).toEqual({ known: false, size: 0 });
    expect(await s.get('a', T0 + 4)).toBe('2');
    expect(await s.count('w', 60_000, T0 + 4)).toEqual({ count: 2, oldestMs: T0 });
    // Thousands of rewrites (the order queue compacts meanwhile), then new keys: still the
    // least recently written goes first. `n2` evicts `a`; `a` comes back and evicts `n`, the
    // one not written since; `m` evicts `n2`, written one hit before `w`'s last.
    for (let i = 0; i < 5000; i++) await s.hit(i % 2 ? 'w' : 'n2', 60_000, T0 + 10 + i);
    expect(s.size).toBe(3);
    expect(await s.get('a', T0 + 5999)).toBeUndefined();
    await s.set('a', '3', 60_000, T0 + 6000);
    expect(await s.get('n', T0 + 6000)).toBeUndefined();
    await s.set('m', 'm', 60_000, T0 + 6001);
    expect(await s.count('n2', 60_000, T0 + 6002)).toEqual({ count: 0 });
    expect(await s.get('a', T0 + 6002)).toBe('3');
    expect(await s.get('m', T0 + 6002)).toBe('m');
    expect((await s.count('w', 60_000, T0 + 6002)).count).toBe(2502);
    expect(s.size).toBe(3);
    await s.close();
  });
});

describe('RESP', () => {
  it('encodes commands as arrays of bulk strings and parses every reply type, split or whole', () => {
    expect(encodeCommand(['SET', 'k', 'é']).toString()).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n');
    const replies = Buffer.from('+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$3\r\nabc\r\n-ERR wrong\r\n');
    const out: unknown[] = [];
    let at = 0;
    for (;;) {
      const r = parseReply(replies, at);
      if (!r) break;
      out.push(r.value instanceof RespError ? `error: ${r.value.message}` : r.value);
      at = r.next;
    }
    expect(out).toEqual(['OK', 42, 'hello', null, [1, 'abc'], 'error: ERR wrong']);
    // An incomplete reply waits for more bytes.
    expect(parseReply(Buffer.from('$5\r\nhel'))).toBeUndefined();
    expect(parseReply(Buffer.from('*2\r\n:1\r\n'))).toBeUndefined();
    expect(() => parseReply(Buffer.from('?what\r\n'))).toThrow(/unexpected reply type/);
  });

  it('talks to redis-server: pipelined commands answered in order, server errors as rejections', async () => {
    const c = new RespClient(redis.url);
    await c.connect();
    const replies = await Promise.all([c.command(['SET', 'resp:a', '1']), c.command(['INCR', 'resp:a']), c.command(['GET', 'resp:a']), c.command(['GET', 'resp:missing'])]);
    expect(replies).toEqual(['OK', 2, '2', null]);
    await expect(c.command(['NOSUCHCOMMAND'])).rejects.toThrow(/unknown command/i);
    await c.close();
    await expect(c.command(['PING'])).rejects.toThrow(/not connected/);
  });
});

describe('RedisState: two replicas, one redis-server', () => {
  const open = (events: string[] = []) =>
    RedisState.open({ url: redis.url, keyPrefix: `test:${T0}:`, timeoutMs: 500, maxLocalKeys: 1000, onState: (up, reason) => events.push(up ? 'up' : `down: ${reason}`) });

  it('share sliding windows, values and sets', async () => {
    const a = await open();
    const b = await open();
    expect(a.backend).toBe('redis');
    await a.hit('rate:alice', 60_000, T0);
    await b.hit('rate:alice', 60_000, T0 + 1000);
    expect(await a.hit('rate:alice', 60_000, T0 + 2000)).toEqual({ count: 3, oldestMs: T0 });
    expect(await b.count('rate:alice', 60_000, T0 + 61_500)).toEqual({ count: 1, oldestMs: T0 + 2000 });
    await a.set('travel:alice', '{"lat":1}', 60_000, T0);
    expect(await b.get('travel:alice', T0)).toBe('{"lat":1}');
    await b.addMember('devices:alice', 'fp1', 60_000, T0);
    expect(await a.isMember('devices:alice', 'fp1', T0)).toEqual({ known: true, size: 1 });
    expect(await a.isMember('devices:alice', 'fp2', T0)).toEqual({ known: false, size: 1 });
    // Keys carry the prefix and a TTL.
    const c = new RespClient(redis.url);
    await c.connect();
    expect(await c.command(['EXISTS', `test:${T0}:devices:alice`])).toBe(1);
    expect(Number(await c.command(['PTTL', `test:${T0}:devices:alice`]))).toBeGreaterThan(50_000);
    // The window script was loaded once (EVAL after NOSCRIPT) and is run by its SHA-1 since.
    const scripts = (await c.command(['INFO', 'commandstats'])) as string;
    expect(scripts).toMatch(/cmdstat_evalsha:calls=\d+/);
    expect(Number(/cmdstat_eval:calls=(\d+)/.exec(scripts)?.[1])).toBe(1);
    await c.close();
    await a.close();
    await b.close();
  });

  it('when Redis goes away each replica decides from its local history, says so, and reconnects', async () => {
    const events: string[] = [];
    const a = await open(events);
    const b = await open();
    await a.hit('rate:bob', 60_000, T0);
    await b.hit('rate:bob', 60_000, T0);
    expect(events).toEqual(['up']);
    await redis.stop();
    await until(() => !a.connected && !b.connected);
    expect(events[1]).toMatch(/^down: /);
    expect(a.backend).toBe('memory');
    // Local history: replica a saw one request before, plus this one.
    expect(await a.hit('rate:bob', 60_000, T0 + 1000)).toEqual({ count: 2, oldestMs: T0 });
    expect(await b.get('travel:nobody', T0)).toBeUndefined();
    await redis.restart();
    await until(() => a.connected && b.connected, 8000);
    expect(events[2]).toBe('up');
    // Redis restarted empty (nothing persisted); it is shared again from here on.
    await a.hit('rate:carol', 60_000, T0);
    expect(await b.hit('rate:carol', 60_000, T0 + 1)).toMatchObject({ count: 2 });
    await a.close();
    await b.close();
  });

  it('a Redis slower than timeout_ms: the answer comes from local state in time, and the connection is renewed', async () => {
    const events: string[] = [];
    const s = await RedisState.open({ url: redis.url, keyPrefix: `slow:${T0}:`, timeoutMs: 100, maxLocalKeys: 100, onState: (up) => events.push(up ? 'up' : 'down') });
    await s.hit('k', 60_000, T0);
    const blocker = new RespClient(redis.url, { commandTimeoutMs: 5000 });
    await blocker.connect();
    const sleeping = blocker.command(['DEBUG', 'SLEEP', '0.6']);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    expect(await s.hit('k', 60_000, T0 + 1)).toEqual({ count: 2, oldestMs: T0 });
    expect(Date.now() - started).toBeLessThan(400);
    expect(events).toEqual(['up', 'down']);
    await sleeping;
    await until(() => s.connected, 8000);
    expect(events).toEqual(['up', 'down', 'up']);
    await blocker.close();
    await s.close();
  });

  it('starts on local memory when Redis is not reachable at start, and connects later', async () => {
    const port = redis.port;
    await redis.stop();
    const events: string[] = [];
    const s = await RedisState.open({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'late:', timeoutMs: 200, maxLocalKeys: 100, onState: (up) => events.push(up ? 'up' : 'down') });
    expect(s.backend).toBe('memory');
    expect(await s.hit('x', 1000, T0)).toEqual({ count: 1, oldestMs: T0 });
    await redis.restart();
    await until(() => s.connected, 8000);
    expect(events).toEqual(['down', 'up']);
    await s.close();
  });
});

describe('Redis URL credentials and database', () => {
  it('authenticates with the URL password and selects the database; a wrong password falls back to local state', async () => {
    const locked = await startRedis({ password: 's3cret' });
    try {
      const ok = await RedisState.open({ url: `redis://:s3cret@127.0.0.1:${locked.port}/2`, keyPrefix: 'auth:', timeoutMs: 500, maxLocalKeys: 100 });
      expect(ok.backend).toBe('redis');
      await ok.set('k', 'v', 60_000, T0);
      const c = new RespClient(`redis://:s3cret@127.0.0.1:${locked.port}/2`);
      await c.connect();
      expect(await c.command(['GET', 'auth:k'])).toBe('v');
      await c.command(['SELECT', '0']);
      expect(await c.command(['GET', 'auth:k'])).toBeNull();
      await c.close();
      await ok.close();

      const events: string[] = [];
      const wrong = await RedisState.open({ url: `redis://:nope@127.0.0.1:${locked.port}`, keyPrefix: 'auth:', timeoutMs: 500, maxLocalKeys: 100, onState: (up) => events.push(up ? 'up' : 'down') });
      expect(wrong.backend).toBe('memory');
      expect(events[0]).toBe('down');
      // Still answers, from local history.
      expect(await wrong.hit('w', 1000, T0)).toEqual({ count: 1, oldestMs: T0 });
      await wrong.close();
    } finally {
      await locked.stop();
    }
  });
});
