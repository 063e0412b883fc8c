/**
 * Clocks for the host. `ManualClock` (the default) only moves when the test says so
 * (`advance(ms)`), firing due timers (ticks, http_call timeouts) in time order; `SystemClock`
 * follows the wall clock and real timers.
 */

export interface HostClock {
  /** Wall-clock time, nanoseconds since the Unix epoch. */
  now(): bigint;
  /** Monotonic time in nanoseconds. */
  monotonic(): bigint;
  /** Run `fn` after `delayMs`; returns a cancel function. */
  setTimer(delayMs: number, fn: () => void): () => void;
  /** Move time forward (manual clocks only), firing due timers. */
  advance?(ms: number): void;
}

interface Timer {
  at: bigint;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export interface ManualClockOptions {
  /** Start time (default: the real time when the clock is created). */
  start?: Date | number;
}

const MS = 1_000_000n;

export class ManualClock implements HostClock {
  private wallNs: bigint;
  private monoNs = 1_000_000_000n;
  private timers: Timer[] = [];
  private seq = 0;

  constructor(options: ManualClockOptions = {}) {
    const start = options.start instanceof Date ? options.start.getTime() : (options.start ?? Date.now());
    this.wallNs = BigInt(Math.round(start)) * MS;
  }

  now(): bigint {
    return this.wallNs;
  }

  monotonic(): bigint {
    return this.monoNs;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const t: Timer = { at: this.monoNs + BigInt(Math.max(0, Math.round(delayMs * 1e6))), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Advance by `ms`, firing every timer that falls due, in order, at its own time. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`advance(ms): ms must be >= 0, got ${ms}`);
    const target = this.monoNs + BigInt(Math.round(ms * 1e6));
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: Timer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.step(next.at);
      next.cancelled = true;
      next.fn();
    }
    this.step(target);
  }

  private step(monoTarget: bigint): void {
    if (monoTarget > this.monoNs) {
      this.wallNs += monoTarget - this.monoNs;
      this.monoNs = monoTarget;
    }
  }

  /** Timers still pending (for diagnostics). */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

export class SystemClock implements HostClock {
  private readonly origin = process.hrtime.bigint();

  now(): bigint {
    return BigInt(Date.now()) * MS;
  }

  monotonic(): bigint {
    return process.hrtime.bigint() - this.origin + 1_000_000_000n;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const h = setTimeout(fn, Math.max(0, delayMs));
    h.unref();
    return () => clearTimeout(h);
  }
}
