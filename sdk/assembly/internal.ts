// Plumbing shared by the SDK's host-call helpers (not part of the public API): out-parameter
// slots and taking ownership of buffers the host allocated through our `malloc`.
import { free } from "@solo-io/proxy-runtime/assembly/malloc";

// Out-parameters for host calls: a returned pointer, a returned size, and one more u32
// (cas, token, metric id, flags). wasm32: pointers and sizes are 4 bytes; 8 bytes are reserved
// so a u64 (metric values, time) fits in `outValue`.
export const outPtr: usize = memory.data(8);
export const outSize: usize = memory.data(8);
export const outValue: usize = memory.data(8);

export function clearOut(): void {
  store<u32>(outPtr, 0);
  store<u32>(outSize, 0);
  store<u64>(outValue, 0);
}

/**
 * The buffer the host just returned through `outPtr`/`outSize`, copied into a fresh ArrayBuffer;
 * the host's copy (allocated with our `malloc`) is released. A null pointer means empty data.
 */
export function takeOutBuffer(): ArrayBuffer {
  const ptr = <usize>load<u32>(outPtr);
  const len = <i32>load<u32>(outSize);
  if (ptr == 0 || len <= 0) {
    if (ptr != 0) free(ptr);
    return new ArrayBuffer(0);
  }
  const out = new ArrayBuffer(len);
  memory.copy(changetype<usize>(out), ptr, <usize>len);
  free(ptr);
  return out;
}

/**
 * `takeOutBuffer` without the copy: the host wrote into an ArrayBuffer that our `malloc` made for
 * exactly this size, so that buffer is released from the host's hold (unpinned) and returned
 * itself. Falls back to the copy when the block is not such an ArrayBuffer (another allocator).
 */
export function adoptOutBuffer(): ArrayBuffer {
  const ptr = <usize>load<u32>(outPtr);
  const len = <u32>load<u32>(outSize);
  // Object header (AssemblyScript's runtime): run-time type id at ptr - 8, payload size at ptr - 4.
  if (ptr >= __heap_base + 20 && len > 0 && load<u32>(ptr - 8) == idof<ArrayBuffer>() && load<u32>(ptr - 4) == len) {
    free(ptr);
    return changetype<ArrayBuffer>(ptr);
  }
  return takeOutBuffer();
}

/** UTF-8 bytes of a string (AssemblyScript strings are UTF-16). */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function ptrOf(b: ArrayBuffer): usize {
  return changetype<usize>(b);
}

export function lenOf(b: ArrayBuffer): usize {
  return <usize>b.byteLength;
}
