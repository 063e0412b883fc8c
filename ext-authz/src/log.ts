import type { LogLevel } from './config/types.js';
import { jsonString } from './json-text.js';

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
    // One JSON.stringify of the caller's fields (it leaves out undefined ones), no copy of them.
    const rest = fields === undefined ? '{}' : JSON.stringify(fields);
    this.logJson(level, msg, rest.length > 2 ? rest.slice(1, -1) : '');
  }

  /**
   * A line whose fields the caller has already written as JSON members (`"a":1,"b":"x"`, or
   * empty): for the decision line, written on every Check, where building the text directly
   * costs a fraction of JSON.stringify over a fields object (on Node 20).
   */
  logJson(level: LogLevel, msg: string, members: string): void {
    if (!this.enabled(level)) return;
    const head = `{"time":"${isoTime()}","level":"${level}","msg":${jsonString(msg)}`;
    this.sink(members ? `${head},${members}}` : `${head}}`);
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
