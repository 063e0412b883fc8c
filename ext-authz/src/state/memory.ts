import type { MemberCheck, RiskState, WindowCount } from './types.js';

interface Entry {
  expiresMs: number;
  events?: number[];
  value?: string;
  members?: Set<string>;
}

/** Events kept per window key; a window holding more than this already counts as "over any limit". */
const MAX_EVENTS_PER_KEY = 10_000;

/**
 * Risk history in this process. Bounded: at most `maxKeys` keys (the least recently written go
 * first) and `MAX_EVENTS_PER_KEY` events per window; expired keys are dropped when touched and by
 * a periodic sweep (on `clock`, the wall clock by default).
 */
export class MemoryState implements RiskState {
  readonly backend = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxKeys = 100_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, nowMs: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Marks a key as recently written (moves it to the end of the eviction order). */
  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  private put(key: string, e: Entry): void {
    // Re-inserting moves the key to the end: Map order is then least recently written first.
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
  }

  private window(key: string, windowMs: number, nowMs: number, add: boolean): WindowCount {
    const e = this.live(key, nowMs);
    const since = nowMs - windowMs;
    const events = e?.events ?? [];
    // Events are kept in time order, so the expired ones are a prefix: drop it (amortized O(1)).
    let expired = 0;
    while (expired < events.length && events[expired]! <= since) expired++;
    if (expired) events.splice(0, expired);
    if (add) {
      // Keep the order even if a clock steps back a little.
      let at = events.length;
      while (at > 0 && events[at - 1]! > nowMs) at--;
      events.splice(at, 0, nowMs);
      if (events.length > MAX_EVENTS_PER_KEY) events.splice(0, events.length - MAX_EVENTS_PER_KEY);
      if (e) {
        e.events = events;
        e.expiresMs = nowMs + windowMs;
        this.touch(key, e);
      } else {
        this.put(key, { events, expiresMs: nowMs + windowMs });
      }
    }
    return events.length ? { count: events.length, oldestMs: events[0]! } : { count: 0 };
  }

  hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return Promise.resolve(this.window(key, windowMs, nowMs, true));
  }

  count(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return Promise.resolve(this.window(key, windowMs, nowMs, false));
  }

  get(key: string, nowMs: number): Promise<string | undefined> {
    return Promise.resolve(this.live(key, nowMs)?.value);
  }

  set(key: string, value: string, ttlMs: number, nowMs: number): Promise<void> {
    this.put(key, { value, expiresMs: nowMs + ttlMs });
    return Promise.resolve();
  }

  isMember(key: string, member: string, nowMs: number): Promise<MemberCheck> {
    const m = this.live(key, nowMs)?.members;
    return Promise.resolve({ known: m?.has(member) ?? false, size: m?.size ?? 0 });
  }

  addMember(key: string, member: string, ttlMs: number, nowMs: number): Promise<void> {
    const members = this.live(key, nowMs)?.members ?? new Set<string>();
    members.add(member);
    this.put(key, { members, expiresMs: nowMs + ttlMs });
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.clock();
    for (const [k, e] of this.entries) if (e.expiresMs <= now) this.entries.delete(k);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    return Promise.resolve();
  }
}
