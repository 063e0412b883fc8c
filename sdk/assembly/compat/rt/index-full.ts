// proxy-runtime 0.1.8 was written for AssemblyScript's old reference-counting runtime and calls
// __retain/__release. AssemblyScript 0.28 has a tracing GC with explicit pinning instead; a pin
// count per pointer lets a block be retained more than once (__pin itself refuses a second pin).
const pinCounts = new Map<usize, i32>();

export function __retain(ptr: usize): usize {
  if (ptr == 0) return ptr;
  if (pinCounts.has(ptr)) {
    pinCounts.set(ptr, pinCounts.get(ptr) + 1);
  } else {
    __pin(ptr);
    pinCounts.set(ptr, 1);
  }
  return ptr;
}

export function __release(ptr: usize): void {
  if (ptr == 0 || !pinCounts.has(ptr)) return;
  const left = pinCounts.get(ptr) - 1;
  if (left > 0) {
    pinCounts.set(ptr, left);
  } else {
    pinCounts.delete(ptr);
    __unpin(ptr);
  }
}
