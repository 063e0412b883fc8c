/**
 * Contexts as the hostcalls see them. Every hostcall acts on the current (or effective) context:
 * the VM context during start-up, the root (plugin) context, or an HTTP stream context
 * (`HttpStream`, in stream.ts). The base class gives the answers Envoy gives when a context has
 * no such state (e.g. no request headers in a root context).
 */
import { BufferType, MapType, StreamType, WasmResult, type WasmResultCode } from './abi.js';
import type { HeaderMap, HeaderPair } from './headers.js';
import type { PropertyTree } from './properties.js';
import type { WasmVm } from './vm.js';

/** A buffer as `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes` see it. */
export interface BodyBuffer {
  size(): number;
  read(start: number, length: number): Uint8Array;
  write(start: number, length: number, data: Uint8Array): WasmResultCode;
}

/** A read-only buffer (configuration, http_call response body, ...). */
export class ConstBuffer implements BodyBuffer {
  constructor(private readonly data: Uint8Array) {}
  size(): number {
    return this.data.length;
  }
  read(start: number, length: number): Uint8Array {
    return this.data.subarray(start, start + length);
  }
  write(): WasmResultCode {
    return WasmResult.BadArgument;
  }
}

/** An absent body: reads as empty, rejects writes (Envoy's behaviour for a null buffer). */
export const EMPTY_BUFFER: BodyBuffer = new ConstBuffer(new Uint8Array(0));

/**
 * A body buffer with Envoy's write semantics: `start == 0` drains `length` bytes and prepends
 * the data (so `(0, size)` replaces everything and `(0, 0)` prepends); `start >= size` appends;
 * anything else is BAD_ARGUMENT.
 */
export class MutableBuffer implements BodyBuffer {
  private chunks: Uint8Array[] = [];
  private total = 0;

  constructor(initial?: Uint8Array) {
    if (initial && initial.length > 0) this.append(initial);
  }

  size(): number {
    return this.total;
  }

  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.total);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    this.chunks = this.total > 0 ? [out] : [];
    return out;
  }

  read(start: number, length: number): Uint8Array {
    return this.bytes().subarray(start, start + length);
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.total += data.length;
  }

  /** Move everything out (leaves the buffer empty). */
  take(): Uint8Array {
    const b = this.bytes();
    this.chunks = [];
    this.total = 0;
    return b;
  }

  write(start: number, length: number, data: Uint8Array): WasmResultCode {
    const copy = data.slice();
    if (start === 0) {
      const cur = this.bytes();
      const rest = length >= cur.length ? new Uint8Array(0) : cur.subarray(length);
      this.chunks = [];
      this.total = 0;
      this.append(copy);
      this.append(rest);
      return WasmResult.Ok;
    }
    if (start >= this.total) {
      this.append(copy);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }
}

export interface LocalReplyArgs {
  status: number;
  body: Uint8Array;
  headers: HeaderPair[];
  grpcStatus: number;
  details: string;
}

export abstract class ContextBase {
  abstract readonly kind: 'vm' | 'root' | 'stream';
  /** True while `proxy_on_log` runs (Envoy's access-log phase). */
  accessLogPhase = false;

  constructor(
    readonly vm: WasmVm,
    readonly id: number,
  ) {}

  /** Root context this context belongs to (the VM context answers for itself). */
  abstract get rootContext(): RootContext | undefined;

  /** Header map for mutation, or null when not available now (-> BAD_ARGUMENT). */
  getMap(_type: number): HeaderMap | null {
    return null;
  }

  /** Header map for reading, or null when not available now. */
  getConstMap(type: number): HeaderMap | null {
    const root = this.rootContext;
    if (!root) return null;
    switch (type) {
      case MapType.GrpcReceiveInitialMetadata:
        return root.grpcInitialMetadata;
      case MapType.GrpcReceiveTrailingMetadata:
        return root.grpcTrailingMetadata;
      case MapType.HttpCallResponseHeaders:
        return root.httpCallResponse?.headers ?? null;
      case MapType.HttpCallResponseTrailers:
        return root.httpCallResponse?.trailers ?? null;
      default:
        return null;
    }
  }

  getBuffer(type: number): BodyBuffer | null {
    const root = this.rootContext;
    switch (type) {
      case BufferType.VmConfiguration:
        return new ConstBuffer(this.vm.vmConfig);
      case BufferType.PluginConfiguration:
        return root?.tempPluginConfig ? new ConstBuffer(this.vm.pluginConfig) : null;
      case BufferType.HttpCallResponseBody:
        return root?.httpCallResponse ? new ConstBuffer(root.httpCallResponse.body) : null;
      case BufferType.GrpcReceiveBuffer:
        return root?.grpcReceiveBuffer ? new ConstBuffer(root.grpcReceiveBuffer) : EMPTY_BUFFER;
      case BufferType.CallData:
        return root?.callData ? new ConstBuffer(root.callData) : EMPTY_BUFFER;
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
        return EMPTY_BUFFER;
      default:
        return null;
    }
  }

  continueStream(type: number): WasmResultCode {
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    return WasmResult.Ok;
  }

  closeStream(_type: number): WasmResultCode {
    return WasmResult.Ok;
  }

  /** Local reply (deferred until the current callback returns); a no-op outside a stream. */
  sendLocalResponse(_args: LocalReplyArgs): void {}

  /** Property tree for `proxy_get_property`. */
  abstract properties(): PropertyTree;

  /** Filter-state value set through `proxy_set_property` (stream contexts only). */
  filterStateValue(_name: string): Uint8Array | undefined {
    return undefined;
  }

  setProperty(_path: string, _value: Uint8Array): WasmResultCode {
    return WasmResult.NotFound;
  }

  /** Stream id for logging (0 for non-stream contexts). */
  get streamId(): number {
    return 0;
  }
}

/** The context of VM start-up (`_initialize` / `_start`), id 0. */
export class VmContext extends ContextBase {
  readonly kind = 'vm' as const;
  get rootContext(): RootContext | undefined {
    return undefined;
  }
  properties(): PropertyTree {
    return this.vm.baseProperties();
  }
}

export interface HttpCallResponseState {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap | null;
}

/** The root (plugin) context. */
export class RootContext extends ContextBase {
  readonly kind = 'root' as const;
  /** True while the plugin configuration is readable (context creation at start, on_configure). */
  tempPluginConfig = false;
  httpCallResponse: HttpCallResponseState | null = null;
  grpcInitialMetadata: HeaderMap | null = null;
  grpcTrailingMetadata: HeaderMap | null = null;
  grpcReceiveBuffer: Uint8Array | null = null;
  callData: Uint8Array | null = null;
  /** What `proxy_get_status` returns. */
  statusCode = 0;
  statusMessage = '';

  get rootContext(): RootContext {
    return this;
  }

  properties(): PropertyTree {
    return this.vm.baseProperties();
  }
}
