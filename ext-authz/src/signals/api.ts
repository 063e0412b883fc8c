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
import type { SignalPlugin } from '@meshward/sdk/authz';

// The contract lives in the SDK (`@meshward/sdk/authz`) so plug-ins depend on the SDK only.
export type {
  SignalContext, SignalAction, SignalOutcome, RiskSignal, SignalConfigContext, SignalPlugin, ConfigReader,
} from '@meshward/sdk/authz';
export { defineSignal } from '@meshward/sdk/authz';

/** A plug-in with its config, as the parsed server config holds it. */
export interface ConfiguredSignal {
  plugin: SignalPlugin<unknown>;
  config: unknown;
  weight: number;
}

