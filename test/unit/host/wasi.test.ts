import { describe, expect, it } from 'vitest';
import { loadFilter } from '../../../sdk/src/host/index.js';
import { fixture } from './wat.js';

describe('WASI', () => {
  it('turns stdout/stderr writes into info/error logs, and provides clocks, randomness and environment', async () => {
    const f = await loadFilter(await fixture('wasi.wat'), { env: { A: '1', GREETING: 'hi there' } });
    expect(f.logs.slice(0, 2).map((l) => [l.level, l.message, l.source, l.contextId])).toEqual([
      ['info', 'hello from stdout', 'stdout', 0],
      ['error', 'oops', 'stderr', 0],
    ]);
    const res = await f.http();
    expect(res.upstreamRequest?.headers['x-badfd']).toBe('8');
    expect(f.sharedData.getString('env')).toBe('A=1\u0000GREETING=hi there\u0000');
    const random = f.sharedData.get('random')!.value;
    expect(random.length).toBe(16);
    expect(random.some((b) => b !== 0)).toBe(true);
    const mono = new DataView(f.sharedData.get('mono')!.value.buffer).getBigUint64(0, true);
    expect(mono > 0n).toBe(true);
    f.close();
  });
});
