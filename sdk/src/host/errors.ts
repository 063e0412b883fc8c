/**
 * Errors and failure reports of the host. Messages follow Envoy's wording where Envoy has one
 * (e.g. `Failed to load Wasm module due to a missing import: env.foo`).
 */
import type { LogLevelName } from './abi.js';

/** One message logged by a filter (`proxy_log`, stdout/stderr via `fd_write`) or by the host. */
export interface LogEntry {
  level: LogLevelName;
  message: string;
  /** `proxy_log`, `stdout` / `stderr` (WASI fd_write) or `host` (messages from the host itself). */
  source: 'proxy_log' | 'stdout' | 'stderr' | 'host';
  /** Worker (VM) index. */
  worker: number;
  /** Context the message was logged from (0 = VM start-up). */
  contextId: number;
}

/** Envoy's VM failure states. */
export type FailState =
  | 'UnableToCreateVm'
  | 'MissingFunction'
  | 'UnableToInitializeCode'
  | 'StartFailed'
  | 'ConfigureFailed'
  | 'RuntimeError';

/** A trap (or other runtime failure) inside the module. */
export interface TrapInfo {
  /** The module function that failed, e.g. `proxy_on_request_headers`. */
  function: string;
  /** Envoy-style message: `Function: <fn> failed: <reason>` plus an in-VM backtrace when known. */
  message: string;
  /** The engine's own message (e.g. `unreachable`, `memory access out of bounds`). */
  reason: string;
  /** Messages the module logged during the failing call (an AssemblyScript abort logs here). */
  logs: LogEntry[];
  /** The last error/critical message logged during the failing call, if any. */
  abortMessage?: string;
  worker: number;
}

export class HostError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The module could not be loaded (bad bytes, no ABI marker, missing import, failed start-up). */
export class WasmLoadError extends HostError {
  constructor(
    message: string,
    readonly failState: FailState,
    readonly logs: LogEntry[] = [],
  ) {
    const own = logs.filter((l) => l.source !== 'host');
    super(own.length > 0 ? `${message}\n${formatLogs(own)}` : message);
  }
}

/** `proxy_on_vm_start` or `proxy_on_configure` returned false (or trapped). */
export class ConfigRejectedError extends HostError {
  constructor(
    readonly phase: 'vm_start' | 'configure',
    readonly detail: string,
    readonly logs: LogEntry[],
    readonly trap?: TrapInfo,
  ) {
    // The message lists what the module logged; `logs` also has the host's own messages.
    const own = logs.filter((l) => l.source !== 'host');
    super(`${detail}${own.length > 0 ? `\n${formatLogs(own)}` : ''}`);
  }
}

/** `http()` found the stream paused with nothing left that could resume it. */
export class StreamStalledError extends HostError {
  constructor(
    message: string,
    /** The paused stream; drive it further by hand (e.g. after `advanceTime`). */
    readonly stream: unknown,
  ) {
    super(message);
  }
}

export function formatLogs(logs: readonly LogEntry[]): string {
  return logs.map((l) => `  [${l.level}] ${l.message}`).join('\n');
}
