import type { MemberCheck, RiskState, WindowCount } from './types.js';

interface Entry {
  expiresMs: number;
  /** A window's events in time order, from index `head` on (the ones before it have expired). */
  events?: number[];
  head?: number;
  value?: string;
  members?: Set<string>;
}

/** Events kept per window key; a window holding more than this already counts as "over any limit". */
const MAX_EVENTS_PER_KEY = 10_000;
/** Expired events are removed from a window's array once there are more than this many (and they are most of it). */
const COMPACT_AFTER = 64;

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
    // Events are kept in time order, so the expired ones are a prefix: step over it, and drop it
    // only once it is most of the array (a busy window expires one event per hit; removing each
    // from the front would move the whole array every time).
    let head = e?.head ?? 0;
    while (head < events.length && events[head]! <= since) head++;
    if (head > COMPACT_AFTER && head * 2 > events.length) {
      events.splice(0, head);
      head = 0;
    }
    if (add) {
      // Keep the order even if a clock steps back a little.
      let at = events.length;
      while (at > head && events[at - 1]! > nowMs) at--;
      if (at === events.length) events.push(nowMs);
      else events.splice(at, 0, nowMs);
      if (events.length - head > MAX_EVENTS_PER_KEY) head = events.length - MAX_EVENTS_PER_KEY;
      if (e) {
        e.events = events;
        e.head = head;
        e.expiresMs = nowMs + windowMs;
        this.touch(key, e);
      } else {
        this.put(key, { events, head, expiresMs: nowMs + windowMs });
      }
    } else if (e) {
      e.head = head;
    }
    const count = events.length - head;
    return count ? { count, oldestMs: events[head]! } : { count: 0 };
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
