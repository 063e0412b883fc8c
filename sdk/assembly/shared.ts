// Shared data (a key-value store shared by every VM with the same vm_id, with compare-and-swap),
// shared queues, and the root context's tick timer.
//
// Shared data: `getSharedData` returns the value and its CAS token; pass the token back to
// `setSharedData` to update only if nobody changed the value since (CasMismatch otherwise).
// A CAS of 0 always writes. (proxy-runtime 0.1.8's `set_shared_data` sends no value.)
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/index";
import { clearOut, outPtr, outSize, outValue, takeOutBuffer, utf8 } from "./internal";

export class SharedDataValue {
  constructor(public value: ArrayBuffer, public cas: u32) {}
  /** The value as UTF-8 text. */
  text(): string { return String.UTF8.decode(this.value); }
}

/** The value and CAS token of `key`; null when the key does not exist (or cannot be read). */
export function getSharedData(key: string): SharedDataValue | null {
  const k = utf8(key);
  clearOut();
  const r = imports.proxy_get_shared_data(changetype<usize>(k), k.byteLength, outPtr, outSize, outValue);
  if (r != WasmResultValues.Ok) return null;
  const cas = load<u32>(outValue);
  return new SharedDataValue(takeOutBuffer(), cas);
}

/** The host's status for reading `key`: Ok or NotFound (the value itself is discarded). */
export function sharedDataStatus(key: string): WasmResultValues {
  const k = utf8(key);
  clearOut();
  const r = imports.proxy_get_shared_data(changetype<usize>(k), k.byteLength, outPtr, outSize, outValue);
  if (r == WasmResultValues.Ok) takeOutBuffer();
  return r;
}

/** Sets `key`; with a non-zero `cas`, only if it still matches. Ok, CasMismatch, or another status. */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResultValues {
  const k = utf8(key);
  return imports.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas);
}

export function getSharedString(key: string): string | null {
  const v = getSharedData(key);
  return v === null ? null : v.text();
}

export function setSharedString(key: string, value: string, cas: u32 = 0): WasmResultValues {
  return setSharedData(key, utf8(value), cas);
}

/**
 * Registers (or re-opens) the queue `name` for this VM id and returns its token; 0 on failure
 * (hosts never hand out token 0). `proxy_on_queue_ready` goes to the root context that
 * registered it last.
 */
export function registerSharedQueue(name: string): u32 {
  const n = utf8(name);
  clearOut();
  const r = imports.proxy_register_shared_queue(changetype<usize>(n), n.byteLength, outValue);
  if (r != WasmResultValues.Ok) return 0;
  return load<u32>(outValue);
}

/** The token of an existing queue registered by VM `vmId`; 0 when there is none. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const v = utf8(vmId);
  const n = utf8(name);
  clearOut();
  const r = imports.proxy_resolve_shared_queue(changetype<usize>(v), v.byteLength, changetype<usize>(n), n.byteLength, outValue);
  if (r != WasmResultValues.Ok) return 0;
  return load<u32>(outValue);
}

/** Ok, or NotFound for an unknown token. */
export function enqueueSharedQueue(token: u32, data: ArrayBuffer): WasmResultValues {
  return imports.proxy_enqueue_shared_queue(token, changetype<usize>(data), data.byteLength);
}

export function enqueueSharedString(token: u32, text: string): WasmResultValues {
  return enqueueSharedQueue(token, utf8(text));
}

export class DequeueResult {
  constructor(public result: WasmResultValues, public data: ArrayBuffer | null) {}
  /** True when an item was dequeued. */
  ok(): bool { return this.result == WasmResultValues.Ok; }
  /** The item as UTF-8 text; null when nothing was dequeued. */
  text(): string | null {
    const d = this.data;
    return d === null ? null : String.UTF8.decode(d);
  }
}

/** The next item: Ok with data, Empty, or NotFound for an unknown token. */
export function dequeueSharedQueue(token: u32): DequeueResult {
  clearOut();
  const r = imports.proxy_dequeue_shared_queue(token, outPtr, outSize);
  if (r != WasmResultValues.Ok) return new DequeueResult(r, null);
  return new DequeueResult(r, takeOutBuffer());
}

/** Calls the root context's `onTick` every `ms` milliseconds (0 stops it). Call it from a root context. */
export function setTickPeriod(ms: u32): WasmResultValues {
  return imports.proxy_set_tick_period_milliseconds(ms);
}

/** The host's wall clock, in nanoseconds since the Unix epoch; 0 if unavailable. */
export function currentTimeNanos(): u64 {
  clearOut();
  const r = imports.proxy_get_current_time_nanoseconds(outValue);
  if (r != WasmResultValues.Ok) return 0;
  return load<u64>(outValue);
}
