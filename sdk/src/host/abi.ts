/**
 * Proxy-Wasm ABI constants (0.1.0 / 0.2.0 / 0.2.1) and the table of host functions Envoy
 * registers, with their WebAssembly signatures. The table follows Envoy's embedded
 * proxy-wasm-cpp-host: the `env.proxy_*` calls, the WASI preview1 calls (registered under both
 * `wasi_snapshot_preview1` and `wasi_unstable`), two Emscripten helpers and Envoy's own
 * `env.envoy_resolve_dns`. A module importing anything else fails to load, as in Envoy.
 */

export type AbiVersion = '0.1.0' | '0.2.0' | '0.2.1';

/** Export names that mark the ABI version (checked in this order, first match wins). */
export const ABI_VERSION_EXPORTS: ReadonlyArray<readonly [string, AbiVersion]> = [
  ['proxy_abi_version_0_1_0', '0.1.0'],
  ['proxy_abi_version_0_2_0', '0.2.0'],
  ['proxy_abi_version_0_2_1', '0.2.1'],
];

/** `proxy_status_t` / WasmResult. */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResultCode = (typeof WasmResult)[keyof typeof WasmResult];

export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export type LogLevelName = keyof typeof LogLevel;
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const BUFFER_TYPE_MAX = 8;

export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const MAP_TYPE_MAX = 7;

export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;
export const STREAM_TYPE_MAX = 3;

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
export const METRIC_TYPE_MAX = 2;

/** Envoy's Http::FilterHeadersStatus values as seen through the ABI. */
export const FilterHeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;

export const FilterDataStatus = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;

export const FilterTrailersStatus = { Continue: 0, StopIteration: 1 } as const;

/** WASI errno values used by Envoy's WASI shims. */
export const WasiErrno = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  NOENT: 44,
  NOSYS: 52,
  NOTDIR: 20,
  NOTSUP: 58,
} as const;

/** Callout id spaces (Envoy keeps http/grpc-call/grpc-stream ids in the low 2 bits). */
export const CalloutType = { HttpCall: 0, GrpcCall: 1, GrpcStream: 2 } as const;
export const CALLOUT_TYPE_MASK = 0x3;
export const CALLOUT_INCREMENT = 0x4;

/** Envoy's metric id encoding: the metric type lives in the low 2 bits. */
export const METRIC_TYPE_MASK = 0x3;
export const METRIC_ID_INCREMENT = 0x4;

export type ValType = 'i32' | 'i64' | 'f32' | 'f64';
export interface Signature {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

function sig(params: string, results = 'i32'): Signature {
  const p = params.length === 0 ? [] : (params.split(' ') as ValType[]);
  const r = results.length === 0 ? [] : (results.split(' ') as ValType[]);
  return { params: p, results: r };
}
const i32x = (n: number): string => Array.from({ length: n }, () => 'i32').join(' ');

/** `env.proxy_*` functions registered for every ABI version. */
export const PROXY_FUNCTIONS: Readonly<Record<string, Signature>> = {
  proxy_log: sig(i32x(3)),
  proxy_get_status: sig(i32x(3)),
  proxy_set_property: sig(i32x(4)),
  proxy_get_property: sig(i32x(4)),
  proxy_send_local_response: sig(i32x(8)),
  proxy_get_shared_data: sig(i32x(5)),
  proxy_set_shared_data: sig(i32x(5)),
  proxy_register_shared_queue: sig(i32x(3)),
  proxy_resolve_shared_queue: sig(i32x(5)),
  proxy_dequeue_shared_queue: sig(i32x(3)),
  proxy_enqueue_shared_queue: sig(i32x(3)),
  proxy_get_header_map_value: sig(i32x(5)),
  proxy_add_header_map_value: sig(i32x(5)),
  proxy_replace_header_map_value: sig(i32x(5)),
  proxy_remove_header_map_value: sig(i32x(3)),
  proxy_get_header_map_pairs: sig(i32x(3)),
  proxy_set_header_map_pairs: sig(i32x(3)),
  proxy_get_header_map_size: sig(i32x(2)),
  proxy_get_buffer_status: sig(i32x(3)),
  proxy_get_buffer_bytes: sig(i32x(5)),
  proxy_set_buffer_bytes: sig(i32x(5)),
  proxy_http_call: sig(i32x(10)),
  proxy_grpc_call: sig(i32x(12)),
  proxy_grpc_stream: sig(i32x(9)),
  proxy_grpc_close: sig(i32x(1)),
  proxy_grpc_cancel: sig(i32x(1)),
  proxy_grpc_send: sig(i32x(4)),
  proxy_set_tick_period_milliseconds: sig(i32x(1)),
  proxy_get_current_time_nanoseconds: sig(i32x(1)),
  proxy_define_metric: sig(i32x(4)),
  proxy_increment_metric: sig('i32 i64'),
  proxy_record_metric: sig('i32 i64'),
  proxy_get_metric: sig(i32x(2)),
  proxy_set_effective_context: sig(i32x(1)),
  proxy_done: sig(''),
  proxy_call_foreign_function: sig(i32x(6)),
};

/** ABI-specific `env.proxy_*` functions: only registered for the listed versions. */
export const PROXY_ABI_SPECIFIC_FUNCTIONS: Readonly<Record<string, { sig: Signature; abis: readonly AbiVersion[] }>> = {
  proxy_get_configuration: { sig: sig(i32x(2)), abis: ['0.1.0'] },
  proxy_continue_request: { sig: sig(''), abis: ['0.1.0'] },
  proxy_continue_response: { sig: sig(''), abis: ['0.1.0'] },
  proxy_clear_route_cache: { sig: sig(''), abis: ['0.1.0'] },
  proxy_continue_stream: { sig: sig(i32x(1)), abis: ['0.2.0', '0.2.1'] },
  proxy_close_stream: { sig: sig(i32x(1)), abis: ['0.2.0', '0.2.1'] },
  proxy_get_log_level: { sig: sig(i32x(1)), abis: ['0.2.1'] },
};

/** Other `env` functions Envoy registers. */
export const ENV_EXTRA_FUNCTIONS: Readonly<Record<string, Signature>> = {
  pthread_equal: sig(i32x(2)),
  emscripten_notify_memory_growth: sig('i32', ''),
  envoy_resolve_dns: sig(i32x(3)),
};

/**
 * WASI preview1 functions registered by proxy-wasm-cpp-host (Envoy 1.39+ embeds a host with the
 * full list; Envoy 1.36-1.38 only the `LEGACY_WASI_FUNCTIONS` subset). Signatures are the host's,
 * including its quirks (e.g. `path_link` with 6 parameters).
 */
export const WASI_FUNCTIONS: Readonly<Record<string, Signature>> = {
  fd_write: sig(i32x(4)),
  fd_read: sig(i32x(4)),
  fd_seek: sig('i32 i64 i32 i32'),
  fd_close: sig(i32x(1)),
  fd_fdstat_get: sig(i32x(2)),
  fd_fdstat_set_flags: sig(i32x(2)),
  fd_fdstat_set_rights: sig('i32 i64 i64'),
  environ_get: sig(i32x(2)),
  environ_sizes_get: sig(i32x(2)),
  args_get: sig(i32x(2)),
  args_sizes_get: sig(i32x(2)),
  clock_time_get: sig('i32 i64 i32'),
  clock_res_get: sig(i32x(2)),
  fd_advise: sig('i32 i64 i64 i32'),
  fd_allocate: sig('i32 i64 i64'),
  fd_datasync: sig(i32x(1)),
  fd_filestat_set_size: sig('i32 i64'),
  fd_filestat_set_times: sig('i32 i64 i64 i32'),
  fd_pread: sig('i32 i32 i32 i64 i32'),
  fd_pwrite: sig('i32 i32 i32 i64 i32'),
  fd_readdir: sig('i32 i32 i32 i64 i32'),
  fd_renumber: sig(i32x(2)),
  fd_sync: sig(i32x(1)),
  fd_tell: sig(i32x(2)),
  path_create_directory: sig(i32x(3)),
  path_filestat_set_times: sig('i32 i32 i32 i32 i64 i64 i32'),
  path_link: sig(i32x(6)),
  path_readlink: sig(i32x(6)),
  path_remove_directory: sig(i32x(3)),
  path_rename: sig(i32x(6)),
  path_symlink: sig(i32x(4)),
  path_unlink_file: sig(i32x(3)),
  sock_accept: sig(i32x(3)),
  sock_recv: sig(i32x(6)),
  sock_send: sig(i32x(5)),
  sock_shutdown: sig(i32x(2)),
  random_get: sig(i32x(2)),
  sched_yield: sig(''),
  poll_oneoff: sig(i32x(4)),
  proc_exit: sig('i32', ''),
  path_open: sig('i32 i32 i32 i32 i32 i64 i64 i32 i32'),
  fd_prestat_get: sig(i32x(2)),
  fd_prestat_dir_name: sig(i32x(3)),
  path_filestat_get: sig(i32x(5)),
  fd_filestat_get: sig(i32x(2)),
};

/** The WASI subset provided by the proxy-wasm-cpp-host embedded in Envoy 1.36-1.38. */
export const LEGACY_WASI_FUNCTIONS: ReadonlySet<string> = new Set([
  'fd_write',
  'fd_read',
  'fd_seek',
  'fd_close',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'environ_get',
  'environ_sizes_get',
  'args_get',
  'args_sizes_get',
  'clock_time_get',
  'random_get',
  'sched_yield',
  'poll_oneoff',
  'proc_exit',
  'path_open',
  'fd_prestat_get',
  'fd_prestat_dir_name',
]);

export const WASI_MODULES = ['wasi_snapshot_preview1', 'wasi_unstable'] as const;

/**
 * Which host functions may be called while `_initialize` / `_start` / `main` run (Envoy restricts
 * the VM to these during start-up; anything else traps with `restricted_callback`).
 */
export const START_ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  'env.emscripten_notify_memory_growth',
  'env.proxy_log',
  'fd_write',
  'args_sizes_get',
  'args_get',
  'environ_sizes_get',
  'environ_get',
  'clock_time_get',
  'clock_res_get',
  'random_get',
  'poll_oneoff',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_advise',
  'fd_allocate',
  'fd_datasync',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_dir_name',
  'fd_prestat_get',
  'fd_pwrite',
  'fd_readdir',
  'fd_renumber',
  'fd_sync',
  'fd_tell',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
]);

/** Host functions that stay callable while the host is inside the module's allocator. */
export const MALLOC_ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  'env.proxy_log',
  'fd_write',
  'clock_time_get',
  'poll_oneoff',
]);

/** Which set of imports a host offers: what current Envoy offers, or Envoy 1.36-1.38. */
export type ImportProfile = 'current' | 'envoy-1.36';

export function describeSignature(s: Signature): string {
  const p = s.params.length === 0 ? 'void' : s.params.join(' ');
  const r = s.results.length === 0 ? 'void' : s.results.join(' ');
  return `${p} -> ${r}`;
}

/** Look up the signature of an import Envoy provides, or undefined when it does not. */
export function hostImportSignature(
  module: string,
  name: string,
  abi: AbiVersion,
  profile: ImportProfile = 'current',
): Signature | undefined {
  if (module === 'env') {
    const base = PROXY_FUNCTIONS[name];
    if (base) return base;
    const specific = PROXY_ABI_SPECIFIC_FUNCTIONS[name];
    if (specific) return specific.abis.includes(abi) ? specific.sig : undefined;
    return ENV_EXTRA_FUNCTIONS[name];
  }
  if (module === 'wasi_snapshot_preview1' || module === 'wasi_unstable') {
    if (profile === 'envoy-1.36' && !LEGACY_WASI_FUNCTIONS.has(name)) return undefined;
    return WASI_FUNCTIONS[name];
  }
  return undefined;
}
