/**
 * `HttpStream`: one HTTP request/response through the filter, driven like Envoy's HTTP filter
 * manager drives a Wasm HTTP filter (Envoy's `Context` in source/extensions/common/wasm).
 *
 * Per direction (request = decode, response = encode) it tracks what the filter has seen, whether
 * it paused, what Envoy holds in its buffer, and what was forwarded (to the upstream, or
 * downstream to the client). The rules mirrored from Envoy:
 *  - headers: Continue forwards; StopIteration is treated as StopAllIterationAndWatermark (Envoy's
 *    default for ABI 0.2.x): nothing more reaches the filter until `proxy_continue_stream`, then
 *    the filter sees the buffered body in one call;
 *  - body: Continue forwards what is held plus this chunk; StopIterationAndBuffer holds the data
 *    and the next call sees the whole buffered body (body_size grows); StopIterationAndWatermark
 *    holds it but the next call sees only the new chunk; StopIterationNoBuffer drops the chunk;
 *  - trailers: Continue forwards held data and the trailers; StopIteration pauses;
 *  - request headers/trailers (and response ones) are only readable/writable while the filter
 *    processes them (until it continues), and in `proxy_on_log`;
 *  - `proxy_send_local_response` takes effect when the callback returns: before a response exists
 *    the local reply runs through the filter's response callbacks; once an upstream response is
 *    being processed it replaces it directly; after response headers went downstream the stream
 *    is reset;
 *  - a failed (trapped) VM fails the stream closed with a 503 local reply (`wasm_fail_stream`),
 *    or is bypassed with the fail-open policy;
 *  - at the end: `proxy_on_log`, then `proxy_on_done` and `proxy_on_delete`.
 */
import { BufferType, FilterDataStatus, FilterHeadersStatus, MapType, StreamType, WasmResult, type WasmResultCode } from './abi.js';
import { ContextBase, EMPTY_BUFFER, MutableBuffer, type BodyBuffer, type LocalReplyArgs, type RootContext } from './context.js';
import type { LogEntry, TrapInfo } from './errors.js';
import { HeaderMap, type HeadersInit } from './headers.js';
import { decodeUtf8, encodeUtf8 } from './memory.js';
import { TypedProperty, property, type PropertyTree, type PropertyValue } from './properties.js';
import type { WasmVm } from './vm.js';

export type FailurePolicy = 'fail_closed' | 'fail_open' | 'fail_reload';

export interface LocalReplyInfo {
  status: number;
  body: string;
  bodyBytes: Uint8Array;
  /** Headers the filter asked for (as passed to `proxy_send_local_response`). */
  headers: Array<[string, string]>;
  /** Response code details, whitespace replaced by `_` (as Envoy stores them). */
  details: string;
  /** gRPC status given by the filter, if a valid one (0..16). */
  grpcStatus?: number;
  /**
   * `filter` for `proxy_send_local_response`, `fail_stream` for the 503 of a failed VM,
   * `buffer_limit` for Envoy's 413/500 when buffered data exceeds the buffer limit.
   */
  source: 'filter' | 'fail_stream' | 'buffer_limit';
}

/** What the stream forwarded in one direction (to the upstream, or downstream to the client). */
export interface ForwardedMessage {
  /** Headers as forwarded (a snapshot taken when the filter let them through). */
  headers: HeaderMap | null;
  /** The body as UTF-8 text. */
  body: string;
  bodyBytes: Uint8Array;
  trailers: HeaderMap | null;
  /** End of stream went through. */
  end: boolean;
}

export type PausePoint = 'headers' | 'body' | 'trailers';

/** Services a stream needs from its host. */
export interface StreamHost {
  readonly failurePolicy: FailurePolicy;
  readonly allowOnHeadersStopIteration: boolean;
  /** Upstream cluster name reported as `xds.cluster_name` once the request is routed. */
  readonly clusterName: string;
  /** Envoy's buffer limit (per_connection_buffer_limit_bytes): more buffered data -> 413 / 500. */
  readonly bufferLimitBytes: number;
  /**
   * The property tree of a stream: plugin/node properties, then the stream's built-ins, then the
   * host's user-provided properties, then the request's own.
   */
  streamProperties(builtin: PropertyTree, perRequest: PropertyTree | undefined): PropertyTree;
  /** Per-host connection/request counters. */
  nextConnectionId(): number;
  /** Wake up anyone waiting for progress (e.g. `http()` waiting on a paused stream). */
  notifyProgress(): void;
  /** The stream finished (for bookkeeping). */
  streamFinished(stream: HttpStream): void;
}

type Dir = 'request' | 'response';

/** One direction of a stream (request = decode, response = encode): what the filter saw, held, forwarded. */
export class StreamDirection {
  /** The header map the filter works on (Envoy's request_headers_/response_headers_ target). */
  headers: HeaderMap | null = null;
  headersAccessible = false;
  trailers: HeaderMap | null = null;
  trailersAccessible = false;
  /** Trailers created by the filter from the last body callback (Envoy's addDecodedTrailers). */
  addedTrailers = false;
  /** The body buffer the filter sees right now (Envoy's request_body_buffer_), or null. */
  bodyCurrent: BodyBuffer | null = null;
  /** StopIterationAndBuffer is in effect: the filter sees the held data. */
  buffering = false;
  /** Data Envoy holds for the filter (decoding/encoding buffer). */
  readonly held = new MutableBuffer();

  started = false;
  headersState: 'none' | 'continued' | 'stopped_all' | 'stopped' = 'none';
  dataStopped = false;
  trailersStopped = false;
  endReceived = false;
  /** ContinueAndEndStream: the rest is dropped. */
  endForced = false;
  pendingTrailers: HeaderMap | null = null;
  /** Stop calling the filter (local reply, reset, bypass). */
  aborted = false;
  /** Inside a filter callback of this direction (continue requests are applied after it). */
  inCall = false;
  continueRequested = false;

  readonly fwdBody = new MutableBuffer();
  fwdHeaders: HeaderMap | null = null;
  fwdTrailers: HeaderMap | null = null;
  fwdEnd = false;
  /** Bytes received from the source (request: client, response: upstream). */
  bytesReceived = 0;

  get paused(): PausePoint | false {
    if (this.aborted) return false;
    if (this.headersState === 'stopped_all' || this.headersState === 'stopped') return 'headers';
    if (this.trailersStopped) return 'trailers';
    if (this.dataStopped) return 'body';
    return false;
  }

  forwarded(): ForwardedMessage {
    const body = this.fwdBody.bytes();
    return {
      headers: this.fwdHeaders,
      body: decodeUtf8(body),
      bodyBytes: body,
      trailers: this.fwdTrailers,
      end: this.fwdEnd,
    };
  }
}

const MAX_GRPC = 16;

function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

export interface HttpStreamOptions {
  /** Properties for this stream (merged over the host's). */
  properties?: PropertyTree;
  /** Downstream protocol reported as `request.protocol` (default HTTP/1.1). */
  protocol?: string;
}

export class HttpStream extends ContextBase {
  readonly kind = 'stream' as const;
  readonly request = new StreamDirection();
  readonly response = new StreamDirection();
  /** proxy_on_context_create was called (Envoy's in_vm_context_created_). */
  private created = false;
  private streamFailed = false;
  private failureLocalReplySent = false;
  /** Envoy's end_of_stream_ (shared by both directions, as in Envoy). */
  private endOfStream = false;
  private bypass = false;
  private finalized = false;
  private logsStart: number;
  private readonly trapAtStart: TrapInfo | undefined;
  private readonly filterState = new Map<string, Uint8Array>();
  private propertyCache: PropertyTree | undefined;
  private readonly startNs: bigint;
  private endNs: bigint | undefined;
  private readonly connectionId: number;
  private accessLogRequestHeaders: HeaderMap | null = null;
  private accessLogResponseHeaders: HeaderMap | null = null;
  private accessLogResponseTrailers: HeaderMap | null = null;
  /** Set when the stream was reset (close_stream, failure after response headers went out). */
  resetReason: string | undefined;
  localReply: LocalReplyInfo | undefined;
  /** Response code details (`via_upstream`, a local reply's details, ...). */
  responseDetails: string | undefined;

  constructor(
    vm: WasmVm,
    private readonly host: StreamHost,
    private readonly options: HttpStreamOptions = {},
  ) {
    super(vm, vm.allocContextId());
    vm.register(this);
    this.logsStart = vm.logIndex();
    this.trapAtStart = vm.trap;
    this.startNs = vm.services.clock.now();
    this.connectionId = host.nextConnectionId();
    if (vm.isFailed && host.failurePolicy === 'fail_open') this.bypass = true;
  }

  get rootContext(): RootContext {
    return this.vm.root;
  }

  override get streamId(): number {
    return this.id;
  }

  get worker(): number {
    return this.vm.worker;
  }

  /** Logs emitted on this stream's VM since the stream started. */
  get logs(): LogEntry[] {
    return this.vm.logsSince(this.logsStart);
  }

  /** The trap that failed the VM while this stream was active, if any. */
  get trap(): TrapInfo | undefined {
    return this.vm.trap !== this.trapAtStart ? this.vm.trap : undefined;
  }

  /** Response fully sent downstream (or the stream was reset). */
  get completed(): boolean {
    return this.finalized;
  }

  /** The stream ended: response complete or reset. */
  get ended(): boolean {
    return this.resetReason !== undefined || this.response.fwdEnd;
  }

  get requestPaused(): PausePoint | false {
    return this.request.paused;
  }

  get responsePaused(): PausePoint | false {
    return this.response.paused;
  }

  /** What went to the upstream so far. */
  get upstreamRequest(): ForwardedMessage {
    return this.request.forwarded();
  }

  /** What went downstream (to the client) so far. */
  get downstreamResponse(): ForwardedMessage {
    return this.response.forwarded();
  }

  /** The live request header map (what the filter modifies). */
  get requestHeaders(): HeaderMap | null {
    return this.request.headers;
  }

  get responseHeaders(): HeaderMap | null {
    return this.response.headers;
  }

  // ---- feeding the stream --------------------------------------------------------------------

  /** Request headers from the client (`:method`, `:path`, `:authority`, `:scheme` expected). */
  sendRequestHeaders(headers: HeadersInit, endOfStream = false): this {
    this.onHeaders('request', HeaderMap.from(headers), endOfStream);
    this.host.notifyProgress();
    return this;
  }

  sendRequestBody(chunk: string | Uint8Array, endOfStream = false): this {
    this.onData('request', typeof chunk === 'string' ? encodeUtf8(chunk) : chunk, endOfStream);
    this.host.notifyProgress();
    return this;
  }

  sendRequestTrailers(trailers: HeadersInit): this {
    this.onTrailers('request', HeaderMap.from(trailers));
    this.host.notifyProgress();
    return this;
  }

  /** Response headers from the upstream (must include `:status`). */
  sendResponseHeaders(headers: HeadersInit, endOfStream = false): this {
    this.responseDetails ??= 'via_upstream';
    this.onHeaders('response', HeaderMap.from(headers), endOfStream);
    this.host.notifyProgress();
    return this;
  }

  sendResponseBody(chunk: string | Uint8Array, endOfStream = false): this {
    this.onData('response', typeof chunk === 'string' ? encodeUtf8(chunk) : chunk, endOfStream);
    this.host.notifyProgress();
    return this;
  }

  sendResponseTrailers(trailers: HeadersInit): this {
    this.onTrailers('response', HeaderMap.from(trailers));
    this.host.notifyProgress();
    return this;
  }

  /** Reset the stream from outside (client went away). */
  reset(reason = 'downstream_remote_disconnect'): void {
    this.resetStream(reason);
  }

  // ---- direction machinery ---------------------------------------------------------------------

  private dir(d: Dir): StreamDirection {
    return d === 'request' ? this.request : this.response;
  }

  private skipFilter(d: Dir): boolean {
    if (this.bypass) return true;
    if (d === 'response' && (!this.created || this.failureLocalReplySent)) return true;
    return false;
  }

  private onHeaders(d: Dir, headers: HeaderMap, end: boolean): void {
    const s = this.dir(d);
    if (s.started || this.ended) return;
    s.started = true;
    s.headers = headers;
    if (end) s.endReceived = true;
    if (s.aborted) return;
    if (d === 'request' && !this.bypass) this.onCreate();
    if (this.skipFilter(d)) {
      s.headersState = 'continued';
      this.forwardHeaders(d, end);
      return;
    }
    s.headersAccessible = true;
    this.endOfStream = end;
    const status = this.runHeaders(d, headers.size, end);
    if (status === undefined || s.aborted || this.ended) return;
    if (status === 'continue') {
      s.headersAccessible = false;
      s.headersState = 'continued';
      this.forwardHeaders(d, end);
    } else if (status === 'continue_end') {
      s.headersAccessible = false;
      s.headersState = 'continued';
      s.endForced = true;
      this.forwardHeaders(d, true);
    } else {
      s.headersState = status === 'stop' ? 'stopped' : 'stopped_all';
    }
    this.afterCall(d);
  }

  private onData(d: Dir, data: Uint8Array, end: boolean): void {
    const s = this.dir(d);
    if (!s.started || s.endReceived || this.ended) return;
    s.bytesReceived += data.length;
    if (end) s.endReceived = true;
    if (s.aborted || s.endForced) return;
    if (this.skipFilter(d)) {
      this.forwardData(d, data, end);
      return;
    }
    if (s.headersState === 'stopped_all' || s.trailersStopped) {
      s.held.append(data);
      return;
    }
    this.callData(d, data, end);
  }

  /** Call the filter's body callback with `data` (plus what it buffered) and apply the result. */
  private callData(d: Dir, data: Uint8Array, end: boolean): void {
    const s = this.dir(d);
    let current: MutableBuffer;
    if (s.buffering) {
      s.held.append(data);
      current = s.held;
    } else {
      current = new MutableBuffer(data);
    }
    s.bodyCurrent = current;
    this.endOfStream = end;
    const status = this.runData(d, current.size(), end);
    if (status === undefined || s.aborted || this.ended) return;
    s.buffering = false;
    if (status === FilterDataStatus.Continue) {
      s.dataStopped = false;
      s.bodyCurrent = null;
      if (s.headersState === 'stopped') {
        s.headersState = 'continued';
        s.headersAccessible = false;
        this.forwardHeaders(d, false);
      }
      const out = current === s.held ? s.held.take() : concat(s.held.take(), current.take());
      this.forwardData(d, out, end && s.pendingTrailers === null);
    } else if (status === FilterDataStatus.StopIterationAndBuffer) {
      if (current !== s.held) s.held.append(current.take());
      s.buffering = true;
      s.bodyCurrent = s.held;
      s.dataStopped = true;
      if (s.held.size() > this.host.bufferLimitBytes) {
        this.bufferOverflow(d);
        return;
      }
    } else if (status === FilterDataStatus.StopIterationAndWatermark) {
      if (current !== s.held) s.held.append(current.take());
      s.dataStopped = true;
    } else {
      // StopIterationNoBuffer: Envoy does not keep the chunk.
      if (current !== s.held) current.take();
      s.dataStopped = true;
    }
    this.afterCall(d);
  }

  private onTrailers(d: Dir, trailers: HeaderMap): void {
    const s = this.dir(d);
    if (!s.started || s.endReceived || this.ended) return;
    s.endReceived = true;
    if (s.aborted || s.endForced) return;
    if (this.skipFilter(d)) {
      this.forwardTrailers(d, trailers);
      return;
    }
    if (s.headersState === 'stopped_all') {
      s.pendingTrailers = trailers;
      return;
    }
    this.callTrailers(d, trailers);
  }

  private callTrailers(d: Dir, trailers: HeaderMap): void {
    const s = this.dir(d);
    s.trailers = trailers;
    s.trailersAccessible = true;
    const status = this.runTrailers(d, trailers.size);
    if (status === undefined || s.aborted || this.ended) return;
    if (status === 'continue') {
      s.trailersAccessible = false;
      if (s.headersState === 'stopped') {
        s.headersState = 'continued';
        s.headersAccessible = false;
        this.forwardHeaders(d, false);
      }
      s.dataStopped = false;
      s.buffering = false;
      const held = s.held.take();
      if (held.length > 0) this.forwardData(d, held, false);
      this.forwardTrailers(d, trailers);
    } else {
      s.trailersStopped = true;
    }
    this.afterCall(d);
  }

  private afterCall(d: Dir): void {
    const s = this.dir(d);
    if (s.continueRequested) {
      s.continueRequested = false;
      this.continueIteration(d);
    }
  }

  /** Envoy's continueDecoding()/continueEncoding(). */
  private continueIteration(d: Dir): void {
    const s = this.dir(d);
    if (s.aborted || this.ended) return;
    if (s.inCall) {
      s.continueRequested = true;
      return;
    }
    if (s.headersState === 'stopped_all') {
      s.headersState = 'continued';
      s.headersAccessible = false;
      const heldSize = s.held.size();
      const trailers = s.pendingTrailers;
      s.pendingTrailers = null;
      const endWithHeaders = s.endReceived && heldSize === 0 && trailers === null;
      this.forwardHeaders(d, endWithHeaders);
      if (heldSize > 0 || (s.endReceived && trailers === null && !endWithHeaders)) {
        // The filter now sees what was buffered while it was stopped, in one call.
        const data = s.held.take();
        this.callData(d, data, s.endReceived && trailers === null);
        if (this.ended || s.aborted) return;
      }
      if (trailers) {
        if (s.paused) s.pendingTrailers = trailers;
        else this.callTrailers(d, trailers);
      }
      return;
    }
    if (s.headersState === 'stopped') {
      s.headersState = 'continued';
      s.headersAccessible = false;
      this.forwardHeaders(d, false);
    }
    if (s.dataStopped || s.trailersStopped) {
      s.dataStopped = false;
      s.buffering = false;
      s.bodyCurrent = null;
      const held = s.held.take();
      const seenTrailers = s.trailersStopped ? s.trailers : null;
      const unseenTrailers = s.pendingTrailers;
      s.trailersStopped = false;
      s.pendingTrailers = null;
      const trailers = seenTrailers ?? unseenTrailers;
      if (held.length > 0 || (s.endReceived && !trailers)) this.forwardData(d, held, s.endReceived && !trailers);
      if (seenTrailers) this.forwardTrailers(d, seenTrailers);
      else if (unseenTrailers) this.callTrailers(d, unseenTrailers);
    }
  }

  // ---- forwarding --------------------------------------------------------------------------

  private forwardHeaders(d: Dir, end: boolean): void {
    const s = this.dir(d);
    if (s.fwdHeaders) return;
    s.fwdHeaders = (s.headers ?? new HeaderMap()).clone();
    if (end) this.forwardEnd(d);
  }

  private forwardData(d: Dir, data: Uint8Array, end: boolean): void {
    const s = this.dir(d);
    if (s.fwdEnd) return;
    s.fwdBody.append(data);
    if (end) {
      if (s.addedTrailers && s.trailers && s.trailers.size > 0) {
        s.fwdTrailers = s.trailers.clone();
      }
      this.forwardEnd(d);
    }
  }

  private forwardTrailers(d: Dir, trailers: HeaderMap): void {
    const s = this.dir(d);
    if (s.fwdEnd) return;
    s.fwdTrailers = trailers.clone();
    this.forwardEnd(d);
  }

  private forwardEnd(d: Dir): void {
    const s = this.dir(d);
    s.fwdEnd = true;
    if (d === 'response') {
      this.endNs = this.vm.services.clock.now();
      this.finalize();
    }
  }

  // ---- calls into the filter ---------------------------------------------------------------

  /** Envoy's onCreate(): `proxy_on_context_create(id, root_id)` once. */
  private onCreate(): void {
    if (!this.vm.isFailed && !this.created && this.vm.has('proxy_on_context_create')) {
      this.vm.callback('proxy_on_context_create', this, this.id, this.vm.root.id);
    }
    this.created = true;
  }

  /** CHECK_FAIL: true when the VM failed (and the stream was failed, unless failing open). */
  private checkFail(): boolean {
    if (!this.vm.isFailed) return false;
    if (this.host.failurePolicy === 'fail_open') {
      this.bypass = true;
      return true;
    }
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.failStream();
    }
    return true;
  }

  private failOpenContinue(d: Dir): void {
    // Failing open mid-stream: let everything through untouched.
    const s = this.dir(d);
    s.headersAccessible = false;
    s.headersState = 'continued';
    const held = s.held.take();
    this.forwardHeaders(d, s.endReceived && held.length === 0 && !s.pendingTrailers);
    if (held.length > 0) this.forwardData(d, held, s.endReceived && !s.pendingTrailers);
  }

  private guardCall(d: Dir, fn: () => void): void {
    const s = this.dir(d);
    s.inCall = true;
    try {
      fn();
    } finally {
      s.inCall = false;
    }
  }

  private runHeaders(d: Dir, count: number, end: boolean): 'continue' | 'continue_end' | 'stop' | 'stop_all' | undefined {
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    const name = d === 'request' ? 'proxy_on_request_headers' : 'proxy_on_response_headers';
    if (!this.vm.has(name)) return 'continue';
    let r: { result: number | undefined; stop: boolean } = { result: 0, stop: false };
    this.guardCall(d, () => {
      r = this.vm.abi === '0.1.0' ? this.vm.callback(name, this, this.id, count) : this.vm.callback(name, this, this.id, count, end ? 1 : 0);
    });
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    const v = r.result ?? 0;
    if (r.stop || v > FilterHeadersStatus.StopAllIterationAndWatermark) return 'stop_all';
    if (v === FilterHeadersStatus.Continue) return 'continue';
    if (v === FilterHeadersStatus.StopIteration) return this.host.allowOnHeadersStopIteration ? 'stop' : 'stop_all';
    if (v === FilterHeadersStatus.ContinueAndEndStream) return 'continue_end';
    return 'stop_all';
  }

  private runData(d: Dir, size: number, end: boolean): number | undefined {
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    const name = d === 'request' ? 'proxy_on_request_body' : 'proxy_on_response_body';
    if (!this.vm.has(name)) return FilterDataStatus.Continue;
    let r: { result: number | undefined; stop: boolean } = { result: 0, stop: false };
    this.guardCall(d, () => {
      r = this.vm.callback(name, this, this.id, size, end ? 1 : 0);
    });
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    const v = r.result ?? 0;
    if (r.stop || v > FilterDataStatus.StopIterationNoBuffer) return FilterDataStatus.StopIterationNoBuffer;
    return v;
  }

  private runTrailers(d: Dir, count: number): 'continue' | 'stop' | undefined {
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    const name = d === 'request' ? 'proxy_on_request_trailers' : 'proxy_on_response_trailers';
    if (!this.vm.has(name)) return 'continue';
    let r: { result: number | undefined; stop: boolean } = { result: 0, stop: false };
    this.guardCall(d, () => {
      r = this.vm.callback(name, this, this.id, count);
    });
    if (this.checkFail()) {
      if (this.bypass) this.failOpenContinue(d);
      return undefined;
    }
    return r.stop || (r.result ?? 0) !== 0 ? 'stop' : 'continue';
  }

  // ---- local replies, failure, reset -----------------------------------------------------

  /** Envoy's failStream(): a 503 local reply (details `wasm_fail_stream`), once. */
  private failStream(): void {
    if (this.failureLocalReplySent) return;
    this.failureLocalReplySent = true;
    this.deliverLocalReply({ status: 503, body: new Uint8Array(0), headers: [], grpcStatus: 14, details: 'wasm_fail_stream' }, 'fail_stream');
  }

  override sendLocalResponse(args: LocalReplyArgs): void {
    this.vm.addAfterAction(() => this.deliverLocalReply(args, 'filter'));
  }

  private isGrpcRequest(): boolean {
    const ct = this.request.headers?.get('content-type') ?? '';
    return ct.startsWith('application/grpc');
  }

  private deliverLocalReply(args: LocalReplyArgs, source: LocalReplyInfo['source']): void {
    if (this.ended || this.localReply) return;
    const details = args.details.replace(/\s/g, '_');
    const grpcValid = args.grpcStatus >= 0 && args.grpcStatus <= MAX_GRPC;
    const info: LocalReplyInfo = {
      status: args.status,
      body: decodeUtf8(args.body),
      bodyBytes: args.body,
      headers: args.headers.map(([k, v]) => [k, v]),
      details,
      source,
      ...(grpcValid ? { grpcStatus: args.grpcStatus } : {}),
    };
    const enc = this.response;
    if (enc.fwdHeaders) {
      // Response headers already went downstream: Envoy can only reset the stream.
      this.resetStream(`local reply after response headers were sent (${details})`);
      return;
    }
    this.localReply = info;
    this.responseDetails = details;
    this.request.aborted = true;
    this.request.held.take();
    this.request.dataStopped = false;
    const headers = new HeaderMap();
    let body = args.body;
    if (this.isGrpcRequest()) {
      // A trailers-only gRPC response (Envoy's local reply for gRPC requests).
      headers.add(':status', '200');
      for (const [k, v] of args.headers) headers.add(k, v);
      headers.set('content-type', 'application/grpc');
      headers.set('grpc-status', String(grpcValid ? args.grpcStatus : httpToGrpcStatus(args.status)));
      if (body.length > 0) headers.set('grpc-message', grpcPercentEncode(body));
      body = new Uint8Array(0);
    } else {
      headers.add(':status', String(args.status));
      for (const [k, v] of args.headers) headers.add(k, v);
      if (body.length > 0) {
        headers.set('content-length', String(body.length));
        if (!headers.has('content-type')) headers.add('content-type', 'text/plain');
      }
    }
    if (!enc.started) {
      // Through the filter chain: the filter's response callbacks see the local reply.
      this.onHeaders('response', headers, body.length === 0);
      if (body.length > 0) this.onData('response', body, true);
    } else {
      // An upstream response is being processed: replace it, bypassing the filter.
      enc.aborted = true;
      enc.held.take();
      enc.headers = headers;
      enc.fwdHeaders = headers.clone();
      enc.fwdBody.take();
      enc.fwdBody.append(body);
      enc.fwdTrailers = null;
      this.forwardEnd('response');
    }
  }

  /**
   * Buffered data went over Envoy's buffer limit: 413 for a request, 500 for a response (a reset
   * when response headers already went downstream).
   */
  private bufferOverflow(d: Dir): void {
    const request = d === 'request';
    this.deliverLocalReply(
      {
        status: request ? 413 : 500,
        body: encodeUtf8(request ? 'Payload Too Large' : 'Internal Server Error'),
        headers: [],
        grpcStatus: -1,
        details: request ? 'request_payload_too_large' : 'response_payload_too_large',
      },
      'buffer_limit',
    );
  }

  private resetStream(reason: string): void {
    if (this.ended) return;
    this.resetReason = reason;
    this.request.aborted = true;
    this.response.aborted = true;
    this.endNs = this.vm.services.clock.now();
    this.finalize();
  }

  // ---- end of stream -------------------------------------------------------------------------

  /** Access log (`proxy_on_log`), then `proxy_on_done` and `proxy_on_delete`; once. */
  private finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    if (!this.bypass) {
      if (!this.created) this.onCreate();
      this.accessLogPhase = true;
      this.accessLogRequestHeaders = this.request.headers;
      this.accessLogResponseHeaders = this.response.headers;
      this.accessLogResponseTrailers = this.response.trailers;
      if (!this.vm.isFailed && this.vm.has('proxy_on_log')) this.vm.callback('proxy_on_log', this, this.id);
      this.accessLogPhase = false;
      if (!this.vm.isFailed && this.created) {
        if (this.vm.has('proxy_on_done')) this.vm.callback('proxy_on_done', this, this.id);
        if (!this.vm.isFailed && this.vm.has('proxy_on_delete')) this.vm.callback('proxy_on_delete', this, this.id);
      }
    }
    this.vm.unregister(this);
    this.host.streamFinished(this);
    this.host.notifyProgress();
  }

  // ---- ContextBase: what hostcalls see -----------------------------------------------------

  override getMap(type: number): HeaderMap | null {
    switch (type) {
      case MapType.RequestHeaders:
        return this.request.headersAccessible ? this.request.headers : null;
      case MapType.ResponseHeaders:
        return this.response.headersAccessible ? this.response.headers : null;
      case MapType.RequestTrailers:
        return this.trailersFor('request');
      case MapType.ResponseTrailers:
        return this.trailersFor('response');
      default:
        return null;
    }
  }

  private trailersFor(d: Dir): HeaderMap | null {
    const s = this.dir(d);
    if (s.trailersAccessible) return s.trailers;
    if (!s.trailers && s.bodyCurrent && this.endOfStream && !this.accessLogPhase) {
      // Envoy lets a body callback at end of stream add trailers.
      s.trailers = new HeaderMap();
      s.addedTrailers = true;
      s.trailersAccessible = true;
      return s.trailers;
    }
    return null;
  }

  override getConstMap(type: number): HeaderMap | null {
    switch (type) {
      case MapType.RequestHeaders:
        if (this.accessLogPhase) return this.accessLogRequestHeaders;
        return this.request.headersAccessible ? this.request.headers : null;
      case MapType.RequestTrailers:
        if (this.accessLogPhase) return null;
        return this.request.trailersAccessible ? this.request.trailers : null;
      case MapType.ResponseHeaders:
        if (this.accessLogPhase) return this.accessLogResponseHeaders;
        return this.response.headersAccessible ? this.response.headers : null;
      case MapType.ResponseTrailers:
        if (this.accessLogPhase) return this.accessLogResponseTrailers;
        return this.response.trailersAccessible ? this.response.trailers : null;
      default:
        return super.getConstMap(type);
    }
  }

  override getBuffer(type: number): BodyBuffer | null {
    if (type === BufferType.HttpRequestBody) return this.request.bodyCurrent ?? EMPTY_BUFFER;
    if (type === BufferType.HttpResponseBody) return this.response.bodyCurrent ?? EMPTY_BUFFER;
    return super.getBuffer(type);
  }

  override continueStream(type: number): WasmResultCode {
    if (type === StreamType.Request || type === StreamType.Response) {
      const d: Dir = type === StreamType.Request ? 'request' : 'response';
      this.vm.addAfterAction(() => {
        this.continueIteration(d);
        this.host.notifyProgress();
      });
      // Envoy drops its pointers to the request's maps and body on either continue.
      this.request.headersAccessible = false;
      this.request.trailersAccessible = false;
      if (!this.request.buffering) this.request.bodyCurrent = null;
      return WasmResult.Ok;
    }
    if (type === StreamType.Downstream) return WasmResult.Ok;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    return WasmResult.BadArgument;
  }

  override closeStream(type: number): WasmResultCode {
    if (type === StreamType.Request || type === StreamType.Response) {
      this.responseDetails ??= 'wasm_close_stream';
      this.vm.addAfterAction(() => {
        this.resetStream('wasm_close_stream');
        this.host.notifyProgress();
      });
      return WasmResult.Ok;
    }
    if (type === StreamType.Downstream || type === StreamType.Upstream) return WasmResult.Ok;
    return WasmResult.BadArgument;
  }

  override filterStateValue(name: string): Uint8Array | undefined {
    return this.filterState.get(`wasm.${name}`);
  }

  override setProperty(path: string, value: Uint8Array): WasmResultCode {
    this.filterState.set(`wasm.${path}`, value.slice());
    return WasmResult.Ok;
  }

  /** Filter state set through `proxy_set_property` (keys are `wasm.<path>`, as in Envoy). */
  get filterStateEntries(): ReadonlyMap<string, Uint8Array> {
    return this.filterState;
  }

  override properties(): PropertyTree {
    this.propertyCache ??= this.host.streamProperties(this.builtinProperties(), this.options.properties);
    return this.propertyCache;
  }

  private builtinProperties(): PropertyTree {
    const req = (): HeaderMap | null => this.request.headers;
    const resp = (): HeaderMap | null => (this.response.started ? this.response.headers : null);
    const hdr = (m: () => HeaderMap | null, name: string) => (): PropertyValue => m()?.get(name);
    const headerMapProp = (m: () => HeaderMap | null) => (): PropertyValue => {
      const map = m();
      if (!map) return undefined;
      return property.map(map.toRecord(',', true));
    };
    const path = (): string | undefined => req()?.get(':path');
    const port = 40000 + (this.connectionId % 20000);
    return {
      request: {
        path,
        url_path: () => path()?.split('?')[0],
        query: () => {
          const p = path();
          if (p === undefined) return undefined;
          const i = p.indexOf('?');
          return i < 0 ? '' : p.slice(i + 1);
        },
        host: hdr(req, ':authority'),
        scheme: hdr(req, ':scheme'),
        method: hdr(req, ':method'),
        headers: headerMapProp(req),
        referer: hdr(req, 'referer'),
        useragent: hdr(req, 'user-agent'),
        id: hdr(req, 'x-request-id'),
        protocol: this.options.protocol ?? 'HTTP/1.1',
        time: property.timestamp(this.startNs),
        duration: () => (this.endNs !== undefined ? property.duration(this.endNs - this.startNs) : undefined),
        size: () => {
          const cl = req()?.get('content-length');
          if (cl !== undefined && /^\d+$/.test(cl)) return Number(cl);
          return this.request.bytesReceived;
        },
        total_size: () => this.request.bytesReceived + (req()?.byteSize ?? 0),
      },
      response: {
        code: () => {
          const s = resp()?.get(':status');
          return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
        },
        code_details: () => this.responseDetails,
        flags: () => (this.response.started ? 0 : undefined),
        grpc_status: () => {
          const g = this.response.trailers?.get('grpc-status') ?? resp()?.get('grpc-status');
          return g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined;
        },
        headers: headerMapProp(resp),
        trailers: headerMapProp(() => this.response.trailers),
        size: () => this.response.fwdBody.size(),
        total_size: () => this.response.fwdBody.size() + (this.response.fwdHeaders?.byteSize ?? 0),
      },
      source: { address: `127.0.0.1:${port}`, port },
      destination: { address: '127.0.0.1:10000', port: 10000 },
      connection: {
        id: property.uint(this.connectionId),
        mtls: false,
        requested_server_name: '',
      },
      upstream: {
        address: () => (this.request.fwdHeaders ? '127.0.0.1:8080' : undefined),
        port: () => (this.request.fwdHeaders ? 8080 : undefined),
      },
      metadata: property.metadata({}),
      filter_state: () => {
        const out: Record<string, PropertyValue> = {};
        for (const [k, v] of this.filterState) out[k] = v;
        // Envoy can walk into filter_state but not serialize it whole.
        return new TypedProperty('map', out, undefined, true);
      },
      xds: {
        cluster_name: () => (this.request.fwdHeaders ? this.host.clusterName : undefined),
        route_name: () => (this.request.fwdHeaders ? '' : undefined),
      },
    };
  }
}

/** gRPC's percent-encoding of grpc-message: bytes outside 0x20..0x7e, and '%'. */
function grpcPercentEncode(b: Uint8Array): string {
  let out = '';
  for (const c of b) {
    out += c < 0x20 || c > 0x7e || c === 0x25 ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(c);
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
