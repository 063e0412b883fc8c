/**
 * Risk history shared through Redis, so every replica sees the same velocity windows, last
 * locations and known devices. Every write also goes to a local MemoryState: when Redis is
 * unreachable the server keeps deciding from what this replica saw (reported through
 * `onState`, which the server turns into a log line and a metric) while the client reconnects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MemoryState } from './memory.js';
import { RespClient, RespError, type RespValue } from './resp.js';
import type { MemberCheck, RiskState, WindowCount } from './types.js';

// Sliding window as a sorted set scored by time: drop what fell out, maybe add, count, oldest.
const WINDOW_SCRIPT = `
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], win)
end
local n = redis.call('ZCARD', KEYS[1])
if n > 10000 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 10001)
  n = 10000
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {n, oldest[2] or ''}
`;

/** Redis names a script by the SHA-1 of its text; EVALSHA sends that instead of the script. */
const WINDOW_SHA = createHash('sha1').update(WINDOW_SCRIPT).digest('hex');

export interface RedisStateOptions {
  url: string;
  keyPrefix: string;
  /** A Redis command slower than this counts as Redis being down. */
  timeoutMs: number;
  /** Keys kept by the local fallback store. */
  maxLocalKeys: number;
  onState?: (up: boolean, reason?: string) => void;
}

function windowFrom(v: RespValue): WindowCount {
  const [n, oldest] = Array.isArray(v) ? v : [0, ''];
  const count = Number(n ?? 0);
  return count > 0 && oldest !== '' && oldest !== null ? { count, oldestMs: Number(oldest) } : { count };
}

export class RedisState implements RiskState {
  readonly local: MemoryState;
  private readonly client: RespClient;
  private seq = 0;
  private readonly instance = randomBytes(4).toString('hex');

  private constructor(private readonly options: RedisStateOptions) {
    this.local = new MemoryState(options.maxLocalKeys);
    this.client = new RespClient(options.url, { commandTimeoutMs: options.timeoutMs, connectTimeoutMs: Math.max(options.timeoutMs, 1000), onState: options.onState });
  }

  /** Connects; when Redis is not reachable yet the state starts on local memory and keeps trying. */
  static async open(options: RedisStateOptions): Promise<RedisState> {
    const s = new RedisState(options);
    try {
      await s.client.connect();
    } catch (e) {
      options.onState?.(false, (e as Error).message);
    }
    return s;
  }

  get backend(): string {
    return this.client.isConnected ? 'redis' : 'memory';
  }

  get connected(): boolean {
    return this.client.isConnected;
  }

  private key(k: string): string {
    return `${this.options.keyPrefix}${k}`;
  }

  /** The Redis answer when Redis is up and answers, else the local one. */
  private async shared<T>(local: T, remote: () => Promise<T>): Promise<T> {
    if (!this.client.isConnected) return local;
    try {
      return await remote();
    } catch {
      return local;
    }
  }

  /** Runs the window script by its hash; the first time (or after a Redis restart) Redis answers NOSCRIPT and gets the text. */
  private async window(args: Array<string | number>): Promise<WindowCount> {
    try {
      return windowFrom(await this.client.command(['EVALSHA', WINDOW_SHA, 1, ...args]));
    } catch (e) {
      if (!(e instanceof RespError) || !e.message.startsWith('NOSCRIPT')) throw e;
      return windowFrom(await this.client.command(['EVAL', WINDOW_SCRIPT, 1, ...args]));
    }
  }

  async hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    const local = await this.local.hit(key, windowMs, nowMs);
    const member = `${nowMs}-${this.instance}-${(this.seq = (this.seq + 1) % 1e9)}`;
    return this.shared(local, () => this.window([this.key(key), nowMs, windowMs, member, '1']));
  }

  async count(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    const local = await this.local.count(key, windowMs, nowMs);
    return this.shared(local, () => this.window([this.key(key), nowMs, windowMs, '', '0']));
  }

  async get(key: string, nowMs: number): Promise<string | undefined> {
    const local = await this.local.get(key, nowMs);
    return this.shared(local, async () => {
      const v = await this.client.command(['GET', this.key(key)]);
      return typeof v === 'string' ? v : undefined;
    });
  }

  async set(key: string, value: string, ttlMs: number, nowMs: number): Promise<void> {
    await this.local.set(key, value, ttlMs, nowMs);
    await this.shared(undefined, async () => {
      await this.client.command(['SET', this.key(key), value, 'PX', Math.max(1, Math.round(ttlMs))]);
    });
  }

  async isMember(key: string, member: string, nowMs: number): Promise<MemberCheck> {
    const local = await this.local.isMember(key, member, nowMs);
    return this.shared(local, async () => {
      const [known, size] = await Promise.all([this.client.command(['SISMEMBER', this.key(key), member]), this.client.command(['SCARD', this.key(key)])]);
      return { known: known === 1, size: Number(size ?? 0) };
    });
  }

  async addMember(key: string, member: string, ttlMs: number, nowMs: number): Promise<void> {
    await this.local.addMember(key, member, ttlMs, nowMs);
    await this.shared(undefined, async () => {
      await Promise.all([this.client.command(['SADD', this.key(key), member]), this.client.command(['PEXPIRE', this.key(key), Math.max(1, Math.round(ttlMs))])]);
    });
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.local.close();
  }
}
