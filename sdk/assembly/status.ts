// Small shared types: names for host status codes, a box for optional numbers and booleans
// (AssemblyScript has no nullable primitives), and the status of the last callout.
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/index";
import { clearOut, outPtr, outSize, outValue, takeOutBuffer } from "./internal";

// ABI enums proxy-runtime defines but does not export from its index.
export {
  BufferTypeValues, HeaderMapTypeValues, MetricTypeValues, StreamTypeValues, PeerTypeValues, BufferFlagsValues,
} from "@solo-io/proxy-runtime/assembly/runtime";

/** An optional primitive: `getIntProperty(...)` returns `Box<i64> | null`. */
export class Box<T> {
  constructor(public value: T) {}
}

/** "Ok", "NotFound", "CasMismatch", ... for a `proxy_status_t`; "Unknown(<n>)" otherwise. */
export function wasmResultName(code: u32): string {
  switch (code) {
    case WasmResultValues.Ok: return "Ok";
    case WasmResultValues.NotFound: return "NotFound";
    case WasmResultValues.BadArgument: return "BadArgument";
    case WasmResultValues.SerializationFailure: return "SerializationFailure";
    case WasmResultValues.ParseFailure: return "ParseFailure";
    case WasmResultValues.BadExpression: return "BadExpression";
    case WasmResultValues.InvalidMemoryAccess: return "InvalidMemoryAccess";
    case WasmResultValues.Empty: return "Empty";
    case WasmResultValues.CasMismatch: return "CasMismatch";
    case WasmResultValues.ResultMismatch: return "ResultMismatch";
    case WasmResultValues.InternalFailure: return "InternalFailure";
    case WasmResultValues.BrokenConnection: return "BrokenConnection";
    case WasmResultValues.Unimplemented: return "Unimplemented";
    default: return "Unknown(" + code.toString() + ")";
  }
}

/** What `proxy_get_status` reports: the gRPC status and message of the last callout event. */
export class CalloutStatus {
  constructor(public code: u32, public message: string, public result: WasmResultValues) {}
}

/** `proxy_get_status`, without trapping (proxy-runtime's `get_status` aborts on a non-Ok result). */
export function getStatus(): CalloutStatus {
  clearOut();
  const r = imports.proxy_get_status(outValue, outPtr, outSize);
  if (r != WasmResultValues.Ok) return new CalloutStatus(0, "", r);
  const code = load<u32>(outValue);
  const message = String.UTF8.decode(takeOutBuffer());
  return new CalloutStatus(code, message, WasmResultValues.Ok);
}
