import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The SDK's asconfig.json: the compat stubs for proxy-runtime 0.1.8 and our abort handler. */
export const sdkAsconfigPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'asconfig.json');

const compatDir = join(dirname(sdkAsconfigPath), 'assembly', 'compat');

export interface BuildFilterOptions {
  entry: string;
  /** Default: `build/<entry folder or file name>.wasm` (`.debug.wasm` with `debug`). */
  outFile?: string;
  debug?: boolean;
  cwd?: string;
}

type AscMain = (argv: string[], options: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } }) => Promise<{ error: Error | null }>;

/**
 * Compiles an AssemblyScript proxy-wasm filter with the SDK's settings (what `meshward build` runs).
 * Returns the output path; throws with the compiler's diagnostics on failure.
 */
export async function buildFilter(o: BuildFilterOptions): Promise<string> {
  const cwd = o.cwd ?? process.cwd();
  const entry = resolve(cwd, o.entry);
  const stem = basename(entry) === 'filter.ts' || basename(entry) === 'index.ts' ? basename(dirname(entry)) : basename(entry, '.ts');
  const outFile = resolve(cwd, o.outFile ?? join('build', `${stem}${o.debug ? '.debug' : ''}.wasm`));
  mkdirSync(dirname(outFile), { recursive: true });
  // assemblyscript is a peer dependency: resolve it from the user's project.
  const require = createRequire(join(cwd, 'package.json'));
  let ascPath: string;
  try {
    ascPath = join(dirname(require.resolve('assemblyscript/package.json')), 'dist', 'asc.js');
  } catch {
    throw new Error('meshward build needs the npm package assemblyscript 0.28 in this project (npm i -D assemblyscript@~0.28 @solo-io/proxy-runtime@0.1.8)');
  }
  const asc = ((await import(pathToFileURL(ascPath).href)) as { default: { main: AscMain } }).default;
  let diagnostics = '';
  const { error } = await asc.main(
    // asc joins library folders onto its base directory, so the compat stubs go in relative to it.
    [relative(cwd, entry), '--config', sdkAsconfigPath, '--target', o.debug ? 'debug' : 'release', '--outFile', relative(cwd, outFile), '--lib', relative(cwd, compatDir), '--baseDir', cwd, '--noColors'],
    { stdout: { write: () => true }, stderr: { write: (s: string) => ((diagnostics += s), true) } },
  );
  if (error) throw new Error(`building ${o.entry} failed:\n${diagnostics || error.message}`);
  return outFile;
}
