// Required literals of a regex (in the spirit of RE2's prefilter): a set of strings such that
// every match of the pattern contains at least one of them. The engine looks for the literals of
// many rules in one Aho-Corasick pass per value and runs a rule's regex only on values where one
// of its literals occurs: benign values then cost one pass, not one regex per rule.
//
// The literals are ASCII-folded to lowercase, and the tab, vertical tab and form feed to the
// space: the screen matches ASCII letters case-insensitively and takes a space in a literal for
// any of the four, so a set computed this way is a superset of what the pattern needs, sound
// whatever the (?i). `\s` is then three units (space, \n, \r), few enough that runs such as
// `sh\s+` make literals ("sh "). Line breaks stay apart: rare in values, they screen well.
// A pattern that can match without any literal of useful size (`.*`, `\w+`, a large class) has
// no set (null): its rule is not screened.
import { parse, Node, NodeKind } from "@meshward/sdk/assembly/regex/parser";
import { LETTER_PERCENT, LETTERS_BY_FREQUENCY } from "../summary";

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
 * match (when small), else `required` is a set of which one occurs in every match (null: none),
 * and `starts` / `ends` sets one of which every match starts / ends with (null: none known), so
 * a concatenation can join the literals before and after such a node (`sh\s+-` holds "sh " and " -").
 */
class Info {
  exact: string[] | null = null;
  required: string[] | null = null;
  starts: string[] | null = null;
  ends: string[] | null = null;
}

/** What every match of the node starts with (its exact set when it has one). */
function startsOf(i: Info): string[] | null {
  return i.exact !== null ? i.exact : i.starts;
}

/** What every match of the node ends with (its exact set when it has one). */
function endsOf(i: Info): string[] | null {
  return i.exact !== null ? i.exact : i.ends;
}

function exactInfo(set: string[]): Info {
  const i = new Info();
  i.exact = set;
  return i;
}

const ANY = new Info();

@inline function fold(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c + 32;
  return c == 0x09 || c == 0x0b || c == 0x0c ? 0x20 : c;
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

/**
 * The better of two required sets for screening: the one ordinary values hold less often (see
 * setCost), then the smaller. The screen lets a value through to the rule when it holds any
 * literal of the set, so a set of rare units screens out more than a longer set of common ones
 * (`|` against `sh`, which ordinary words such as "shoes" hold).
 */
function better(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  // A set too large to screen with is no set at all (requiredLiterals).
  if ((a.length > MAX_LITERALS) != (b.length > MAX_LITERALS)) return a.length > MAX_LITERALS ? b : a;
  const ca = setCost(a), cb = setCost(b);
  if (ca != cb) return ca < cb ? a : b;
  return a.length <= b.length ? a : b;
}

/** Roughly how often a value of ordinary requests holds one of the set's literals at a given place: the sum of literalCost. */
function setCost(s: string[]): f64 {
  let sum = 0.0;
  for (let i = 0; i < s.length; i++) sum += literalCost(s[i]);
  return sum;
}

/** The product of the units' shares of ordinary text (unitShare), as if each were drawn on its own, but a word's second letter (below). */
function literalCost(s: string): f64 {
  let p = 1.0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // The second letter of a word begun after a space: words are not random letters, and the
    // common beginnings are far likelier than two shares (" sh" begins "shoes", "shop", "show").
    const wordSecond = i >= 2 && isLetter(c) && isLetter(s.charCodeAt(i - 1)) && s.charCodeAt(i - 2) == 0x20;
    p *= wordSecond ? WORD_SECOND_LETTER : unitShare(c);
  }
  return p;
}

/** The chance of a given second letter in a word, for the common beginnings (about 1 in 4). */
const WORD_SECOND_LETTER: f64 = 0.25;

@inline function isLetter(c: i32): bool {
  return c >= 0x61 && c <= 0x7a;
}

/**
 * An estimate of unit c's share of ordinary request values (a folded literal's unit): letters
 * by English frequency, digits, the space, then punctuation in three tiers: what forms, paths,
 * dates and JSON use often, what prose uses, and what ordinary values almost never hold (the
 * shell's and templates' metacharacters). Only the order of the estimates matters much.
 */
function unitShare(c: i32): f64 {
  if (c >= 0x61 && c <= 0x7a) return 0.6 * LETTER_PERCENT[LETTERS_BY_FREQUENCY.indexOf(String.fromCharCode(c))] / 100.0;
  if (c >= 0x30 && c <= 0x39) return 0.012;
  if (c == 0x20) return 0.06;
  // Line breaks: in bodies, rarely in a value (tabs and feeds are folded to the space).
  if (c == 0x0a || c == 0x0d) return 0.001;
  if (c >= 0x80) return 0.0005;
  if (c < 0x20 || c == 0x7f) return 0.0001;
  if ("./-_,:=&+%".indexOf(String.fromCharCode(c)) >= 0) return 0.006;
  if (";()'\"?#@!*".indexOf(String.fromCharCode(c)) >= 0) return 0.002;
  return 0.0005; // | ` $ { } < > \ ^ ~ [ ]
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
      // x{1} is x; x{n,...} contains x at least once: what x requires, not exactly x, and
      // starts and ends as x does.
      if (n.min == 1 && n.max == 1) return sub;
      const i = new Info();
      i.required = required(sub);
      i.starts = startsOf(sub);
      i.ends = endsOf(sub);
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
      // Some branch must match: the union of what each requires (any branch requiring nothing:
      // nothing), and of what each starts and ends with.
      const union = new Array<string>();
      for (let k = 0; k < infos.length; k++) {
        const req = required(infos[k]);
        if (req === null) return ANY;
        for (let j = 0; j < req.length; j++) union.push(req[j]);
      }
      const i = new Info();
      i.required = dedup(union);
      i.starts = unionOf(infos, true);
      i.ends = unionOf(infos, false);
      return i;
    }
    case NodeKind.Concat: {
      // Exact strings are grown by cross product while small; when that stops, the run so far
      // becomes one candidate required set, and the best candidate of the whole concatenation
      // wins. A node that is not exact first grows the run by what it starts with, and the next
      // run starts from what it ends with.
      let best: string[] | null = null;
      let run: string[] = [""];
      let head: string[] | null = null; // the run at the first break: what every match starts with
      for (let k = 0; k < n.subs.length; k++) {
        const sub = analyze(n.subs[k]);
        if (sub.exact !== null) {
          const e = sub.exact!;
          if (fits(run, e)) { run = crossed(run, e); continue; }
          // The run ends here: keep it as a candidate, and start afresh from this node.
          if (head === null) head = run;
          best = better(best, nonEmpty(run));
          run = e;
          continue;
        }
        let grown = run;
        const starts = sub.starts;
        if (starts !== null && fits(run, starts)) grown = crossed(run, starts);
        if (head === null) head = grown;
        best = better(best, nonEmpty(grown));
        best = better(best, sub.required);
        run = sub.ends !== null ? sub.ends! : [""];
      }
      // The whole concatenation is exact when nothing broke the run.
      if (head === null) return exactInfo(run);
      best = better(best, nonEmpty(run));
      const i = new Info();
      i.required = best;
      i.starts = head;
      i.ends = run;
      return i;
    }
  }
  return ANY;
}

/** Whether the cross product of a run and an exact set stays small enough to keep. */
function fits(run: string[], e: string[]): bool {
  return run.length * e.length <= MAX_EXACT && longest(run) + longest(e) <= MAX_EXACT_LEN;
}

/** Every string of `run` followed by every string of `e`. */
function crossed(run: string[], e: string[]): string[] {
  const next = new Array<string>();
  for (let a = 0; a < run.length; a++) for (let b = 0; b < e.length; b++) next.push(run[a] + e[b]);
  return dedup(next);
}

/** The union of the branches' starts (or ends), when every branch has one and it stays small; else null. */
function unionOf(infos: Info[], starts: bool): string[] | null {
  const all = new Array<string>();
  for (let k = 0; k < infos.length; k++) {
    const set = starts ? startsOf(infos[k]) : endsOf(infos[k]);
    if (set === null) return null;
    for (let j = 0; j < set.length; j++) all.push(set[j]);
  }
  const u = dedup(all);
  return u.length <= MAX_EXACT ? u : null;
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
