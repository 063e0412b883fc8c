// The full proxy-wasm ABI entry (as abi.ts: every proxy_on_* callback, bodies and trailers
// included) for a filter built with AssemblyScript's minimal runtime. A filter's entry file
// re-exports it instead of abi.ts:
//
//   export * from "@meshward/sdk/assembly/abi-collect";
//
// Garbage is collected only at top-level points (collect.ts): after `proxy_on_configure` (what
// loading the configuration left behind) and after each configure step a filter registered with
// `configureInSteps` (a large configuration loaded in parts); after `proxy_on_delete` every
// STREAMS_PER_COLLECT streams (or, for a filter that opted in, once its allocation budget is spent:
// `collectEveryAllocatedBytes`), when the memory grew or when the filter's input budget is spent
// (`collectEveryInputBytes`, `noteInput`); after any stream callback during which the filter
// asked for it (`collectAfterCallback`); and before the callback that ends a large body when the
// filter asked for that (`collectBeforeBodiesOf`). Each wrapper below collects
// only before calling into proxy-runtime or after that call returned: its own frame holds no
// managed reference, so the globals are the only roots. Under the incremental runtime the
// wrappers only forward.
//
// Stream contexts live in this module's own map (as in abi-headers.ts; the root context is still
// proxy-runtime's): proxy-runtime's stream bookkeeping (ensureContext, onLog, onDone, onDelete)
// writes about ten debug lines through proxy_log per request, host calls made whatever Envoy's
// log level, each building strings (one lists every live context id). For the same reason
// proxy_on_log and proxy_on_done are not exported (Envoy skips a callback a module does not
// export), nor the metadata callbacks Envoy never calls for HTTP. Stream contexts get the header,
// body and trailer callbacks.
export {
  proxy_abi_version_0_2_0, malloc, free, proxy_on_vm_start, proxy_validate_configuration,
  proxy_on_tick, proxy_on_foreign_function, proxy_on_queue_ready, proxy_on_http_call_response,
  proxy_on_grpc_receive_initial_metadata, proxy_on_grpc_trailing_metadata, proxy_on_grpc_receive,
  proxy_on_grpc_close,
} from "@solo-io/proxy-runtime/assembly/proxy";
export { proxy_on_grpc_receive_trailing_metadata } from "./abi";
import { proxy_on_configure as configure, proxy_on_delete as deleteRootContext } from "@solo-io/proxy-runtime/assembly/proxy";
import {
  collectBeforeBody, collectBetweenStreams, collectIfRequested, collectNow, runConfigureSteps, cancelConfigureSteps,
  enterCallback, leaveCallback,
} from "./collect";

import {
  streams, streamRequestHeaders as requestHeaders, streamRequestBody as requestBody, streamRequestTrailers as requestTrailers,
  streamResponseHeaders as responseHeaders, streamResponseBody as responseBody, streamResponseTrailers as responseTrailers,
} from "./stream-contexts";
export { proxy_on_context_create } from "./stream-contexts";

/** Streams between two collections (a GET leaves tens of KiB of garbage), unless the filter counts allocations. */
const STREAMS_PER_COLLECT: u32 = 64;

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  enterCallback();
  let ok = configure(root_context_id, configuration_size) != 0;
  leaveCallback();
  collectNow();
  // The configuration's remaining steps, if `onConfigure` registered any (collect.ts).
  if (ok) ok = runConfigureSteps();
  else cancelConfigureSteps();
  return ok ? 1 : 0;
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  enterCallback();
  const status = requestHeaders(context_id, headers, end_of_stream);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_request_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  collectBeforeBody(body_buffer_length, end_of_stream != 0);
  enterCallback();
  const status = requestBody(context_id, body_buffer_length, end_of_stream);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_request_trailers(context_id: u32, trailers: u32): u32 {
  enterCallback();
  const status = requestTrailers(context_id, trailers);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  enterCallback();
  const status = responseHeaders(context_id, headers, end_of_stream);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  collectBeforeBody(body_buffer_length, end_of_stream != 0);
  enterCallback();
  const status = responseBody(context_id, body_buffer_length, end_of_stream);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  enterCallback();
  const status = responseTrailers(context_id, trailers);
  leaveCallback();
  collectIfRequested();
  return status;
}

export function proxy_on_delete(context_id: u32): void {
  enterCallback();
  if (streams.has(context_id)) streams.delete(context_id);
  else deleteRootContext(context_id);
  leaveCallback();
  collectBetweenStreams(STREAMS_PER_COLLECT);
}
