/**
 * One Rego evaluation: the input's JSON text in, the result set's JSON text out.
 *
 * opa-wasm's `LoadedPolicy.evaluate` on a policy of OPA's wasm ABI 1.2 or later already makes one
 * `opa_eval` call (the input is parsed and the result dumped inside wasm), but around it takes the
 * input as an ArrayBuffer it copies into the wasm memory, and decodes the result with a fresh
 * TextDecoder after a byte-by-byte scan and parses it with JSON.parse. The direct evaluator makes
 * the same `opa_eval` call with the same arguments (entrypoint id, the data address and the heap
 * pointer opa-wasm keeps, the input right after the data) but encodes the input text straight
 * into the wasm memory and returns the result text unparsed, so a boolean result can be read
 * without parsing (see interpretRegoResultText). A policy built for an older ABI, or an opa-wasm
 * whose LoadedPolicy no longer carries those fields, is evaluated through `evaluate` instead.
 */

/** What the direct evaluator reads of opa-wasm's LoadedPolicy (fields set by its constructor and setData). */
export interface OpaPolicyLike {
  evaluate(input: unknown, entrypoint?: number | string): unknown;
  wasmInstance: WebAssembly.Instance;
  mem: WebAssembly.Memory;
  minorVersion?: unknown;
  /** The address of the loaded data document. */
  dataAddr?: unknown;
  /** The heap pointer after the data: the input goes here and evaluation's heap after it. */
  dataHeapPtr?: unknown;
  /** Entrypoint name -> id. */
  entrypoints?: unknown;
}

/** Evaluates the policy's entrypoint on an input JSON text; returns the result set's JSON text. */
export type RegoEvaluator = (inputJson: string) => string;

const PAGE = 64 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The direct `opa_eval` evaluator for a loaded policy, or undefined when it cannot be used. */
export function directEvaluator(policy: OpaPolicyLike, entrypoint: string): RegoEvaluator | undefined {
  const opaEval = (policy.wasmInstance.exports as Record<string, unknown>)['opa_eval'];
  const entrypoints = policy.entrypoints as Record<string, unknown> | undefined;
  const id = entrypoints && Object.prototype.hasOwnProperty.call(entrypoints, entrypoint) ? entrypoints[entrypoint] : undefined;
  const usable = typeof policy.minorVersion === 'number' && policy.minorVersion >= 2 && typeof opaEval === 'function' && typeof id === 'number' && typeof policy.dataAddr === 'number' && typeof policy.dataHeapPtr === 'number';
  if (!usable) return undefined;
  const call = opaEval as (reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number) => number;
  const mem = policy.mem;
  let bytes = new Uint8Array(mem.buffer);
  let inputAt = -1;
  let inputView = bytes;
  return (json) => {
    // Read each time: setData moves them. The memory's buffer changes when it grows.
    const at = policy.dataHeapPtr as number;
    const data = policy.dataAddr as number;
    if (bytes.buffer !== mem.buffer || at !== inputAt) {
      bytes = new Uint8Array(mem.buffer);
      inputView = bytes.subarray(at);
      inputAt = at;
    }
    let { read, written } = encoder.encodeInto(json, inputView);
    if (read < json.length) {
      // Not enough memory after the data: grow it for the worst case (3 bytes per UTF-16 unit).
      mem.grow(Math.ceil((at + json.length * 3 - mem.buffer.byteLength) / PAGE));
      bytes = new Uint8Array(mem.buffer);
      inputView = bytes.subarray(at);
      ({ read, written } = encoder.encodeInto(json, inputView));
    }
    const resultAt = call(0, id, data, at, written, at + written, 0);
    // Evaluation may have grown the memory.
    if (bytes.buffer !== mem.buffer) {
      bytes = new Uint8Array(mem.buffer);
      inputView = bytes.subarray(at);
    }
    const end = bytes.indexOf(0, resultAt);
    // The usual answers are matched in place: no view, no decoding, the same string each time.
    for (const known of KNOWN_RESULTS) if (sameBytes(bytes, resultAt, end, known.bytes)) return known.text;
    return decoder.decode(bytes.subarray(resultAt, end < 0 ? bytes.length : end));
  };
}

/** Result sets as `opa_json_dump` writes them (compact): a boolean entrypoint's and an undefined one's. */
export const RESULT_TRUE = '[{"result":true}]';
export const RESULT_FALSE = '[{"result":false}]';
export const RESULT_UNDEFINED = '[]';
const KNOWN_RESULTS = [RESULT_TRUE, RESULT_FALSE, RESULT_UNDEFINED].map((text) => ({ text, bytes: encoder.encode(text) }));

function sameBytes(memory: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (memory[start + i] !== expected[i]) return false;
  return true;
}

/** The fallback: opa-wasm's evaluate, given the input as ready JSON bytes. */
export function evaluateThroughOpaWasm(policy: OpaPolicyLike, entrypoint: string): RegoEvaluator {
  return (json) => JSON.stringify(policy.evaluate(inputBytes(json), entrypoint));
}

const scratch = new Uint8Array(16 * 1024);
/** Reused input buffers by length (opa-wasm copies the whole buffer it is given into wasm memory before evaluate returns). */
const buffers = new Map<number, ArrayBuffer>();

/**
 * The UTF-8 bytes of a JSON text as an ArrayBuffer of exactly their length (opa-wasm takes it as
 * ready JSON). Pruned documents are small and their lengths repeat, so a buffer per length is kept
 * (at most 256) instead of a fresh allocation per evaluation; larger ones are encoded afresh.
 */
function inputBytes(json: string): ArrayBuffer {
  if (json.length * 3 > scratch.length) return encoder.encode(json).buffer as ArrayBuffer;
  const { written } = encoder.encodeInto(json, scratch);
  let buffer = buffers.get(written);
  if (!buffer) {
    if (buffers.size >= 256) buffers.clear();
    buffer = new ArrayBuffer(written);
    buffers.set(written, buffer);
  }
  new Uint8Array(buffer).set(scratch.subarray(0, written));
  return buffer;
}
