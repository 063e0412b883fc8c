/**
 * Built-ins the server supplies to Rego compiled to wasm, for those opa-wasm leaves to the host
 * (OPA marks them SDK-dependent): `time.now_ns` and the `io.jwt.*` token built-ins. opa-wasm calls
 * them synchronously with JSON arguments and reads a returned `undefined` as "no value".
 */
import { JwtBuiltinError, jwtBuiltins } from './rego-jwt.js';

export type BuiltinFn = (...args: unknown[]) => unknown;

/** A built-in error during one evaluation (OPA: the call is undefined), for the decision's reason. */
export interface BuiltinFailure {
  builtin: string;
  message: string;
}

/** One evaluation's clock: OPA gives `time.now_ns()` (and decode_verify's default time) one value per query. */
export class EvaluationClock {
  private ns: bigint | undefined;

  reset(): void {
    this.ns = undefined;
  }

  nowNs(): bigint {
    this.ns ??= BigInt(Date.now()) * 1_000_000n;
    return this.ns;
  }
}

const encoder = new TextEncoder();

/** Every host built-in by OPA name, reading time from `clock`. */
function hostBuiltins(clock: EvaluationClock): Record<string, BuiltinFn> {
  return {
    // As JSON text: the exact integer (a double would round nanoseconds since 1970).
    'time.now_ns': () => encoder.encode(String(clock.nowNs())).buffer,
    ...jwtBuiltins(() => Number(clock.nowNs())),
  };
}

/** The names of the built-ins the host can supply. */
export const HOST_BUILTIN_NAMES: readonly string[] = Object.keys(hostBuiltins(new EvaluationClock())).sort();

/**
 * The host built-ins named, each wrapped so that its error leaves the call undefined, as OPA does
 * outside strict mode, and is recorded in `failures` for the decision's reason. An unexpected
 * exception is treated the same, so a built-in never aborts an evaluation.
 */
export function suppliedBuiltins(names: readonly string[], failures: BuiltinFailure[], clock = new EvaluationClock()): Record<string, BuiltinFn> {
  const all = hostBuiltins(clock);
  const out: Record<string, BuiltinFn> = {};
  for (const name of names) {
    const fn = all[name];
    if (!fn) throw new Error(`no host implementation of built-in ${name}`);
    out[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (e) {
        failures.push({ builtin: name, message: e instanceof JwtBuiltinError ? e.message : `unexpected error: ${(e as Error)?.message ?? String(e)}` });
        return undefined;
      }
    };
  }
  return out;
}
