// Reading and replacing HTTP bodies (and other host buffers).
//
// Reads use `proxy_get_buffer_status` / `proxy_get_buffer_bytes`. Writes use
// `proxy_set_buffer_bytes(buffer, start, length, data, size)`, declared here because
// proxy-runtime 0.1.8 binds its `proxy_set_buffer_status` wrapper to the wrong host function.
// Host semantics (spec 0.2.1, Envoy): `start = 0` drops `length` bytes then prepends `data`
// (so `(0, size)` replaces everything, `(0, 0)` prepends); `start >= size` appends; anything
// else is BadArgument.
//
// To see a whole body, return `StopIterationAndBuffer` from onRequestBody/onResponseBody until
// `end_of_stream`; then the buffer holds everything received. When the body's length changes,
// remove `content-length` in the headers callback (Envoy forwards the header as it is).
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { BufferTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { clearOut, outPtr, outSize, outValue, takeOutBuffer, utf8 } from "./internal";

// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(buffer: u32, start: u32, length: u32, data: usize, size: usize): u32;

/** Appending: any start at or past the end appends; the maximum `size_t` always is. */
export const BUFFER_END: u32 = u32.MAX_VALUE;

/** The current size of a host buffer; -1 when it is not available now. */
export function getBufferSize(buffer: BufferTypeValues): i64 {
  clearOut();
  const r = imports.proxy_get_buffer_status(buffer, outSize, outValue);
  if (r != WasmResultValues.Ok) return -1;
  return <i64>load<u32>(outSize);
}

/** Up to `length` bytes from `start`; null when the buffer is not available. */
export function getBufferBytes(buffer: BufferTypeValues, start: u32, length: u32): ArrayBuffer | null {
  if (length == 0) return new ArrayBuffer(0);
  clearOut();
  const r = imports.proxy_get_buffer_bytes(buffer, start, length, outPtr, outSize);
  if (r != WasmResultValues.Ok) return null;
  return takeOutBuffer();
}

/** The whole buffer; null when it is not available. */
export function getBuffer(buffer: BufferTypeValues): ArrayBuffer | null {
  const size = getBufferSize(buffer);
  if (size < 0) return null;
  return getBufferBytes(buffer, 0, <u32>size);
}

/** Replaces `length` bytes at `start` with `data` (see the top of this file for the rules). */
export function setBufferBytes(buffer: BufferTypeValues, start: u32, length: u32, data: ArrayBuffer): WasmResultValues {
  return proxy_set_buffer_bytes(<u32>buffer, start, length, changetype<usize>(data), <usize>data.byteLength);
}

/** Replaces the whole buffer with `data`. */
export function replaceBuffer(buffer: BufferTypeValues, data: ArrayBuffer): WasmResultValues {
  const size = getBufferSize(buffer);
  if (size < 0) return WasmResultValues.NotFound;
  return setBufferBytes(buffer, 0, <u32>size, data);
}

export function prependBuffer(buffer: BufferTypeValues, data: ArrayBuffer): WasmResultValues {
  return setBufferBytes(buffer, 0, 0, data);
}

export function appendBuffer(buffer: BufferTypeValues, data: ArrayBuffer): WasmResultValues {
  return setBufferBytes(buffer, BUFFER_END, 0, data);
}

/** The request body received so far (all of it once buffered to `end_of_stream`); null outside the request body callbacks. */
export function getRequestBody(): ArrayBuffer | null { return getBuffer(BufferTypeValues.HttpRequestBody); }
export function getResponseBody(): ArrayBuffer | null { return getBuffer(BufferTypeValues.HttpResponseBody); }

/**
 * The request body as text; null when not available. Decoded leniently (AssemblyScript's
 * String.UTF8.decode does not validate): run `decodeUtf8` on `getRequestBody()` to reject invalid UTF-8.
 */
export function getRequestBodyText(): string | null {
  const b = getRequestBody();
  return b === null ? null : String.UTF8.decode(b);
}

export function getResponseBodyText(): string | null {
  const b = getResponseBody();
  return b === null ? null : String.UTF8.decode(b);
}

export function setRequestBody(data: ArrayBuffer): WasmResultValues { return replaceBuffer(BufferTypeValues.HttpRequestBody, data); }
export function setResponseBody(data: ArrayBuffer): WasmResultValues { return replaceBuffer(BufferTypeValues.HttpResponseBody, data); }
export function setRequestBodyText(text: string): WasmResultValues { return setRequestBody(utf8(text)); }
export function setResponseBodyText(text: string): WasmResultValues { return setResponseBody(utf8(text)); }
