// Regular expressions with RE2 semantics for any filter (the WAF's @rx, the attributes filter's
// `matches`): no backtracking, so matching time is linear in the input whatever the pattern (a
// rule or a config cannot be turned into a denial of service by a crafted request). Pure
// AssemblyScript, no host calls. Import it as "@meshward/sdk/assembly/regex".
//
//   const re = Regex.compile("(?i)union\\s+select", false);   // check lastRegexError() after
//   const re = compileRegex(pattern, caseInsensitive);           // null on error
//   re.test(input)   -> bool                       (lazy DFA)
//   re.exec(input)   -> [match, group1..] | null   (Pike VM; at most 9 groups; "" when unset)
//
// Text is matched as UTF-16 code units (AssemblyScript strings). If the caller builds strings
// with one code unit per input byte (Latin-1 decoding), matching is byte-wise as in ModSecurity;
// with UTF-16 strings a non-BMP character is two units. \w, \d, \s, \b and POSIX classes are
// ASCII; (?i) folds ASCII and Latin-1 letters. Syntax supported and refused: docs/waf-matching.md.
//
// Not thread-safe in the sense that a Regex keeps scratch state for matching; filters run one
// request at a time per VM, which is all proxy-wasm allows.

import { parse } from "./regex/parser";
import { Program, compileProgram, programSize, MAX_PROGRAM } from "./regex/program";
import { LazyDFA } from "./regex/dfa";
import { PikeVM } from "./regex/pike";

export { setDfaCacheBytes } from "./regex/dfa";

/** Why a pattern was refused: a message and the index (code units) in the pattern. */
export class RegexCompileError {
  constructor(public message: string, public position: i32) {}

  toString(): string {
    return this.message + " at position " + this.position.toString();
  }
}

let lastError: RegexCompileError | null = null;

/** The error of the last compile that failed (cleared by a successful compile). */
export function lastRegexError(): RegexCompileError | null {
  return lastError;
}

/** The largest number of groups exec() reports (ModSecurity's TX.1..TX.9). */
export const MAX_REPORTED_GROUPS: i32 = 9;

export class Regex {
  /** The pattern text as given. */
  readonly pattern: string;
  /** The compiled program, or null when the pattern was refused (then test/exec never match). */
  private prog: Program | null;
  private dfa: LazyDFA | null = null;
  private pike: PikeVM | null = null;
  /** The compile error, or null. */
  readonly error: RegexCompileError | null;

  private constructor(pattern: string, prog: Program | null, error: RegexCompileError | null) {
    this.pattern = pattern;
    this.prog = prog;
    this.error = error;
  }

  /**
   * Compiles a pattern. Never traps: on a bad pattern the result has `error` set (also returned by
   * lastRegexError()) and matches nothing; prefer compileRegex, which returns null instead.
   */
  static compile(pattern: string, caseInsensitive: bool = false): Regex {
    const parsed = parse(pattern, caseInsensitive);
    if (parsed.root === null) {
      const err = new RegexCompileError(parsed.error, parsed.position);
      lastError = err;
      return new Regex(pattern, null, err);
    }
    const size = programSize(parsed.root!);
    if (size > <i64>MAX_PROGRAM) {
      const err = new RegexCompileError("pattern too large: it compiles to more than " + MAX_PROGRAM.toString() + " instructions (reduce counted repetitions)", 0);
      lastError = err;
      return new Regex(pattern, null, err);
    }
    lastError = null;
    return new Regex(pattern, compileProgram(parsed.root!, parsed.captures), null);
  }

  /** Whether the pattern compiled. */
  get ok(): bool {
    return this.prog !== null;
  }

  /** Capture groups in the pattern (not counting the whole match). */
  get groupCount(): i32 {
    return this.prog === null ? 0 : this.prog!.captures;
  }

  /** DFA states cached now (0 before the first match). */
  get dfaStates(): i32 {
    return this.dfa === null ? 0 : this.dfa!.states.length;
  }

  /** Times the DFA cache was dropped for exceeding its budget. */
  get dfaFlushes(): i32 {
    return this.dfa === null ? 0 : this.dfa!.flushes;
  }

  /**
   * Approximate bytes this regex holds: its program, and the DFA cache and capture scratch built
   * by matching (bounded by setDfaCacheBytes; for memory metrics).
   */
  get memoryBytes(): i32 {
    const prog = this.prog;
    if (prog === null) return 0;
    let bytes = prog.length * 12;
    for (let i = 0; i < prog.classes.length; i++) bytes += 48 + (prog.classes[i].ranges.length << 2);
    if (this.dfa !== null) bytes += this.dfa!.memoryBytes;
    if (this.pike !== null) bytes += this.pike!.memoryBytes;
    return bytes;
  }

  /** Whether the pattern matches anywhere in input. */
  test(input: string): bool {
    const prog = this.prog;
    if (prog === null) return false;
    let dfa = this.dfa;
    if (dfa === null) this.dfa = dfa = new LazyDFA(prog);
    return dfa.test(input);
  }

  /**
   * The leftmost-first match: [whole match, group 1, ..., group k] with k = min(groups, 9), ""
   * for a group that did not take part; null when there is no match.
   */
  exec(input: string): string[] | null {
    const prog = this.prog;
    if (prog === null) return null;
    // The DFA answers most (non-matching) inputs without the cost of tracking captures.
    if (!this.test(input)) return null;
    let pike = this.pike;
    if (pike === null) this.pike = pike = new PikeVM(prog);
    const caps = pike.run(input);
    if (caps === null) return null;
    const groups = min(prog.captures, MAX_REPORTED_GROUPS);
    const out = new Array<string>(groups + 1);
    for (let g = 0; g <= groups; g++) {
      const s = caps[2 * g], e = caps[2 * g + 1];
      out[g] = s >= 0 && e >= s ? input.substring(s, e) : "";
    }
    return out;
  }

  /** Start and end (code units) of the leftmost-first match and of each group; null when none. */
  execPositions(input: string): StaticArray<i32> | null {
    const prog = this.prog;
    if (prog === null) return null;
    if (!this.test(input)) return null;
    let pike = this.pike;
    if (pike === null) this.pike = pike = new PikeVM(prog);
    return pike.run(input);
  }
}

/** Compiles a pattern; null when it is refused (the reason is lastRegexError()). */
export function compileRegex(pattern: string, caseInsensitive: bool): Regex | null {
  const re = Regex.compile(pattern, caseInsensitive);
  return re.ok ? re : null;
}
