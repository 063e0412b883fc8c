// Stream contexts kept by the lean ABI entries (abi-headers.ts, abi-collect.ts) in a map of their
// own instead of proxy-runtime's, whose bookkeeping logs through the host on every request. A
// filter uses one entry or the other, so they share this one map and creation hook.
import {
  Context, ensureRootContext, getRootContext, FilterHeadersStatusValues, FilterDataStatusValues, FilterTrailersStatusValues,
} from "@solo-io/proxy-runtime/assembly/runtime";

export const streams = new Map<u32, Context>();

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    ensureRootContext(context_id);
    return;
  }
  if (streams.has(context_id)) return;
  streams.set(context_id, getRootContext(root_context_id).createContext(context_id));
}

// A stream's callbacks, forwarded to its context; a stream this map does not hold continues.

export function streamRequestHeaders(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  if (!streams.has(context_id)) return FilterHeadersStatusValues.Continue;
  return streams.get(context_id).onRequestHeaders(headers, end_of_stream != 0);
}

export function streamRequestBody(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  if (!streams.has(context_id)) return FilterDataStatusValues.Continue;
  return streams.get(context_id).onRequestBody(body_buffer_length, end_of_stream != 0);
}

export function streamRequestTrailers(context_id: u32, trailers: u32): u32 {
  if (!streams.has(context_id)) return FilterTrailersStatusValues.Continue;
  return streams.get(context_id).onRequestTrailers(trailers);
}

export function streamResponseHeaders(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  if (!streams.has(context_id)) return FilterHeadersStatusValues.Continue;
  return streams.get(context_id).onResponseHeaders(headers, end_of_stream != 0);
}

export function streamResponseBody(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  if (!streams.has(context_id)) return FilterDataStatusValues.Continue;
  return streams.get(context_id).onResponseBody(body_buffer_length, end_of_stream != 0);
}

export function streamResponseTrailers(context_id: u32, trailers: u32): u32 {
  if (!streams.has(context_id)) return FilterTrailersStatusValues.Continue;
  return streams.get(context_id).onResponseTrailers(trailers);
}
