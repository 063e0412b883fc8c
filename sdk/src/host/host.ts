/**
 * `ProxyWasmHost`: a filter loaded the way Envoy loads it, with one VM per simulated worker, the
 * process-wide state Envoy shares between them (shared data, queues, metrics), a controllable
 * clock, scripted upstreams for `proxy_http_call` / gRPC, and `http()` to push one request
 * through the filter to an upstream (the echo upstream by default) and back.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LogLevel, type ImportProfile, type LogLevelName } from './abi.js';
import { ManualClock, SystemClock, type HostClock, type ManualClockOptions } from './clock.js';
import { echoUpstream, type BodyInit, type UpstreamHandler, type UpstreamRequest, type UpstreamResponse } from './echo.js';
import { HostError, StreamStalledError, type LogEntry, type TrapInfo } from './errors.js';
import { HeaderMap, flattenLikeNode, type HeaderPair, type HeadersInit } from './headers.js';
import { encodeUtf8 } from './memory.js';
import { Metrics } from './metrics.js';
import { mergeProperties, property, type PropertyTree } from './properties.js';
import type { NodeInit } from './protobuf.js';
import { SharedData, SharedQueues } from './shared-data.js';
import { HttpStream, type FailurePolicy, type LocalReplyInfo, type StreamHost } from './stream.js';
import {
  WasmVm,
  compileFilter,
  type CompiledFilter,
  type ForeignFunction,
  type GrpcCallRequest,
  type GrpcCallResult,
  type HttpCallOutcome,
  type HttpCallRequest,
  type VmServices,
} from './vm.js';

export type HttpCallResponder = (call: HttpCallRequest) => HttpCallOutcome | Promise<HttpCallOutcome>;
export type GrpcCallResponder = (call: GrpcCallRequest) => GrpcCallResult | Promise<GrpcCallResult>;
export type DnsResolver = (
  address: string,
) => ReadonlyArray<{ address: string; ttl?: number }> | Promise<ReadonlyArray<{ address: string; ttl?: number }>>;

export type WasmSource = Uint8Array | ArrayBuffer | string | URL | CompiledFilter;

export interface HostOptions {
  /** Plugin configuration (`proxy_on_configure`); objects are JSON-encoded. */
  config?: string | Uint8Array | object;
  /** VM configuration (`proxy_on_vm_start`); objects are JSON-encoded. */
  vmConfig?: string | Uint8Array | object;
  /**
   * Plugin root id (default: `name` when given — as the project's Envoy bootstrap helper does —
   * else ''). SDKs such as proxy-runtime pick the root context by this id.
   */
  rootId?: string;
  /** VM id (default ''); shared data and queues are scoped by it. */
  vmId?: string;
  /** Plugin name, reported as `plugin_name` (default 'meshward-filter'). */
  name?: string;
  /** Number of VMs (Envoy worker threads); requests are spread round-robin (default 1). */
  workers?: number;
  /** 'manual' (default: moves only with `advanceTime`), 'system', options for a manual clock, or a clock. */
  clock?: HostClock | 'manual' | 'system' | ManualClockOptions;
  /** Host log level: what `proxy_get_log_level` reports and the lowest level recorded (default 'info'). */
  logLevel?: LogLevelName;
  /**
   * Envoy's per_connection_buffer_limit_bytes (default 1 MiB): a filter buffering more body than
   * this (StopIterationAndBuffer) gets Envoy's 413 (request) / 500 (response) local reply.
   */
  bufferLimitBytes?: number;
  /** Log entries kept (per VM and host-wide); older ones are dropped (default 10000). */
  logLimit?: number;
  /** Environment variables visible through WASI (Envoy's `vm_config.environment_variables`). */
  env?: Record<string, string>;
  /** Extra/overriding properties for every context (deep-merged over the built-ins). */
  properties?: PropertyTree;
  /** The node Envoy reports as `xds.node` (Envoy 1.40 has no top-level `node` property). */
  node?: NodeInit;
  /** Cluster name reported as `xds.cluster_name` once a request is routed (default 'upstream'). */
  clusterName?: string;
  /**
   * Deliver bodies the way Envoy's HTTP/1 codec does (default true): data chunks with
   * end_of_stream=false, then an empty chunk with end_of_stream=true. When false, the last data
   * chunk carries end_of_stream=true (as with HTTP/2).
   */
  http1Codec?: boolean;
  /** Answers `proxy_http_call` (default: 503 "no healthy upstream"). */
  httpCallResponder?: HttpCallResponder;
  /** Answers unary `proxy_grpc_call` (default: status 14 UNAVAILABLE). */
  grpcCallResponder?: GrpcCallResponder;
  /** Answers `envoy_resolve_dns` (default: IP literals and localhost only). */
  dnsResolver?: DnsResolver;
  /** Known cluster names; calls to others fail with BAD_ARGUMENT as in Envoy (default: all exist). */
  clusters?: readonly string[] | ((name: string) => boolean);
  /** The upstream `http()` sends requests to (default: the echo upstream). */
  upstream?: UpstreamHandler;
  /** What a failed VM does to requests: 'fail_closed' (503, Envoy's default), 'fail_open', 'fail_reload'. */
  failurePolicy?: FailurePolicy;
  /** Envoy's `allow_on_headers_stop_iteration` (default false: StopIteration pauses everything). */
  allowOnHeadersStopIteration?: boolean;
  /** Imports offered: 'current' Envoy (default) or 'envoy-1.36' (the smaller WASI set of 1.36-1.38). */
  importProfile?: ImportProfile;
  /** Foreign functions for `proxy_call_foreign_function`. */
  foreignFunctions?: Record<string, ForeignFunction>;
  /** Share state with other hosts (default: a fresh store per host). */
  sharedData?: SharedData;
  sharedQueues?: SharedQueues;
  /** Add the headers Envoy adds (x-request-id, x-forwarded-proto, router headers); default true. */
  envoyHeaders?: boolean;
  /** How long `http()` waits on a paused stream with nothing pending before giving up (ms, default 250). */
  stallTimeoutMs?: number;
  /** Called for every log entry (e.g. to print filter logs while debugging). */
  onLog?: (entry: LogEntry) => void;
}

export interface HttpRequestInit {
  method?: string;
  path?: string;
  /** `:authority` (default: the `host` header, else 'localhost'). */
  authority?: string;
  scheme?: string;
  headers?: HeadersInit;
  /** A body, or an array of chunks delivered to the filter one by one. */
  body?: BodyInit;
  trailers?: HeadersInit;
  /** Upstream for this request (default: the host's). */
  upstream?: UpstreamHandler;
  /** Properties for this request (deep-merged over the host's). */
  properties?: PropertyTree;
  /** Worker (VM) to use; default round-robin. */
  worker?: number;
  /** `request.protocol` (default HTTP/1.1). */
  protocol?: string;
}

export interface HttpResult {
  /** Status sent downstream (0 if the stream was reset before response headers). */
  status: number;
  /** Response headers sent downstream (no pseudo-headers), repeated values joined with ", ". */
  headers: Record<string, string>;
  /** Response headers sent downstream, as pairs (with `:status`). */
  headerList: HeaderPair[];
  body: string;
  bodyBytes: Uint8Array;
  trailers?: Record<string, string>;
  /** What reached the upstream (absent when the filter answered locally or the request never got through). */
  upstreamRequest?: UpstreamRequest;
  /** Set when the response is a local reply (from the filter, or the 503 of a failed VM). */
  localReply?: LocalReplyInfo;
  /** Envoy's response code details (`via_upstream`, local reply details, ...). */
  responseDetails?: string;
  /** Messages logged on the filter's VM while this request was processed. */
  logs: LogEntry[];
  /** The trap that failed the VM during this request. */
  trap?: TrapInfo;
  /** Set if the stream was reset (e.g. `proxy_close_stream`). */
  reset?: string;
  worker: number;
  contextId: number;
  /** Filter state set through `proxy_set_property` (keys `wasm.<path>`). */
  filterState: Record<string, string>;
  /**
   * Problems a real Envoy deployment would show (e.g. a body changed without fixing
   * content-length: a real upstream or client would see a malformed message).
   */
  warnings: string[];
  /** Parse the body as JSON. */
  json<T = unknown>(): T;
}

/** An http_call the filter made, and what it got. */
export interface HttpCallRecord {
  request: HttpCallRequest;
  outcome?: HttpCallOutcome;
  error?: unknown;
}

const STREAM_ONLY_PROPERTIES = ['request', 'response', 'source', 'destination', 'connection', 'upstream', 'metadata', 'filter_state'];

function toBytes(v: string | Uint8Array | object | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (typeof v === 'string') return encodeUtf8(v);
  if (v instanceof Uint8Array) return v;
  return encodeUtf8(JSON.stringify(v));
}

function bodyChunks(body: BodyInit | undefined): Uint8Array[] {
  if (body === undefined) return [];
  const list = typeof body === 'string' || body instanceof Uint8Array ? [body] : body;
  // An empty body is no body; explicit empty chunks inside a list are kept.
  const chunks = list.map((c) => (typeof c === 'string' ? encodeUtf8(c) : c));
  return chunks.length === 1 && chunks[0]!.length === 0 ? [] : chunks;
}

async function readSource(src: Exclude<WasmSource, CompiledFilter>): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const path = src instanceof URL ? fileURLToPath(src) : src;
  return new Uint8Array(await readFile(path));
}

function isCompiled(src: WasmSource): src is CompiledFilter {
  return typeof src === 'object' && src !== null && 'module' in src && 'info' in src && 'abi' in src;
}

const defaultHttpCallResponder: HttpCallResponder = () => ({
  status: 503,
  headers: { 'content-type': 'text/plain' },
  body: 'no healthy upstream',
});

const defaultGrpcResponder: GrpcCallResponder = () => ({ status: 14, statusMessage: 'no healthy upstream' });

const defaultDns: DnsResolver = (address) => {
  if (address === 'localhost') return [{ address: '127.0.0.1', ttl: 60 }];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(address) || address.includes(':')) return [{ address, ttl: 60 }];
  return [];
};

export class ProxyWasmHost implements VmServices, StreamHost {
  readonly pluginName: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginConfig: Uint8Array;
  readonly vmConfig: Uint8Array;
  readonly logLevel: LogLevelName;
  readonly logLimit: number;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly importProfile: ImportProfile;
  readonly allowOnHeadersStopIteration: boolean;
  readonly failurePolicy: FailurePolicy;
  readonly clusterName: string;
  readonly bufferLimitBytes: number;
  readonly clock: HostClock;
  readonly sharedData: SharedData;
  readonly queues: SharedQueues;
  readonly metrics = new Metrics();
  readonly foreignFunctions: ReadonlyMap<string, ForeignFunction>;
  /** Every message logged by any VM (and the host), oldest first. */
  readonly logs: LogEntry[] = [];
  /** Every http_call made, oldest first. */
  readonly httpCalls: HttpCallRecord[] = [];
  /** Every unary gRPC call made. */
  readonly grpcCalls: Array<{ request: GrpcCallRequest; result?: GrpcCallResult }> = [];
  /** Answers `proxy_http_call` (can be replaced between requests). */
  httpCallResponder: HttpCallResponder;
  grpcCallResponder: GrpcCallResponder;
  dnsResolver: DnsResolver;
  upstream: UpstreamHandler;
  readonly vms: WasmVm[] = [];

  private readonly pluginProps: PropertyTree;
  private readonly userProps: PropertyTree;
  private readonly baseProps: PropertyTree;
  private readonly clusterCheck: (name: string) => boolean;
  private readonly envoyHeaders: boolean;
  private readonly http1Codec: boolean;
  private readonly stallTimeoutMs: number;
  private readonly onLog: ((entry: LogEntry) => void) | undefined;
  private rr = 0;
  private connectionCounter = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly tasks: Array<() => void> = [];
  private tasksScheduled = false;
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(
    readonly compiled: CompiledFilter,
    options: HostOptions,
  ) {
    this.pluginName = options.name ?? 'meshward-filter';
    this.rootId = options.rootId ?? options.name ?? '';
    this.vmId = options.vmId ?? '';
    this.pluginConfig = toBytes(options.config);
    this.vmConfig = toBytes(options.vmConfig);
    this.logLevel = options.logLevel ?? 'info';
    this.logLimit = Math.max(1, options.logLimit ?? 10_000);
    this.env = Object.entries(options.env ?? {});
    this.importProfile = options.importProfile ?? 'current';
    this.allowOnHeadersStopIteration = options.allowOnHeadersStopIteration ?? false;
    this.failurePolicy = options.failurePolicy ?? 'fail_closed';
    const c = options.clock;
    this.clock =
      c === undefined || c === 'manual'
        ? new ManualClock()
        : c === 'system'
          ? new SystemClock()
          : 'now' in c
            ? c
            : new ManualClock(c);
    this.sharedData = options.sharedData ?? new SharedData(this.vmId);
    this.queues = options.sharedQueues ?? new SharedQueues();
    this.foreignFunctions = new Map<string, ForeignFunction>([
      ['clear_route_cache', () => undefined],
      ...Object.entries(options.foreignFunctions ?? {}),
    ]);
    this.httpCallResponder = options.httpCallResponder ?? defaultHttpCallResponder;
    this.grpcCallResponder = options.grpcCallResponder ?? defaultGrpcResponder;
    this.dnsResolver = options.dnsResolver ?? defaultDns;
    this.upstream = options.upstream ?? echoUpstream;
    const clusters = options.clusters;
    this.clusterCheck =
      clusters === undefined ? () => true : typeof clusters === 'function' ? clusters : (n) => clusters.includes(n);
    this.envoyHeaders = options.envoyHeaders ?? true;
    this.http1Codec = options.http1Codec ?? true;
    this.clusterName = options.clusterName ?? 'upstream';
    this.bufferLimitBytes = options.bufferLimitBytes ?? 1024 * 1024;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 250;
    this.onLog = options.onLog;
    const node = property.node({ id: 'meshward-test', cluster: 'meshward', user_agent_name: 'envoy', ...options.node });
    this.pluginProps = {
      plugin_name: this.pluginName,
      plugin_root_id: this.rootId,
      plugin_vm_id: this.vmId,
      xds: { node },
    };
    this.userProps = options.properties ?? {};
    const rootUser: Record<string, PropertyTree[string]> = { ...this.userProps };
    for (const k of STREAM_ONLY_PROPERTIES) delete rootUser[k];
    this.baseProps = mergeProperties(this.pluginProps, rootUser);
  }

  /** Compile, validate and start the filter on `workers` VMs. Throws like Envoy refusing the config. */
  static async create(source: WasmSource, options: HostOptions = {}): Promise<ProxyWasmHost> {
    const compiled = isCompiled(source) ? source : await compileFilter(await readSource(source), options.importProfile);
    const host = new ProxyWasmHost(compiled, options);
    const workers = Math.max(1, Math.floor(options.workers ?? 1));
    try {
      for (let i = 0; i < workers; i++) host.vms.push(host.startVm(i));
    } catch (e) {
      host.close();
      throw e;
    }
    return host;
  }

  private startVm(worker: number): WasmVm {
    const vm = new WasmVm(this.compiled, this, worker);
    vm.start();
    return vm;
  }

  // ---- VmServices ------------------------------------------------------------------------------

  log(entry: LogEntry): void {
    this.logs.push(entry);
    if (this.logs.length > 2 * this.logLimit) this.logs.splice(0, this.logs.length - this.logLimit);
    this.onLog?.(entry);
  }

  baseProperties(): PropertyTree {
    return this.baseProps;
  }

  streamProperties(builtin: PropertyTree, perRequest: PropertyTree | undefined): PropertyTree {
    return mergeProperties(mergeProperties(mergeProperties(this.pluginProps, builtin), this.userProps), perRequest);
  }

  clusterExists(name: string): boolean {
    return this.clusterCheck(name);
  }

  post(task: () => void): void {
    this.tasks.push(task);
    if (!this.tasksScheduled) {
      this.tasksScheduled = true;
      queueMicrotask(() => this.drainTasks());
    }
  }

  private drainTasks(): void {
    this.tasksScheduled = false;
    let ran = false;
    for (let t = this.tasks.shift(); t; t = this.tasks.shift()) {
      t();
      ran = true;
    }
    if (ran) this.notifyProgress();
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  startHttpCall(vm: WasmVm, request: HttpCallRequest): void {
    if (this.envoyHeaders) {
      // What Envoy's async client adds on the way to the cluster.
      const h = new HeaderMap(request.headers);
      if (request.bodyBytes.length > 0 && !h.has('content-length')) h.add('content-length', String(request.bodyBytes.length));
      if (!h.has('x-envoy-internal')) h.add('x-envoy-internal', 'true');
      if (request.timeoutMs > 0 && !h.has('x-envoy-expected-rq-timeout-ms')) {
        h.add('x-envoy-expected-rq-timeout-ms', String(request.timeoutMs));
      }
      request.headers = h.pairs();
    }
    const record: HttpCallRecord = { request };
    this.httpCalls.push(record);
    const responder = this.httpCallResponder;
    this.track(
      (async () => {
        await Promise.resolve();
        let outcome: HttpCallOutcome;
        try {
          outcome = await responder(request);
        } catch (e) {
          record.error = e;
          outcome = 'reset';
        }
        record.outcome = outcome;
        if (!this.closed && vm.deliverHttpCall(request.token, outcome)) this.notifyProgress();
      })(),
    );
  }

  startGrpcCall(vm: WasmVm, request: GrpcCallRequest): void {
    const record: { request: GrpcCallRequest; result?: GrpcCallResult } = { request };
    this.grpcCalls.push(record);
    const responder = this.grpcCallResponder;
    this.track(
      (async () => {
        await Promise.resolve();
        let result: GrpcCallResult;
        try {
          result = await responder(request);
        } catch (e) {
          result = { status: 14, statusMessage: e instanceof Error ? e.message : String(e) };
        }
        record.result = result;
        if (!this.closed && vm.deliverGrpcCall(request.token, result)) this.notifyProgress();
      })(),
    );
  }

  resolveDns(vm: WasmVm, token: number, address: string): void {
    const resolver = this.dnsResolver;
    this.track(
      (async () => {
        await Promise.resolve();
        let answers: ReadonlyArray<{ address: string; ttl?: number }> = [];
        try {
          answers = await resolver(address);
        } catch {
          answers = [];
        }
        if (!this.closed) {
          vm.deliverDns(token, answers);
          this.notifyProgress();
        }
      })(),
    );
  }

  // ---- StreamHost ------------------------------------------------------------------------------

  nextConnectionId(): number {
    return ++this.connectionCounter;
  }

  notifyProgress(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  streamFinished(): void {}

  // ---- public API ------------------------------------------------------------------------------

  /** Number of VMs (workers). */
  get workers(): number {
    return this.vms.length;
  }

  /** The VM of worker `i` (default 0). */
  vm(i = 0): WasmVm {
    const vm = this.vms[i];
    if (!vm) throw new HostError(`no worker ${i} (have ${this.vms.length})`);
    return vm;
  }

  /** True when any VM has failed (trapped). */
  get failed(): boolean {
    return this.vms.some((v) => v.isFailed);
  }

  /** Clear the host-wide captured logs (`logs`). */
  clearLogs(): void {
    this.logs.length = 0;
  }

  /** Replace failed VMs (or the given worker's) with fresh, configured ones. */
  restart(worker?: number): void {
    const indexes = worker === undefined ? this.vms.map((_, i) => i).filter((i) => this.vms[i]!.isFailed) : [worker];
    for (const i of indexes) {
      const old = this.vm(i);
      old.shutdown();
      this.vms[i] = this.startVm(i);
    }
  }

  private pickVm(worker?: number): WasmVm {
    if (this.closed) throw new HostError('host is closed');
    const i = worker ?? this.rr++ % this.vms.length;
    let vm = this.vm(i);
    if (vm.isFailed && this.failurePolicy === 'fail_reload') {
      try {
        this.restart(i);
        vm = this.vm(i);
      } catch {
        // Keep the failed VM: the request fails closed.
      }
    }
    return vm;
  }

  /** Open a stream on the next worker (or `worker`) to drive step by step. */
  stream(options: { worker?: number; properties?: PropertyTree; protocol?: string } = {}): HttpStream {
    const vm = this.pickVm(options.worker);
    return new HttpStream(vm, this, {
      ...(options.properties ? { properties: options.properties } : {}),
      ...(options.protocol ? { protocol: options.protocol } : {}),
    });
  }

  /** Build request headers the way a client plus Envoy's connection manager would. */
  requestHeaders(init: HttpRequestInit): HeaderMap {
    const user = new HeaderMap(init.headers ?? {});
    const authority = init.authority ?? user.get(':authority') ?? user.get('host') ?? 'localhost';
    const headers = new HeaderMap();
    headers.add(':authority', authority);
    headers.add(':path', init.path ?? user.get(':path') ?? '/');
    headers.add(':method', (init.method ?? user.get(':method') ?? 'GET').toUpperCase());
    headers.add(':scheme', init.scheme ?? user.get(':scheme') ?? 'http');
    for (const [k, v] of user) {
      if (k === 'host' || k === ':authority' || k === ':path' || k === ':method' || k === ':scheme') continue;
      headers.add(k, v);
    }
    if (this.envoyHeaders) {
      if (!headers.has('x-forwarded-proto')) headers.add('x-forwarded-proto', headers.get(':scheme') ?? 'http');
      if (!headers.has('x-request-id')) headers.add('x-request-id', randomUUID());
    }
    return headers;
  }

  /**
   * Send one request through the filter: request callbacks, the upstream (unless the filter
   * answered locally), response callbacks, then `proxy_on_log` / `proxy_on_done` /
   * `proxy_on_delete`. Waits for the filter's http_calls and other async work to complete.
   */
  async http(init: HttpRequestInit = {}): Promise<HttpResult> {
    const stream = this.stream({
      ...(init.worker !== undefined ? { worker: init.worker } : {}),
      ...(init.properties ? { properties: init.properties } : {}),
      ...(init.protocol ? { protocol: init.protocol } : {}),
    });
    const headers = this.requestHeaders(init);
    const chunks = bodyChunks(init.body);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (total > 0 && !headers.has('content-length') && !headers.has('transfer-encoding')) {
      headers.add('content-length', String(total));
    }
    const trailers = init.trailers ? new HeaderMap(init.trailers) : undefined;
    stream.sendRequestHeaders(headers, chunks.length === 0 && !trailers);
    this.sendBody(chunks, !trailers, (c, end) => stream.sendRequestBody(c, end));
    if (trailers) stream.sendRequestTrailers(trailers);

    let upstreamRequest: UpstreamRequest | undefined;
    const warnings: string[] = [];
    const upstream = init.upstream ?? this.upstream;
    while (!stream.completed) {
      if (!upstreamRequest && stream.request.fwdEnd && !stream.localReply && !stream.ended) {
        upstreamRequest = this.upstreamRequestOf(stream);
        this.checkContentLength(stream, warnings, 'request to the upstream', upstreamRequest.headerMap, upstreamRequest.bodyBytes.length);
        let resp: UpstreamResponse;
        try {
          resp = await upstream(upstreamRequest);
        } catch {
          resp = {
            status: 503,
            headers: { 'content-type': 'text/plain' },
            body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
          };
          stream.responseDetails = 'upstream_reset_before_response_started{connection_termination}';
        }
        this.feedResponse(stream, resp);
        continue;
      }
      const progressed = await this.waitForProgress();
      if (!progressed && !stream.completed) {
        const where = stream.request.paused
          ? `request ${stream.request.paused}`
          : stream.response.paused
            ? `response ${stream.response.paused}`
            : 'an unknown point';
        const trap = stream.trap ? `; the VM failed: ${stream.trap.message}` : '';
        throw new StreamStalledError(
          `stream ${stream.id} (worker ${stream.worker}) is paused at ${where} and nothing pending can resume it` +
            ` (no http_call/gRPC call in flight, no progress within ${this.stallTimeoutMs} ms)${trap}.` +
            ` Drive it by hand with host.stream(), or advance the clock while the request is pending.`,
          stream,
        );
      }
    }
    const fwd = stream.downstreamResponse;
    if (fwd.headers) this.checkContentLength(stream, warnings, 'response to the client', fwd.headers, fwd.bodyBytes.length);
    return this.resultOf(stream, upstreamRequest, warnings);
  }

  private checkContentLength(stream: HttpStream, warnings: string[], what: string, headers: HeaderMap, bodyLength: number): void {
    const cl = headers.get('content-length');
    if (cl === undefined || headers.has('transfer-encoding') || Number(cl) === bodyLength) return;
    const msg =
      `${what}: content-length says ${cl} but the body has ${bodyLength} bytes ` +
      `(the filter changed the body without updating or removing content-length; Envoy forwards it as is)`;
    warnings.push(msg);
    stream.vm.log(LogLevel.warn, msg, 'host', stream);
  }

  private upstreamRequestOf(stream: HttpStream): UpstreamRequest {
    const fwd = stream.upstreamRequest;
    // The forwarded headers are already a snapshot owned by the stream.
    const map = fwd.headers ?? new HeaderMap();
    if (this.envoyHeaders && !map.has('x-envoy-expected-rq-timeout-ms')) {
      // The router adds this to the request's own header map (visible again in proxy_on_log).
      map.add('x-envoy-expected-rq-timeout-ms', '15000');
      stream.requestHeaders?.add('x-envoy-expected-rq-timeout-ms', '15000');
    }
    if (fwd.bodyBytes.length > 0 && !map.has('content-length') && !map.has('transfer-encoding')) {
      map.add('content-length', String(fwd.bodyBytes.length));
    }
    const authority = map.get(':authority') ?? '';
    const headerList = map.pairs();
    const wire: Array<[string, string]> = [['host', authority], ...headerList.filter(([k]) => !k.startsWith(':'))];
    return {
      method: map.get(':method') ?? '',
      path: map.get(':path') ?? '',
      authority,
      scheme: map.get(':scheme') ?? 'http',
      headers: flattenLikeNode(wire),
      headerMap: map,
      headerList,
      body: fwd.body,
      bodyBytes: fwd.bodyBytes,
      ...(fwd.trailers ? { trailers: fwd.trailers.toRecord() } : {}),
    };
  }

  private feedResponse(stream: HttpStream, resp: UpstreamResponse): void {
    const headers = new HeaderMap();
    headers.add(':status', String(resp.status ?? 200));
    if (resp.headers) for (const [k, v] of HeaderMap.from(resp.headers)) if (k !== ':status') headers.add(k, v);
    const chunks = bodyChunks(resp.body);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (total > 0 && !headers.has('content-length') && !headers.has('transfer-encoding')) {
      headers.add('content-length', String(total));
    }
    if (this.envoyHeaders && !headers.has('x-envoy-upstream-service-time')) headers.add('x-envoy-upstream-service-time', '0');
    const trailers = resp.trailers ? HeaderMap.from(resp.trailers) : undefined;
    stream.sendResponseHeaders(headers, chunks.length === 0 && !trailers);
    this.sendBody(chunks, !trailers, (c, end) => stream.sendResponseBody(c, end));
    if (trailers) stream.sendResponseTrailers(trailers);
  }

  /** Deliver body chunks; with the HTTP/1 codec the end of stream comes as an empty chunk. */
  private sendBody(chunks: Uint8Array[], endsStream: boolean, send: (c: Uint8Array, end: boolean) => void): void {
    if (chunks.length === 0) return;
    if (endsStream && this.http1Codec) {
      for (const c of chunks) send(c, false);
      send(new Uint8Array(0), true);
    } else {
      chunks.forEach((c, i) => send(c, endsStream && i === chunks.length - 1));
    }
  }

  private resultOf(stream: HttpStream, upstreamRequest: UpstreamRequest | undefined, warnings: string[]): HttpResult {
    const fwd = stream.downstreamResponse;
    const headerList = fwd.headers?.pairs() ?? [];
    const status = Number(fwd.headers?.get(':status') ?? 0) || 0;
    const filterState: Record<string, string> = {};
    for (const [k, v] of stream.filterStateEntries) filterState[k] = Buffer.from(v).toString('utf8');
    const body = fwd.body;
    return {
      status,
      headers: fwd.headers?.toRecord() ?? {},
      headerList,
      body,
      bodyBytes: fwd.bodyBytes,
      ...(fwd.trailers ? { trailers: fwd.trailers.toRecord() } : {}),
      ...(upstreamRequest ? { upstreamRequest } : {}),
      ...(stream.localReply ? { localReply: stream.localReply } : {}),
      ...(stream.responseDetails ? { responseDetails: stream.responseDetails } : {}),
      logs: stream.logs,
      ...(stream.trap ? { trap: stream.trap } : {}),
      ...(stream.resetReason ? { reset: stream.resetReason } : {}),
      worker: stream.worker,
      contextId: stream.id,
      filterState,
      warnings,
      json<T = unknown>(): T {
        return JSON.parse(body) as T;
      },
    };
  }

  private get hasPendingWork(): boolean {
    return this.inflight.size > 0 || this.tasks.length > 0;
  }

  /** Resolves true on progress, false after the stall timeout when nothing is pending. */
  private waitForProgress(): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const timer = this.hasPendingWork
        ? undefined
        : setTimeout(() => {
            if (settled) return;
            settled = true;
            this.waiters = this.waiters.filter((w) => w !== wake);
            resolve(false);
          }, this.stallTimeoutMs);
      const wake = (): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }

  /** Move the (manual) clock forward, firing ticks and http_call timeouts that fall due. */
  advanceTime(ms: number): void {
    if (!this.clock.advance) throw new HostError('advanceTime() needs a manual clock (the default)');
    this.clock.advance(ms);
    this.drainTasks();
    this.notifyProgress();
  }

  /** Wait until no http_call/gRPC/DNS answer or queued notification is pending. */
  async settle(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      if (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      await new Promise<void>((r) => setImmediate(r));
      this.drainTasks();
      if (this.inflight.size === 0 && this.tasks.length === 0) return;
    }
  }

  /** Push an event on a gRPC stream the filter opened (`proxy_grpc_stream`). */
  grpcStreamEvent(worker: number, token: number, event: Parameters<WasmVm['grpcStreamEvent']>[1]): void {
    this.vm(worker).grpcStreamEvent(token, event);
    this.notifyProgress();
  }

  /** Enqueue on a shared queue from the test (as another VM or plugin would). */
  enqueue(queueName: string, value: string | Uint8Array, vmId = this.vmId): void {
    const token = this.queues.resolve(vmId, queueName);
    if (token === 0) throw new HostError(`no shared queue ${JSON.stringify(queueName)} for vm_id ${JSON.stringify(vmId)}`);
    this.queues.enqueue(token, value);
  }

  /** Shut every VM down (`proxy_on_done` / `proxy_on_delete` on the root contexts). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const vm of this.vms) vm.shutdown();
    this.notifyProgress();
  }
}

/** Load a Proxy-Wasm filter (bytes, a path, a file URL or a compiled filter) into a new host. */
export function loadFilter(wasm: WasmSource, options: HostOptions = {}): Promise<ProxyWasmHost> {
  return ProxyWasmHost.create(wasm, options);
}
