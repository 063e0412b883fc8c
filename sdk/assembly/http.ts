// Callouts: HTTP calls to a cluster, unary gRPC calls, host foreign functions (clear_route_cache).
//
// AssemblyScript has no closures, so a callout takes a handler object: subclass HttpCallHandler
// (or GrpcCallHandler), keep whatever you need (e.g. the stream context) in fields, and override
// its method. The response arrives on the root context; the helpers make the originating context
// the effective one before calling the handler, so it can change that stream's headers, send a
// local reply or resume it.
//
//   class OnAuth extends HttpCallHandler {
//     constructor(public ctx: MyContext) { super(); }
//     onResponse(r: HttpCallResponse): void {
//       if (r.status != 200) sendLocalResponse(403, "denied");
//       else this.ctx.continueRequest();
//     }
//   }
//   // in onRequestHeaders:
//   const req = new HttpCallRequest("GET", "/check");
//   if (httpCall(this, "authz", req, 500, new OnAuth(this)) == WasmResultValues.Ok)
//     return FilterHeadersStatusValues.StopIteration;
//
// Responses reach the plugin's root context: make it extend CalloutRootContext, which hands them
// to the right handler (or call dispatchHttpCallResponse / dispatchGrpc* from your own overrides).
// proxy-runtime's own RootContext.httpCall cannot be used: it does not compile (its callback type
// does not match HttpCallback's) and hands the callback no token.
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import {
  BaseContext, BufferTypeValues, Context, HeaderMapTypeValues, RootContext, WasmResultValues,
} from "@solo-io/proxy-runtime/assembly/runtime";
import { getBufferBytes } from "./body";
import { getHeaderPairs, serializePairs } from "./headers";
import { clearOut, outPtr, outSize, outValue, takeOutBuffer, utf8 } from "./internal";
import { headerFirst } from "./match";
import { getStatus } from "./status";

// proxy-runtime 0.1.8 declares proxy_grpc_call without the initial-metadata arguments of ABI 0.2.x.
// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
declare function proxy_grpc_call_v2(
  upstream: usize, upstreamSize: usize,
  service: usize, serviceSize: usize,
  method: usize, methodSize: usize,
  metadata: usize, metadataSize: usize,
  message: usize, messageSize: usize,
  timeoutMs: u32, tokenOut: usize,
): u32;

// ---- HTTP ------------------------------------------------------------------------------------

/** The request of an http_call. `authority` defaults to the cluster name. */
export class HttpCallRequest {
  headers: Array<string[]> = new Array<string[]>();
  body: ArrayBuffer = new ArrayBuffer(0);
  trailers: Array<string[]> = new Array<string[]>();
  authority: string = "";

  constructor(public method: string = "GET", public path: string = "/") {}

  header(name: string, value: string): HttpCallRequest {
    this.headers.push([name, value]);
    return this;
  }

  bodyText(text: string): HttpCallRequest {
    this.body = utf8(text);
    return this;
  }
}

export class HttpCallResponse {
  /**
   * True when no response arrived at all (the host reports the call reset or cancelled); see
   * `failure`. Envoy answers most upstream problems with a response instead: 503 "upstream connect
   * error or disconnect/reset before headers..." for a refused or reset connection, 504 "upstream
   * request timeout" for a timeout.
   */
  failed: bool = false;
  /** The host's explanation when `failed` (proxy_get_status message). */
  failure: string = "";
  /** `:status`, 0 when failed. */
  status: i32 = 0;
  headers: Array<string[]> = new Array<string[]>();
  body: ArrayBuffer = new ArrayBuffer(0);
  trailers: Array<string[]> = new Array<string[]>();
  /** The context that made the call (now the effective context). */
  contextId: u32 = 0;

  /** The first value of a response header (name compared case-insensitively); null when absent. */
  header(name: string): string | null {
    return headerFirst(this.headers, name);
  }

  bodyText(): string { return String.UTF8.decode(this.body); }
}

/** Receives an http_call's response; override `onResponse`. */
export class HttpCallHandler {
  onResponse(response: HttpCallResponse): void {}
}

class PendingHttpCall {
  constructor(public contextId: u32, public handler: HttpCallHandler) {}
}

const httpCalls = new Map<u32, PendingHttpCall>();

function parseStatus(s: string): i32 {
  if (s.length == 0 || s.length > 3) return 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return 0;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * Delivers `proxy_on_http_call_response` to the handler of a call made with `httpCall`, with the
 * calling context as the effective context (the handler is skipped when that stream is gone).
 * False when the token is not one of ours.
 */
export function dispatchHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): bool {
  if (!httpCalls.has(token)) return false;
  const call = httpCalls.get(token);
  httpCalls.delete(token);
  // The calling stream may be gone (client disconnected): then nobody is left to answer.
  if (imports.proxy_set_effective_context(call.contextId) != WasmResultValues.Ok) return true;
  const response = new HttpCallResponse();
  response.contextId = call.contextId;
  if (numHeaders == 0) {
    response.failed = true;
    const st = getStatus();
    response.failure = st.message.length > 0 ? st.message : "no response";
  } else {
    response.headers = getHeaderPairs(HeaderMapTypeValues.HttpCallResponseHeaders);
    for (let i = 0; i < response.headers.length; i++) {
      if (response.headers[i][0] == ":status") response.status = parseStatus(response.headers[i][1]);
    }
    if (bodySize > 0) {
      const body = getBufferBytes(BufferTypeValues.HttpCallResponseBody, 0, bodySize);
      if (body !== null) response.body = body;
    }
    if (numTrailers > 0) response.trailers = getHeaderPairs(HeaderMapTypeValues.HttpCallResponseTrailers);
  }
  call.handler.onResponse(response);
  return true;
}

/** Calls made with `httpCall` whose response has not arrived yet. */
export function pendingHttpCalls(): i32 {
  return httpCalls.size;
}

function rootOf(from: BaseContext): RootContext | null {
  if (from instanceof RootContext) return <RootContext>from;
  if (from instanceof Context) return (<Context>from).root_context;
  return null;
}

/**
 * Sends `request` to `cluster` and calls `handler.onResponse` when the response (or a failure)
 * arrives, with `from` as the effective context. `timeoutMs` 0 means no timeout.
 * The plugin's root context must extend CalloutRootContext (it routes the response here);
 * otherwise nothing is sent and the result is Unimplemented.
 * Returns Ok, or the host's refusal (BadArgument for an unknown cluster or missing
 * :method/:path/:authority, InternalFailure).
 */
export function httpCall(
  from: BaseContext, cluster: string, request: HttpCallRequest, timeoutMs: u32, handler: HttpCallHandler,
): WasmResultValues {
  const root = rootOf(from);
  if (root === null || !(root instanceof CalloutRootContext)) return WasmResultValues.Unimplemented;
  const pairs = new Array<string[]>();
  pairs.push([":method", request.method]);
  pairs.push([":path", request.path]);
  pairs.push([":authority", request.authority.length > 0 ? request.authority : cluster]);
  for (let i = 0; i < request.headers.length; i++) pairs.push(request.headers[i]);
  const c = utf8(cluster);
  const h = serializePairs(pairs);
  const t = serializePairs(request.trailers);
  const body = request.body;
  clearOut();
  const r = imports.proxy_http_call(
    changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength, changetype<usize>(body), body.byteLength,
    changetype<usize>(t), t.byteLength, timeoutMs, outValue,
  );
  if (r != WasmResultValues.Ok) return r;
  httpCalls.set(load<u32>(outValue), new PendingHttpCall(from.context_id, handler));
  return WasmResultValues.Ok;
}

// ---- gRPC ------------------------------------------------------------------------------------

/** Receives a unary gRPC call's outcome: `onMessage` on success, `onClose` on failure. */
export class GrpcCallHandler {
  /** The response message (serialized protobuf). */
  onMessage(message: ArrayBuffer): void {}
  /** The call failed with gRPC `status` (e.g. 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED). */
  onClose(status: u32, message: string): void {}
  onInitialMetadata(metadata: Array<string[]>): void {}
  onTrailingMetadata(metadata: Array<string[]>): void {}
}

class PendingGrpcCall {
  constructor(public contextId: u32, public handler: GrpcCallHandler) {}
}

const grpcCalls = new Map<u32, PendingGrpcCall>();

export class GrpcCallResult {
  constructor(public result: WasmResultValues, public token: u32) {}
  ok(): bool { return this.result == WasmResultValues.Ok; }
}

/**
 * A unary gRPC call to `/<service>/<method>` on `cluster` with a serialized request message.
 * The root context must extend CalloutRootContext (Unimplemented otherwise). Returns the token,
 * or the host's refusal (ParseFailure for an unknown cluster in Envoy).
 */
export function grpcCall(
  from: BaseContext, cluster: string, service: string, method: string, initialMetadata: Array<string[]>,
  message: ArrayBuffer, timeoutMs: u32, handler: GrpcCallHandler,
): GrpcCallResult {
  const root = rootOf(from);
  if (root === null || !(root instanceof CalloutRootContext)) return new GrpcCallResult(WasmResultValues.Unimplemented, 0);
  const c = utf8(cluster);
  const s = utf8(service);
  const m = utf8(method);
  const md = serializePairs(initialMetadata);
  clearOut();
  const r = proxy_grpc_call_v2(
    changetype<usize>(c), c.byteLength, changetype<usize>(s), s.byteLength, changetype<usize>(m), m.byteLength,
    changetype<usize>(md), md.byteLength, changetype<usize>(message), message.byteLength, timeoutMs, outValue,
  );
  if (r != WasmResultValues.Ok) return new GrpcCallResult(r, 0);
  const token = load<u32>(outValue);
  grpcCalls.set(token, new PendingGrpcCall(from.context_id, handler));
  return new GrpcCallResult(WasmResultValues.Ok, token);
}

/** Cancels a pending gRPC call; its handler is not called. */
export function grpcCancel(token: u32): WasmResultValues {
  if (grpcCalls.has(token)) grpcCalls.delete(token);
  return imports.proxy_grpc_cancel(token);
}

/** The pending call for `token` with its context made effective; null when unknown or its stream is gone. */
function pendingGrpc(token: u32): PendingGrpcCall | null {
  if (!grpcCalls.has(token)) return null;
  const call = grpcCalls.get(token);
  if (imports.proxy_set_effective_context(call.contextId) != WasmResultValues.Ok) {
    grpcCalls.delete(token);
    return null;
  }
  return call;
}

/** Delivers `proxy_on_grpc_receive`; false when the token is not one of ours. */
export function dispatchGrpcReceive(token: u32, size: u32): bool {
  const call = pendingGrpc(token);
  if (call === null) return false;
  grpcCalls.delete(token);
  const msg = getBufferBytes(BufferTypeValues.GrpcReceiveBuffer, 0, size);
  call.handler.onMessage(msg !== null ? msg : new ArrayBuffer(0));
  return true;
}

/** Delivers `proxy_on_grpc_close`; false when the token is not one of ours. */
export function dispatchGrpcClose(token: u32, status: u32): bool {
  const call = pendingGrpc(token);
  if (call === null) return false;
  grpcCalls.delete(token);
  call.handler.onClose(status, getStatus().message);
  return true;
}

export function dispatchGrpcInitialMetadata(token: u32, n: u32): bool {
  const call = pendingGrpc(token);
  if (call === null) return false;
  call.handler.onInitialMetadata(getHeaderPairs(HeaderMapTypeValues.GrpcReceiveInitialMetadata));
  return true;
}

export function dispatchGrpcTrailingMetadata(token: u32, n: u32): bool {
  const call = pendingGrpc(token);
  if (call === null) return false;
  call.handler.onTrailingMetadata(getHeaderPairs(HeaderMapTypeValues.GrpcReceiveTrailingMetadata));
  return true;
}

/**
 * A root context that routes the responses of `httpCall` and `grpcCall` to their handlers
 * (responses to calls made some other way still reach RootContext's own handling).
 */
export class CalloutRootContext extends RootContext {
  onHttpCallResponse(token: u32, headers: u32, body_size: u32, trailers: u32): void {
    if (!dispatchHttpCallResponse(token, headers, body_size, trailers)) super.onHttpCallResponse(token, headers, body_size, trailers);
  }
  on_grpc_receive_initial_metadata(token: u32, headers: u32): void { dispatchGrpcInitialMetadata(token, headers); }
  on_grpc_trailing_metadata(token: u32, trailers: u32): void { dispatchGrpcTrailingMetadata(token, trailers); }
  on_grpc_receive(token: u32, response_size: u32): void { dispatchGrpcReceive(token, response_size); }
  on_grpc_close(token: u32, status_code: u32): void { dispatchGrpcClose(token, status_code); }
}

// ---- foreign functions -----------------------------------------------------------------------

export class ForeignCallResult {
  constructor(public result: WasmResultValues, public data: ArrayBuffer) {}
}

/** `proxy_call_foreign_function(name, args)`; NotFound when the host has no such function. */
export function callForeignFunction(name: string, args: ArrayBuffer): ForeignCallResult {
  const n = utf8(name);
  clearOut();
  const r = imports.proxy_call_foreign_function(
    changetype<usize>(n), n.byteLength, changetype<usize>(args), args.byteLength, outPtr, outSize,
  );
  const data = r == WasmResultValues.Ok ? takeOutBuffer() : new ArrayBuffer(0);
  return new ForeignCallResult(r, data);
}

/**
 * Asks the host to re-pick the route after the filter changed request headers.
 * ABI 0.2.x has no `proxy_clear_route_cache` (it was 0.1.0-only, and importing it makes Envoy
 * refuse a 0.2.x module); Envoy offers it as the foreign function "clear_route_cache" instead.
 * Returns Ok, or Unimplemented when the host has no such function.
 */
export function clearRouteCache(): WasmResultValues {
  const r = callForeignFunction("clear_route_cache", new ArrayBuffer(0)).result;
  return r == WasmResultValues.NotFound ? WasmResultValues.Unimplemented : r;
}
