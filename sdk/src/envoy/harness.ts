import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { requireTool, toolVersion, type ResolvedTool } from '../tools/resolve.js';
import { ENVOY_VERSION } from '../tools/versions.js';
import { freePorts } from './ports.js';
import { renderTemplate } from './template.js';

export type EnvoyRuntime = 'local' | 'container';

export type ConfigInput = object | string;

export interface StartEnvoyOptions {
  /**
   * The bootstrap: an object, YAML or JSON text with `{{placeholders}}`, or a function of the
   * allocated ports returning either. Placeholders: `{{port.NAME}}` for each allocated port and
   * every key of `vars`. An `admin` block is added on `{{port.admin}}` when the config has none.
   */
  config: ConfigInput | ((ports: Record<string, number>) => ConfigInput);
  /** Names of loopback ports to allocate (`admin` and `listener` always are). */
  ports?: string[];
  /** Ports to use as given instead of allocating (e.g. the demo's fixed 10000/9901). */
  fixedPorts?: Record<string, number>;
  /** Called with each chunk Envoy prints (it is also kept for `log()`). */
  onOutput?: (chunk: string) => void;
  vars?: Record<string, string | number>;
  /** `local` (default, or `MESHWARD_ENVOY_RUNTIME`) or `container` (testcontainers + Docker). */
  runtime?: EnvoyRuntime;
  /** Envoy's `-l` (default `info`). */
  logLevel?: string;
  /** Envoy's `--component-log-level`, e.g. `wasm:debug`. */
  componentLogLevel?: string;
  /** Worker threads (default 1: tests are light and machines small). */
  concurrency?: number;
  /** How long to wait for the admin endpoint to report LIVE (default 30 s). */
  startTimeoutMs?: number;
  /** A watchdog that kills Envoy after this long whatever happens (default 15 min; 0 or Infinity: none). */
  maxLifetimeMs?: number;
  extraArgs?: string[];
  /** Extra host folders the container runtime mounts (wasm files named in the config are mounted automatically). */
  mounts?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Envoy exited, or never became live; carries everything Envoy printed. */
export class EnvoyStartError extends Error {
  constructor(
    message: string,
    readonly log: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'EnvoyStartError';
  }
}

/** What a runtime hands the harness: Envoy's output, its exit, and a way to stop it. */
export interface EnvoyProcess {
  onOutput(cb: (chunk: string) => void): void;
  readonly exited: Promise<number | null>;
  terminate(): void;
  kill(): void;
  describe: string;
}

const running = new Set<EnvoyInstance>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when the test runner exits without stopping an instance.
  process.once('exit', () => {
    for (const e of running) e.killNow();
  });
}

/** Stops every Envoy this process started; call it from an `afterEach`/`afterAll` hook. */
export async function stopAllEnvoys(): Promise<void> {
  await Promise.all([...running].map((e) => e.stop()));
}

const versionCache = new Map<string, string>();

/** The version line of the Envoy the local runtime would use (`envoy --version`). */
export function envoyVersionLine(env: NodeJS.ProcessEnv = process.env): string {
  const tool = requireTool('envoy', env);
  const cached = versionCache.get(tool.path);
  if (cached) return cached;
  const v = toolVersion(tool);
  if (!v) throw new Error(`${tool.path} --version failed`);
  versionCache.set(tool.path, v.line);
  return v.line;
}

function versionOf(tool: ResolvedTool): string {
  const v = toolVersion(tool);
  return v?.version ?? ENVOY_VERSION;
}

export class EnvoyInstance {
  private output = '';
  private outputLimit = 32 * 1024 * 1024;
  private waiters: Array<() => void> = [];
  private stopped?: Promise<void>;
  private watchdog?: NodeJS.Timeout;
  exitCode: number | null | undefined = undefined;
  /** Resolves with Envoy's exit code once it has exited, for whatever reason. */
  readonly exited: Promise<number | null>;

  constructor(
    private readonly proc: EnvoyProcess,
    /** Allocated ports by name (`admin`, `listener`, and any requested). */
    readonly ports: Record<string, number>,
    /** Folder holding the rendered config and `envoy.log`. */
    readonly workDir: string,
    readonly configPath: string,
    readonly runtime: EnvoyRuntime,
    private readonly logFile: WriteStream,
    maxLifetimeMs: number,
  ) {
    proc.onOutput((chunk) => {
      logFile.write(chunk);
      if (this.output.length < this.outputLimit) this.output += chunk;
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    });
    this.exited = proc.exited;
    void proc.exited.then((code) => {
      this.exitCode = code;
      running.delete(this);
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    });
    if (Number.isFinite(maxLifetimeMs) && maxLifetimeMs > 0) {
      this.watchdog = setTimeout(() => void this.stop(), Math.min(maxLifetimeMs, 2 ** 31 - 1));
      this.watchdog.unref();
    }
    running.add(this);
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.ports['admin']}`;
  }

  /** `http://127.0.0.1:<port><path>` for an allocated port (default `listener`). */
  url(path = '/', portName = 'listener'): string {
    const port = this.ports[portName];
    if (port === undefined) throw new Error(`no port named ${portName} (have ${Object.keys(this.ports).join(', ')})`);
    return `http://127.0.0.1:${port}${path}`;
  }

  /** Everything Envoy printed so far (stdout and stderr, including access logs to stdout). */
  log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the first match of `pattern` in Envoy's output; rejects after `timeoutMs`. */
  async waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = typeof pattern === 'string' ? (this.output.includes(pattern) ? pattern : null) : pattern.exec(this.output)?.[0];
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) {
        throw new Error(`Envoy log did not show ${String(pattern)} within ${timeoutMs} ms; last lines:\n${tail(this.output, 30)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Counters and gauges from the admin `/stats` endpoint, by full name. */
  async stats(filter?: string): Promise<Record<string, number>> {
    const q = filter ? `&filter=${encodeURIComponent(filter)}` : '';
    const res = await fetch(`${this.adminUrl}/stats?format=json${q}`);
    if (!res.ok) throw new Error(`admin /stats answered ${res.status}`);
    const body = (await res.json()) as { stats: Array<{ name?: string; value?: number }> };
    const out: Record<string, number> = {};
    for (const s of body.stats) if (s.name !== undefined && typeof s.value === 'number') out[s.name] = s.value;
    return out;
  }

  /** One counter or gauge; undefined when Envoy has no stat by that name. */
  async stat(name: string): Promise<number | undefined> {
    const all = await this.stats(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    return all[name];
  }

  /** Stops Envoy (SIGTERM, then SIGKILL after 5 s) and removes its work folder. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.watchdog) clearTimeout(this.watchdog);
      if (this.running) {
        this.proc.terminate();
        const killer = setTimeout(() => this.proc.kill(), 5_000);
        await this.proc.exited;
        clearTimeout(killer);
      }
      running.delete(this);
      await new Promise<void>((r) => this.logFile.end(r));
      if (!process.env['MESHWARD_KEEP_ENVOY_DIRS']) rmSync(this.workDir, { recursive: true, force: true });
    })();
    return this.stopped;
  }

  /** Synchronous kill for process-exit hooks. */
  killNow(): void {
    if (this.running) this.proc.kill();
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function defaultRuntime(env: NodeJS.ProcessEnv): EnvoyRuntime {
  const r = env['MESHWARD_ENVOY_RUNTIME'];
  if (r === undefined || r === '' || r === 'local') return 'local';
  if (r === 'container') return 'container';
  throw new Error(`MESHWARD_ENVOY_RUNTIME=${r}: expected "local" or "container"`);
}

/** Renders the config, adds an admin block if missing, and returns it with its admin port. */
function materializeConfig(input: ConfigInput, vars: Record<string, string | number>, ports: Record<string, number>): Record<string, unknown> {
  let config: unknown;
  if (typeof input === 'string') {
    const text = renderTemplate(input, vars);
    try {
      config = parseYaml(text);
    } catch (e) {
      throw new Error(`Envoy config is not valid YAML/JSON: ${(e as Error).message}`);
    }
  } else {
    // Objects may carry placeholders in string values too (e.g. a shared fixture).
    config = JSON.parse(renderTemplate(JSON.stringify(input), vars));
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error('Envoy config must be a mapping (the bootstrap object)');
  }
  const c = config as Record<string, unknown>;
  if (c['admin'] === undefined) {
    c['admin'] = { address: { socket_address: { address: '127.0.0.1', port_value: ports['admin'] } } };
  } else {
    const port = (c['admin'] as { address?: { socket_address?: { port_value?: unknown } } }).address?.socket_address?.port_value;
    if (typeof port === 'number') ports['admin'] = port;
  }
  return c;
}

function spawnLocal(tool: ResolvedTool, args: string[], env: NodeJS.ProcessEnv): EnvoyProcess {
  // setpriv's parent-death signal kills Envoy even when the test runner is killed outright.
  const usePdeath = process.platform === 'linux' && existsSync('/usr/bin/setpriv');
  const cmd = usePdeath ? '/usr/bin/setpriv' : tool.path;
  const argv = usePdeath ? ['--pdeathsig', 'SIGKILL', '--', tool.path, ...args] : args;
  const child: ChildProcess = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', () => resolve(null));
  });
  const listeners: Array<(s: string) => void> = [];
  const emit = (b: Buffer) => {
    const s = b.toString('utf8');
    for (const l of listeners) l(s);
  };
  child.stdout?.on('data', emit);
  child.stderr?.on('data', emit);
  return {
    onOutput: (cb) => listeners.push(cb),
    exited,
    terminate: () => child.kill('SIGTERM'),
    kill: () => child.kill('SIGKILL'),
    describe: `${tool.path} (pid ${child.pid})`,
  };
}

/** Absolute `.wasm` paths named in the config, so the container can see them at the same path. */
function wasmDirs(configText: string): string[] {
  const dirs = new Set<string>();
  for (const m of configText.matchAll(/"(\/[^"]+\.wasm)"/g)) if (m[1]) dirs.add(dirname(m[1]));
  return [...dirs];
}

async function spawnContainer(version: string, workDir: string, configText: string, args: string[], mounts: string[]): Promise<EnvoyProcess> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch {
    throw new Error('MESHWARD_ENVOY_RUNTIME=container needs the npm package testcontainers (11.x)');
  }
  try {
    await tc.getContainerRuntimeClient();
  } catch (e) {
    throw new Error(`MESHWARD_ENVOY_RUNTIME=container needs a Docker engine, and none is reachable: ${(e as Error).message}`);
  }
  const binds = [workDir, ...wasmDirs(configText), ...mounts].map((source) => ({ source, target: source, mode: 'ro' as const }));
  const container = await new tc.GenericContainer(`envoyproxy/envoy:v${version}`)
    .withNetworkMode('host')
    .withBindMounts(binds)
    .withCommand(['envoy', ...args])
    .withWaitStrategy(tc.Wait.forLogMessage(/starting main dispatch loop|all dependencies initialized/))
    .start();
  const listeners: Array<(s: string) => void> = [];
  const stream = await container.logs();
  stream.on('data', (b: Buffer | string) => {
    const s = b.toString();
    for (const l of listeners) l(s);
  });
  let resolveExit!: (c: number | null) => void;
  const exited = new Promise<number | null>((r) => (resolveExit = r));
  stream.on('end', () => resolveExit(0));
  const stopContainer = (timeout: number) => void container.stop({ timeout }).then(() => resolveExit(0), () => resolveExit(null));
  return {
    onOutput: (cb) => listeners.push(cb),
    exited,
    terminate: () => stopContainer(5_000),
    kill: () => stopContainer(0),
    describe: `container ${container.getId().slice(0, 12)} (envoyproxy/envoy:v${version})`,
  };
}

async function waitUntilLive(instance: EnvoyInstance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!instance.running) break;
    try {
      const res = await fetch(`${instance.adminUrl}/ready`, { signal: AbortSignal.timeout(1_000) });
      const text = (await res.text()).trim();
      if (res.status === 200 && text === 'LIVE') return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = instance.log();
  const why = instance.running ? `did not become live within ${timeoutMs} ms` : `exited with code ${instance.exitCode} before becoming live`;
  await instance.stop();
  throw new EnvoyStartError(`Envoy ${why}; last lines of its log:\n${tail(log, 40)}`, log, instance.exitCode ?? null);
}

/**
 * Starts a real Envoy on loopback with a generated config and free ports, waits until the admin
 * endpoint reports LIVE, and returns a handle to read its log and stats and to stop it.
 * Every instance is also stopped by `stopAllEnvoys()`, by a lifetime watchdog, and on exit.
 */
export async function startEnvoy(options: StartEnvoyOptions): Promise<EnvoyInstance> {
  installExitHook();
  const env = options.env ?? process.env;
  const runtime = options.runtime ?? defaultRuntime(env);
  const portNames = [...new Set(['admin', 'listener', ...(options.ports ?? [])])];
  const fixed = options.fixedPorts ?? {};
  const ports: Record<string, number> = { ...(await freePorts(portNames.filter((n) => fixed[n] === undefined))), ...fixed };
  const vars: Record<string, string | number> = { ...(options.vars ?? {}) };
  for (const [name, port] of Object.entries(ports)) vars[`port.${name}`] = port;
  const input = typeof options.config === 'function' ? options.config({ ...ports }) : options.config;
  const config = materializeConfig(input, vars, ports);

  const workDir = mkdtempSync(join(tmpdir(), 'meshward-envoy-'));
  chmodSync(workDir, 0o755); // the container's envoy user must read it
  const configPath = join(workDir, 'envoy.yaml');
  const configText = toYaml(config, { lineWidth: 0 });
  writeFileSync(configPath, configText, { mode: 0o644 });

  const args = [
    '-c', configPath,
    '--concurrency', String(options.concurrency ?? 1),
    '-l', options.logLevel ?? 'info',
    '--disable-hot-restart',
    '--drain-time-s', '0',
    // Access logs reach the captured output promptly instead of every 10 s.
    '--file-flush-interval-msec', '50',
  ];
  if (options.componentLogLevel) args.push('--component-log-level', options.componentLogLevel);
  args.push(...(options.extraArgs ?? []));

  let proc: EnvoyProcess;
  try {
    const tool = requireTool('envoy', env);
    proc = runtime === 'local' ? spawnLocal(tool, args, env) : await spawnContainer(versionOf(tool), workDir, JSON.stringify(config), args, options.mounts ?? []);
  } catch (e) {
    rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
  const logFile = createWriteStream(join(workDir, 'envoy.log'));
  const instance = new EnvoyInstance(proc, ports, workDir, configPath, runtime, logFile, options.maxLifetimeMs ?? 15 * 60_000);
  if (options.onOutput) proc.onOutput(options.onOutput);
  await waitUntilLive(instance, options.startTimeoutMs ?? 30_000);
  return instance;
}

/** Runs `fn` with a started Envoy and always stops it afterwards. */
export async function withEnvoy<T>(options: StartEnvoyOptions, fn: (envoy: EnvoyInstance) => Promise<T>): Promise<T> {
  const envoy = await startEnvoy(options);
  try {
    return await fn(envoy);
  } finally {
    await envoy.stop();
  }
}

/** Validates a config with `envoy --mode validate` without starting listeners. */
export function validateEnvoyConfig(configPath: string, env: NodeJS.ProcessEnv = process.env): { ok: boolean; output: string } {
  const tool = requireTool('envoy', env);
  const r = spawnSync(tool.path, ['--mode', 'validate', '-c', configPath, '--disable-hot-restart'], { encoding: 'utf8', env });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
