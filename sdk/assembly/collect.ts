// Garbage collection at top-level points, for filters built with AssemblyScript's minimal runtime
// (`"runtime": "minimal"` in the filter's asconfig.json). That runtime keeps no shadow stack and
// does no GC work inside allocations (measurably faster per request), so nothing is ever freed
// unless the module calls `__collect`, and a collection frees every object no global reaches,
// even one a live wasm local still uses. The ABI entries (abi-headers.ts, abi-collect.ts) collect
// only at top-level points: after a host->VM callback returned, when no frame of the module is
// live, so the globals are the only roots (the root and stream contexts, proxy-runtime's maps,
// the buffers the host allocated through `malloc`, which stay pinned until read).
// Under the default incremental runtime all of this does nothing (that runtime collects itself).

/** `ASC_RUNTIME` under `--runtime minimal` (0 stub, 1 minimal, 2 incremental). */
const RUNTIME_MINIMAL = 1;
let deletedSinceCollect: u32 = 0;
let pagesAtCollect: i32 = 0;
let requested = false;

/**
 * Asks the ABI entry (abi-collect.ts) to collect as soon as the current callback returned: for a
 * callback that left much garbage (a large body), so it is freed before the next request's
 * garbage lands on top of it. Safe to call from anywhere: nothing is collected before the return.
 */
export function collectAfterCallback(): void {
  requested = true;
}

/** Collects now. Call only at a top-level point (see above): from an ABI entry, after the callback. */
export function collectNow(): void {
  if (ASC_RUNTIME != RUNTIME_MINIMAL) return;
  requested = false;
  deletedSinceCollect = 0;
  __collect();
  pagesAtCollect = memory.size();
}

/** Top-level point only: collects when `collectAfterCallback` was called during the callback. */
export function collectIfRequested(): void {
  if (requested) collectNow();
}

/**
 * Top-level point only (after `proxy_on_delete`): a collection every `streamsPerCollect` streams,
 * or as soon as the memory had to grow since the last one (large requests), so memory stays near
 * its high-water mark.
 */
export function collectBetweenStreams(streamsPerCollect: u32): void {
  if (ASC_RUNTIME != RUNTIME_MINIMAL) return;
  deletedSinceCollect++;
  if (!requested && deletedSinceCollect < streamsPerCollect && memory.size() <= pagesAtCollect) return;
  collectNow();
}
