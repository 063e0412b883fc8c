import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function readPackageJson(dir: string): { workspaces?: unknown } | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { workspaces?: unknown };
  } catch {
    return {};
  }
}

/**
 * The project root: the nearest folder at or above `from` whose package.json declares
 * workspaces, else the nearest folder with a package.json. Managed tools live under
 * `<root>/.meshward` so each project pins its own.
 */
export function findProjectRoot(from: string = process.cwd()): string {
  let nearest: string | undefined;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (!dir.split(/[\\/]/).includes('node_modules')) {
      const pkg = readPackageJson(dir);
      if (pkg) {
        nearest ??= dir;
        if (pkg.workspaces !== undefined) return dir;
      }
    }
    if (dirname(dir) === dir) return nearest ?? resolve(from);
  }
}

/** Where managed tools are installed: `$MESHWARD_HOME`, else `<project root>/.meshward`. */
export function meshwardHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['MESHWARD_HOME'];
  if (fromEnv && fromEnv.trim() !== '') return resolve(fromEnv);
  return join(findProjectRoot(), '.meshward');
}
