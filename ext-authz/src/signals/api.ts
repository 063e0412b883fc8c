/**
 * The signal plug-in API. A signal turns one kind of evidence about a request into a score from 0
 * (nothing suspicious) to 100 (as bad as this signal can say), with reason codes. The risk engine
 * weighs every signal's score with its configured `weight` and adds them up (capped at 100).
 *
 * Built-in signals and third-party ones use the same two pieces:
 * - a `SignalPlugin`: the name of its config section (`signals.<name>`), its default weight, a
 *   `parse` that validates that section (problems name the field path), and `create`;
 * - the `RiskSignal` it creates: `evaluate` per request, and optional hooks `learn` (after an
 *   allow: remember a device or location) and `onAuthFailure` (a token that did not verify).
 *
 * Register a plug-in with `startAuthzServer(config, { signals: [plugin] })` (or
 * `parseConfig(raw, { signals: [plugin] })`); its section is then accepted under `signals:`.
 */
import type { CheckAttributes } from '../attributes.js';
import type { Reader } from '../config/reader.js';
import type { Identity } from '../identity/types.js';
import type { Facts } from '../policy/facts.js';
import type { RiskState } from '../state/types.js';

export interface SignalContext {
  attrs: CheckAttributes;
  identity: Identity;
  facts: Facts;
  /** The decision time (ms since the epoch); use it instead of Date.now() so tests can move time. */
  nowMs: number;
  /** Risk history: in memory, or shared by every replica through Redis. */
  state: RiskState;
  /** Whose history this request adds to: the JWT principal, else the workload; undefined when anonymous. */
  principal?: string;
}

/** A hard outcome that bypasses the score: refuse now (403) or slow down (429 + Retry-After). */
export type SignalAction = { kind: 'deny' } | { kind: 'throttle'; retryAfterSeconds: number };

export interface SignalOutcome {
  /** 0-100: how suspicious this signal finds the request (before weighting). */
  score: number;
  /** Short codes for the decision log and upstream headers, e.g. `new_device`; never secrets. */
  reasons?: string[];
  /** Visible to policies as `input.signals.<name>` (JSON values only). */
  data?: Record<string, unknown>;
  action?: SignalAction;
}

export interface RiskSignal {
  readonly name: string;
  evaluate(ctx: SignalContext): SignalOutcome | Promise<SignalOutcome>;
  /** After an allow: learn from the request (remember a device, a location). */
  learn?(ctx: SignalContext): void | Promise<void>;
  /** A bearer token that did not verify, from `ctx.facts.sourceIp` (identity is anonymous here). */
  onAuthFailure?(ctx: SignalContext): void | Promise<void>;
}

export interface SignalConfigContext {
  /** Records problems with their field path; reading goes on so every problem is reported. */
  reader: Reader;
  /** The section's path, e.g. `signals.velocity`: join field names to it for messages. */
  path: string;
  /** Folder relative file paths are resolved against. */
  baseDir: string;
  /**
   * Reads a file named by the config (relative to the config's folder). The file is watched: when
   * it changes the whole config is parsed again and, if valid, swapped in (hot reload).
   */
  readFile(value: unknown, path: string): { file: string; text: string } | undefined;
  /** The same for a binary file (a database). */
  readBytes(value: unknown, path: string): { file: string; bytes: Buffer } | undefined;
}

export interface SignalPlugin<C = unknown> {
  /** Lowercase, `_`-separated: the config key under `signals:` and the key in `input.signals`. */
  readonly name: string;
  /** 0-100: the most this signal adds to the total score, unless the config sets `weight`. */
  readonly defaultWeight: number;
  /** Validates the section (without the common `weight` and `enabled` fields). */
  parse(raw: Record<string, unknown>, ctx: SignalConfigContext): C | undefined;
  create(config: C): RiskSignal;
}

/** A plug-in with its config, as the parsed server config holds it. */
export interface ConfiguredSignal {
  plugin: SignalPlugin<unknown>;
  config: unknown;
  weight: number;
}

/** Typed helper for writing a plug-in (keeps `C` checked between parse and create). */
export function defineSignal<C>(plugin: SignalPlugin<C>): SignalPlugin<C> {
  return plugin;
}
