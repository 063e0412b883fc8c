/**
 * Test helper: the waf-match-probe fixture filter (build/waf-match-probe.wasm) in the Node host.
 * One request carries a batch of operations, one per line (see the fixture's header for the
 * format); the reply has one result per line.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLineProbe, type LineProbe } from '../../support/line-probe.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
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

export type Probe = LineProbe;

/** Large batches go in requests of 2,000 lines. */
export const openProbe = (): Promise<Probe> => openLineProbe('waf-match-probe', 2000);

/** Regex helpers over the probe. */
export const rx = {
  test: (pattern: string, input: string, flags = '-') => `test ${flags} ${hex(pattern)} ${hex(input)}`,
  exec: (pattern: string, input: string, flags = '-') => `exec ${flags} ${hex(pattern)} ${hex(input)}`,
  compile: (pattern: string, flags = '-') => `compile ${flags} ${hex(pattern)}`,
};
