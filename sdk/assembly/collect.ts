// Garbage collection at top-level points, for filters built with AssemblyScript's minimal runtime
// (`"runtime": "minimal"` in the filter's asconfig.json). That runtime keeps no shadow stack and
// does no GC work inside allocations (measurably faster per request), so nothing is ever freed
// unless the module calls `__collect`, and a collection frees every object no global reaches,
// even one a live wasm local still uses. The ABI entries (abi-headers.ts, abi-collect.ts) collect
// only at top-level points: after a host->VM callback returned, when no frame of the module is
// live, so the globals are the only roots (the root and stream contexts, proxy-runtime's maps,
// the buffers the host allocated through `malloc`, which stay pinned until read).
// Under the default incremental runtime all of this does nothing (that runtime collects itself).
import { BLOCK_OVERHEAD, OBJECT, TOTAL_OVERHEAD } from "rt/common";

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

function nothing(): void {}
let beforeCollect: () => void = nothing;

/**
 * For test builds that measure the heap: `fn` runs before every collection, when the garbage
 * since the last one is still there (the heap's high-water mark is reached just before a
 * collection or at the end of a run, as nothing is freed in between).
 */
export function onBeforeCollect(fn: () => void): void {
  beforeCollect = fn;
}

/** Callbacks of abi-collect.ts under way (more than one only if the host nested them). */
let depth: i32 = 0;

/**
 * ABI entry only: a wrapped callback starts / ends. Hosts do not call a callback from inside a
 * host call (Envoy defers local replies and the like until the VM call returned); should one do
 * it anyway, the nested callback's collections are skipped (its caller's frames are live).
 */
export function enterCallback(): void {
  depth++;
}

export function leaveCallback(): void {
  depth--;
}

/** Collects now. Call only at a top-level point (see above): from an ABI entry, after the callback. */
export function collectNow(): void {
  if (ASC_RUNTIME != RUNTIME_MINIMAL || depth != 0) return;
  beforeCollect();
  requested = false;
  deletedSinceCollect = 0;
  inputSinceCollect = 0;
  __collect();
  pagesAtCollect = memory.size();
  if (allocationBudget != 0) startCountingAllocations();
}

/** Top-level point only: collects when `collectAfterCallback` was called during the callback. */
export function collectIfRequested(): void {
  if (requested) collectNow();
}

let largeBody: u32 = 0;
let largeBodyGarbagePerByte: u32 = 0;
let inputBudget: u32 = 0;
let inputSinceCollect: u32 = 0;

/**
 * Asks for a collection when a stream ends (`proxy_on_delete`) once the input the filter handled
 * since the last collection (`noteInput`) reached `bytes`: for filters whose garbage grows with
 * their input (a WAF's values and their transformed forms), so a run of requests cannot pile up
 * more garbage than about `bytes` of input makes. At the stream's end rather than after the
 * callback: the stream's own data (a large body, its values) is garbage then too. 0 turns it
 * off (the default).
 */
export function collectEveryInputBytes(bytes: u32): void {
  inputBudget = bytes;
}

/** Counts `bytes` of input handled in this callback (see `collectEveryInputBytes`). */
export function noteInput(bytes: u32): void {
  inputSinceCollect += bytes;
}

/**
 * Asks the ABI entry (abi-collect.ts) to collect before a body callback that ends a body of at
 * least `bytes` (end of stream), so such a body's garbage does not land on top of the garbage of
 * the streams before it. For filters that inspect whole bodies; 0 turns it off (the default).
 * With `collectEveryAllocatedBytes` and `garbagePerByte` (about the most the filter allocates per
 * byte of body), only when what was allocated since the last collection plus what this body is
 * expected to allocate would pass that budget (or its input would pass the input budget): a
 * collection costs a mark of the whole live heap, so a run of large bodies shares one while the
 * budget has room. Without `garbagePerByte`: with `collectEveryInputBytes`, when a quarter of
 * that input was handled since the last collection; with `collectEveryAllocatedBytes`, also when
 * an eighth of that was allocated.
 */
export function collectBeforeBodiesOf(bytes: u32, garbagePerByte: u32 = 0): void {
  largeBody = bytes;
  largeBodyGarbagePerByte = garbagePerByte;
}

/** Top-level point only (before a body callback): see `collectBeforeBodiesOf`. */
export function collectBeforeBody(length: u32, endOfStream: bool): void {
  if (largeBody == 0 || !endOfStream || length < largeBody) return;
  if (largeBodyGarbagePerByte != 0 && allocationBudget != 0) {
    // In 64 bits: a body limit raised far past the default times the per-byte estimate would wrap.
    const expected = <u64>largeBodyGarbagePerByte * <u64>length;
    const overInput = inputBudget != 0 && <u64>inputSinceCollect + <u64>length > <u64>inputBudget;
    if (overInput || <u64>countAllocated(false) + expected > <u64>allocationBudget) collectNow();
    return;
  }
  const byInput = inputBudget == 0 ? allocationBudget == 0 : inputSinceCollect >= (inputBudget >> 2);
  if (byInput || (allocationBudget != 0 && allocatedSinceCollect() >= (allocationBudget >> 3))) collectNow();
}

// Counting what was allocated since the last collection (collectEveryAllocatedBytes). The minimal
// runtime's collector (rt/tcms.ts) keeps every object it manages in one circular list, whose
// layout rt/common.ts documents (OBJECT: `gcInfo` is the next object, color in the low 2 bits):
// `__new` appends each new object at the end, and a collection leaves the list holding the
// objects that survived it. So the objects after a marker object allocated at some point are
// exactly those allocated since (nothing is freed between collections; `__renew` keeps an
// object's place), and summing their block sizes, as the collector's own byte count does, costs
// one step per new object: a few hundred for a GET. The collector's own count (`total`) is private
// to rt/tcms.ts, memory.size() only moves when the allocator runs out (never, below the VM's
// initial size), and walking the allocator's blocks costs as much as a mark.

/** An empty object marking a place in the collector's list: what follows it is new. */
@final class AllocationMark {}

let allocationBudget: usize = 0;
/** Bytes allocated from the last collection to `mark`. */
let countedSinceCollect: usize = 0;
let mark: AllocationMark | null = null;
/** The collector's list head when `mark` was made (the list's end; static, below the heap). */
let markListHead: usize = 0;

function startCountingAllocations(): void {
  countedSinceCollect = 0;
  placeMark();
}

/** A new mark at the end of the collector's list (the object just allocated is the last one). */
function placeMark(): void {
  const m = new AllocationMark();
  mark = m;
  markListHead = changetype<OBJECT>(changetype<usize>(m) - TOTAL_OVERHEAD).gcInfo & ~3;
}

/**
 * Bytes the runtime allocated since the last collection (blocks and their headers), minus what
 * `__renew` added to objects older than that (an old array that grew: bounded by its size).
 * Top-level point only, minimal runtime only. Should something else have collected meanwhile
 * (a test's `__collect`), the walk ends where it started: more than was allocated, so the next
 * check collects and counting starts afresh.
 */
export function allocatedSinceCollect(): usize {
  return countAllocated(true);
}

/**
 * The count of `allocatedSinceCollect`; `placeNewMark` false only peeks: the objects after the
 * mark are counted again next time (a peek allocates nothing, so it cannot add to the count).
 */
function countAllocated(placeNewMark: bool): usize {
  if (ASC_RUNTIME != RUNTIME_MINIMAL) return 0;
  const m = mark;
  if (m === null) {
    startCountingAllocations();
    return 0;
  }
  const start = changetype<usize>(m) - TOTAL_OVERHEAD;
  let bytes: usize = 0;
  let obj = changetype<OBJECT>(start).gcInfo & ~3;
  while (obj != markListHead && obj != start) {
    bytes += BLOCK_OVERHEAD + (changetype<OBJECT>(obj).mmInfo & ~3);
    obj = changetype<OBJECT>(obj).gcInfo & ~3;
  }
  if (!placeNewMark) return countedSinceCollect + bytes;
  countedSinceCollect += bytes;
  if (bytes != 0) placeMark();
  return countedSinceCollect;
}

/**
 * Collects when a stream ends (`proxy_on_delete`) once `bytes` were allocated since the last
 * collection (measured, see above), and before the callback that ends a large body
 * (`collectBeforeBodiesOf`) once an eighth of that was: for filters whose garbage per request
 * varies too much for an input budget alone to fit all requests. It replaces the ABI entry's
 * streams-per-collection count (which estimated the same thing); 0 turns it off (the default).
 * What the count misses is the growth of objects older than its last mark (an array made before
 * and filled during a large body): a filter that grows such objects with its input keeps an
 * input budget for that input too (`collectEveryInputBytes`, whichever comes first).
 */
export function collectEveryAllocatedBytes(bytes: usize): void {
  allocationBudget = bytes;
  if (bytes != 0 && ASC_RUNTIME == RUNTIME_MINIMAL) startCountingAllocations();
}

/**
 * Top-level point only (after `proxy_on_delete`): a collection every `streamsPerCollect` streams
 * (with `collectEveryAllocatedBytes`: once that many bytes were allocated instead), once the
 * input budget is reached (`collectEveryInputBytes`), or as soon as the memory had to grow since
 * the last one (large requests), so memory stays near its high-water mark.
 */
export function collectBetweenStreams(streamsPerCollect: u32): void {
  if (ASC_RUNTIME != RUNTIME_MINIMAL) return;
  if (allocationBudget != 0) {
    if (requested || memory.size() > pagesAtCollect || (inputBudget != 0 && inputSinceCollect >= inputBudget) ||
        allocatedSinceCollect() >= allocationBudget) collectNow();
    return;
  }
  deletedSinceCollect++;
  if (!requested && deletedSinceCollect < streamsPerCollect && memory.size() <= pagesAtCollect &&
      (inputBudget == 0 || inputSinceCollect < inputBudget)) return;
  collectNow();
}

/** What one configure step (`configureInSteps`) leaves to do. */
export enum ConfigureStep { More, Done, Failed }

function noStep(): ConfigureStep {
  return ConfigureStep.Done;
}

let configureStep: () => ConfigureStep = noStep;
let stepsPending = false;

/**
 * For a configuration too large to load in one call without piling up garbage (the minimal
 * runtime frees nothing inside a call): `onConfigure` keeps its loading state in a global,
 * registers `step` here and returns true; the ABI entry (abi-collect.ts) then calls `step` until
 * it returns Done or Failed, collecting after each call, before `proxy_on_configure` returns
 * (Failed rejects the configuration as `onConfigure` returning false would). A step must keep
 * everything the next one needs in globals: its locals are gone when it returns.
 */
export function configureInSteps(step: () => ConfigureStep): void {
  configureStep = step;
  stepsPending = true;
}

/**
 * ABI entry only, at a top-level point (after `onConfigure` returned): runs the registered
 * configure steps, calling `afterEach` after each (a collection; a test build may measure the
 * heap first); false when one failed.
 */
export function runConfigureSteps(afterEach: () => void = collectNow): bool {
  let status = ConfigureStep.Done;
  while (stepsPending) {
    enterCallback();
    status = configureStep();
    leaveCallback();
    if (status != ConfigureStep.More) stepsPending = false;
    afterEach();
  }
  configureStep = noStep;
  return status != ConfigureStep.Failed;
}

/** ABI entry only: drops the registered configure steps without running them (`onConfigure` failed). */
export function cancelConfigureSteps(): void {
  stepsPending = false;
  configureStep = noStep;
}
