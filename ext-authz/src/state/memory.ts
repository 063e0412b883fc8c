import type { SyncRiskState, MemberCheck, RiskState, WindowCount } from './types.js';

interface Entry {
  /** The key as first stored (the write-order queue refers to it, not to each caller's copy). */
  key: string;
  /** Write sequence number of the last write (see `written`). */
  seq: number;
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

/** Queue entries skipped over before the queue's front is cut off. */
const QUEUE_COMPACT_AFTER = 1024;

/**
 * Risk history in this process. Bounded: at most `maxKeys` keys (the least recently written go
 * first) and `MAX_EVENTS_PER_KEY` events per window; expired keys are dropped when touched and by
 * a periodic sweep (on `clock`, the wall clock by default).
 *
 * The eviction order is kept in a write-order queue of (key, write number) pairs beside the map,
 * not by deleting and re-inserting each written key: re-insertion on every write kept the map
 * rehashing and stored each caller's new key string, and the server promoted a few hundred bytes
 * more per Check into V8's old generation (what makes mark-compact pauses come). A pair whose
 * key was written again later (or deleted) is stale and skipped when evicting.
 */
export class MemoryState implements RiskState {
  readonly backend = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private writes = 0;
  private queueKeys: string[] = [];
  private queueSeqs: number[] = [];
  private queueHead = 0;

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

  /** Records a write of `e` (it becomes the most recently written key). */
  private written(e: Entry): void {
    e.seq = ++this.writes;
    this.queueKeys.push(e.key);
    this.queueSeqs.push(e.seq);
    // Stale pairs pile up when the same keys are written over and over: keep the queue within a
    // small multiple of the map (rebuilding it costs one pass, once per that many writes).
    if (this.queueKeys.length - this.queueHead > 2 * this.entries.size + QUEUE_COMPACT_AFTER) this.rebuildQueue();
  }

  /** Drops the stale pairs (and the consumed front) from the write-order queue. */
  private rebuildQueue(): void {
    const keys: string[] = [];
    const seqs: number[] = [];
    for (let i = this.queueHead; i < this.queueKeys.length; i++) {
      const k = this.queueKeys[i]!;
      const seq = this.queueSeqs[i]!;
      if (this.entries.get(k)?.seq === seq) {
        keys.push(k);
        seqs.push(seq);
      }
    }
    this.queueKeys = keys;
    this.queueSeqs = seqs;
    this.queueHead = 0;
  }

  /** Evicts the least recently written keys while there are more than `maxKeys`. */
  private evict(): void {
    while (this.entries.size > this.maxKeys && this.queueHead < this.queueKeys.length) {
      const k = this.queueKeys[this.queueHead]!;
      const seq = this.queueSeqs[this.queueHead]!;
      this.queueHead++;
      if (this.entries.get(k)?.seq === seq) this.entries.delete(k);
    }
    if (this.queueHead > QUEUE_COMPACT_AFTER && this.queueHead * 2 > this.queueKeys.length) {
      this.queueKeys.splice(0, this.queueHead);
      this.queueSeqs.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Stores `fields` under `key` (replacing what was there) as its most recent write. */
  private put(key: string, fields: Pick<Entry, 'expiresMs' | 'events' | 'head' | 'value' | 'members'>): void {
    const old = this.entries.get(key);
    if (old) {
      // The same entry object keeps its place in the map: no delete and re-insert.
      old.expiresMs = fields.expiresMs;
      old.events = fields.events;
      old.head = fields.head;
      old.value = fields.value;
      old.members = fields.members;
      this.written(old);
      return;
    }
    const e: Entry = { key, seq: 0, expiresMs: fields.expiresMs, events: fields.events, head: fields.head, value: fields.value, members: fields.members };
    this.entries.set(key, e);
    this.written(e);
    this.evict();
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
        this.written(e);
      } else {
        this.put(key, { events, head, expiresMs: nowMs + windowMs });
      }
    } else if (e) {
      e.head = head;
    }
    const count = events.length - head;
    return count ? { count, oldestMs: events[head]! } : { count: 0 };
  }

  /** The same operations, synchronous (this history is in the process). */
  readonly sync: SyncRiskState = {
    hit: (key, windowMs, nowMs) => this.window(key, windowMs, nowMs, true),
    count: (key, windowMs, nowMs) => this.window(key, windowMs, nowMs, false),
    get: (key, nowMs) => this.live(key, nowMs)?.value,
    set: (key, value, ttlMs, nowMs) => this.put(key, { value, expiresMs: nowMs + ttlMs }),
    isMember: (key, member, nowMs) => {
      const m = this.live(key, nowMs)?.members;
      return { known: m?.has(member) ?? false, size: m?.size ?? 0 };
    },
    addMember: (key, member, ttlMs, nowMs) => {
      const members = this.live(key, nowMs)?.members ?? new Set<string>();
      members.add(member);
      this.put(key, { members, expiresMs: nowMs + ttlMs });
    },
  };

  hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return Promise.resolve(this.sync.hit(key, windowMs, nowMs));
  }

  count(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return Promise.resolve(this.sync.count(key, windowMs, nowMs));
  }

  get(key: string, nowMs: number): Promise<string | undefined> {
    return Promise.resolve(this.sync.get(key, nowMs));
  }

  set(key: string, value: string, ttlMs: number, nowMs: number): Promise<void> {
    this.sync.set(key, value, ttlMs, nowMs);
    return Promise.resolve();
  }

  isMember(key: string, member: string, nowMs: number): Promise<MemberCheck> {
    return Promise.resolve(this.sync.isMember(key, member, nowMs));
  }

  addMember(key: string, member: string, ttlMs: number, nowMs: number): Promise<void> {
    this.sync.addMember(key, member, ttlMs, nowMs);
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
