// proxy-runtime 0.1.8 imports proc_exit from the old "wasi_unstable" bindings; Envoy provides
// it under wasi_snapshot_preview1.
@external("wasi_snapshot_preview1", "proc_exit")
export declare function proc_exit(rval: u32): void;
