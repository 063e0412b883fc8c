export interface MatchOptions {
  ignoreCase?: boolean;
}

/** The default options, shared: a `= {}` default would make an object per call (every Check). */
export const NO_OPTIONS: MatchOptions = Object.freeze({});

/**
 * Istio-style string patterns: `*` alone matches any non-empty value, `abc*` a prefix, `*abc` a
 * suffix, anything else the exact value.
 */
export function matchPattern(pattern: string, value: string | undefined, options: MatchOptions = NO_OPTIONS): boolean {
  if (value === undefined || value === '') return false;
  let p = pattern;
  let v = value;
  if (options.ignoreCase) {
    p = p.toLowerCase();
    v = v.toLowerCase();
  }
  if (p === '*') return true;
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  return v === p;
}

/** True when any pattern matches any of the values. */
export function matchAny(patterns: readonly string[], values: readonly string[], options: MatchOptions = NO_OPTIONS): boolean {
  for (const p of patterns) for (const v of values) if (matchPattern(p, v, options)) return true;
  return false;
}

/** A pattern is valid when `*` appears at most once and only at one end (or alone). */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'empty pattern';
  const stars = pattern.split('*').length - 1;
  if (stars === 0 || pattern === '*') return undefined;
  if (stars > 1 || !(pattern.startsWith('*') || pattern.endsWith('*'))) {
    return `"${pattern}": "*" may appear once, at the start or the end`;
  }
  return undefined;
}
