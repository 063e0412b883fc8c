/**
 * The line-probe fixtures (test/fixtures/filters/line-probe.ts: crypto-probe, waf-match-probe) in
 * the Node host: one request carries a batch of operations, one per line; the reply has one result
 * per line. A probe that is not built fails the test (npm test builds it first); it never skips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFilter } from '../../sdk/src/host/index.js';
import { buildDir } from './cli.js';

export interface LineProbe {
  /** Runs the lines (in requests of at most `batchLines`); returns one result per line. */
  run(lines: readonly string[]): Promise<string[]>;
  close(): void;
}

export async function openLineProbe(name: string, batchLines = Number.POSITIVE_INFINITY): Promise<LineProbe> {
  const wasmPath = join(buildDir, `${name}.wasm`);
  if (!existsSync(wasmPath)) throw new Error(`${wasmPath} is missing: run \`npm run build\` (npm test does)`);
  const f = await loadFilter(readFileSync(wasmPath), { rootId: name, bufferLimitBytes: 64 << 20 });
  async function batch(lines: readonly string[]): Promise<string[]> {
    const res = await f.http({ method: 'POST', path: '/', body: lines.join('\n') + '\n' });
    if (res.trap) throw new Error(`the probe trapped: ${res.trap.message} ${res.trap.abortMessage ?? ''}`);
    if (res.status !== 200) throw new Error(`the probe answered ${res.status}: ${res.body.slice(0, 300)}`);
    const out = res.body.split('\n');
    if (out.length !== lines.length) throw new Error(`the probe answered ${out.length} lines for ${lines.length}`);
    return out;
  }
  return {
    async run(lines) {
      const out: string[] = [];
      const step = Math.min(batchLines, Math.max(lines.length, 1));
      for (let i = 0; i < lines.length; i += step) out.push(...(await batch(lines.slice(i, i + step))));
      return out;
    },
    close: () => f.close(),
  };
}
