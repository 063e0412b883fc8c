// Typed helpers over host calls that proxy-runtime 0.1.8 gets wrong or lacks.
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { free } from "@solo-io/proxy-runtime/assembly/malloc";

// Out-parameters for host calls that return a buffer (pointer and size).
const outPtr = memory.data(8);
const outSize = memory.data(8);

const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;
const BUFFER_VM_CONFIGURATION: i32 = 6;

/** A host buffer as a UTF-8 string; "" when empty or absent. Frees the host's copy. */
function readBuffer(kind: i32, size: u32): string {
  if (size == 0) return "";
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  const r = imports.proxy_get_buffer_bytes(kind, 0, size, outPtr, outSize);
  if (r != 0) return "";
  const ptr = load<usize>(outPtr);
  const len = load<usize>(outSize);
  if (ptr == 0) return "";
  const s = String.UTF8.decodeUnsafe(ptr, len);
  free(ptr);
  return s;
}

/**
 * The plugin configuration. (proxy-runtime 0.1.8's RootContext.onConfigure passes the size where
 * the host expects a pointer for the returned length, so the host writes into stray memory.)
 */
export function getPluginConfiguration(size: u32): string {
  return readBuffer(BUFFER_PLUGIN_CONFIGURATION, size);
}

export function getVmConfiguration(size: u32): string {
  return readBuffer(BUFFER_VM_CONFIGURATION, size);
}
