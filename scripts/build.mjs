#!/usr/bin/env node
// Builds every proxy-wasm filter (AssemblyScript) to build/<name>.wasm (release) and
// build/<name>.debug.wasm (debug), then the TypeScript (tsc -b, itself incremental).
// Filters: filters/<name>/filter.ts, examples/<name>/filter.ts, test/fixtures/filters/<name>/filter.ts.
// A filter's folder may hold its own asconfig.json (extending the root one), e.g. for another runtime.
//   --quiet         only errors and the one-line summary
//   --filters-only  skip the TypeScript build
//
// Incremental: a target is skipped when its output is newer than all of its inputs. The inputs are
// the files the compiler actually read for it last time (recorded in build/.deps/, so a filter
// importing code from another folder is rebuilt when that code changes), the filter's folder (new
// files), sdk/assembly, proxy-runtime's sources, the asconfig files, the compiler's version and
// this script.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// asc resolves --lib folders against the working directory (and mishandles an absolute --baseDir).
process.chdir(root);
const argv = process.argv.slice(2);
const KNOWN_FLAGS = new Set(['--quiet', '--filters-only']);
const unknown = argv.filter((a) => !KNOWN_FLAGS.has(a));
if (unknown.length > 0) {
  console.error(`meshward build: unknown argument(s): ${unknown.join(' ')} (known: ${[...KNOWN_FLAGS].join(', ')})`);
  process.exit(2);
}
const quiet = argv.includes('--quiet');
const filtersOnly = argv.includes('--filters-only');
const outDir = join(root, 'build');
const depsDir = join(outDir, '.deps');
const say = (line) => {
  if (!quiet) console.log(line);
};

/** Folders holding one filter per subfolder, each with a filter.ts entry. Names are unique across them. */
const FILTER_PARENTS = ['filters', 'examples', 'test/fixtures/filters'];
const TARGETS = [
  { target: 'release', suffix: '.wasm' },
  { target: 'debug', suffix: '.debug.wasm' },
];

function findFilters() {
  const found = new Map();
  for (const parent of FILTER_PARENTS) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const entry = join(dir, name, 'filter.ts');
      if (!existsSync(entry)) continue;
      const other = found.get(name);
      if (other) {
        throw new Error(
          `two filters are named "${name}": ${relative(root, other.dir)}/filter.ts and ${parent}/${name}/filter.ts ` +
            `both build to build/${name}.wasm; rename one of the folders`,
        );
      }
      found.set(name, { name, dir: join(dir, name), entry });
    }
  }
  return [...found.values()];
}

/** Newest mtime in a file or folder tree (0 when absent). */
function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const child of readdirSync(path)) {
    if (child === 'node_modules' || child === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, child)));
  }
  return newest;
}

function depsFile(name, target) {
  return join(depsDir, `${name}.${target}.json`);
}

/** The files the compiler read for this target last time; null when unknown (never built). */
function recordedInputs(name, target) {
  try {
    const inputs = JSON.parse(readFileSync(depsFile(name, target), 'utf8')).inputs;
    return Array.isArray(inputs) ? inputs : null;
  } catch {
    return null;
  }
}

function upToDate(out, name, target, sharedMtime) {
  let outMtime;
  try {
    outMtime = statSync(out).mtimeMs;
  } catch {
    return false;
  }
  if (outMtime < sharedMtime) return false;
  const inputs = recordedInputs(name, target);
  if (inputs === null) return false;
  for (const rel of inputs) {
    let m;
    try {
      m = statSync(resolve(root, rel)).mtimeMs;
    } catch {
      return false; // an input went away: rebuild so the compiler reports it
    }
    if (m > outMtime) return false;
  }
  return true;
}

/** Writes through a temporary file, so a reader never sees a half-written module. */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

let ascPromise;
function loadAsc() {
  // Loaded only when something needs building, so a no-op build stays fast.
  ascPromise ??= import(pathToFileURL(join(root, 'node_modules', 'assemblyscript', 'dist', 'asc.js')).href).then((m) => m.default);
  return ascPromise;
}

/**
 * The asconfig a filter builds with: its own `asconfig.json` when it has one (extending the root
 * one, e.g. to choose another runtime), else the root's. Its folder is already an input of the
 * up-to-date check.
 */
function configFor(f) {
  const own = join(f.dir, 'asconfig.json');
  return existsSync(own) ? relative(root, own) : 'asconfig.json';
}

async function compile(f, target, out) {
  const asc = await loadAsc();
  const started = Date.now();
  const read = new Set();
  const written = [];
  let diagnostics = '';
  const { error } = await asc.main(
    [relative(root, f.entry), '--config', configFor(f), '--target', target, '--outFile', relative(root, out), '--noColors'],
    {
      stdout: { write: () => true },
      stderr: {
        write: (s) => {
          diagnostics += s;
          return true;
        },
      },
      readFile: (filename, baseDir) => {
        const path = resolve(baseDir, filename);
        try {
          const text = readFileSync(path, 'utf8');
          read.add(relative(root, path));
          return text;
        } catch {
          return null;
        }
      },
      // Outputs are kept in memory and written only when the whole compilation succeeded.
      writeFile: (filename, contents, baseDir) => {
        written.push([resolve(baseDir, filename), contents]);
        return true;
      },
    },
  );
  if (error) throw new Error(`building ${relative(root, f.entry)} (${target}) failed:\n${(diagnostics || error.message).trimEnd()}`);
  // The module last, so its mtime (what the up-to-date check reads) covers the source map too.
  written.sort(([a], [b]) => (a === out ? 1 : b === out ? -1 : 0));
  for (const [path, contents] of written) writeAtomically(path, contents);
  // Stamp outputs with the time the compile started: a source edited while the compiler ran is
  // then newer than the output and gets rebuilt next time.
  const stamp = new Date(started);
  for (const [path] of written) utimesSync(path, stamp, stamp);
  writeAtomically(depsFile(f.name, target), JSON.stringify({ inputs: [...read].sort() }, null, 1) + '\n');
}

async function buildFilters() {
  const filters = findFilters();
  const sharedMtime = Math.max(
    newestMtime(join(root, 'sdk', 'assembly')),
    newestMtime(join(root, 'node_modules', '@solo-io', 'proxy-runtime', 'assembly')),
    newestMtime(join(root, 'node_modules', 'assemblyscript', 'package.json')),
    newestMtime(join(root, 'asconfig.json')),
    newestMtime(join(root, 'sdk', 'asconfig.json')),
    newestMtime(fileURLToPath(import.meta.url)),
  );
  let built = 0;
  for (const f of filters) {
    const filterMtime = Math.max(sharedMtime, newestMtime(f.dir));
    for (const { target, suffix } of TARGETS) {
      const out = join(outDir, `${f.name}${suffix}`);
      if (upToDate(out, f.name, target, filterMtime)) continue;
      const t0 = Date.now();
      await compile(f, target, out);
      built++;
      say(`built ${relative(root, out)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
  return { total: filters.length, built };
}

function buildTypeScript() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
  if (r.error) throw new Error(`could not run tsc: ${r.error.message}`);
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd();
    throw new Error(`TypeScript build failed (tsc -b):\n${output}`);
  }
}

try {
  const started = Date.now();
  const { total, built } = await buildFilters();
  if (!filtersOnly) buildTypeScript();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const line = `meshward build: ${total} filter(s), ${built} wasm target(s) rebuilt${filtersOnly ? '' : ', TypeScript built'} in ${seconds} s`;
  console.log(line);
} catch (e) {
  console.error(`meshward build: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
