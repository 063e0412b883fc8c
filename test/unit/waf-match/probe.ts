/**
 * Test helper: the waf-match-probe fixture filter (build/waf-match-probe.wasm) in the Node host.
 * One request carries a batch of operations, one per line (see the fixture's header for the
 * format); the reply has one result per line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFilter } from '../../../sdk/src/host/index.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const wasmPath = join(repoRoot, 'build', 'waf-match-probe.wasm');
export const wasmBuilt = existsSync(wasmPath);
/** OWASP CRS regression tests, outside the repository (never copied into it). */
export const crsTestsDir = join(repoRoot, '..', 'shared', 'vectors', 'crs-regression', 'tests');

/** A probe text field: hex of the UTF-8 bytes ("-" is the empty string). */
export function hex(s: string): string {
  return s === '' ? '-' : Buffer.from(s, 'utf8').toString('hex');
}

/** Decodes a probe text result (throws on a missing one, so a short reply fails loudly). */
export function unhex(s: string | undefined): string {
  if (s === undefined) throw new Error('unhex: no probe result');
  return s === '-' ? '' : Buffer.from(s, 'hex').toString('utf8');
}

export interface Probe {
  /** Runs the lines in one request (split into batches); returns one result per line. */
  run(lines: readonly string[]): Promise<string[]>;
  close(): void;
}

export async function openProbe(): Promise<Probe> {
  const f = await loadFilter(readFileSync(wasmPath), { rootId: 'waf-match-probe', bufferLimitBytes: 64 << 20 });
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
      for (let i = 0; i < lines.length; i += 2000) out.push(...(await batch(lines.slice(i, i + 2000))));
      return out;
    },
    close: () => f.close(),
  };
}

/** Regex helpers over the probe. */
export const rx = {
  test: (pattern: string, input: string, flags = '-') => `test ${flags} ${hex(pattern)} ${hex(input)}`,
  exec: (pattern: string, input: string, flags = '-') => `exec ${flags} ${hex(pattern)} ${hex(input)}`,
  compile: (pattern: string, flags = '-') => `compile ${flags} ${hex(pattern)}`,
};
