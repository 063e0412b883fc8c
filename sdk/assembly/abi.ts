// The proxy-wasm ABI exports (proxy_on_*, malloc, the ABI version marker). A filter's entry file
// re-exports this module so the host can call in.
export * from "@solo-io/proxy-runtime/assembly/proxy";

// proxy-runtime 0.1.8 exports the gRPC trailing-metadata callback as `proxy_on_grpc_trailing_metadata`;
// the ABI 0.2.x name (spec, Envoy) is `proxy_on_grpc_receive_trailing_metadata(context_id,
// call_id, num_elements)`. Forward it to the same root-context handler.
import { getRootContext } from "@solo-io/proxy-runtime/assembly/runtime";

export function proxy_on_grpc_receive_trailing_metadata(context_id: u32, token: u32, trailers: u32): void {
  getRootContext(context_id).on_grpc_trailing_metadata(token, trailers);
}
