// Required literals of a regex (in the spirit of RE2's prefilter): a set of strings such that
// every match of the pattern contains at least one of them. The engine looks for the literals of
// many rules in one Aho-Corasick pass per value and runs a rule's regex only on values where one
// of its literals occurs: benign values then cost one pass, not one regex per rule.
//
// The literals are ASCII-folded to lowercase (the screen matches ASCII letters case-insensitively,
// so a set computed this way is a superset of what the pattern needs: sound whatever the (?i)).
// A pattern that can match without any literal of useful size (`.*`, `\w+`, a large class) has
// no set (null): its rule is not screened.
import { parse, Node, NodeKind } from "@meshward/sdk/assembly/regex/parser";

/** Most alternatives kept in an exact set (cross products beyond it fall back to a required set). */
const MAX_EXACT = 32;
/** Most literals a rule may contribute (a larger set screens out little and bloats the automaton). */
const MAX_LITERALS = 256;
/** Most members a character class may have to count as a set of one-unit literals. */
const MAX_CLASS = 12;
/** Exact strings are not grown beyond this length (longer runs become required sets). */
const MAX_EXACT_LEN = 16;

/**
 * What a node tells about the strings it matches: `exact` is the full set of strings it can
 * match (when small), else `required` is a set of which one occurs in every match (null: none).
 */
class Info {
  exact: string[] | null = null;
  required: string[] | null = null;
}

function exactInfo(set: string[]): Info {
  const i = new Info();
  i.exact = set;
  return i;
}

const ANY = new Info();

@inline function fold(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** The literals every match of `pattern` contains one of (folded to lowercase), or null. */
export function requiredLiterals(pattern: string, caseInsensitive: bool): string[] | null {
  const parsed = parse(pattern, caseInsensitive);
  if (parsed.root === null) return null;
  const info = analyze(parsed.root!);
  const set = required(info);
  if (set === null || set.length == 0 || set.length > MAX_LITERALS) return null;
  for (let i = 0; i < set.length; i++) if (set[i].length == 0) return null;
  return set;
}

/** Turns what a node knows into a required set (null: nothing required). */
function required(i: Info): string[] | null {
  if (i.exact !== null) {
    const e = i.exact!;
    for (let k = 0; k < e.length; k++) if (e[k].length == 0) return null;
    return e;
  }
  return i.required;
}

/** The better of two required sets for screening: the one with the longer shortest literal, then the smaller. */
function better(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  const ma = shortest(a), mb = shortest(b);
  if (ma != mb) return ma > mb ? a : b;
  return a.length <= b.length ? a : b;
}

function shortest(s: string[]): i32 {
  let m = i32.MAX_VALUE;
  for (let i = 0; i < s.length; i++) if (s[i].length < m) m = s[i].length;
  return m;
}

function dedup(s: string[]): string[] {
  const seen = new Set<string>();
  const out = new Array<string>();
  for (let i = 0; i < s.length; i++) if (!seen.has(s[i])) { seen.add(s[i]); out.push(s[i]); }
  return out;
}

function analyze(n: Node): Info {
  switch (n.kind) {
    case NodeKind.Empty:
    case NodeKind.Assert:
      return exactInfo([""]);
    case NodeKind.Char:
      return exactInfo([String.fromCharCode(fold(n.c))]);
    case NodeKind.Class: {
      const r = n.cls!.ranges;
      let size = 0;
      for (let k = 0; k < r.length; k += 2) size += r[k + 1] - r[k] + 1;
      if (size > MAX_CLASS * 2) return ANY;
      const set = new Array<string>();
      for (let k = 0; k < r.length; k += 2) for (let c = r[k]; c <= r[k + 1]; c++) set.push(String.fromCharCode(fold(c)));
      const d = dedup(set);
      return d.length > MAX_CLASS ? ANY : exactInfo(d);
    }
    case NodeKind.AnyChar:
    case NodeKind.AnyNotNL:
      return ANY;
    case NodeKind.Capture:
      return analyze(n.subs[0]);
    case NodeKind.Repeat: {
      if (n.max == 0) return exactInfo([""]);
      const sub = analyze(n.subs[0]);
      if (n.min == 0) {
        // x? is "" or x (exact when x is); x* and x{0,n} can be any run: nothing known.
        if (n.max == 1 && sub.exact !== null) {
          const set = [""];
          const e = sub.exact!;
          for (let k = 0; k < e.length; k++) set.push(e[k]);
          return exactInfo(dedup(set));
        }
        return ANY;
      }
      // x{1} is x; x{n,...} contains x at least once: what x requires, not exactly x.
      if (n.min == 1 && n.max == 1) return sub;
      const i = new Info();
      i.required = required(sub);
      return i;
    }
    case NodeKind.Alt: {
      const infos = new Array<Info>();
      for (let k = 0; k < n.subs.length; k++) infos.push(analyze(n.subs[k]));
      let allExact = true;
      let total = 0;
      for (let k = 0; k < infos.length; k++) {
        if (infos[k].exact === null) allExact = false;
        else total += infos[k].exact!.length;
      }
      if (allExact && total <= MAX_EXACT) {
        const set = new Array<string>();
        for (let k = 0; k < infos.length; k++) { const e = infos[k].exact!; for (let j = 0; j < e.length; j++) set.push(e[j]); }
        return exactInfo(dedup(set));
      }
      // Some branch must match: the union of what each requires (any branch requiring nothing: nothing).
      const union = new Array<string>();
      for (let k = 0; k < infos.length; k++) {
        const req = required(infos[k]);
        if (req === null) return ANY;
        for (let j = 0; j < req.length; j++) union.push(req[j]);
      }
      const i = new Info();
      i.required = dedup(union);
      return i;
    }
    case NodeKind.Concat: {
      // Exact strings are grown by cross product while small; when that stops, the run so far
      // becomes one candidate required set, and the best candidate of the whole concatenation wins.
      let best: string[] | null = null;
      let run: string[] | null = [""];
      let whole = true; // no node broke the run: the concatenation is exact
      for (let k = 0; k < n.subs.length; k++) {
        const sub = analyze(n.subs[k]);
        if (sub.exact !== null && run !== null) {
          const e = sub.exact!;
          const r = run!;
          if (r.length * e.length <= MAX_EXACT && longest(r) + longest(e) <= MAX_EXACT_LEN) {
            const next = new Array<string>();
            for (let a = 0; a < r.length; a++) for (let b = 0; b < e.length; b++) next.push(r[a] + e[b]);
            run = dedup(next);
            continue;
          }
        }
        // The run ends here: keep it as a candidate, and start afresh from this node.
        whole = false;
        if (run !== null) best = better(best, nonEmpty(run!));
        if (sub.exact !== null) {
          run = sub.exact;
        } else {
          best = better(best, sub.required);
          run = [""];
        }
      }
      if (run !== null) {
        // The whole concatenation is exact when nothing broke the run.
        if (whole) return exactInfo(run!);
        best = better(best, nonEmpty(run!));
      }
      const i = new Info();
      i.required = best;
      return i;
    }
  }
  return ANY;
}

function longest(s: string[]): i32 {
  let m = 0;
  for (let i = 0; i < s.length; i++) if (s[i].length > m) m = s[i].length;
  return m;
}

/** A run as a required set: null when one of its strings is empty (it requires nothing). */
function nonEmpty(s: string[]): string[] | null {
  for (let i = 0; i < s.length; i++) if (s[i].length == 0) return null;
  return s;
}
