/**
 * Which parts of the input document a Rego policy can read, found from its modules' syntax trees
 * (`opa parse --format json`). Writing the input as JSON and parsing it inside wasm is most of a
 * Rego evaluation's cost, so the server writes only those parts (see policyInputJson).
 *
 * Sound by construction: every read of `input` in Rego is a reference `input.a.b...` somewhere in
 * the modules (in a rule body, head, function argument, `with` target, comprehension or import).
 * For each reference the leading constant string keys form a path, and the whole subtree at that
 * path is kept; a variable, number or nested reference ends the path there (so `input.a[x]` keeps
 * all of `a`). Aliases (`x := input.a`, `import input.a as x`) keep the aliased subtree. Anything
 * that can reach beyond a constant path selects the full document: `input` as a whole (`x := input`,
 * `walk(input, ...)`, `object.get(input, ...)`, `with input as ...`) or a variable first key
 * (`input[k]`). References are collected from every rule of every module, reachable or not.
 */

/** `true`: the whole subtree; a map: only these keys, each with its own selection. */
export type InputSelection = true | Map<string, InputSelection>;

export interface InputPaths {
  selection: InputSelection;
  /** For logs: the kept paths (`attributes.request.http.method, ...`) or why the full document is needed. */
  description: string;
}

interface Term {
  type?: unknown;
  value?: unknown;
}

const FULL = (why: string): InputPaths => ({ selection: true, description: `full document (${why})` });

function isInputVar(t: unknown): boolean {
  return typeof t === 'object' && t !== null && (t as Term).type === 'var' && (t as Term).value === 'input';
}

/** The input selection of parsed modules (each the JSON of `opa parse --format json`). */
export function inputPathsOf(modules: readonly unknown[]): InputPaths {
  const paths: string[][] = [];
  let full: string | undefined;
  const visit = (node: unknown): void => {
    if (full !== undefined || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const t = node as Term;
    if (t.type === 'ref' && Array.isArray(t.value) && isInputVar(t.value[0])) {
      const rest = t.value.slice(1) as Term[];
      const path: string[] = [];
      for (const k of rest) {
        if (k?.type !== 'string' || typeof k.value !== 'string') break;
        path.push(k.value);
      }
      if (path.length === 0) {
        full = rest.length === 0 ? 'reads input as a whole' : 'reads input[<variable>]';
        return;
      }
      paths.push(path);
      for (const k of rest) visit(k); // keys may hold references themselves: input.a[input.b]
      return;
    }
    // `input` outside a reference (the parser writes a bare `input` as a reference, so this is a
    // shape we do not know): keep everything rather than guess.
    if (isInputVar(t)) {
      full = 'reads input as a whole';
      return;
    }
    for (const v of Object.values(node)) visit(v);
  };
  for (const m of modules) visit(m);
  if (full !== undefined) return FULL(full);
  return { selection: selectionOf(paths), description: describe(selectionOf(paths)) || 'nothing (the policy never reads input)' };
}

/** Merges paths into a tree where a shorter path (a whole subtree) absorbs longer ones. */
export function selectionOf(paths: readonly string[][]): InputSelection {
  const root = new Map<string, InputSelection>();
  for (const path of paths) {
    let node: Map<string, InputSelection> = root;
    for (const [i, key] of path.entries()) {
      const last = i === path.length - 1;
      const existing = node.get(key);
      if (existing === true) break; // already whole
      if (last) {
        node.set(key, true);
        break;
      }
      const next = existing ?? new Map<string, InputSelection>();
      node.set(key, next);
      node = next;
    }
  }
  return root;
}

function describe(sel: InputSelection, prefix = ''): string {
  if (sel === true) return prefix;
  return [...sel].map(([k, s]) => describe(s, prefix ? `${prefix}.${k}` : k)).join(', ');
}

/** Writes a value's selected parts as JSON text; undefined for a value JSON leaves out. */
export type SelectionWriter = (value: unknown) => string | undefined;

const isEnumerableOwn = Object.prototype.propertyIsEnumerable;

/**
 * A writer of the JSON text of a value with only the selected parts, byte for byte what the policy
 * would read from `JSON.stringify(value)` along every selected path. Built once per policy (keys
 * quoted ahead). Only own enumerable keys are followed, like JSON.stringify (a policy reading
 * `__proto__` sees what the full document has: nothing). Where the selection goes deeper than the
 * value does (a string, an array, an object with its own toJSON), the whole value is kept.
 */
export function selectionWriter(sel: InputSelection): SelectionWriter {
  if (sel === true) return (value) => JSON.stringify(value);
  const fields = [...sel].map(([key, s]) => ({ key, prefix: `${JSON.stringify(key)}:`, write: selectionWriter(s) }));
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
    let out = '';
    for (const f of fields) {
      if (!isEnumerableOwn.call(value, f.key)) continue;
      const json = f.write((value as Record<string, unknown>)[f.key]);
      if (json === undefined) continue;
      out += out === '' ? f.prefix + json : `,${f.prefix}${json}`;
    }
    return `{${out}}`;
  };
}

/** `selectionWriter(sel)(value)`, for one-off use. */
export function selectedJson(value: unknown, sel: InputSelection): string | undefined {
  return selectionWriter(sel)(value);
}
