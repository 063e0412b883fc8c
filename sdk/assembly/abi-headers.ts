// A lean ABI entry for HTTP filters that act on request and response headers only. A filter's
// entry file re-exports it instead of `abi.ts`:
//
//   export * from "@meshward/sdk/assembly/abi-headers";
//
// Why: proxy-runtime's stream bookkeeping (ensureContext, onDone, onDelete) writes several debug
// lines through proxy_log on every request — host calls made whatever Envoy's log level, each
// building strings such as the list of live context ids — and every proxy_on_* callback it
// exports makes Envoy enter the VM (per body chunk, at log and done time) even when the filter
// does nothing there. Here stream contexts live in this module's own map (the root context is
// still proxy-runtime's), and only the callbacks a headers-only filter needs are exported; Envoy
// skips a callback a module does not export. Root-context features (ticks, queues, root http
// calls) keep working; stream contexts get only onRequestHeaders and onResponseHeaders.
//
// Garbage collection: with the default incremental runtime nothing changes here. A filter built
// with `--runtime minimal` (no shadow stack, no GC work interleaved with allocations: measurably
// faster per request) must collect by itself when no managed reference is on the stack; this entry
// does it at the end of `proxy_on_delete` (collect.ts, collectBetweenStreams), a top-level call from
// the host (streams are destroyed after their callbacks returned, never from inside one).
import { collectBetweenStreams } from "./collect";

export {
  proxy_abi_version_0_2_0, malloc, free, proxy_on_vm_start, proxy_validate_configuration, proxy_on_configure,
  proxy_on_tick, proxy_on_queue_ready, proxy_on_http_call_response,
} from "@solo-io/proxy-runtime/assembly/proxy";

import { streams } from "./stream-contexts";
export {
  proxy_on_context_create, streamRequestHeaders as proxy_on_request_headers, streamResponseHeaders as proxy_on_response_headers,
} from "./stream-contexts";

/** Streams between two collections under the minimal runtime (each request's garbage is a few KiB). */
const STREAMS_PER_COLLECT: u32 = 256;

export function proxy_on_delete(context_id: u32): void {
  if (streams.has(context_id)) streams.delete(context_id);
  collectBetweenStreams(STREAMS_PER_COLLECT);
}
