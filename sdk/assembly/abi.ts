// The proxy-wasm ABI exports (proxy_on_*, malloc, the ABI version marker). A filter's entry file
// re-exports this module so the host can call in.
export * from "@solo-io/proxy-runtime/assembly/proxy";
