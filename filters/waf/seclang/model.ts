// The compiled form of a SecLang rule set: what the parser produces and the engine runs.
import { Regex } from "@meshward/sdk/assembly/regex";
import { PhraseMatcher } from "../match/aho-corasick";
import { LiteralScreen } from "../match/screen";
import { CidrSet } from "@meshward/sdk/assembly";
import { TxPreset } from "../tx";

/** Variables (collections and scalars) a rule can inspect. */
export enum Var {
  ARGS, ARGS_NAMES, ARGS_GET, ARGS_GET_NAMES, ARGS_POST, ARGS_POST_NAMES, ARGS_COMBINED_SIZE,
  REQUEST_URI, REQUEST_URI_RAW, REQUEST_FILENAME, REQUEST_BASENAME, REQUEST_LINE, QUERY_STRING,
  REQUEST_METHOD, REQUEST_PROTOCOL, REQUEST_HEADERS, REQUEST_HEADERS_NAMES, REQUEST_COOKIES,
  REQUEST_COOKIES_NAMES, REQUEST_BODY, REQUEST_BODY_LENGTH, FILES, FILES_NAMES, REMOTE_ADDR, TX,
  MATCHED_VAR, MATCHED_VAR_NAME, MATCHED_VARS, MATCHED_VARS_NAMES, RESPONSE_STATUS,
  RESPONSE_HEADERS, RESPONSE_HEADERS_NAMES, RESPONSE_BODY, REQBODY_ERROR, REQBODY_PROCESSOR,
}

export const VAR_NAMES: string[] = [
  "ARGS", "ARGS_NAMES", "ARGS_GET", "ARGS_GET_NAMES", "ARGS_POST", "ARGS_POST_NAMES", "ARGS_COMBINED_SIZE",
  "REQUEST_URI", "REQUEST_URI_RAW", "REQUEST_FILENAME", "REQUEST_BASENAME", "REQUEST_LINE", "QUERY_STRING",
  "REQUEST_METHOD", "REQUEST_PROTOCOL", "REQUEST_HEADERS", "REQUEST_HEADERS_NAMES", "REQUEST_COOKIES",
  "REQUEST_COOKIES_NAMES", "REQUEST_BODY", "REQUEST_BODY_LENGTH", "FILES", "FILES_NAMES", "REMOTE_ADDR", "TX",
  "MATCHED_VAR", "MATCHED_VAR_NAME", "MATCHED_VARS", "MATCHED_VARS_NAMES", "RESPONSE_STATUS",
  "RESPONSE_HEADERS", "RESPONSE_HEADERS_NAMES", "RESPONSE_BODY", "REQBODY_ERROR", "REQBODY_PROCESSOR",
];

export function varByName(name: string): i32 {
  const upper = name.toUpperCase();
  for (let i = 0; i < VAR_NAMES.length; i++) if (VAR_NAMES[i] == upper) return i;
  return -1;
}

/** True for variables that hold many (name, value) pairs and take a `:key` selector. */
export function isCollection(v: i32): bool {
  return v == Var.ARGS || v == Var.ARGS_NAMES || v == Var.ARGS_GET || v == Var.ARGS_GET_NAMES ||
    v == Var.ARGS_POST || v == Var.ARGS_POST_NAMES || v == Var.REQUEST_HEADERS || v == Var.REQUEST_HEADERS_NAMES ||
    v == Var.REQUEST_COOKIES || v == Var.REQUEST_COOKIES_NAMES || v == Var.FILES || v == Var.FILES_NAMES ||
    v == Var.TX || v == Var.MATCHED_VARS || v == Var.MATCHED_VARS_NAMES || v == Var.RESPONSE_HEADERS ||
    v == Var.RESPONSE_HEADERS_NAMES;
}

/** One entry of a rule's variable list: `ARGS`, `ARGS:id`, `ARGS:/^id_/`, `&ARGS`, `!ARGS:id`. */
export class Target {
  variable: i32 = 0;
  /** Lowercased key for `:name` selectors; "" selects everything. */
  key: string = "";
  keyRegex: Regex | null = null;
  keyRegexSource: string = "";
  /** A TX target's key hash (tx.ts txHash), made by the phase plan. */
  keyHash: u32 = 0;
  count: bool = false;
  exclude: bool = false;

  private qualified: string | null = null;

  /** "VAR:key", made once (the name a match on a keyed target reports). */
  qualifiedName(): string {
    let q = this.qualified;
    if (q === null) { q = VAR_NAMES[this.variable] + ":" + this.key; this.qualified = q; }
    return q!;
  }

  describe(): string {
    let s = (this.exclude ? "!" : "") + (this.count ? "&" : "") + VAR_NAMES[this.variable];
    if (this.keyRegex !== null) s += ":/" + this.keyRegexSource + "/";
    else if (this.key.length > 0) s += ":" + this.key;
    return s;
  }
}

/** No parts: the text of every macro not given one (most rules have no logdata, chain links no msg). */
const NO_PARTS = new StaticArray<string>(0);

/**
 * A string with `%{...}` references, expanded per transaction. One array, shared when empty: the
 * ruleset holds ~1,700 macros, and each object is marked by every garbage collection.
 */
export class Macro {
  /** Literal text at even positions, references at odd ones ("" where two references or a reference and the end meet). */
  parts: StaticArray<string> = NO_PARTS;
  /** Whether parts[i] is a reference. */
  @inline static isRef(i: i32): bool { return (i & 1) != 0; }
  /** Whether it has no reference (its text is constantText()). */
  constant(): bool { return this.parts.length <= 1; }
  constantText(): string { return this.parts.length == 0 ? "" : this.parts[0]; }
  /** By part: the `TX:key` reference there, parsed (the engine fills it at first expansion; null: another part). */
  txRefs: StaticArray<TxRef | null> | null = null;
}

/** A macro's `%{TX:key}` reference: the key and its TX hash (tx.ts txHash). */
export class TxRef {
  constructor(readonly key: string, readonly hash: u32) {}
}

export enum Op {
  Rx, Pm, Contains, ContainsWord, BeginsWith, EndsWith, Streq, Eq, Ge, Gt, Le, Lt, Within, IpMatch,
  DetectSQLi, DetectXSS, ValidateByteRange, ValidateUrlEncoding, ValidateUtf8Encoding,
  UnconditionalMatch, NoMatch,
}

export class Operator {
  kind: i32 = Op.UnconditionalMatch;
  negated: bool = false;
  name: string = "unconditionalMatch";
  param: Macro = new Macro();
  regex: Regex | null = null;
  phrases: PhraseMatcher | null = null;
  cidrs: CidrSet | null = null;
  /** validateByteRange: allowed[byte]. */
  allowedBytes: StaticArray<bool> | null = null;
  /** The numeric operators' last parameter string and its value (a constant one is parsed once). */
  intParamText: string | null = null;
  intParam: i64 = 0;
}

export enum Disruptive { None, Pass, Block, Deny, Allow }

export enum SetVarOp { Set, Add, Subtract, Unset }

export class SetVar {
  /** The TX key (lowercase, after expansion). */
  name: Macro = new Macro();
  /** The key when `name` has no reference, lowercased (RuleSet.plan makes it): no expansion per run. */
  constKey: string | null = null;
  /** The value when `value` has no reference (RuleSet.plan makes it). */
  constValue: string | null = null;
  /** constKey's hash (tx.ts txHash). */
  constKeyHash: u32 = 0;
  /** The key depends on the match (%{MATCHED_VAR...}): it runs once per matched value. */
  perMatch: bool = false;
  op: i32 = SetVarOp.Set;
  value: Macro = new Macro();
}

export enum CtlKind { RuleEngine, RuleRemoveById, RuleRemoveByTag, RuleRemoveTargetById, RuleRemoveTargetByTag, RequestBodyAccess, RequestBodyProcessor }

export class Ctl {
  kind: i32 = 0;
  /** RuleEngine: 0 Off, 1 DetectionOnly, 2 On; RequestBodyAccess: 0/1. */
  mode: i32 = 0;
  idFrom: i32 = 0;
  idTo: i32 = 0;
  tag: string = "";
  target: Target | null = null;
  text: string = "";
}

export enum EngineMode { Off, DetectionOnly, On }

/**
 * Screen groups the engine keeps per value with a bit in a u64 (the rule set's first ones; see
 * engine.ts ValueTable.slotSetOf): the only ones a rule's gate or a multiMatch group may use.
 */
export const SCREEN_HINTED_GROUPS = 63;

/** Rule.actions: setvars that run once when the link matches. */
export const LINK_SETVARS: u8 = 1;
/** Rule.actions: setvars keyed by the match (perMatch), run for every matched value. */
export const LINK_MATCH_SETVARS: u8 = 2;
/** Rule.actions: ctl actions. */
export const LINK_CTLS: u8 = 4;

export class Rule {
  // The fields the engine reads for every link it runs (evaluatePhase, runRule, evalLink) come
  // first: fields are laid out in declaration order, so they share the object's first lines.
  // Rules lie scattered in memory, and a request runs about a hundred of them.
  /**
   * Bit v set when a target reads variable v (exclusions aside); ~0 when a target always gives
   * an entry (a count `&VAR`). Filled by the phase plan: a link none of whose variables has an
   * entry in this request inspects nothing and cannot match (Transaction.present).
   */
  targetVars: u64 = 0;
  /**
   * The screen group (RuleSet.screenGroup* index, -1: none: the rules of one transformation list)
   * holding this link's required literals, and its slot in RuleSet.screen: the operator runs
   * only on values where one of them occurs.
   */
  screenId: i32 = -1;
  screenSlot: i32 = 0;
  /** The link's one target when it is a plain TX key with no transformation, no multiMatch, no exclusion (the engine's direct path). */
  txKeyTarget: Target | null = null;
  /** txKeyTarget's key, its hash and whether it is a count (`&TX:k`), kept here by the phase plan: the Target is read only on a match. */
  txKey: string = "";
  txKeyHash: u32 = 0;
  txKeyCount: bool = false;
  /**
   * The link's one target's header name when it is a plain request header (`REQUEST_HEADERS:Host`)
   * and its parameter is constant, kept by the phase plan: a value whose verdict is known to give
   * no match is answered from the name index and the verdict, without a list.
   */
  headerKey: string | null = null;
  /** Small id of targetKey (0: not shared), indexing the engine's per-phase collections. */
  targetId: i32 = 0;
  /** targets.length, kept by the phase plan (prepareLink): read without the array. */
  targetCount: i32 = 0;
  /** Whether the targets give a few entries at most (scalars, counts, keyed entries): collected per rule, not shared (prepareLink). */
  fewTargets: bool = false;
  multiMatch: bool = false;
  /** Filled by the phase plan (PhasePlan) at first use: whether op.param has no reference (paramText is its text then). */
  paramConstant: bool = false;
  capture: bool = false;
  log: bool = true;
  /** LINK_SETVARS, LINK_MATCH_SETVARS and LINK_CTLS bits, kept by the phase plan: a link without them is not looked into. */
  actions: u8 = 0;
  op: Operator = new Operator();
  /** op.param's text when paramConstant. */
  paramText: string = "";
  /** Identifies the transformation list (equal lists share an id): the engine's cache key. */
  transformChain: i32 = 0;
  /** The engine's index for this link's cached per-value verdicts (-1 until first used). */
  verdictSlot: i32 = -1;
  transforms: i32[] = [];
  /**
   * For @rx rules that share their transformations with others (whatever their targets): one regex that
   * is the alternation of the whole group. When it does not match a value, no rule of the
   * group can, so benign values cost one pass per group instead of one per rule.
   */
  prefilter: Regex | null = null;
  /**
   * multiMatch rules (not screened): the unit sets of the rule's required literals (see
   * summary.ts literalMasks); a form of a value holding none of them is not run. @detectXSS and
   * @detectSQLi (not negated): the unit sets of their cues (one of which every value they flag
   * holds); a value no form of which can hold one is no match. Null: no test.
   */
  literalMasks: Uint64Array | null = null;
  setvars: SetVar[] = [];
  ctls: Ctl[] = [];
  /** The next link of a chain (its own id is 0). */
  chained: Rule | null = null;
  skip: i32 = 0;
  disruptive: i32 = Disruptive.None;
  /** Whether any target is an exclusion (`!ARGS:x`). */
  hasExclusions: bool = false;
  targets: Target[] = [];
  id: i32 = 0;
  phase: i32 = 2;
  line: i32 = 0;
  /** Non-empty for a SecMarker. */
  marker: string = "";
  prefilterId: i32 = 0;
  /** The link's screen literals, extracted when it was parsed (screenLiteralsKnown); dropped once the screens are built. */
  screenLiterals: string[] | null = null;
  screenLiteralsKnown: bool = false;
  /**
   * For a link with no literal but a set of units one of which every matching value holds
   * (@validateByteRange: a byte outside the ranges), those units as summary bits (summary.ts;
   * 0, 0: none): the screen gives its slot from a value's summary (LiteralScreen.addUnitSlot).
   */
  screenUnitsLo: u64 = 0;
  screenUnitsHi: u64 = 0;
  /** Whether the screen gives this link a unit slot (screenUnitsLo/Hi) rather than a literal slot. */
  hasUnitSlot(): bool { return (this.screenUnitsLo | this.screenUnitsHi) != 0; }
  /** multiMatch: the transformation list ids of every prefix of `transforms` (the engine fills it on first use). */
  prefixChains: i32[] | null = null;
  /** The target list as text (rules with equal lists share their collected values within a phase); "" when not shareable (TX, MATCHED_*). */
  targetKey: string = "";
  status: i32 = 0;
  auditlog: bool = true;
  msg: Macro = new Macro();
  logdata: Macro = new Macro();
  severity: string = "";
  tags: string[] = [];
  ver: string = "";
  skipAfter: string = "";
  /** The head of this rule's chain (itself for a head). */
  isChainLink: bool = false;
  removed: bool = false;
}

/**
 * The rules of each phase in order, with skipAfter jumps resolved to positions: the engine walks
 * one phase's rules instead of every rule and marker of the set (built at first use, by the engine).
 */
export class PhasePlan {
  /** By phase (1..5): the rules of that phase (heads), in the set's order. */
  rules: Array<Rule[]> = [];
  /**
   * How many of phase 1's first rules read nothing but TX and leave nothing but TX and the last
   * match (the ruleset's set-up: paranoia level, thresholds, policy lists): from an empty TX they
   * give the same outcome in every transaction, computed once (`preset`, engine).
   */
  presetRules: i32 = 0;
  /** Their outcome, once a transaction computed it. */
  preset: TxPreset | null = null;
  /**
   * Later rules that test one TX key only the set-up rules write, with a constant parameter: their
   * first link's outcome is the same in every transaction, settled with `preset` ((phase << 24) |
   * position). One that cannot match is passed over by its gate; one that always matches and does
   * nothing but match and skip (the paranoia-level skips) is marked in its gate as such.
   */
  settleable: i32[] = [];
  /**
   * Rule links after the set-up ones whose parameter refers only to TX keys no later rule writes
   * (`!@within %{tx.allowed_methods}`): settled with `preset` into a constant parameter, so their
   * verdicts are kept per value like any constant one's.
   */
  settleableParams: Rule[] = [];
  /** By phase, for the rules settled as always matching: (MATCHED_VAR_NAME, MATCHED_VAR) at 2 * position. */
  settledMatches: Array<StaticArray<string> | null> = [];
  /** By phase, by position: where evaluation goes on after the rule matched and its skipAfter applied (-1: it has none). */
  skipTo: Array<i32[]> = [];
  /** By phase, by position: where evaluation goes on after the rule matched (its skipAfter, then its `skip:N`, applied): read without the Rule. */
  jumpTo: Array<StaticArray<i32>> = [];
  /**
   * By phase, one word per rule: what the engine needs to pass over a rule whose first link
   * inspects nothing in this request without reading the Rule (rules lie scattered in memory, and
   * most are passed over): (varList << 48) | (varset << 32) | (Rule.screenSlot << 8) |
   * (Rule.screenId + 1). `varList` indexes the link's Rule.targetVars (every bit for a SecAction)
   * in `varLists`. The rest is its screen gate, when the engine may answer "no match" from the
   * screen alone (Transaction.literalMayOccur), else 0: `varset` is the index of its
   * Rule.targetVars in `varsets`.
   */
  gates: Array<StaticArray<u64>> = [];
  /** The distinct variable sets of the rules (few): what a gate's varList index names. */
  varLists: StaticArray<u64> = new StaticArray<u64>(0);
  /**
   * The distinct Rule.targetVars of the gated rules (most share a few lists of variables): the
   * engine keeps each one's slot union per request, so a gate is one bit test after the first.
   */
  varsets: u64[] = [];
  /**
   * By `varsets` index: the targets that limit by key which entries the gated rules with that
   * index inspect (engine.ts gateKeyFilter: `REQUEST_HEADERS:User-Agent` without a whole
   * `REQUEST_HEADERS`, `!REQUEST_HEADERS:Referer`), or null. When the union holds such a rule's
   * slot, the engine checks that an entry it inspects holds it: a value only other keys hold (a
   * Cookie header full of `;` for a rule reading the User-Agent) does not run the rule. Rules
   * with other targets share the plain varset.
   */
  varsetKeyFilters: Array<StaticArray<Target> | null> = [];
  /**
   * By variable: the screen groups (bit g, hinted groups only) of the links the engine may answer
   * from the screen alone that read it, chained links too: the groups whose slots
   * Transaction.literalMayOccur needs over that variable's entries.
   */
  groupsByVar: StaticArray<u64> = new StaticArray<u64>(64);
  /** The RuleSet.rules array it was made for (a set whose list changed gets a new plan). */
  madeFor: Rule[] = [];
  /**
   * By phase, one byte per rule: not 0 when whether the rule's first link (1), or its whole
   * chain (2), matches depends on the request's shape alone (engine.ts shapeKindOf: links that
   * read only the method, protocol, file name and base name and headers by key, with a constant
   * parameter). Most requests repeat the shape of one before (the same client sends the same
   * headers), so such a rule known not to match with that shape is not run again (`missAt`).
   */
  shapeRules: Array<StaticArray<u8>> = [];
  /** By phase and position: the shape (`shapeSerial`) with which the rule last did not match; 0: none. */
  missAt: Array<Int32Array> = [];
  /** By phase, at 2 * position: what that miss left, (MATCHED_VAR_NAME, MATCHED_VAR) of a chain whose first link matched; null when that link did not. */
  missResidue: Array<StaticArray<string | null>> = [];
  /** What a shape is made of: the (lowercase) header keys and the scalar variables the shape rules read. */
  shapeKeys: string[] = [];
  shapeScalars: i32[] = [];
  /** The last shape seen: the value table's generation, then value ids (engine.ts requestShape); empty before the first. */
  lastShape: i32[] = [];
  /** Numbers the distinct shapes seen one after another (a new one each time the shape changes). */
  shapeSerial: i32 = 0;
}

/** Disruptive action, log flags and transformations a SecDefaultAction gives rules of a phase. */
export class PhaseDefaults {
  disruptive: i32 = Disruptive.Pass;
  status: i32 = 0;
  log: bool = true;
  auditlog: bool = true;
  transforms: i32[] = [];
}

export enum BodyLimitAction { Reject, ProcessPartial }

export class RuleSet {
  rules: Rule[] = [];
  /** The per-phase plan of `rules` (the engine makes it at first use). */
  plan: PhasePlan | null = null;
  /** @rx groups compiled into one alternation each, and the rules they cover (for the load log). */
  prefilterGroups: i32 = 0;
  /** Distinct shared target lists (Rule.targetId runs 1..targetLists). */
  targetLists: i32 = 0;
  /**
   * By targetId: the shared list whose targets are the first targetPrefixTargets[id] targets of
   * this one (0: none), whose collected entries this list starts with.
   */
  targetPrefix: i32[] = [0];
  targetPrefixTargets: i32[] = [0];
  /** Distinct transformation lists and their prefixes (Rule.transformChain runs 1..transformChains; 0 is the empty list). */
  transformChains: i32 = 0;
  /** By transformation list id: the id of the list without its last transformation (0: empty). */
  chainParent: i32[] = [0];
  /** By transformation list id: its last transformation (-1 for the empty list). */
  chainLast: i32[] = [-1];
  prefilteredRules: i32 = 0;
  /**
   * The literal screen: the required literals of every screened rule, whatever its transformation
   * list, in one automaton (one pass per distinct form of a value, shared by all lists that leave
   * it in that form). Null when no rule is screened.
   */
  screen: LiteralScreen | null = null;
  /**
   * By screen group (the screened rules of one transformation list): the list whose result its
   * screen reads (the rules' own, without the case steps the screen's case folding makes
   * needless; parser.ts screenFormOf), and its slots [start, end) in the screen (contiguous).
   */
  screenGroupChain: i32[] = [];
  screenGroupStart: i32[] = [];
  screenGroupEnd: i32[] = [];
  /**
   * By screen group: null for a group of one form; for a group of multiMatch rules, the lists
   * whose results its screen reads (screenFormOf of each prefix of the rules' list, the empty one
   * included): such a rule runs its operator on each of those forms, so a literal in any of them
   * counts. Only the first SCREEN_HINTED_GROUPS groups are of this kind.
   */
  screenGroupForms: Array<StaticArray<i32> | null> = [];
  /** Rule links screened by literals. */
  screenedRules: i32 = 0;
  /** Rule.verdictSlot values handed out so far (by the engine, on first use). */
  verdictSlots: i32 = 0;
  engineMode: i32 = EngineMode.On;
  requestBodyAccess: bool = false;
  requestBodyLimit: i32 = 131072;
  requestBodyLimitAction: i32 = BodyLimitAction.Reject;
  responseBodyAccess: bool = false;
  responseBodyLimit: i32 = 524288;
  responseBodyLimitAction: i32 = BodyLimitAction.ProcessPartial;
  responseBodyMimeTypes: string[] = ["text/plain", "text/html"];
  /** Defaults per phase (index 1..5). */
  defaults: PhaseDefaults[] = [new PhaseDefaults(), new PhaseDefaults(), new PhaseDefaults(), new PhaseDefaults(), new PhaseDefaults(), new PhaseDefaults()];

  findById(id: i32): Rule | null {
    for (let i = 0; i < this.rules.length; i++) if (this.rules[i].id == id && this.rules[i].marker.length == 0) return this.rules[i];
    return null;
  }
}
