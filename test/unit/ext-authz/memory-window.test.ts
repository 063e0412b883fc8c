/**
 * MemoryState's sliding windows under steady traffic: events expire one by one at the front
 * while new ones arrive (the case a busy principal or a shared address produces), checked
 * against a plain list of timestamps.
 */
import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../ext-authz/src/index.js';

describe('MemoryState sliding window', () => {
  it('counts exactly what a plain list says while events expire at the front', async () => {
    const s = new MemoryState();
    const windowMs = 1_000;
    const model: number[] = [];
    let now = 1_000_000;
    for (let i = 0; i < 5_000; i++) {
      // Irregular steps: some bursts at one millisecond, some gaps longer than the window.
      now += i % 997 === 0 ? 1_500 : i % 7;
      model.push(now);
      const live = model.filter((t) => t > now - windowMs);
      const r = await s.hit('k', windowMs, now);
      expect(r).toEqual({ count: live.length, oldestMs: live[0] });
      if (i % 500 === 0) expect(await s.count('k', windowMs, now)).toEqual(r);
    }
    await s.close();
  });

  it('keeps the newest 10,000 events of a window that holds more', async () => {
    const s = new MemoryState();
    let last;
    for (let i = 0; i < 25_000; i++) last = await s.hit('k', 60_000, 1_000 + i);
    expect(last).toEqual({ count: 10_000, oldestMs: 1_000 + 15_000 });
    expect(await s.count('k', 60_000, 1_000 + 25_000)).toEqual({ count: 10_000, oldestMs: 16_000 });
    await s.close();
  });

  it('keeps time order when the clock steps back a little', async () => {
    const s = new MemoryState();
    await s.hit('k', 1_000, 5_000);
    await s.hit('k', 1_000, 5_010);
    await s.hit('k', 1_000, 5_005);
    // At 5_004 + 1_000 the event at 5_000 has expired; 5_005 and 5_010 remain.
    expect(await s.count('k', 1_000, 6_004)).toEqual({ count: 2, oldestMs: 5_005 });
    await s.close();
  });
});
