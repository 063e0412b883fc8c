// Stream contexts kept by the lean ABI entries (abi-headers.ts, abi-collect.ts) in a map of their
// own instead of proxy-runtime's, whose bookkeeping logs through the host on every request. A
// filter uses one entry or the other, so they share this one map and creation hook.
import { Context, ensureRootContext, getRootContext } from "@solo-io/proxy-runtime/assembly/runtime";

export const streams = new Map<u32, Context>();

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    ensureRootContext(context_id);
    return;
  }
  if (streams.has(context_id)) return;
  streams.set(context_id, getRootContext(root_context_id).createContext(context_id));
}
