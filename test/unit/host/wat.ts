/**
 * Test helper: compile a WAT fixture from test/fixtures/wat to a Wasm binary with wabt.
 * A fixture line `;;@prelude` is replaced by test/fixtures/wat/prelude.wat (allocator, memory,
 * small helpers), placed after the fixture's imports.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'wat');
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let wabtPromise: ReturnType<typeof wabtInit> | undefined;
const cache = new Map<string, Uint8Array>();

/** Compile WAT source text (with the `;;@prelude` include) to a binary. */
export async function watToWasm(source: string, name = 'inline.wat'): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const prelude = readFileSync(join(fixturesDir, 'prelude.wat'), 'utf8');
  const text = source.replace(';;@prelude', prelude);
  const mod = wabt.parseWat(name, text, { bulk_memory: true, mutable_globals: true, sign_extension: true });
  try {
    mod.resolveNames();
    mod.validate();
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

/** Compile fixture `name` (e.g. 'headers.wat'); results are cached per test file. */
export async function fixture(name: string): Promise<Uint8Array> {
  const hit = cache.get(name);
  if (hit) return hit;
  const bin = await watToWasm(readFileSync(join(fixturesDir, name), 'utf8'), name);
  cache.set(name, bin);
  return bin;
}
