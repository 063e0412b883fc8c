// Local responses: answer the client from the filter instead of the upstream.
//
// `sendLocalResponse(403, "denied", [["x-reason", "policy"]], "meshward_denied")` sends status,
// body and extra headers; `details` becomes Envoy's response code details
// (`%RESPONSE_CODE_DETAILS%` in access logs; keep it a token without spaces). After calling it
// from a request callback, return StopIteration (the reply is sent when the callback returns).
// For a gRPC request pass `grpcStatus` (0..16); Envoy then answers with a trailers-only response.
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/index";
import { serializePairs } from "./headers";
import { utf8 } from "./internal";

/** No gRPC status (an ordinary HTTP reply): any value outside 0..16 means none to Envoy. */
export const NO_GRPC_STATUS: i32 = -1;

export function sendLocalResponseBytes(
  status: u32,
  body: ArrayBuffer,
  headers: Array<string[]> = [],
  details: string = "",
  grpcStatus: i32 = NO_GRPC_STATUS,
): WasmResultValues {
  const d = utf8(details);
  const h = serializePairs(headers);
  return imports.proxy_send_local_response(
    status,
    changetype<usize>(d), d.byteLength,
    changetype<usize>(body), body.byteLength,
    changetype<usize>(h), h.byteLength,
    <u32>grpcStatus,
  );
}

/** Sends a local reply with a UTF-8 body; returns the host's status. */
export function sendLocalResponse(
  status: u32,
  body: string,
  headers: Array<string[]> = [],
  details: string = "",
  grpcStatus: i32 = NO_GRPC_STATUS,
): WasmResultValues {
  return sendLocalResponseBytes(status, utf8(body), headers, details, grpcStatus);
}
