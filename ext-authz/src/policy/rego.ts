/**
 * Rego policies, compiled to WebAssembly with OPA (`opa build -t wasm -e <entrypoint>`) at start
 * and evaluated in-process with `@open-policy-agent/opa-wasm`. The entrypoint's value decides:
 * `true` allows; `false` or undefined denies; an object allows when its `allow` (or `allowed`)
 * field is true, and its `reason` string, if any, goes to the decision log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REGO_DECISION_CACHE_SIZE, type RegoConfig } from '../config/types.js';
import { policyInputWriter, type PolicyInputSource, type PolicyInputWriter } from './input.js';
import { inputPathsOf, type InputPaths } from './input-paths.js';
import type { PolicyDecisionSpec } from './native.js';
import { directEvaluator, evaluateThroughOpaWasm, RESULT_FALSE, RESULT_TRUE, RESULT_UNDEFINED, type OpaPolicyLike, type RegoEvaluator } from './rego-eval.js';
import { EvaluationClock, HOST_BUILTIN_NAMES, suppliedBuiltins, type BuiltinFailure } from './rego-builtins.js';

/** Files of a (gzipped) tar archive by name, leading `/` and `./` dropped. Handles ustar and PAX names. */
export function untar(archive: Buffer): Map<string, Buffer> {
  const data = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const files = new Map<string, Buffer>();
  let offset = 0;
  let paxName: string | undefined;
  const text = (start: number, len: number) => {
    const raw = data.subarray(start, start + len);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul >= 0 ? nul : raw.length).toString('utf8');
  };
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = text(offset + 345, 155);
    let name = prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100);
    const body = data.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxName = m?.[1];
    } else {
      if (paxName) name = paxName;
      paxName = undefined;
      if (type === '0' || type === '\0') files.set(name.replace(/^(\.\/|\/)+/, ''), Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Compiles Rego files to a wasm bundle with `opa build`; returns policy.wasm's bytes. */
export function compileRego(opaPath: string, files: string[], entrypoint: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'meshward-rego-'));
  try {
    const out = join(dir, 'bundle.tar.gz');
    const r = spawnSync(opaPath, ['build', '-t', 'wasm', '-e', entrypoint, '-o', out, ...files], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) {
      throw new Error(`opa build failed for ${files.map((f) => basename(f)).join(', ')}:\n${`${r.stdout}${r.stderr}`.trim() || r.error?.message}`);
    }
    return wasmFromBundle(readFileSync(out), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The parts of the input the Rego files can read, from `opa parse --format json` of each file (the
 * same files `opa build` compiled). If OPA cannot parse one (it just compiled them, so this should
 * not happen) the full document is used. With the entrypoint (what the server reads of the result),
 * rules that only name an input path (`http_request := input.attributes.request.http`) are
 * followed to the sub-paths read through them (see input-paths.ts).
 */
export function regoInputPaths(opaPath: string, files: string[], entrypoint?: string): InputPaths {
  const modules: unknown[] = [];
  for (const file of files) {
    const r = spawnSync(opaPath, ['parse', '--format', 'json', '--json-include', '-comments', file], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) return { selection: true, description: `full document (opa parse failed for ${basename(file)})` };
    try {
      modules.push(JSON.parse(r.stdout));
    } catch {
      return { selection: true, description: `full document (opa parse output for ${basename(file)} is not JSON)` };
    }
  }
  return inputPathsOf(modules, entrypoint === undefined ? undefined : [entrypoint]);
}

export function wasmFromBundle(archive: Buffer, origin: string): Buffer {
  const wasm = untar(archive).get('policy.wasm');
  if (!wasm) throw new Error(`${origin} has no policy.wasm (build it with opa build -t wasm -e <entrypoint>)`);
  return wasm;
}

export interface RegoOutcome {
  allowed: boolean;
  reason: string;
  /** Built-in calls that failed during this evaluation (each left undefined, as in OPA). */
  builtinErrors?: BuiltinFailure[];
  /** A denial's form, from the result object's `decision` (`step_up`, `throttle`, `read_only`). */
  decision?: PolicyDecisionSpec;
}

function regoDecision(o: Record<string, unknown>): PolicyDecisionSpec | undefined {
  const kind = o['decision'];
  if (kind !== 'deny' && kind !== 'step_up' && kind !== 'throttle' && kind !== 'read_only') return undefined;
  const spec: PolicyDecisionSpec = { kind };
  if (typeof o['acr_values'] === 'string') spec.acrValues = o['acr_values'];
  if (typeof o['max_age'] === 'number' && Number.isInteger(o['max_age']) && o['max_age'] >= 0) spec.maxAge = o['max_age'];
  if (typeof o['retry_after_seconds'] === 'number' && o['retry_after_seconds'] >= 1) spec.retryAfterSeconds = Math.ceil(o['retry_after_seconds']);
  return spec;
}

/** Reads the entrypoint's value as a decision. */
export function interpretRegoResult(resultSet: unknown, entrypoint: string): RegoOutcome {
  const first = Array.isArray(resultSet) ? (resultSet[0] as { result?: unknown } | undefined) : undefined;
  const value = first?.result;
  if (value === undefined) return { allowed: false, reason: `rego ${entrypoint} is undefined` };
  if (typeof value === 'boolean') return { allowed: value, reason: `rego ${entrypoint} = ${value}` };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const allow = o['allow'] ?? o['allowed'];
    const why = typeof o['reason'] === 'string' ? `: ${o['reason'].slice(0, 200)}` : '';
    if (typeof allow === 'boolean') {
      const decision = allow ? undefined : regoDecision(o);
      return { allowed: allow, reason: `rego ${entrypoint}.allow = ${allow}${why}`, ...(decision ? { decision } : {}) };
    }
  }
  return { allowed: false, reason: `rego ${entrypoint} is not a boolean or {allow: boolean}` };
}

/**
 * Reads the result set's JSON text as a decision: the usual boolean answers are recognised as
 * text (`opa_json_dump` writes them compactly: `[{"result":true}]`); anything else is parsed.
 */
export function interpretRegoResultText(text: string, entrypoint: string, reasons: BooleanReasons = booleanReasons(entrypoint)): RegoOutcome {
  if (text === RESULT_TRUE) return { allowed: true, reason: reasons.true };
  if (text === RESULT_FALSE) return { allowed: false, reason: reasons.false };
  if (text === RESULT_UNDEFINED) return { allowed: false, reason: reasons.undefined };
  return interpretRegoResult(JSON.parse(text), entrypoint);
}

/** The decision log's reasons for a boolean or undefined result (built once per policy). */
export interface BooleanReasons {
  true: string;
  false: string;
  undefined: string;
}

export function booleanReasons(entrypoint: string): BooleanReasons {
  return { true: `rego ${entrypoint} = true`, false: `rego ${entrypoint} = false`, undefined: `rego ${entrypoint} is undefined` };
}

interface LoadedPolicyLike extends OpaPolicyLike {
  setData(data: object): void;
}

/**
 * The built-ins a compiled policy calls out to the host for: the keys of the `builtins` export
 * of OPA's wasm ABI (built-ins OPA compiles into the wasm are not listed).
 */
function requiredBuiltins(policy: LoadedPolicyLike): string[] {
  const exports = policy.wasmInstance.exports as Record<string, (...a: number[]) => number>;
  const addr = exports['opa_json_dump']!(exports['builtins']!());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (bytes[end] !== 0) end++;
  return Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(addr, end))) as object).sort();
}

/**
 * The built-ins opa-wasm itself implements in JavaScript. Its package exports only its entry, so
 * the list is read from the file next to it; undefined if that ever moves (then no load check).
 */
function opaWasmBuiltins(): ReadonlySet<string> | undefined {
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@open-policy-agent/opa-wasm');
    return new Set(Object.keys(require(join(dirname(entry), 'builtins', 'index.js')) as object));
  } catch {
    return undefined;
  }
}

export type { BuiltinFailure } from './rego-builtins.js';

/**
 * Built-ins opa-wasm implements in JavaScript whose result depends on their arguments only. A
 * policy that needs no other host built-in (time, tokens, anything new) is a pure function of its
 * input and data, so its decisions can be kept by input.
 */
const PURE_JS_BUILTINS: ReadonlySet<string> = new Set(['json.is_valid', 'regex.split', 'sprintf', 'yaml.is_valid', 'yaml.marshal', 'yaml.unmarshal']);

/** Inputs longer than this (characters of JSON) are evaluated every time, never kept. */
const MAX_CACHED_INPUT_LENGTH = 8192;

export class RegoPolicy {
  private readonly writeInput: PolicyInputWriter;
  private readonly evaluator: RegoEvaluator;
  private readonly reasons: BooleanReasons;
  /** How it is evaluated: `opa_eval` called directly (ABI 1.2+), or opa-wasm's `evaluate` (older policies). */
  readonly evaluation: 'opa_eval' | 'opa-wasm evaluate';
  /** Filled by the supplied built-ins during one evaluation; cleared before each. */
  private readonly failures: BuiltinFailure[];
  /** Outcomes by input JSON, oldest first; absent when the policy calls host built-ins (or size 0). */
  private readonly decisions: Map<string, RegoOutcome> | undefined;
  private readonly decisionCacheSize: number;
  /** Evaluations answered from the decision cache (hits) or evaluated (misses, while it is on). */
  readonly decisionCacheStats = { hits: 0, misses: 0 };
  /** For the start and reload log lines: the cache's size, or why there is none. */
  readonly decisionCache: string;

  /** Whether decisions are kept by input (the policy calls no host built-in, and the size is not 0). */
  get decisionCacheOn(): boolean {
    return this.decisions !== undefined;
  }

  private constructor(
    policy: LoadedPolicyLike,
    readonly entrypoint: string,
    /** Where it came from, for logs. */
    readonly origin: string,
    /** The parts of the input document the policy can read: only these are written for it. */
    readonly input: InputPaths,
    /** The host built-ins this policy needs and was given (e.g. `io.jwt.decode`). */
    readonly builtins: readonly string[],
    failures: BuiltinFailure[],
    private readonly clock: EvaluationClock,
    /** Whether the compiled policy calls a host built-in whose result is not a function of its arguments alone (time, tokens...). */
    callsHost: boolean,
    decisionCacheSize: number,
  ) {
    this.writeInput = policyInputWriter(input.selection);
    this.failures = failures;
    this.decisionCacheSize = decisionCacheSize;
    this.decisions = !callsHost && decisionCacheSize > 0 ? new Map() : undefined;
    this.decisionCache = this.decisions ? `${decisionCacheSize} decisions` : decisionCacheSize > 0 ? 'off (the policy calls host built-ins)' : 'off';
    const direct = directEvaluator(policy, entrypoint);
    this.evaluator = direct ?? evaluateThroughOpaWasm(policy, entrypoint);
    this.evaluation = direct ? 'opa_eval' : 'opa-wasm evaluate';
    this.reasons = booleanReasons(entrypoint);
  }

  /** Compiles (or loads the prebuilt bundle) and instantiates the policy. */
  static async load(config: RegoConfig, opaPath?: () => Promise<string>): Promise<RegoPolicy> {
    let wasm: Buffer;
    let origin: string;
    let input: InputPaths;
    if (config.bundle) {
      // A prebuilt bundle carries no sources we could trust to match its wasm: the full document.
      wasm = wasmFromBundle(readFileSync(config.bundle), config.bundle);
      origin = config.bundle;
      input = { selection: true, description: 'full document (prebuilt bundle)' };
    } else {
      const opa = opaPath ? await opaPath() : await defaultOpaPath();
      wasm = compileRego(opa, config.files, config.entrypoint);
      origin = config.files.map((f) => basename(f)).join(',');
      input = regoInputPaths(opa, config.files, config.entrypoint);
    }
    const { loadPolicy } = await import('@open-policy-agent/opa-wasm');
    const module = await WebAssembly.compile(new Uint8Array(wasm));
    // A first instance only to read which built-ins the policy calls out for.
    const required = requiredBuiltins((await loadPolicy(module)) as unknown as LoadedPolicyLike);
    const builtIn = opaWasmBuiltins();
    const supplied = required.filter((name) => HOST_BUILTIN_NAMES.includes(name) && !builtIn?.has(name));
    const missing = builtIn ? required.filter((name) => !builtIn.has(name) && !supplied.includes(name)) : [];
    if (missing.length > 0) {
      throw new Error(`rego policy ${origin} uses built-in function${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that the in-process evaluator (opa-wasm) does not implement; built-ins the server adds: ${HOST_BUILTIN_NAMES.join(', ')}`);
    }
    const failures: BuiltinFailure[] = [];
    const clock = new EvaluationClock();
    const policy = (await loadPolicy(module, undefined, suppliedBuiltins(supplied, failures, clock))) as unknown as LoadedPolicyLike;
    if (config.dataFile) policy.setData(JSON.parse(readFileSync(config.dataFile, 'utf8')) as object);
    const callsHost = required.some((name) => !PURE_JS_BUILTINS.has(name));
    return new RegoPolicy(policy, config.entrypoint, origin, input, supplied, failures, clock, callsHost, config.decisionCacheSize ?? REGO_DECISION_CACHE_SIZE);
  }

  /**
   * Decides on the input document built from `source`, written as JSON bytes with only the parts
   * the policy reads. Never throws: an evaluation that fails (a trap, a built-in that throws
   * unexpectedly) denies, with the error in the reason.
   */
  evaluate(source: PolicyInputSource): RegoOutcome {
    const json = this.writeInput(source);
    const decisions = this.decisions;
    if (decisions) {
      const known = decisions.get(json);
      if (known) {
        this.decisionCacheStats.hits++;
        return known;
      }
      this.decisionCacheStats.misses++;
    }
    if (this.failures.length !== 0) this.failures.length = 0;
    this.clock.reset();
    let outcome: RegoOutcome;
    try {
      outcome = interpretRegoResultText(this.evaluator(json), this.entrypoint, this.reasons);
    } catch (e) {
      // A failed evaluation is not kept: the next request evaluates again.
      return { allowed: false, reason: `rego ${this.entrypoint} evaluation failed (denied): ${evaluationError(e).slice(0, 200)}` };
    }
    if (decisions && json.length <= MAX_CACHED_INPUT_LENGTH) {
      if (decisions.size >= this.decisionCacheSize) decisions.delete(decisions.keys().next().value as string);
      decisions.set(json, Object.freeze(outcome));
    }
    if (this.failures.length === 0) return outcome;
    const errors = [...this.failures];
    const detail = errors.slice(0, 3).map((f) => `${f.builtin}: ${f.message.slice(0, 120)}`).join('; ');
    return { ...outcome, reason: `${outcome.reason} (built-in error, result undefined: ${detail})`, builtinErrors: errors };
  }
}

/**
 * What to log of an exception out of opa-wasm. Its own conditions are strings or `{message}`
 * objects that name a built-in or an ABI problem: logged. A JavaScript error from inside a
 * built-in (e.g. a RegExp SyntaxError) may quote request data (headers, the token): only its name.
 */
function evaluationError(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return `${e.name} in a built-in (message withheld: it may quote request data)`;
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : 'unknown error';
}

async function defaultOpaPath(): Promise<string> {
  const { requireTool } = await import('@meshward/sdk/tools');
  return requireTool('opa').path;
}
