/**
 * Phase 2, signals: facts about the request beyond who sent it, each from one source (today: an
 * IP block list). Every signal's result is visible to the policy (`input.signals.<name>`), and a
 * signal may refuse a request outright (403, reason `signal <name>: ...`).
 *
 * A signal is an object with a name and an `evaluate` function; add one by implementing
 * `Signal` and listing it in `createSignals`.
 */
import type { CheckAttributes } from '../attributes.js';
import type { AuthzConfig } from '../config/types.js';
import type { Identity } from '../identity/types.js';
import type { Facts } from '../policy/facts.js';
import { IpBlocklistSignal } from './ip-blocklist.js';

export interface SignalContext {
  attrs: CheckAttributes;
  identity: Identity;
  facts: Facts;
}

export interface SignalResult {
  /** `deny` refuses the request (403) before the policy runs. */
  verdict: 'pass' | 'deny';
  /** For the decision log when the verdict is deny. */
  reason?: string;
  /** What the policy sees as `input.signals.<name>` (JSON values only). */
  data: Record<string, unknown>;
}

export interface Signal {
  /** Lowercase, `_`-separated: the key in `input.signals`. */
  readonly name: string;
  evaluate(ctx: SignalContext): SignalResult | Promise<SignalResult>;
}

export function createSignals(config: AuthzConfig['signals']): Signal[] {
  const signals: Signal[] = [];
  if (config.ipBlocklist) signals.push(new IpBlocklistSignal(config.ipBlocklist));
  return signals;
}

export { IpBlocklistSignal } from './ip-blocklist.js';
