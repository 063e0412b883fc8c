/**
 * The `env.*` host functions (the Proxy-Wasm ABI plus Envoy's extras) and the import object.
 * Each function reads its arguments from module memory, acts on the current (or effective)
 * context and writes results back, returning Envoy's status codes.
 */
import {
  BUFFER_TYPE_MAX,
  ENV_EXTRA_FUNCTIONS,
  LogLevel,
  MAP_TYPE_MAX,
  PROXY_ABI_SPECIFIC_FUNCTIONS,
  PROXY_FUNCTIONS,
  STREAM_TYPE_MAX,
  WASI_FUNCTIONS,
  WASI_MODULES,
  WasmResult,
  hostImportSignature,
  type WasmResultCode,
} from './abi.js';
import { deserializePairs, serializePairs } from './headers.js';
import { InvalidMemoryAccess, type WasmMemory } from './memory.js';
import { lookupProperty, splitPropertyPath } from './properties.js';
import { createWasiFunctions } from './wasi.js';
import type { WasmVm } from './vm.js';

type HostFn = (...args: never[]) => number | void;

const { Ok, NotFound, BadArgument, SerializationFailure, InvalidMemoryAccess: BadMemory } = WasmResult;

function mem(vm: WasmVm): WasmMemory {
  // During instantiation (a module `start` section) the memory is not known yet.
  const m = (vm as { mem?: WasmMemory }).mem;
  if (!m) throw new InvalidMemoryAccess(0, 0);
  return m;
}

/** Run a hostcall body; memory faults become INVALID_MEMORY_ACCESS. */
function safe(body: () => WasmResultCode): number {
  try {
    return body();
  } catch (e) {
    if (e instanceof InvalidMemoryAccess) return BadMemory;
    throw e;
  }
}

function proxyFunctions(vm: WasmVm): Record<string, HostFn> {
  const m = (): WasmMemory => mem(vm);
  const copyOut = (data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResultCode =>
    m().copyOut(data, ptrPtr, sizePtr) ? Ok : BadMemory;
  // proxy_add_header_map_value and proxy_replace_header_map_value differ only in add vs set.
  const writeHeader = (op: 'add' | 'set', type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) =>
    safe(() => {
      if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
      const key = m().string(keyPtr, keySize);
      const value = m().string(valuePtr, valueSize);
      const map = vm.ctx().getMap(type);
      if (!map) return BadArgument;
      if (op === 'add') map.add(key, value);
      else map.set(key, value);
      return Ok;
    });

  return {
    proxy_log: (level: number, ptr: number, size: number) =>
      safe(() => {
        if (level >>> 0 > LogLevel.critical) return BadArgument;
        vm.log(level, m().string(ptr, size), 'proxy_log');
        return Ok;
      }),

    proxy_get_log_level: (ptr: number) =>
      safe(() => {
        m().setU32(ptr, LogLevel[vm.services.logLevel]);
        return Ok;
      }),

    proxy_get_status: (codePtr: number, msgPtrPtr: number, msgSizePtr: number) =>
      safe(() => {
        const root = vm.ctx().rootContext ?? vm.root;
        m().setU32(codePtr, root?.statusCode ?? 0);
        return copyOut(Buffer.from(root?.statusMessage ?? '', 'utf8'), msgPtrPtr, msgSizePtr);
      }),

    proxy_set_tick_period_milliseconds: (period: number) => {
      vm.setTickPeriod(period >>> 0);
      return Ok;
    },

    proxy_get_current_time_nanoseconds: (ptr: number) =>
      safe(() => {
        m().setU64(ptr, vm.services.clock.now());
        return Ok;
      }),

    proxy_get_property: (pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) =>
      safe(() => {
        const ctx = vm.ctx();
        const parts = splitPropertyPath(m().view(pathPtr, pathSize));
        const r = lookupProperty(ctx.properties(), parts, (name) => ctx.filterStateValue(name));
        if (r.status === 'not_found') return NotFound;
        if (r.status === 'serialization_failure') return SerializationFailure;
        return copyOut(r.value, valuePtrPtr, valueSizePtr);
      }),

    proxy_set_property: (pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) =>
      safe(() => {
        const path = m().string(pathPtr, pathSize);
        const value = m().bytes(valuePtr, valueSize);
        return vm.ctx().setProperty(path, value);
      }),

    proxy_continue_stream: (type: number) =>
      type >>> 0 > STREAM_TYPE_MAX ? BadArgument : vm.ctx().continueStream(type >>> 0),
    proxy_close_stream: (type: number) => (type >>> 0 > STREAM_TYPE_MAX ? BadArgument : vm.ctx().closeStream(type >>> 0)),
    proxy_continue_request: () => vm.ctx().continueStream(0),
    proxy_continue_response: () => vm.ctx().continueStream(1),
    proxy_clear_route_cache: () => Ok,
    proxy_get_configuration: (ptrPtr: number, sizePtr: number) =>
      safe(() => {
        const root = vm.ctx().rootContext;
        return copyOut(root?.tempPluginConfig ? vm.pluginConfig : vm.vmConfig, ptrPtr, sizePtr);
      }),

    proxy_send_local_response: (
      status: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      headersPtr: number,
      headersSize: number,
      grpcStatus: number,
    ) =>
      safe(() => {
        const details = m().string(detailsPtr, detailsSize);
        const body = m().bytes(bodyPtr, bodySize);
        const headers = deserializePairs(m().view(headersPtr, headersSize));
        vm.ctx().sendLocalResponse({ status: status >>> 0, body, headers, grpcStatus: grpcStatus | 0, details });
        vm.stopNextIteration = true;
        return Ok;
      }),

    proxy_get_shared_data: (keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) =>
      safe(() => {
        const key = m().string(keyPtr, keySize);
        const e = vm.services.sharedData.get(key, vm.services.vmId);
        if (!e) return NotFound;
        const r = copyOut(e.value, valuePtrPtr, valueSizePtr);
        if (r !== Ok) return r;
        m().setU32(casPtr, e.cas);
        return Ok;
      }),

    proxy_set_shared_data: (keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) =>
      safe(() => {
        const key = m().string(keyPtr, keySize);
        const value = m().bytes(valuePtr, valueSize);
        return vm.services.sharedData.set(key, value, cas >>> 0, vm.services.vmId);
      }),

    proxy_register_shared_queue: (namePtr: number, nameSize: number, tokenPtr: number) =>
      safe(() => {
        const name = m().string(namePtr, nameSize);
        const token = vm.services.queues.register(vm.services.vmId, name, vm.queueNotify);
        m().setU32(tokenPtr, token);
        return Ok;
      }),

    proxy_resolve_shared_queue: (vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) =>
      safe(() => {
        const vmId = m().string(vmIdPtr, vmIdSize);
        const name = m().string(namePtr, nameSize);
        const token = vm.services.queues.resolve(vmId === '' ? vm.services.vmId : vmId, name);
        if (token === 0 || vm.isFailed) return NotFound;
        m().setU32(tokenPtr, token);
        return Ok;
      }),

    proxy_dequeue_shared_queue: (token: number, ptrPtr: number, sizePtr: number) =>
      safe(() => {
        const r = vm.services.queues.dequeue(token >>> 0);
        if (r.result !== Ok || !r.value) return r.result;
        return copyOut(r.value, ptrPtr, sizePtr);
      }),

    proxy_enqueue_shared_queue: (token: number, ptr: number, size: number) =>
      safe(() => vm.services.queues.enqueue(token >>> 0, m().bytes(ptr, size))),

    proxy_add_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) =>
      writeHeader('add', type, keyPtr, keySize, valuePtr, valueSize),

    proxy_get_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) =>
      safe(() => {
        if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
        const key = m().string(keyPtr, keySize);
        const ctx = vm.ctx();
        const map = ctx.getConstMap(type);
        const abi01 = vm.abi === '0.1.0';
        if (!map) {
          if (ctx.accessLogPhase) return abi01 ? copyOut(new Uint8Array(0), valuePtrPtr, valueSizePtr) : NotFound;
          return BadArgument;
        }
        const value = map.get(key);
        if (value === undefined) return abi01 ? copyOut(new Uint8Array(0), valuePtrPtr, valueSizePtr) : NotFound;
        return copyOut(Buffer.from(value, 'utf8'), valuePtrPtr, valueSizePtr);
      }),

    proxy_replace_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) =>
      writeHeader('set', type, keyPtr, keySize, valuePtr, valueSize),

    proxy_remove_header_map_value: (type: number, keyPtr: number, keySize: number) =>
      safe(() => {
        if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
        const key = m().string(keyPtr, keySize);
        const map = vm.ctx().getMap(type);
        if (!map) return BadArgument;
        map.remove(key);
        return Ok;
      }),

    proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number) =>
      safe(() => {
        if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
        const map = vm.ctx().getConstMap(type);
        if (!map || map.size === 0) return copyOut(new Uint8Array(0), ptrPtr, sizePtr);
        return copyOut(serializePairs(map.pairs()), ptrPtr, sizePtr);
      }),

    proxy_set_header_map_pairs: (type: number, ptr: number, size: number) =>
      safe(() => {
        if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
        const data = m().view(ptr, size);
        const map = vm.ctx().getMap(type);
        if (!map) return BadArgument;
        map.replaceAll(deserializePairs(data));
        return Ok;
      }),

    proxy_get_header_map_size: (type: number, sizePtr: number) =>
      safe(() => {
        if (type >>> 0 > MAP_TYPE_MAX) return BadArgument;
        const map = vm.ctx().getMap(type);
        if (!map) return BadArgument;
        m().setU32(sizePtr, map.byteSize);
        return Ok;
      }),

    proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrPtr: number, sizePtr: number) =>
      safe(() => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return BadArgument;
        const buffer = vm.ctx().getBuffer(type >>> 0);
        if (!buffer) return NotFound;
        const s = start >>> 0;
        let len = length >>> 0;
        const size = buffer.size();
        if (s > size) len = 0;
        else if (s + len > size) len = size - s;
        if (len === 0) {
          m().setU32(ptrPtr, 0);
          m().setU32(sizePtr, 0);
          return Ok;
        }
        return copyOut(buffer.read(s, len), ptrPtr, sizePtr);
      }),

    proxy_get_buffer_status: (type: number, lengthPtr: number, flagsPtr: number) =>
      safe(() => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return BadArgument;
        const buffer = vm.ctx().getBuffer(type >>> 0);
        if (!buffer) return NotFound;
        m().setU32(lengthPtr, buffer.size());
        m().setU32(flagsPtr, 0);
        return Ok;
      }),

    proxy_set_buffer_bytes: (type: number, start: number, length: number, dataPtr: number, dataSize: number) =>
      safe(() => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return BadArgument;
        const buffer = vm.ctx().getBuffer(type >>> 0);
        if (!buffer) return NotFound;
        const data = m().bytes(dataPtr, dataSize);
        return buffer.write(start >>> 0, length >>> 0, data);
      }),

    proxy_http_call: (
      uriPtr: number,
      uriSize: number,
      headersPtr: number,
      headersSize: number,
      bodyPtr: number,
      bodySize: number,
      trailersPtr: number,
      trailersSize: number,
      timeout: number,
      tokenPtr: number,
    ) =>
      safe(() => {
        const cluster = m().string(uriPtr, uriSize);
        const headers = deserializePairs(m().view(headersPtr, headersSize));
        const body = m().bytes(bodyPtr, bodySize);
        const trailers = deserializePairs(m().view(trailersPtr, trailersSize));
        m().setU32(tokenPtr, 0);
        const r = vm.httpCall(cluster, headers, body, trailers, timeout >>> 0);
        m().setU32(tokenPtr, r.token ?? 0);
        return r.result;
      }),

    proxy_grpc_call: (
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodPtr: number,
      methodSize: number,
      metadataPtr: number,
      metadataSize: number,
      requestPtr: number,
      requestSize: number,
      timeout: number,
      tokenPtr: number,
    ) =>
      safe(() => {
        const service = m().string(servicePtr, serviceSize);
        const serviceName = m().string(serviceNamePtr, serviceNameSize);
        const method = m().string(methodPtr, methodSize);
        const metadata = deserializePairs(m().view(metadataPtr, metadataSize));
        const request = m().bytes(requestPtr, requestSize);
        const r = vm.grpcCall(service, serviceName, method, metadata, request, timeout >>> 0);
        if (r.result !== Ok) return r.result;
        m().setU32(tokenPtr, r.token ?? 0);
        return Ok;
      }),

    proxy_grpc_stream: (
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodPtr: number,
      methodSize: number,
      metadataPtr: number,
      metadataSize: number,
      tokenPtr: number,
    ) =>
      safe(() => {
        const service = m().string(servicePtr, serviceSize);
        const serviceName = m().string(serviceNamePtr, serviceNameSize);
        const method = m().string(methodPtr, methodSize);
        const metadata = deserializePairs(m().view(metadataPtr, metadataSize));
        const r = vm.grpcStream(service, serviceName, method, metadata);
        if (r.result !== Ok) return r.result;
        m().setU32(tokenPtr, r.token ?? 0);
        return Ok;
      }),

    proxy_grpc_send: (token: number, ptr: number, size: number, endStream: number) =>
      safe(() => vm.grpcSend(token >>> 0, m().bytes(ptr, size), endStream !== 0)),
    proxy_grpc_close: (token: number) => vm.grpcClose(token >>> 0),
    proxy_grpc_cancel: (token: number) => vm.grpcCancel(token >>> 0),

    proxy_define_metric: (type: number, namePtr: number, nameSize: number, idPtr: number) =>
      safe(() => {
        const name = m().string(namePtr, nameSize);
        const r = vm.defineMetric(type >>> 0, name);
        if (r.result !== Ok) return r.result;
        m().setU32(idPtr, r.id ?? 0);
        return Ok;
      }),
    proxy_increment_metric: (id: number, offset: bigint) => vm.incrementMetric(id >>> 0, BigInt.asIntN(64, offset)),
    proxy_record_metric: (id: number, value: bigint) => vm.recordMetric(id >>> 0, BigInt.asUintN(64, value)),
    proxy_get_metric: (id: number, ptr: number) =>
      safe(() => {
        const r = vm.getMetric(id >>> 0);
        if (r.result !== Ok) return r.result;
        m().setU64(ptr, r.value ?? 0n);
        return Ok;
      }),

    proxy_set_effective_context: (id: number) => vm.setEffectiveContext(id >>> 0),
    proxy_done: () => vm.done(vm.ctx()),

    proxy_call_foreign_function: (
      namePtr: number,
      nameSize: number,
      argsPtr: number,
      argsSize: number,
      resultsPtr: number,
      resultsSizePtr: number,
    ) =>
      safe(() => {
        const name = m().string(namePtr, nameSize);
        const args = m().bytes(argsPtr, argsSize);
        const r = vm.callForeign(name, args);
        if (r.result === NotFound) return NotFound;
        const data = r.data ?? new Uint8Array(0);
        let address = 0;
        if (resultsPtr !== 0 && data.length > 0) {
          address = m().alloc(data.length);
          if (address === 0) return BadMemory;
          m().write(address, data);
        }
        if (resultsPtr !== 0) m().setU32(resultsPtr, address);
        if (resultsSizePtr !== 0) m().setU32(resultsSizePtr, data.length);
        return r.result;
      }),
  };
}

function envExtras(vm: WasmVm): Record<string, HostFn> {
  return {
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
    emscripten_notify_memory_growth: () => undefined,
    envoy_resolve_dns: (addrPtr: number, addrSize: number, tokenPtr: number) =>
      safe(() => {
        const address = mem(vm).string(addrPtr, addrSize);
        mem(vm).setU32(tokenPtr, 0);
        const token = vm.resolveDns(address);
        mem(vm).setU32(tokenPtr, token);
        return Ok;
      }),
  };
}

/** Build the import object for `vm`'s module (only what the module imports, like Envoy's linker). */
export function buildImports(vm: WasmVm): {
  imports: WebAssembly.Imports;
  memoryRef: { memory?: WebAssembly.Memory };
} {
  const proxy = proxyFunctions(vm);
  const extras = envExtras(vm);
  const wasi = createWasiFunctions({
    memory: () => mem(vm),
    log: (level, message, source) => vm.log(LogLevel[level], message, source),
    nowNs: () => vm.services.clock.now(),
    monotonicNs: () => vm.services.clock.monotonic(),
    env: () => vm.services.env,
  });
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  const memoryRef: { memory?: WebAssembly.Memory } = {};
  const put = (module: string, name: string, value: WebAssembly.ImportValue): void => {
    (imports[module] ??= {})[name] = value;
  };
  for (const imp of vm.compiled.info.imports) {
    if (imp.kind === 'memory') {
      const limits = imp.limits ?? { initial: 0 };
      const memory = new WebAssembly.Memory({
        initial: limits.initial,
        ...(limits.maximum !== undefined ? { maximum: limits.maximum } : {}),
      });
      memoryRef.memory = memory;
      put(imp.module, imp.name, memory);
      continue;
    }
    if (imp.kind === 'table') {
      const limits = imp.limits ?? { initial: 0 };
      put(
        imp.module,
        imp.name,
        new WebAssembly.Table({
          element: 'anyfunc',
          initial: limits.initial,
          ...(limits.maximum !== undefined ? { maximum: limits.maximum } : {}),
        }),
      );
      continue;
    }
    if (imp.kind !== 'function') continue;
    if (!hostImportSignature(imp.module, imp.name, vm.abi, vm.services.importProfile)) continue;
    let fn: HostFn | undefined;
    let key: string;
    if (imp.module === 'env') {
      key = `env.${imp.name}`;
      fn =
        imp.name in PROXY_FUNCTIONS || imp.name in PROXY_ABI_SPECIFIC_FUNCTIONS
          ? proxy[imp.name]
          : imp.name in ENV_EXTRA_FUNCTIONS
            ? extras[imp.name]
            : undefined;
    } else if ((WASI_MODULES as readonly string[]).includes(imp.module) && imp.name in WASI_FUNCTIONS) {
      key = imp.name;
      fn = wasi[imp.name];
    } else {
      continue;
    }
    if (fn) put(imp.module, imp.name, vm.guard(key, fn) as WebAssembly.ImportValue);
  }
  return { imports, memoryRef };
}
