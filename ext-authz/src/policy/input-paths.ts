/**
 * Which parts of the input document a Rego policy can read, found from its modules' syntax trees
 * (`opa parse --format json`). Writing the input as JSON and parsing it inside wasm is most of a
 * Rego evaluation's cost, so the server writes only those parts (see policyInputJson).
 *
 * Sound by construction: every read of `input` in Rego is a reference `input.a.b...` somewhere in
 * the modules (in a rule body, head, function argument, `with` target, comprehension or import),
 * or a read through a name bound to such a reference. For each reference the leading constant
 * string keys form a path, and the whole subtree at that path is kept; a variable, number or
 * nested reference ends the path there (so `input.a[x]` keeps all of `a`).
 *
 * Names bound to a constant path are followed to where they are read, so that only the read
 * sub-paths are kept (`h := input.attributes.request.http` then `h.method` keeps
 * `attributes.request.http.method`, not the headers with the bearer token):
 * - a local `x := input.a.b` (`:=` always declares a fresh variable, so the name holds exactly
 *   that value); its scope is taken as the whole rule (head, body, else, nested bodies);
 * - an import `import input.a.b as x` (or `import input.a.b`: the name `b`), in every module;
 * - a rule `x := input.a.b` (or `x = ...`) with no body, arguments, key or else, referred to by
 *   name from any module or as `data.<package>.x...`.
 * Every other occurrence of such a name is a read: `x.c.d` keeps `a.b.c.d`; the bare name
 * (`f(x)`, `y := x`, `x == {...}`, `some v in x`, `walk(x, ...)`) keeps all of `a.b`. Names are
 * matched by spelling only, which can keep more than needed (never less). A rule alias is kept
 * whole when something can read it as part of a larger value: `data` itself, a reference to its
 * package or a parent (`data.pkg`, `data.pkg[k]`), or the entrypoint being such a parent. The
 * bound path itself is always written (at least as `{}`), so whether it exists is unchanged.
 *
 * Anything that can reach beyond a constant path selects the full document: `input` as a whole
 * (`x := input`, `walk(input, ...)`, `object.get(input, ...)`, `with input as ...`) or a variable
 * first key (`input[k]`). References are collected from every rule of every module, reachable or not.
 */
import { jsonValue } from '../json-text.js';

/** `true`: the whole subtree; a map: only these keys, each with its own selection (none: only whether it exists). */
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

const isTerm = (t: unknown): t is Term => typeof t === 'object' && t !== null && !Array.isArray(t);
const isVar = (t: unknown, name?: string): t is Term & { value: string } => isTerm(t) && t.type === 'var' && typeof t.value === 'string' && (name === undefined || t.value === name);
const isRef = (t: unknown): t is Term & { value: Term[] } => isTerm(t) && t.type === 'ref' && Array.isArray(t.value) && t.value.length > 0;

/** The leading constant string keys of a reference's tail, and whether the whole tail was constant. */
function constantKeys(rest: readonly unknown[]): { keys: string[]; complete: boolean } {
  const keys: string[] = [];
  for (const k of rest) {
    if (!isTerm(k) || k.type !== 'string' || typeof k.value !== 'string') return { keys, complete: false };
    keys.push(k.value);
  }
  return { keys, complete: true };
}

/** `input.<constant keys>` with at least one key: its path. */
function constantInputPath(t: unknown): string[] | undefined {
  if (!isRef(t) || !isVar(t.value[0], 'input') || t.value.length < 2) return undefined;
  const { keys, complete } = constantKeys(t.value.slice(1));
  return complete ? keys : undefined;
}

/** A body expression `x := input.a.b`: the name and the path. */
function localAlias(expr: unknown): { name: string; path: string[] } | undefined {
  if (!isTerm(expr)) return undefined;
  // `with` replaces what the expression reads, `not` negates it: not a plain binding.
  const { terms, with: withs, negated } = expr as { terms?: unknown; with?: unknown; negated?: unknown };
  if (negated || (Array.isArray(withs) && withs.length > 0)) return undefined;
  if (!Array.isArray(terms) || terms.length !== 3) return undefined;
  const [op, lhs, rhs] = terms as unknown[];
  if (!isRef(op) || op.value.length !== 1 || !isVar(op.value[0], 'assign') || !isVar(lhs)) return undefined;
  const path = constantInputPath(rhs);
  return path ? { name: lhs.value, path } : undefined;
}

interface RuleLike {
  head?: { name?: unknown; ref?: unknown; args?: unknown; key?: unknown; value?: unknown; default?: unknown };
  body?: unknown;
  else?: unknown;
  default?: unknown;
}

/** A rule `x := input.a.b` with no body (the parser writes one generated `true`), args, key or else. */
function ruleAlias(rule: RuleLike): { name: string; path: string[] } | undefined {
  const head = rule.head;
  if (!head || typeof head.name !== 'string' || head.args !== undefined || head.key !== undefined || rule.else !== undefined || rule.default || head.default) return undefined;
  if (Array.isArray(head.ref) && (head.ref.length !== 1 || !isVar(head.ref[0], head.name))) return undefined;
  const body = rule.body;
  const trivial = Array.isArray(body) && body.length === 1 && isTerm(body[0]) && (body[0] as { terms?: Term }).terms?.type === 'boolean' && (body[0] as { terms?: Term }).terms?.value === true;
  if (!trivial) return undefined;
  const path = constantInputPath(head.value);
  return path ? { name: head.name, path } : undefined;
}

function packageKeys(module: unknown): string[] | undefined {
  const path = (module as { package?: { path?: unknown } } | null)?.package?.path;
  if (!Array.isArray(path) || !isVar(path[0], 'data')) return undefined;
  const { keys, complete } = constantKeys(path.slice(1));
  return complete ? keys : undefined;
}

interface Alias {
  /** The input path the name is bound to. */
  path: string[];
  /** For a rule alias: its place under `data`. */
  dataPath?: string[];
}

/**
 * The input selection of parsed modules (each the JSON of `opa parse --format json`).
 * `entrypoints` (`pkg/rule`, as given to `opa build -e`): what the server reads of the result;
 * without them, rule aliases are not followed (their paths are kept whole).
 */
export function inputPathsOf(modules: readonly unknown[], entrypoints?: readonly string[]): InputPaths {
  const whole: string[][] = [];
  const present: string[][] = [];
  let full: string | undefined;

  // Names bound to input paths in every module: rule aliases and input imports.
  const shared = new Map<string, Alias[]>();
  const bind = (into: Map<string, Alias[]>, name: string, alias: Alias) => {
    const list = into.get(name) ?? [];
    list.push(alias);
    into.set(name, list);
    present.push(alias.path);
  };
  const aliasRules = new Set<unknown>();
  const aliasImports = new Set<unknown>();
  for (const m of modules) {
    const pkg = packageKeys(m);
    const mod = (m ?? {}) as { rules?: unknown; imports?: unknown };
    if (pkg && entrypoints && Array.isArray(mod.rules)) {
      for (const rule of mod.rules as RuleLike[]) {
        const a = ruleAlias(rule);
        if (!a) continue;
        aliasRules.add(rule);
        bind(shared, a.name, { path: a.path, dataPath: [...pkg, a.name] });
      }
    }
    if (Array.isArray(mod.imports)) {
      for (const imp of mod.imports as Array<{ path?: unknown; alias?: unknown }>) {
        const path = constantInputPath(imp.path);
        if (!path) continue;
        aliasImports.add(imp);
        bind(shared, typeof imp.alias === 'string' && imp.alias !== '' ? imp.alias : path[path.length - 1]!, { path });
      }
    }
  }
  const ruleAliases = [...shared.values()].flat().filter((a) => a.dataPath !== undefined);

  /** A reference under `data` with these leading constant keys. */
  const readData = (keys: string[]) => {
    for (const a of ruleAliases) {
      const target = a.dataPath!;
      const n = Math.min(keys.length, target.length);
      let same = true;
      for (let i = 0; i < n && same; i++) same = keys[i] === target[i];
      if (!same) continue;
      // Under the alias: the keys after it are read. Above it, or a variable before reaching it: all of it can be read.
      if (keys.length >= target.length) whole.push([...a.path, ...keys.slice(target.length)]);
      else whole.push(a.path);
    }
  };
  for (const e of entrypoints ?? []) {
    // `pkg/rule` (the config turns dots into slashes); a dot left in it is a shape we do not parse: all of data.
    const keys = e.split('/').filter((k) => k !== '');
    readData(keys.some((k) => k.includes('.')) ? [] : keys);
  }

  const visit = (node: unknown, names: Map<string, Alias[]>, skip: ReadonlySet<unknown>): void => {
    if (full !== undefined || node === null || typeof node !== 'object' || skip.has(node)) return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, names, skip);
      return;
    }
    const t = node as Term;
    if (isRef(t)) {
      const head = t.value[0];
      const rest = t.value.slice(1);
      const { keys } = constantKeys(rest);
      if (isVar(head, 'input')) {
        if (keys.length === 0) {
          full = rest.length === 0 ? 'reads input as a whole' : 'reads input[<variable>]';
          return;
        }
        whole.push(keys);
      } else if (isVar(head, 'data')) {
        readData(keys);
      } else if (isVar(head) && names.has(head.value)) {
        for (const a of names.get(head.value)!) whole.push([...a.path, ...keys]);
      } else {
        visit(head, names, skip);
      }
      for (const k of rest) visit(k, names, skip); // keys may hold references themselves: input.a[input.b]
      return;
    }
    if (isVar(t)) {
      // `input` or `data` outside a reference (the parser writes them as references, so this is a
      // shape we do not know): keep everything rather than guess.
      if (t.value === 'input') full = 'reads input as a whole';
      else if (t.value === 'data') readData([]);
      else for (const a of names.get(t.value) ?? []) whole.push(a.path);
      return;
    }
    for (const v of Object.values(node)) visit(v, names, skip);
  };

  for (const m of modules) {
    if (m === null || typeof m !== 'object') continue;
    for (const [key, part] of Object.entries(m)) {
      // The package clause names a place under data; it reads nothing.
      if (key === 'package') continue;
      if (key === 'imports' && Array.isArray(part)) {
        for (const imp of part) if (!aliasImports.has(imp)) visit(imp, shared, aliasImports);
        continue;
      }
      if (key !== 'rules' || !Array.isArray(part)) {
        visit(part, shared, aliasImports);
        continue;
      }
      for (const rule of part as RuleLike[]) {
        // A rule alias's head binds the name; only its reads elsewhere count.
        if (aliasRules.has(rule)) continue;
        // Local aliases: every `x := input...` in the rule, at any depth.
        const names = new Map(shared);
        const definitions = new Set<unknown>();
        const findLocal = (node: unknown): void => {
          if (node === null || typeof node !== 'object') return;
          if (Array.isArray(node)) {
            for (const n of node) findLocal(n);
            return;
          }
          const a = localAlias(node);
          if (a) {
            definitions.add(node);
            names.set(a.name, [...(names.get(a.name) ?? []), { path: a.path }]);
            present.push(a.path);
            return;
          }
          for (const v of Object.values(node)) findLocal(v);
        };
        findLocal(rule);
        visit(rule, names, definitions);
      }
    }
  }
  if (full !== undefined) return FULL(full);
  const selection = selectionOf(whole, present);
  return { selection, description: describe(selection) || 'nothing (the policy never reads input)' };
}

/**
 * Merges paths into a tree where a shorter path (a whole subtree) absorbs longer ones; `present`
 * paths are kept only as far as whether they exist (an empty map where nothing more is selected).
 */
export function selectionOf(paths: readonly string[][], present: readonly string[][] = []): InputSelection {
  const root = new Map<string, InputSelection>();
  for (const path of present) {
    let node: Map<string, InputSelection> = root;
    for (const key of path) {
      const existing = node.get(key);
      if (existing === true) break;
      const next = existing ?? new Map<string, InputSelection>();
      node.set(key, next);
      node = next;
    }
  }
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
  if (sel.size === 0 && prefix) return `${prefix} (whether it exists)`;
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
  if (sel === true) return jsonValue;
  const fields = [...sel].map(([key, s]) => ({ key, ...fieldPrefixes(key), write: selectionWriter(s) }));
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return jsonValue(value);
    let out = '';
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (!isEnumerableOwn.call(value, f.key)) continue;
      const json = f.write((value as Record<string, unknown>)[f.key]);
      if (json === undefined) continue;
      out = out === '' ? f.first + json : out + f.next + json;
    }
    return out === '' ? '{}' : `${out}}`;
  };
}

/**
 * A field's JSON written ahead: `{"key":` when it is the object's first, `,"key":` otherwise (a
 * writer then joins fewer strings per Check).
 */
export function fieldPrefixes(key: string): { first: string; next: string } {
  return { first: `{${JSON.stringify(key)}:`, next: `,${JSON.stringify(key)}:` };
}

/** `selectionWriter(sel)(value)`, for one-off use. */
export function selectedJson(value: unknown, sel: InputSelection): string | undefined {
  return selectionWriter(sel)(value);
}
