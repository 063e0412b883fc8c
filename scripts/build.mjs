#!/usr/bin/env node
// Builds every proxy-wasm filter (AssemblyScript) to build/<name>.wasm and build/<name>.debug.wasm,
// the foreign-SDK test filter (Go) when its sources exist, then the TypeScript (tsc -b).
// Incremental: a target is skipped when its output is newer than all of its inputs.
//   --quiet         only errors and a one-line summary
//   --filters-only  skip the TypeScript build
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const filtersOnly = args.has('--filters-only');
const outDir = join(root, 'build');
const say = (line) => {
  if (!quiet) console.log(line);
};

/** Filter folders: each holds a filter.ts entry. Names must be unique across them. */
const FILTER_PARENTS = ['filters', 'examples', 'test/fixtures/filters'];

function findFilters() {
  const found = new Map();
  for (const parent of FILTER_PARENTS) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const entry = join(dir, name, 'filter.ts');
      if (!existsSync(entry)) continue;
      if (found.has(name)) {
        throw new Error(`two filters are named "${name}": ${relative(root, found.get(name).dir)} and ${parent}/${name}; rename one`);
      }
      found.set(name, { name, dir: join(dir, name), entry });
    }
  }
  return [...found.values()];
}

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const child of readdirSync(path)) {
    if (child === 'node_modules' || child === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, child)));
  }
  return newest;
}

function outOfDate(output, inputsMtime) {
  return !existsSync(output) || statSync(output).mtimeMs < inputsMtime;
}

async function buildFilters() {
  const filters = findFilters();
  const shared = Math.max(
    newestMtime(join(root, 'sdk', 'assembly')),
    newestMtime(join(root, 'node_modules', '@solo-io', 'proxy-runtime', 'assembly')),
    newestMtime(join(root, 'asconfig.json')),
    newestMtime(join(root, 'sdk', 'asconfig.json')),
    newestMtime(fileURLToPath(import.meta.url)),
  );
  let asc;
  let built = 0;
  mkdirSync(outDir, { recursive: true });
  for (const f of filters) {
    const inputs = Math.max(shared, newestMtime(f.dir));
    for (const target of ['release', 'debug']) {
      const out = join(outDir, target === 'release' ? `${f.name}.wasm` : `${f.name}.debug.wasm`);
      if (!outOfDate(out, inputs)) continue;
      // Loaded only when something needs building, so a no-op build stays fast.
      asc ??= (await import(pathToFileURL(join(root, 'node_modules', 'assemblyscript', 'dist', 'asc.js')).href)).default;
      let stderr = '';
      const { error } = await asc.main(
        [relative(root, f.entry), '--config', 'asconfig.json', '--target', target, '--outFile', relative(root, out), '--noColors'],
        { stdout: { write: () => true }, stderr: { write: (s) => { stderr += s; return true; } }, baseDir: root },
      );
      if (error) throw new Error(`building ${relative(root, f.entry)} (${target}) failed:\n${stderr || error.message}`);
      built++;
      say(`built ${relative(root, out)}`);
    }
  }
  return { total: filters.length, built };
}

async function buildForeign() {
  const script = join(root, 'scripts', 'build-go-filter.mjs');
  if (!existsSync(script) || !existsSync(join(root, 'test', 'fixtures', 'go-filter'))) return;
  const { buildGoFilter } = await import(pathToFileURL(script).href);
  await buildGoFilter({ quiet });
}

function buildTypeScript() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('TypeScript build failed (tsc -b)');
}

try {
  const started = Date.now();
  const { total, built } = await buildFilters();
  await buildForeign();
  if (!filtersOnly) buildTypeScript();
  const line = `meshward build: ${total} filter(s), ${built} wasm target(s) rebuilt${filtersOnly ? '' : ', TypeScript up to date'} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (quiet) {
    if (built > 0) console.log(line);
  } else console.log(line);
} catch (e) {
  console.error(`meshward build: ${e.message}`);
  process.exit(1);
}
