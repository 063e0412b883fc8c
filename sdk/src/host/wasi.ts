/**
 * The WASI preview1 functions Envoy provides to Proxy-Wasm modules, with Envoy's behaviour:
 * stdout/stderr writes become log messages (info / error), clocks and randomness work,
 * environment variables come from the VM configuration, and everything touching files, sockets
 * or processes returns the errno Envoy returns (or does nothing, for `proc_exit`).
 */
import { randomFillSync } from 'node:crypto';
import { WasiErrno, type LogLevelName } from './abi.js';
import type { WasmMemory } from './memory.js';

export interface WasiHost {
  memory(): WasmMemory;
  /** Log a message from the module (`stdout` -> info, `stderr` -> error). */
  log(level: LogLevelName, message: string, source: 'stdout' | 'stderr' | 'host'): void;
  nowNs(): bigint;
  monotonicNs(): bigint;
  env(): ReadonlyArray<readonly [string, string]>;
}

/** Envoy's cap for `random_get`. */
export const RANDOM_GET_MAX_BYTES = 64 * 1024;

type Fn = (...args: never[]) => number | void;
const isStdio = (fd: number): boolean => fd === 1 || fd === 2;

export function createWasiFunctions(h: WasiHost): Record<string, Fn> {
  const { SUCCESS, BADF, FAULT, INVAL, NOENT, NOSYS, NOTDIR, NOTSUP } = WasiErrno;

  /** writev to stdout/stderr: returns errno, and the byte count through `out`. */
  const writev = (fd: number, iovs: number, iovsLen: number, out: { n: number }): number => {
    if (!isStdio(fd)) return BADF;
    const mem = h.memory();
    const parts: Buffer[] = [];
    try {
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const base = (iovs >>> 0) + i * 8;
        const buf = mem.u32(base);
        const len = mem.u32(base + 4);
        if (len !== 0) parts.push(Buffer.from(mem.view(buf, len)));
      }
    } catch {
      return FAULT;
    }
    let s = Buffer.concat(parts).toString('utf8');
    const written = parts.reduce((n, p) => n + p.length, 0);
    if (written !== 0) {
      if (s.endsWith('\n')) s = s.slice(0, -1);
      h.log(fd === 1 ? 'info' : 'error', s, fd === 1 ? 'stdout' : 'stderr');
    }
    out.n = written;
    return SUCCESS;
  };

  const guard = (f: () => void): number => {
    try {
      f();
      return SUCCESS;
    } catch {
      return FAULT;
    }
  };

  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number => {
      const out = { n: 0 };
      const r = writev(fd, iovs, iovsLen, out);
      if (r !== SUCCESS) return r;
      return guard(() => h.memory().setU32(nwrittenPtr, out.n));
    },
    fd_read: (): number => NOSYS,
    fd_seek: (): number => {
      h.log('trace', 'wasi_unstable fd_seek', 'host');
      return SUCCESS;
    },
    fd_close: (): number => {
      h.log('trace', 'wasi_unstable fd_close', 'host');
      return SUCCESS;
    },
    fd_fdstat_get: (fd: number, statOut: number): number => {
      if (!isStdio(fd)) return BADF;
      try {
        const mem = h.memory();
        mem.setU64(statOut, 0n);
        mem.setU64(statOut + 8, 64n);
        mem.setU64(statOut + 16, 0n);
      } catch {
        // Envoy ignores a failed write here.
      }
      return SUCCESS;
    },
    fd_fdstat_set_flags: (): number => NOSYS,
    fd_fdstat_set_rights: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    environ_get: (environPtr: number, environBuf: number): number => {
      const mem = h.memory();
      let arrayPtr = environPtr >>> 0;
      let bufPtr = environBuf >>> 0;
      for (const [k, v] of h.env()) {
        try {
          mem.setU32(arrayPtr, bufPtr);
          const data = Buffer.from(`${k}=${v}\u0000`, 'utf8');
          mem.write(bufPtr, data);
          bufPtr += data.length;
          arrayPtr += 4;
        } catch {
          return FAULT;
        }
      }
      return SUCCESS;
    },
    environ_sizes_get: (countPtr: number, bufSizePtr: number): number => {
      const envs = h.env();
      let size = 0;
      for (const [k, v] of envs) size += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
      return guard(() => {
        h.memory().setU32(countPtr, envs.length);
        h.memory().setU32(bufSizePtr, size);
      });
    },
    args_get: (): number => SUCCESS,
    args_sizes_get: (argcPtr: number, argvBufSizePtr: number): number =>
      guard(() => {
        h.memory().setU32(argcPtr, 0);
        h.memory().setU32(argvBufSizePtr, 0);
      }),
    clock_time_get: (clockId: number, _precision: bigint, resultPtr: number): number => {
      let t: bigint;
      if (clockId === 0) t = h.nowNs();
      else if (clockId === 1) t = h.monotonicNs();
      else return NOTSUP;
      return guard(() => h.memory().setU64(resultPtr, t));
    },
    clock_res_get: (clockId: number, resultPtr: number): number => {
      if (clockId !== 0 && clockId !== 1) return NOTSUP;
      return guard(() => h.memory().setU64(resultPtr, 1n));
    },
    fd_advise: (): number => SUCCESS,
    fd_allocate: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    fd_datasync: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    fd_filestat_set_size: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    fd_filestat_set_times: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    fd_pread: (): number => NOSYS,
    fd_pwrite: (fd: number, iovs: number, iovsLen: number, _offset: bigint, nwrittenPtr: number): number => {
      if (!isStdio(fd)) return BADF;
      const out = { n: 0 };
      const r = writev(fd, iovs, iovsLen, out);
      if (r !== SUCCESS) return r;
      return guard(() => h.memory().setU32(nwrittenPtr, out.n));
    },
    fd_readdir: (_fd: number, _buf: number, _len: number, _cookie: bigint, nreadPtr: number): number => {
      const r = guard(() => h.memory().setU32(nreadPtr, 0));
      return r === SUCCESS ? NOTDIR : r;
    },
    fd_renumber: (fd: number, to: number): number => (isStdio(fd) && isStdio(to) ? NOTSUP : BADF),
    fd_sync: (fd: number): number => (isStdio(fd) ? SUCCESS : BADF),
    fd_tell: (fd: number, resultPtr: number): number => {
      if (!isStdio(fd)) return BADF;
      return guard(() => h.memory().setU64(resultPtr, 0n));
    },
    path_create_directory: (): number => NOTSUP,
    path_filestat_set_times: (): number => NOTSUP,
    path_link: (): number => NOTSUP,
    path_readlink: (_fd: number, _p: number, _pl: number, _b: number, _bl: number, retPtr: number): number => {
      const r = guard(() => h.memory().setU32(retPtr, 0));
      return r === SUCCESS ? NOTSUP : r;
    },
    path_remove_directory: (): number => NOTSUP,
    path_rename: (): number => NOTSUP,
    path_symlink: (): number => NOTSUP,
    path_unlink_file: (): number => NOTSUP,
    sock_accept: (_fd: number, _flags: number, retPtr: number): number => {
      const r = guard(() => h.memory().setU64(retPtr, 0n));
      return r === SUCCESS ? NOTSUP : r;
    },
    sock_recv: (_fd: number, _d: number, _dl: number, _f: number, ret0: number, ret1: number): number => {
      const r = guard(() => {
        h.memory().setU32(ret0, 0);
        h.memory().setU16(ret1, 0);
      });
      return r === SUCCESS ? NOTSUP : r;
    },
    sock_send: (_fd: number, _d: number, _dl: number, _f: number, ret0: number): number => {
      const r = guard(() => h.memory().setU32(ret0, 0));
      return r === SUCCESS ? NOTSUP : r;
    },
    sock_shutdown: (): number => NOTSUP,
    random_get: (bufPtr: number, bufLen: number): number => {
      const len = bufLen >>> 0;
      if (len > RANDOM_GET_MAX_BYTES) return INVAL;
      if (len === 0) return SUCCESS;
      const data = new Uint8Array(len);
      randomFillSync(data);
      return guard(() => h.memory().write(bufPtr, data));
    },
    sched_yield: (): number => SUCCESS,
    poll_oneoff: (_in: number, _out: number, _n: number, neventsPtr: number): number =>
      guard(() => h.memory().setU32(neventsPtr, 0)),
    proc_exit: (): void => {
      // Envoy only logs this (at trace level) and returns to the module.
      h.log('trace', 'wasi_unstable proc_exit', 'host');
    },
    path_open: (): number => NOENT,
    fd_prestat_get: (): number => BADF,
    fd_prestat_dir_name: (): number => NOSYS,
    path_filestat_get: (): number => NOTSUP,
    fd_filestat_get: (): number => BADF,
  };
}
