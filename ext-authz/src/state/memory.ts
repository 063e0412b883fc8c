import type { SyncRiskState, MemberCheck, RiskState, WindowCount } from './types.js';

interface Entry {
  /** The key as first stored (the write-order queue refers to it, not to each caller's copy). */
  key: string;
  /** Write sequence number of the last write (see `written`). */
  seq: number;
  expiresMs: number;
  events?: EventWindow;
  value?: string;
  members?: Set<string>;
}

/** Events kept per window key; a window holding more than this already counts as "over any limit". */
const MAX_EVENTS_PER_KEY = 10_000;

/**
 * A sliding window's event times, oldest first, in a ring that doubles when full (so at most
 * 16 Ki slots for MAX_EVENTS_PER_KEY). A hit stores one number and an expired event only moves
 * the start: once grown, a busy window allocates nothing per request (an array pushed to at its
 * end and cut at its front re-allocated its store now and then, and moved its events on a cut).
 */
export class EventWindow {
  private times: number[] = new Array<number>(8).fill(0);
  private start = 0;
  /** Events in the window. */
  count = 0;

  /** The oldest event's time (when count > 0). */
  get oldest(): number {
    return this.times[this.start]!;
  }

  /** Forgets the events at or before `since`. */
  expire(since: number): void {
    const mask = this.times.length - 1;
    while (this.count > 0 && this.times[this.start]! <= since) {
      this.start = (this.start + 1) & mask;
      this.count--;
    }
  }

  /**
   * Adds an event at `t` in time order (after events at the same time; before later ones, if a
   * clock stepped back a little); past MAX_EVENTS_PER_KEY the oldest event is forgotten.
   */
  add(t: number): void {
    if (this.count === this.times.length) this.grow();
    const times = this.times;
    const mask = times.length - 1;
    let i = this.count;
    for (; i > 0 && times[(this.start + i - 1) & mask]! > t; i--) times[(this.start + i) & mask] = times[(this.start + i - 1) & mask]!;
    times[(this.start + i) & mask] = t;
    if (++this.count > MAX_EVENTS_PER_KEY) {
      this.start = (this.start + 1) & mask;
      this.count--;
    }
  }

  private grow(): void {
    const old = this.times;
    const mask = old.length - 1;
    const times = new Array<number>(old.length * 2).fill(0);
    for (let i = 0; i < this.count; i++) times[i] = old[(this.start + i) & mask]!;
    this.times = times;
    this.start = 0;
  }
}

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
  private put(key: string, fields: Pick<Entry, 'expiresMs' | 'events' | 'value' | 'members'>): void {
    const old = this.entries.get(key);
    if (old) {
      // The same entry object keeps its place in the map: no delete and re-insert.
      old.expiresMs = fields.expiresMs;
      old.events = fields.events;
      old.value = fields.value;
      old.members = fields.members;
      this.written(old);
      return;
    }
    const e: Entry = { key, seq: 0, expiresMs: fields.expiresMs, events: fields.events, value: fields.value, members: fields.members };
    this.entries.set(key, e);
    this.written(e);
    this.evict();
  }

  private window(key: string, windowMs: number, nowMs: number, add: boolean): WindowCount {
    const e = this.live(key, nowMs);
    let events = e?.events;
    events?.expire(nowMs - windowMs);
    if (add) {
      events ??= new EventWindow();
      events.add(nowMs);
      if (e) {
        e.events = events;
        e.expiresMs = nowMs + windowMs;
        this.written(e);
      } else {
        this.put(key, { events, expiresMs: nowMs + windowMs });
      }
    }
    return events?.count ? { count: events.count, oldestMs: events.oldest } : { count: 0 };
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
