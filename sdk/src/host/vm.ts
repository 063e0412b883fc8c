/**
 * One Wasm VM (Envoy runs one per worker thread): compiles/validates the module like Envoy,
 * instantiates it with the host functions, starts it (`_initialize`/`_start`, root context
 * creation, `proxy_on_vm_start`, `proxy_on_configure`) and calls into it. Calls follow
 * proxy-wasm-cpp-host: a trap marks the VM failed (every later callback is skipped), hostcalls act
 * on the current or effective context, and work a hostcall asks for (continue, local reply) runs
 * after the callback returns.
 */
import {
  CALLOUT_INCREMENT,
  CalloutType,
  LOG_LEVEL_NAMES,
  LogLevel,
  MALLOC_ALLOWED_FUNCTIONS,
  METRIC_ID_INCREMENT,
  MetricType,
  START_ALLOWED_FUNCTIONS,
  WasmResult,
  describeSignature,
  hostImportSignature,
  type AbiVersion,
  type ImportProfile,
  type LogLevelName,
  type Signature,
  type WasmResultCode,
} from './abi.js';
import type { HostClock } from './clock.js';
import { RootContext, VmContext, type ContextBase } from './context.js';
import { ConfigRejectedError, WasmLoadError, type FailState, type LogEntry, type TrapInfo } from './errors.js';
import { HeaderMap, type HeaderPair } from './headers.js';
import { buildImports } from './hostcalls.js';
import { WasmMemory } from './memory.js';
import type { MetricInfo, MetricKind, Metrics } from './metrics.js';
import type { PropertyTree } from './properties.js';
import type { SharedData, SharedQueues } from './shared-data.js';
import { WasmBinaryError, checkWasmHeader, readModuleInfo, type ModuleInfo } from './wasm-binary.js';

/** A compiled, validated module, shared by every VM of a host. */
export interface CompiledFilter {
  readonly module: WebAssembly.Module;
  readonly info: ModuleInfo;
  readonly abi: AbiVersion;
  readonly bytes: Uint8Array;
}

const EXPORT_SIGNATURES: Readonly<Record<string, string>> = {
  _initialize: ' -> ',
  _start: ' -> ',
  main: 'i32 i32 -> i32',
  __main_void: ' -> i32',
  malloc: 'i32 -> i32',
  proxy_on_memory_allocate: 'i32 -> i32',
  proxy_on_context_create: 'i32 i32 -> ',
  proxy_on_vm_start: 'i32 i32 -> i32',
  proxy_validate_configuration: 'i32 i32 -> i32',
  proxy_on_configure: 'i32 i32 -> i32',
  proxy_on_tick: 'i32 -> ',
  proxy_on_done: 'i32 -> i32',
  proxy_on_log: 'i32 -> ',
  proxy_on_delete: 'i32 -> ',
  proxy_on_foreign_function: 'i32 i32 i32 -> ',
  proxy_on_queue_ready: 'i32 i32 -> ',
  proxy_on_new_connection: 'i32 -> i32',
  proxy_on_downstream_data: 'i32 i32 i32 -> i32',
  proxy_on_upstream_data: 'i32 i32 i32 -> i32',
  proxy_on_downstream_connection_close: 'i32 i32 -> ',
  proxy_on_upstream_connection_close: 'i32 i32 -> ',
  proxy_on_request_body: 'i32 i32 i32 -> i32',
  proxy_on_request_trailers: 'i32 i32 -> i32',
  proxy_on_request_metadata: 'i32 i32 -> i32',
  proxy_on_response_body: 'i32 i32 i32 -> i32',
  proxy_on_response_trailers: 'i32 i32 -> i32',
  proxy_on_response_metadata: 'i32 i32 -> i32',
  proxy_on_http_call_response: 'i32 i32 i32 i32 i32 -> ',
  proxy_on_grpc_receive_initial_metadata: 'i32 i32 i32 -> ',
  proxy_on_grpc_receive_trailing_metadata: 'i32 i32 i32 -> ',
  proxy_on_grpc_receive: 'i32 i32 i32 -> ',
  proxy_on_grpc_close: 'i32 i32 i32 -> ',
  envoy_on_resolve_dns: 'i32 i32 i32 -> ',
  envoy_on_stats_update: 'i32 i32 -> ',
};

function parseSig(s: string): Signature {
  const [p = '', r = ''] = s.split('->').map((x) => x.trim());
  return {
    params: p ? (p.split(' ') as Signature['params']) : [],
    results: r ? (r.split(' ') as Signature['results']) : [],
  };
}

function sameSig(a: Signature, b: Signature): boolean {
  return a.params.join(' ') === b.params.join(' ') && a.results.join(' ') === b.results.join(' ');
}

/** Expected signature of a module export the host calls (depends on the ABI for headers). */
export function expectedExportSignature(name: string, abi: AbiVersion): Signature | undefined {
  if (name === 'proxy_on_request_headers' || name === 'proxy_on_response_headers') {
    return parseSig(abi === '0.1.0' ? 'i32 i32 -> i32' : 'i32 i32 i32 -> i32');
  }
  const s = EXPORT_SIGNATURES[name];
  return s === undefined ? undefined : parseSig(s);
}

/**
 * Validate and compile a module the way Envoy loads one. Throws WasmLoadError with Envoy's
 * message (corrupted module, missing ABI version, missing import, import/export type mismatch).
 */
export async function compileFilter(bytes: Uint8Array, profile: ImportProfile = 'current'): Promise<CompiledFilter> {
  if (!checkWasmHeader(bytes)) {
    throw new WasmLoadError('Failed to parse corrupted Wasm module', 'UnableToInitializeCode');
  }
  let info: ModuleInfo;
  try {
    info = readModuleInfo(bytes);
  } catch (e) {
    if (e instanceof WasmBinaryError) throw new WasmLoadError('Failed to parse corrupted Wasm module', 'UnableToInitializeCode');
    throw e;
  }
  const abi = info.abi;
  if (!abi) throw new WasmLoadError('Missing or unknown Proxy-Wasm ABI version', 'UnableToInitializeCode');
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new WasmLoadError(`Failed to load Wasm bytecode: ${(e as Error).message}`, 'UnableToInitializeCode');
  }
  for (const imp of info.imports) {
    const fq = `${imp.module}.${imp.name}`;
    if (imp.kind === 'memory' || imp.kind === 'table') continue;
    if (imp.kind !== 'function') {
      throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${fq}`, 'UnableToInitializeCode');
    }
    const host = hostImportSignature(imp.module, imp.name, abi, profile);
    if (!host) {
      throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${fq}`, 'UnableToInitializeCode');
    }
    if (imp.signature && !sameSig(imp.signature, host)) {
      const want = describeSignature(imp.signature).split(' -> ');
      const has = describeSignature(host).split(' -> ');
      throw new WasmLoadError(
        `Failed to load Wasm module due to an import type mismatch: ${fq}, want: ${want[0]} -> ${want[1]}, but host exports: ${has[0]} -> ${has[1]}`,
        'UnableToInitializeCode',
      );
    }
  }
  for (const [name, exp] of info.exports) {
    if (exp.kind !== 'function' || !exp.signature) continue;
    const want = expectedExportSignature(name, abi);
    if (want && !sameSig(want, exp.signature)) {
      throw new WasmLoadError(
        `Bad function signature for: ${name}, want: ${describeSignature(want)}, but the module exports: ${describeSignature(exp.signature)}`,
        'UnableToInitializeCode',
      );
    }
  }
  if (!info.exports.has('malloc') && !info.exports.has('proxy_on_memory_allocate')) {
    throw new WasmLoadError('Wasm module is missing malloc function.', 'MissingFunction');
  }
  return { module, info, abi, bytes };
}

/** An outbound HTTP call made by the module (`proxy_http_call`). */
export interface HttpCallRequest {
  /** Cluster (upstream) name as passed by the module. */
  cluster: string;
  token: number;
  worker: number;
  method: string;
  path: string;
  authority: string;
  headers: HeaderPair[];
  /** The body as UTF-8 text. */
  body: string;
  bodyBytes: Uint8Array;
  trailers: HeaderPair[];
  /** Timeout in ms (0 = none). */
  timeoutMs: number;
}

export interface HttpCallResponseInit {
  status?: number;
  headers?: Record<string, string | readonly string[]> | ReadonlyArray<readonly [string, string]>;
  body?: string | Uint8Array;
  trailers?: Record<string, string | readonly string[]> | ReadonlyArray<readonly [string, string]>;
}

/** What a scripted upstream does with an http_call: answer it, time it out, or reset it. */
export type HttpCallOutcome = HttpCallResponseInit | 'timeout' | 'reset';

export interface GrpcCallRequest {
  token: number;
  worker: number;
  /** Cluster name, or the serialized GrpcService the module passed. */
  service: string;
  serviceName: string;
  method: string;
  initialMetadata: HeaderPair[];
  message: Uint8Array;
  timeoutMs: number;
}

export interface GrpcCallResult {
  /** gRPC status code (0 = OK). */
  status?: number;
  statusMessage?: string;
  /** Response message (for status 0). */
  message?: Uint8Array | string;
}

export type ForeignFunction = (args: Uint8Array, vm: WasmVm) => Uint8Array | void | { result: WasmResultCode; data?: Uint8Array };

/** Services the host provides to its VMs. */
export interface VmServices {
  readonly pluginName: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginConfig: Uint8Array;
  readonly vmConfig: Uint8Array;
  readonly logLevel: LogLevelName;
  /** Log entries kept per VM and host-wide (older ones are dropped). */
  readonly logLimit: number;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly importProfile: ImportProfile;
  readonly allowOnHeadersStopIteration: boolean;
  readonly clock: HostClock;
  readonly sharedData: SharedData;
  readonly queues: SharedQueues;
  readonly metrics: Metrics;
  readonly foreignFunctions: ReadonlyMap<string, ForeignFunction>;
  log(entry: LogEntry): void;
  /** Properties every context sees (plugin_*, node, user-provided static ones). */
  baseProperties(): PropertyTree;
  /** Run after the current host operation (Envoy's post-to-dispatcher). */
  post(task: () => void): void;
  clusterExists(name: string): boolean;
  startHttpCall(vm: WasmVm, request: HttpCallRequest): void;
  startGrpcCall(vm: WasmVm, request: GrpcCallRequest): void;
  resolveDns(vm: WasmVm, token: number, address: string): void;
}

class RestrictedCallback extends Error {
  constructor() {
    super('restricted_callback');
  }
}

interface PendingHttpCall {
  request: HttpCallRequest;
  cancelTimeout?: () => void;
}

export interface GrpcStreamState {
  token: number;
  service: string;
  serviceName: string;
  method: string;
  initialMetadata: HeaderPair[];
  /** Messages the module sent, in order. */
  sent: Array<{ message: Uint8Array; endStream: boolean }>;
  localClosed: boolean;
  remoteClosed: boolean;
}

type ExportFn = (...args: number[]) => number | undefined;

const WASM_FRAME = /at (?:(\S+) )?\(?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:(0x[0-9a-f]+)\)?/;

export class WasmVm {
  readonly abi: AbiVersion;
  readonly instance: WebAssembly.Instance;
  readonly mem: WasmMemory;
  readonly vmContext: VmContext;
  root!: RootContext;
  readonly contexts = new Map<number, ContextBase>();
  /** Messages logged on this VM, oldest first (the oldest are dropped past `logLimit`). */
  readonly logs: LogEntry[] = [];
  /** How many entries were dropped from the front of `logs`. */
  private logBase = 0;
  failState: FailState | undefined;
  failMessage: string | undefined;
  trap: TrapInfo | undefined;

  /** The context of the running callback, and the effective context set by the module. */
  private current: ContextBase | null = null;
  private effectiveId = 0;
  /** Host functions allowed right now (null = all). */
  restricted: ReadonlySet<string> | null = null;
  private readonly afterActions: Array<() => void> = [];
  /** Set by `proxy_send_local_response`: the current callback's result becomes "stop". */
  stopNextIteration = false;
  private depth = 0;
  private callLogStart = 0;
  private nextContextId = 1;
  private readonly fns: Record<string, ExportFn | undefined> = {};

  private readonly metricIds = new Map<number, MetricInfo>();
  private readonly nextMetricId: Record<MetricKind, number> = {
    counter: MetricType.Counter,
    gauge: MetricType.Gauge,
    histogram: MetricType.Histogram,
  };
  private nextHttpCallId: number = CalloutType.HttpCall;
  private nextGrpcCallId: number = CalloutType.GrpcCall;
  private nextGrpcStreamId: number = CalloutType.GrpcStream;
  readonly pendingHttpCalls = new Map<number, PendingHttpCall>();
  readonly pendingGrpcCalls = new Map<number, GrpcCallRequest>();
  readonly grpcStreams = new Map<number, GrpcStreamState>();
  private nextDnsToken = 1;
  private tickPeriodMs = 0;
  private cancelTick: (() => void) | undefined;
  readonly queueNotify: (token: number) => void;

  constructor(
    readonly compiled: CompiledFilter,
    readonly services: VmServices,
    readonly worker: number,
  ) {
    this.abi = compiled.abi;
    this.vmContext = new VmContext(this, 0);
    this.contexts.set(0, this.vmContext);
    this.queueNotify = (token: number) => this.services.post(() => this.onQueueReady(token));
    const { imports, memoryRef } = buildImports(this);
    try {
      this.instance = new WebAssembly.Instance(compiled.module, imports);
    } catch (e) {
      throw new WasmLoadError(`Failed to create new Wasm instance: ${(e as Error).message}`, 'UnableToInitializeCode');
    }
    const memExport = this.instance.exports['memory'];
    const memory =
      memExport instanceof WebAssembly.Memory ? memExport : (memoryRef.memory ?? new WebAssembly.Memory({ initial: 0 }));
    this.mem = new WasmMemory(memory);
    for (const [name, value] of Object.entries(this.instance.exports)) {
      if (typeof value === 'function') this.fns[name] = value as ExportFn;
    }
    const malloc = this.fns['malloc'] ?? this.fns['proxy_on_memory_allocate'];
    this.mem.malloc = malloc ? (size: number) => this.callMalloc(malloc, size) : undefined;
  }

  get pluginConfig(): Uint8Array {
    return this.services.pluginConfig;
  }

  get vmConfig(): Uint8Array {
    return this.services.vmConfig;
  }

  get isFailed(): boolean {
    return this.failState !== undefined;
  }

  has(name: string): boolean {
    return this.fns[name] !== undefined;
  }

  baseProperties(): PropertyTree {
    return this.services.baseProperties();
  }

  /** The context hostcalls act on: the effective context if one was set, else the current one. */
  ctx(): ContextBase {
    if (this.effectiveId !== 0) {
      const eff = this.contexts.get(this.effectiveId);
      if (eff) return eff;
    }
    return this.current ?? this.vmContext;
  }

  setEffectiveContext(id: number): WasmResultCode {
    if (!this.contexts.has(id)) return WasmResult.BadArgument;
    this.effectiveId = id;
    return WasmResult.Ok;
  }

  allocContextId(): number {
    for (;;) {
      const id = this.nextContextId;
      this.nextContextId = (this.nextContextId + 1) >>> 0;
      if (id !== 0 && !this.contexts.has(id)) return id;
    }
  }

  register(ctx: ContextBase): void {
    this.contexts.set(ctx.id, ctx);
  }

  unregister(ctx: ContextBase): void {
    if (ctx.id !== 0 && ctx !== this.root) this.contexts.delete(ctx.id);
  }

  // ---- logging -----------------------------------------------------------------------------

  log(level: number, message: string, source: LogEntry['source'], ctx: ContextBase = this.ctx()): void {
    const name = LOG_LEVEL_NAMES[level] ?? 'critical';
    if (source !== 'host' && level < LogLevel[this.services.logLevel]) return;
    const entry: LogEntry = { level: name, message, source, worker: this.worker, contextId: ctx.id };
    this.logs.push(entry);
    const limit = this.services.logLimit;
    if (this.logs.length > 2 * limit) {
      const drop = this.logs.length - limit;
      this.logs.splice(0, drop);
      this.logBase += drop;
    }
    this.services.log(entry);
  }

  /** A position in this VM's log (stable while old entries are dropped). */
  logIndex(): number {
    return this.logBase + this.logs.length;
  }

  /** Entries logged since `index` (as returned by `logIndex()`). */
  logsSince(index: number): LogEntry[] {
    return this.logs.slice(Math.max(0, index - this.logBase));
  }

  /** Logs since the start of the outermost running callback. */
  logsOfCurrentCall(): LogEntry[] {
    return this.logsSince(this.callLogStart);
  }

  // ---- failure -----------------------------------------------------------------------------

  fail(state: FailState, message: string): void {
    if (this.failState !== undefined) return;
    this.failState = state;
    this.failMessage = message;
    this.log(LogLevel.error, message, 'host', this.vmContext);
    this.stopTicks();
  }

  private recordTrap(fnName: string, e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    const kind = e instanceof Error ? e.name : 'Error';
    // V8 (Envoy's runtime) reports e.g. "Uncaught RuntimeError: unreachable".
    let message = `Function: ${fnName} failed: Uncaught ${kind}: ${reason}`;
    const frames: string[] = [];
    if (e instanceof Error && e.stack) {
      for (const line of e.stack.split('\n')) {
        const m = WASM_FRAME.exec(line);
        if (!m) continue;
        const name = m[1] && !m[1].startsWith('wasm://') ? m[1] : `unknown(function index:${m[2]})`;
        frames.push(`${String(frames.length).padStart(3, ' ')}:  ${m[3]} - ${name}`);
        if (frames.length >= 20) break;
      }
    }
    if (frames.length > 0) message += `\nProxy-Wasm plugin in-VM backtrace:\n${frames.join('\n')}`;
    if (this.failState !== undefined) {
      // Already failed: Envoy still logs every further failure.
      this.log(LogLevel.error, message, 'host', this.vmContext);
      return;
    }
    const logs = this.logsOfCurrentCall();
    const abort = [...logs].reverse().find((l) => l.level === 'critical' || l.level === 'error');
    this.trap = {
      function: fnName,
      message,
      reason,
      logs,
      worker: this.worker,
      ...(abort ? { abortMessage: abort.message } : {}),
    };
    this.fail('RuntimeError', message);
  }

  // ---- calling into the module -------------------------------------------------------------

  /**
   * Call export `name` with `ctx` as the current context. Returns the numeric result
   * (0 for void functions) or undefined when the export is missing, the VM has failed, or the
   * call trapped (the VM is then failed).
   */
  call(name: string, ctx: ContextBase, ...args: number[]): number | undefined {
    if (this.failState !== undefined) return undefined;
    return this.callUnchecked(name, ctx, args);
  }

  /** Call even when the VM already failed (Envoy does so during start-up). */
  private callUnchecked(name: string, ctx: ContextBase, args: number[]): number | undefined {
    const fn = this.fns[name];
    if (!fn) return undefined;
    const prevCurrent = this.current;
    const prevEffective = this.effectiveId;
    if (this.depth === 0) this.callLogStart = this.logIndex();
    this.current = ctx;
    this.effectiveId = 0;
    this.depth++;
    try {
      const r = fn(...args);
      return typeof r === 'number' ? r >>> 0 : 0;
    } catch (e) {
      this.recordTrap(name, e);
      return undefined;
    } finally {
      this.depth--;
      this.current = prevCurrent;
      this.effectiveId = prevEffective;
    }
  }

  /**
   * A callback as proxy-wasm-cpp-host runs one (`DeferAfterCallActions`): call, note whether
   * `proxy_send_local_response` asked to stop, then run the deferred actions.
   */
  callback(name: string, ctx: ContextBase, ...args: number[]): { result: number | undefined; stop: boolean } {
    const result = this.call(name, ctx, ...args);
    const stop = this.stopNextIteration;
    this.stopNextIteration = false;
    this.drainAfterActions();
    return { result, stop };
  }

  addAfterAction(action: () => void): void {
    this.afterActions.push(action);
  }

  /** Run deferred actions (re-entrant like cpp-host: a nested callback drains the queue too). */
  drainAfterActions(): void {
    for (let a = this.afterActions.shift(); a; a = this.afterActions.shift()) a();
  }

  /** Wrap a host function: enforce the start-up restriction, keep the current context. */
  guard<A extends unknown[], R>(key: string, fn: (...args: A) => R): (...args: A) => R {
    return (...args: A): R => {
      if (this.restricted !== null && !this.restricted.has(key)) throw new RestrictedCallback();
      return fn(...args);
    };
  }

  private callMalloc(malloc: ExportFn, size: number): number {
    if (this.failState !== undefined) return 0;
    const prev = this.restricted;
    this.restricted = MALLOC_ALLOWED_FUNCTIONS;
    try {
      const r = malloc(size);
      return typeof r === 'number' ? r >>> 0 : 0;
    } catch (e) {
      this.recordTrap('malloc', e);
      return 0;
    } finally {
      this.restricted = prev;
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Start the VM and configure the plugin (throws on failure, like Envoy refusing the config). */
  start(): void {
    this.restricted = START_ALLOWED_FUNCTIONS;
    try {
      if (this.fns['_initialize']) {
        this.call('_initialize', this.vmContext);
        if (this.fns['main']) this.call('main', this.vmContext, 0, 0);
        else if (this.fns['__main_void']) this.call('__main_void', this.vmContext);
      } else if (this.fns['_start']) {
        this.call('_start', this.vmContext);
      }
    } finally {
      this.restricted = null;
    }
    if (this.failState !== undefined) {
      throw new WasmLoadError(this.failMessage ?? 'Failed to start Wasm module', this.failState, this.logs.slice());
    }
    this.root = new RootContext(this, this.allocContextId());
    this.register(this.root);
    // ContextBase::onStart: like Envoy, proxy_on_vm_start is called even if context creation trapped.
    this.root.tempPluginConfig = true;
    this.callUnchecked('proxy_on_context_create', this.root, [this.root.id, 0]);
    this.stopNextIteration = false;
    this.drainAfterActions();
    this.root.tempPluginConfig = false;
    const started = this.fns['proxy_on_vm_start']
      ? this.callUnchecked('proxy_on_vm_start', this.root, [this.root.id, this.vmConfig.length])
      : 1;
    this.stopNextIteration = false;
    this.drainAfterActions();
    if (this.failState !== undefined || started === 0) {
      if (this.failState === undefined) this.fail('StartFailed', 'Failed to start base Wasm');
      throw new ConfigRejectedError(
        'vm_start',
        this.trap
          ? `Failed to start base Wasm: ${this.trap.message}`
          : 'Failed to start base Wasm (proxy_on_vm_start returned false)',
        this.logs.slice(),
        this.trap,
      );
    }
    this.configure();
  }

  private configure(): void {
    if (!this.fns['proxy_on_configure']) return;
    this.root.tempPluginConfig = true;
    const r = this.callback('proxy_on_configure', this.root, this.root.id, this.pluginConfig.length).result;
    this.root.tempPluginConfig = false;
    if (this.failState !== undefined || r === 0) {
      if (this.failState === undefined) this.fail('ConfigureFailed', 'Failed to configure base Wasm plugin');
      throw new ConfigRejectedError(
        'configure',
        this.trap
          ? `Failed to configure base Wasm plugin: ${this.trap.message}`
          : 'Failed to configure base Wasm plugin (proxy_on_configure returned false)',
        this.logs.slice(),
        this.trap,
      );
    }
  }

  /**
   * Shut the VM down: stop timers, then `proxy_on_done` on the root context, and
   * `proxy_on_delete` when it returns true (otherwise once the module calls `proxy_done`).
   */
  shutdown(): void {
    this.stopTicks();
    for (const p of this.pendingHttpCalls.values()) p.cancelTimeout?.();
    this.pendingHttpCalls.clear();
    this.services.queues.detach(this.queueNotify);
    if (this.root && this.failState === undefined) {
      const done = this.fns['proxy_on_done'] ? this.callback('proxy_on_done', this.root, this.root.id).result : 1;
      if (done === 0) this.rootPendingDone = true;
      else if (this.fns['proxy_on_delete']) this.callback('proxy_on_delete', this.root, this.root.id);
    }
  }

  /** The root context returned false from proxy_on_done and may call proxy_done later. */
  private rootPendingDone = false;

  /** `proxy_done`: finish a root context that was pending done. */
  done(ctx: ContextBase): WasmResultCode {
    if (!this.rootPendingDone || ctx !== this.root) return WasmResult.NotFound;
    this.rootPendingDone = false;
    this.addAfterAction(() => {
      if (this.fns['proxy_on_delete'] && !this.isFailed) this.callback('proxy_on_delete', this.root, this.root.id);
    });
    return WasmResult.Ok;
  }

  // ---- timers ------------------------------------------------------------------------------

  setTickPeriod(ms: number): void {
    this.stopTicks();
    this.tickPeriodMs = ms;
    if (ms > 0) this.armTick();
  }

  private armTick(): void {
    const period = this.tickPeriodMs;
    this.cancelTick = this.services.clock.setTimer(period, () => {
      this.cancelTick = undefined;
      if (this.failState !== undefined || this.tickPeriodMs === 0) return;
      if (this.fns['proxy_on_tick']) this.callback('proxy_on_tick', this.root, this.root.id);
      if (this.tickPeriodMs > 0 && this.failState === undefined && !this.cancelTick) this.armTick();
    });
  }

  private stopTicks(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
  }

  get tickPeriod(): number {
    return this.tickPeriodMs;
  }

  // ---- metrics -----------------------------------------------------------------------------

  defineMetric(type: number, name: string): { result: WasmResultCode; id?: number } {
    const kind: MetricKind | undefined =
      type === MetricType.Counter ? 'counter' : type === MetricType.Gauge ? 'gauge' : type === MetricType.Histogram ? 'histogram' : undefined;
    if (!kind) return { result: WasmResult.BadArgument };
    this.nextMetricId[kind] = (this.nextMetricId[kind] + METRIC_ID_INCREMENT) >>> 0;
    const id = this.nextMetricId[kind];
    this.metricIds.set(id, this.services.metrics.define(kind, name));
    return { result: WasmResult.Ok, id };
  }

  incrementMetric(id: number, offset: bigint): WasmResultCode {
    const type = id & 0x3;
    const m = this.metricIds.get(id);
    if (type === MetricType.Counter) {
      if (!m) return WasmResult.NotFound;
      if (offset <= 0n) return WasmResult.BadArgument;
      m.value += offset;
      return WasmResult.Ok;
    }
    if (type === MetricType.Gauge) {
      if (!m) return WasmResult.NotFound;
      m.value += offset;
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  recordMetric(id: number, value: bigint): WasmResultCode {
    const m = this.metricIds.get(id);
    if (!m) return WasmResult.NotFound;
    if (m.kind === 'counter') m.value += value;
    else if (m.kind === 'gauge') m.value = value;
    else m.samples.push(value);
    return WasmResult.Ok;
  }

  getMetric(id: number): { result: WasmResultCode; value?: bigint } {
    const type = id & 0x3;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return { result: WasmResult.BadArgument };
    const m = this.metricIds.get(id);
    if (!m) return { result: WasmResult.NotFound };
    return { result: WasmResult.Ok, value: m.value };
  }

  // ---- http calls --------------------------------------------------------------------------

  httpCall(
    cluster: string,
    headers: HeaderPair[],
    body: Uint8Array,
    trailers: HeaderPair[],
    timeoutMs: number,
  ): { result: WasmResultCode; token?: number } {
    if (timeoutMs > 0x7fffffff) return { result: WasmResult.BadArgument };
    if (!this.services.clusterExists(cluster)) return { result: WasmResult.BadArgument };
    const map = new HeaderMap(headers);
    const path = map.get(':path');
    const method = map.get(':method');
    const authority = map.get(':authority') ?? map.get('host');
    if (path === undefined || method === undefined || authority === undefined) return { result: WasmResult.BadArgument };
    this.nextHttpCallId = (this.nextHttpCallId + CALLOUT_INCREMENT) >>> 0;
    const token = this.nextHttpCallId;
    const request: HttpCallRequest = {
      cluster,
      token,
      worker: this.worker,
      method,
      path,
      authority,
      headers: map.pairs(),
      body: Buffer.from(body).toString('utf8'),
      bodyBytes: body,
      trailers,
      timeoutMs,
    };
    const pending: PendingHttpCall = { request };
    this.pendingHttpCalls.set(token, pending);
    if (timeoutMs > 0) {
      pending.cancelTimeout = this.services.clock.setTimer(timeoutMs, () => this.deliverHttpCall(token, 'timeout'));
    }
    this.services.startHttpCall(this, request);
    return { result: WasmResult.Ok, token };
  }

  /** Deliver the outcome of an http_call (ignored if already delivered). Returns true if delivered. */
  deliverHttpCall(token: number, outcome: HttpCallOutcome): boolean {
    const pending = this.pendingHttpCalls.get(token);
    if (!pending) return false;
    this.pendingHttpCalls.delete(token);
    pending.cancelTimeout?.();
    const root = this.root;
    if (outcome === 'reset') {
      root.statusCode = WasmResult.BrokenConnection;
      root.statusMessage = 'reset';
      this.addAfterAction(() => {
        root.statusMessage = '';
      });
      if (this.fns['proxy_on_http_call_response'] && this.failState === undefined) {
        this.callback('proxy_on_http_call_response', root, root.id, token, 0, 0, 0);
      } else {
        this.drainAfterActions();
      }
      return true;
    }
    const resp: HttpCallResponseInit =
      outcome === 'timeout'
        ? { status: 504, headers: { 'content-type': 'text/plain' }, body: 'upstream request timeout' }
        : outcome;
    const headers = new HeaderMap();
    headers.add(':status', String(resp.status ?? 200));
    if (resp.headers) for (const [k, v] of new HeaderMap(resp.headers)) headers.add(k, v);
    const body = typeof resp.body === 'string' ? Buffer.from(resp.body, 'utf8') : (resp.body ?? new Uint8Array(0));
    if (body.length > 0 && !headers.has('content-length')) headers.add('content-length', String(body.length));
    const trailers = resp.trailers ? new HeaderMap(resp.trailers) : null;
    root.httpCallResponse = { headers, body: new Uint8Array(body), trailers };
    this.addAfterAction(() => {
      root.httpCallResponse = null;
    });
    if (this.fns['proxy_on_http_call_response'] && this.failState === undefined) {
      this.callback('proxy_on_http_call_response', root, root.id, token, headers.size, body.length, trailers?.size ?? 0);
    } else {
      this.drainAfterActions();
    }
    return true;
  }

  // ---- gRPC ----------------------------------------------------------------------------------

  grpcCall(
    service: string,
    serviceName: string,
    method: string,
    initialMetadata: HeaderPair[],
    message: Uint8Array,
    timeoutMs: number,
  ): { result: WasmResultCode; token?: number } {
    if (!this.services.clusterExists(service)) return { result: WasmResult.ParseFailure };
    this.nextGrpcCallId = (this.nextGrpcCallId + CALLOUT_INCREMENT) >>> 0;
    const token = this.nextGrpcCallId;
    const req: GrpcCallRequest = {
      token,
      worker: this.worker,
      service,
      serviceName,
      method,
      initialMetadata,
      message,
      timeoutMs,
    };
    this.pendingGrpcCalls.set(token, req);
    this.services.startGrpcCall(this, req);
    return { result: WasmResult.Ok, token };
  }

  grpcStream(
    service: string,
    serviceName: string,
    method: string,
    initialMetadata: HeaderPair[],
  ): { result: WasmResultCode; token?: number } {
    if (!this.services.clusterExists(service)) return { result: WasmResult.ParseFailure };
    this.nextGrpcStreamId = (this.nextGrpcStreamId + CALLOUT_INCREMENT) >>> 0;
    const token = this.nextGrpcStreamId;
    this.grpcStreams.set(token, {
      token,
      service,
      serviceName,
      method,
      initialMetadata,
      sent: [],
      localClosed: false,
      remoteClosed: false,
    });
    return { result: WasmResult.Ok, token };
  }

  grpcSend(token: number, message: Uint8Array, endStream: boolean): WasmResultCode {
    if ((token & 0x3) !== CalloutType.GrpcStream) return WasmResult.BadArgument;
    const s = this.grpcStreams.get(token);
    if (!s) return WasmResult.NotFound;
    s.sent.push({ message, endStream });
    return WasmResult.Ok;
  }

  grpcClose(token: number): WasmResultCode {
    const type = token & 0x3;
    if (type === CalloutType.GrpcCall) {
      return this.pendingGrpcCalls.delete(token) ? WasmResult.Ok : WasmResult.NotFound;
    }
    if (type === CalloutType.GrpcStream) {
      const s = this.grpcStreams.get(token);
      if (!s) return WasmResult.NotFound;
      if (s.remoteClosed) this.grpcStreams.delete(token);
      else s.localClosed = true;
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  grpcCancel(token: number): WasmResultCode {
    const type = token & 0x3;
    if (type === CalloutType.GrpcCall) return this.pendingGrpcCalls.delete(token) ? WasmResult.Ok : WasmResult.NotFound;
    if (type === CalloutType.GrpcStream) return this.grpcStreams.delete(token) ? WasmResult.Ok : WasmResult.NotFound;
    return WasmResult.BadArgument;
  }

  /** Deliver a unary gRPC call's result (`proxy_on_grpc_receive` or `proxy_on_grpc_close`). */
  deliverGrpcCall(token: number, result: GrpcCallResult): boolean {
    if (!this.pendingGrpcCalls.delete(token)) return false;
    const status = result.status ?? 0;
    if (status === 0) {
      const msg = typeof result.message === 'string' ? Buffer.from(result.message, 'utf8') : (result.message ?? new Uint8Array(0));
      this.grpcReceive(token, new Uint8Array(msg));
    } else {
      this.grpcCloseEvent(token, status, result.statusMessage ?? '');
    }
    return true;
  }

  /** Remote events on a gRPC stream (for tests driving a stream by hand). */
  grpcStreamEvent(
    token: number,
    event:
      | { initialMetadata: Record<string, string> | ReadonlyArray<readonly [string, string]> }
      | { message: Uint8Array | string }
      | { trailingMetadata: Record<string, string> | ReadonlyArray<readonly [string, string]> }
      | { close: number; message?: string },
  ): void {
    const root = this.root;
    if ('close' in event) {
      const s = this.grpcStreams.get(token);
      if (s) {
        s.remoteClosed = true;
        if (s.localClosed) this.grpcStreams.delete(token);
      }
      this.grpcCloseEvent(token, event.close, event.message ?? '');
    } else if ('initialMetadata' in event) {
      root.grpcInitialMetadata = new HeaderMap(event.initialMetadata);
      const n = root.grpcInitialMetadata.size;
      this.addAfterAction(() => {
        root.grpcInitialMetadata = null;
      });
      if (this.fns['proxy_on_grpc_receive_initial_metadata'] && !this.isFailed) {
        this.callback('proxy_on_grpc_receive_initial_metadata', root, root.id, token, n);
      } else this.drainAfterActions();
    } else if ('trailingMetadata' in event) {
      root.grpcTrailingMetadata = new HeaderMap(event.trailingMetadata);
      const n = root.grpcTrailingMetadata.size;
      this.addAfterAction(() => {
        root.grpcTrailingMetadata = null;
      });
      if (this.fns['proxy_on_grpc_receive_trailing_metadata'] && !this.isFailed) {
        this.callback('proxy_on_grpc_receive_trailing_metadata', root, root.id, token, n);
      } else this.drainAfterActions();
    } else {
      const m: Uint8Array = typeof event.message === 'string' ? Buffer.from(event.message, 'utf8') : event.message;
      this.grpcReceive(token, new Uint8Array(m));
    }
  }

  private grpcReceive(token: number, message: Uint8Array): void {
    const root = this.root;
    root.grpcReceiveBuffer = message;
    this.addAfterAction(() => {
      root.grpcReceiveBuffer = null;
    });
    if (this.fns['proxy_on_grpc_receive'] && !this.isFailed) {
      this.callback('proxy_on_grpc_receive', root, root.id, token, message.length);
    } else this.drainAfterActions();
  }

  private grpcCloseEvent(token: number, status: number, message: string): void {
    const root = this.root;
    if (!this.fns['proxy_on_grpc_close'] || this.isFailed) return;
    root.statusCode = status;
    root.statusMessage = message;
    this.addAfterAction(() => {
      root.statusMessage = '';
    });
    this.callback('proxy_on_grpc_close', root, root.id, token, status);
  }

  // ---- queues, foreign functions, dns --------------------------------------------------------

  private onQueueReady(token: number): void {
    if (this.isFailed || !this.fns['proxy_on_queue_ready'] || !this.root) return;
    this.callback('proxy_on_queue_ready', this.root, this.root.id, token);
  }

  resolveDns(address: string): number {
    const token = this.nextDnsToken++;
    this.services.resolveDns(this, token, address);
    return token;
  }

  /** Deliver a DNS answer (`envoy_on_resolve_dns`): addresses with TTLs (seconds); none = failure. */
  deliverDns(token: number, answers: ReadonlyArray<{ address: string; ttl?: number }>): void {
    if (this.isFailed || !this.fns['envoy_on_resolve_dns']) return;
    const root = this.root;
    let payload = new Uint8Array(0);
    if (answers.length > 0) {
      const addrs = answers.map((a) => Buffer.from(`${a.address}\u0000`, 'utf8'));
      const size = 4 + 4 * answers.length + addrs.reduce((n, b) => n + b.length, 0);
      const out = Buffer.alloc(size);
      out.writeUInt32LE(answers.length, 0);
      answers.forEach((a, i) => out.writeUInt32LE(a.ttl ?? 0, 4 + 4 * i));
      let pos = 4 + 4 * answers.length;
      for (const b of addrs) {
        b.copy(out, pos);
        pos += b.length;
      }
      payload = new Uint8Array(out);
    }
    root.callData = payload;
    this.addAfterAction(() => {
      root.callData = null;
    });
    this.callback('envoy_on_resolve_dns', root, root.id, token, payload.length);
  }

  callForeign(name: string, args: Uint8Array): { result: WasmResultCode; data?: Uint8Array } {
    const f = this.services.foreignFunctions.get(name);
    if (!f) return { result: WasmResult.NotFound };
    const r = f(args, this);
    if (r === undefined) return { result: WasmResult.Ok };
    if (r instanceof Uint8Array) return { result: WasmResult.Ok, data: r };
    return r;
  }
}
