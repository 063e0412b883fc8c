import type { LogLevel } from './config/types.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// The time text of the last millisecond a line was written in: one Date and one ISO string per
// millisecond, not per line (a busy server writes several decision lines per millisecond).
let lastMs = Number.NaN;
let lastIso = '';

function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

export type LogSink = (line: string) => void;

/**
 * JSON lines to stdout (or a sink): `{"time": ..., "level": ..., "msg": ..., ...fields}`. Fields
 * are whatever the caller passes (named other than time/level/msg); the server never passes tokens
 * or raw header values.
 */
export class Logger {
  constructor(
    readonly level: LogLevel,
    private readonly sink: LogSink = (line) => process.stdout.write(`${line}\n`),
  ) {}

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    // One JSON.stringify of the caller's fields (it leaves out undefined ones), no copy of them:
    // the decision line is written for every Check.
    const head = `{"time":"${isoTime()}","level":"${level}","msg":${JSON.stringify(msg)}`;
    const rest = fields === undefined ? '{}' : JSON.stringify(fields);
    this.sink(rest.length > 2 ? `${head},${rest.slice(1)}` : `${head}}`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}
