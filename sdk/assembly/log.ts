// Leveled logging over proxy_log with a minimum level a filter sets from its config, so users can
// turn logging down. Messages below the level are never formatted into host calls.
import { log as runtimeLog, LogLevelValues } from "@solo-io/proxy-runtime/assembly/index";

let minimumLevel: LogLevelValues = LogLevelValues.info;

export function setLogLevel(level: LogLevelValues): void {
  minimumLevel = level;
}

export function logLevel(): LogLevelValues {
  return minimumLevel;
}

/** "trace" | "debug" | "info" | "warn" | "error" | "critical" → level; -1 for anything else. */
export function parseLogLevel(name: string): i32 {
  if (name == "trace") return LogLevelValues.trace;
  if (name == "debug") return LogLevelValues.debug;
  if (name == "info") return LogLevelValues.info;
  if (name == "warn" || name == "warning") return LogLevelValues.warn;
  if (name == "error") return LogLevelValues.error;
  if (name == "critical") return LogLevelValues.critical;
  return -1;
}

export function logEnabled(level: LogLevelValues): bool {
  return level >= minimumLevel;
}

export function logAt(level: LogLevelValues, message: string): void {
  if (level >= minimumLevel) runtimeLog(level, message);
}

export function logTrace(message: string): void { logAt(LogLevelValues.trace, message); }
export function logDebug(message: string): void { logAt(LogLevelValues.debug, message); }
export function logInfo(message: string): void { logAt(LogLevelValues.info, message); }
export function logWarn(message: string): void { logAt(LogLevelValues.warn, message); }
export function logError(message: string): void { logAt(LogLevelValues.error, message); }
export function logCritical(message: string): void { logAt(LogLevelValues.critical, message); }
