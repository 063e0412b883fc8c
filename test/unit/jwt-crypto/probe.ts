/**
 * Test helper: the crypto-probe fixture filter (build/crypto-probe.wasm) in the Node host. One
 * request carries a batch of operations, one per line (see the fixture's header for the format);
 * the reply has one result per line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLineProbe, type LineProbe } from '../../support/line-probe.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Wycheproof vectors, outside the repository (never copied into it). */
export const vectorsDir = join(repoRoot, '..', 'shared', 'vectors', 'wycheproof');

/** Hex for a probe field ("-" is the empty string). */
export function hex(b: Uint8Array | string): string {
  const s = typeof b === 'string' ? b : Buffer.from(b).toString('hex');
  return s === '' ? '-' : s;
}

export type Probe = LineProbe;

export const openProbe = (): Promise<Probe> => openLineProbe('crypto-probe');

/** Reads a Wycheproof vector file (throws, naming the path, when it is missing). */
export function readVectors<T>(file: string): T {
  const path = join(vectorsDir, file);
  if (!existsSync(path)) throw new Error(`Wycheproof vectors not found at ${path} (expected next to the repository)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
