/**
 * Test helper: the crypto-probe fixture filter (build/crypto-probe.wasm) in the Node host. One
 * request carries a batch of operations, one per line (see the fixture's header for the format);
 * the reply has one result per line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFilter } from '../../../sdk/src/host/index.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const wasmPath = join(repoRoot, 'build', 'crypto-probe.wasm');
export const wasmBuilt = existsSync(wasmPath);
/** Wycheproof vectors, outside the repository (never copied into it). */
export const vectorsDir = join(repoRoot, '..', 'shared', 'vectors', 'wycheproof');

/** Hex for a probe field ("-" is the empty string). */
export function hex(b: Uint8Array | string): string {
  const s = typeof b === 'string' ? b : Buffer.from(b).toString('hex');
  return s === '' ? '-' : s;
}

export interface Probe {
  /** Runs the lines in one request; returns one result per line. */
  run(lines: readonly string[]): Promise<string[]>;
  close(): void;
}

export async function openProbe(): Promise<Probe> {
  const f = await loadFilter(readFileSync(wasmPath), { rootId: 'crypto-probe', bufferLimitBytes: 64 << 20 });
  return {
    async run(lines) {
      if (lines.length === 0) return [];
      const res = await f.http({ method: 'POST', path: '/', body: lines.join('\n') + '\n' });
      if (res.trap) throw new Error(`the probe trapped: ${res.trap.message} ${res.trap.abortMessage ?? ''}`);
      if (res.status !== 200) throw new Error(`the probe answered ${res.status}: ${res.body.slice(0, 300)}`);
      const out = res.body.split('\n');
      if (out.length !== lines.length) throw new Error(`the probe answered ${out.length} lines for ${lines.length}`);
      return out;
    },
    close: () => f.close(),
  };
}

/** Reads a Wycheproof vector file (throws, naming the path, when it is missing). */
export function readVectors<T>(file: string): T {
  const path = join(vectorsDir, file);
  if (!existsSync(path)) throw new Error(`Wycheproof vectors not found at ${path} (expected next to the repository)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
