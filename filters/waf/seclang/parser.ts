// SecLang directives → RuleSet. Everything the engine cannot honour is rejected with the line,
// the rule id and the reason; nothing is silently ignored except the few directives listed in
// ACCEPTED_NO_EFFECT (logging/tuning knobs of ModSecurity that have no meaning here).
import { compileRegex, lastRegexError } from "@meshward/sdk/assembly/regex";
import { PhraseMatcher } from "../match/aho-corasick";
import { LiteralScreen } from "../match/screen";
import { requiredLiterals } from "./literals";
import { byteRangeUnits, literalMasks } from "../summary";
import { XSS_NECESSARY_UNITS } from "../match/xss";
import { sqliCueList } from "../match/sqli";
import { Cidr, CidrSet } from "@meshward/sdk/assembly";
import { lexSecLang, Directive, LexResult } from "./lexer";
import { Transform, transformByName } from "../transforms";
import {
  BodyLimitAction, Ctl, CtlKind, Disruptive, EngineMode, isCollection, Macro, Op, Operator, Rule,
  RuleSet, SCREEN_HINTED_GROUPS, SetVar, SetVarOp, Target, Var, varByName,
} from "./model";
import { lowerBytes, parseIntOr } from "../bytes";

const ACCEPTED_NO_EFFECT: string[] = [
  "SecComponentSignature", "SecRequestBodyInMemoryLimit", "SecRequestBodyNoFilesLimit",
  "SecPcreMatchLimit", "SecPcreMatchLimitRecursion", "SecAuditEngine", "SecAuditLogParts",
  "SecAuditLogRelevantStatus", "SecDebugLogLevel", "SecCollectionTimeout",
];

class Deferred {
  constructor(public line: i32, public name: string, public args: string[]) {}
}

/** Builds one RuleSet from one or more SecLang texts (the bundled rules, the user's, exclusions). */
export class SecLangParser {
  ruleSet: RuleSet = new RuleSet();
  error: string = "";
  dataFiles: Map<string, string>;
  private source: string = "";
  private deferred: Deferred[] = [];
  private ids: Set<i32> = new Set<i32>();
  private pendingChain: Rule | null = null;
  prefilterFailures: i32 = 0;
  /** The bundled ruleset's paranoia level (0: unknown); only used to size prefilter groups. */
  paranoiaHint: i32 = 0;
  private pendingChainTail: Rule | null = null;

  constructor(dataFiles: Map<string, string> = new Map<string, string>()) {
    this.dataFiles = dataFiles;
  }

  /** Parses one text; `source` names it in errors ("rules", "bundled ruleset", ...). False on error. */
  parse(text: string, source: string): bool {
    if (!this.begin(text, source)) return false;
    while (this.parsing()) if (!this.parseSome(i32.MAX_VALUE)) return false;
    return true;
  }

  // A text can also be parsed a few directives at a time (begin, then parseSome until parsing()
  // is false), so a caller can free the garbage of each step before the next (config.ts). All
  // the state between steps is in fields.
  private lexed: LexResult | null = null;
  private nextDirective: i32 = 0;

  /** Lexes a text to parse with `parseSome`; false on error. */
  begin(text: string, source: string): bool {
    this.source = source;
    const lexed = lexSecLang(text);
    if (lexed.error.length > 0) return this.fail(lexed.error);
    this.lexed = lexed;
    this.nextDirective = 0;
    return true;
  }

  /** Whether the text begun has directives left (or its end is still to be checked). */
  parsing(): bool {
    return this.lexed !== null;
  }

  /** Parses up to `count` more directives of the text begun, and checks its end after the last; false on error. */
  parseSome(count: i32): bool {
    const lexed = this.lexed!;
    const n = lexed.directives.length;
    for (; count > 0 && this.nextDirective < n; count--) {
      if (!this.directive(lexed.directives[this.nextDirective++])) return false;
    }
    if (this.nextDirective < n) return true;
    this.lexed = null;
    if (this.pendingChain !== null) {
      return this.fail("rule id " + this.pendingChain!.id.toString() + " (line " + this.pendingChain!.line.toString() + "): `chain` but no rule follows");
    }
    return true;
  }

  /** Applies removals and target updates (they act on every rule, wherever they appear). */
  finish(): RuleSet | null {
    if (this.error.length > 0) return null;
    for (let i = 0; i < this.deferred.length; i++) {
      const d = this.deferred[i];
      if (!this.applyDeferred(d)) return null;
    }
    // Chain ids for the transformation cache, and exclusion flags (targets may have been updated).
    // Every prefix of a transformation list gets an id too (its parent), so lists that start
    // alike share the work: the engine computes a list's result from its parent's.
    const chains = new Map<string, i32>();
    chains.set("", 0);
    const rs = this.ruleSet;
    rs.chainParent = [0];
    rs.chainLast = [-1];
    const targetIds = new Map<string, i32>();
    /** By targetId - 1: a rule link with that target list. */
    const listRules = new Array<Rule>();
    for (let i = 0; i < this.ruleSet.rules.length; i++) {
      let r: Rule | null = this.ruleSet.rules[i];
      while (r !== null) {
        r.transformChain = internChain(rs, chains, r.transforms);
        r.hasExclusions = false;
        for (let t = 0; t < r.targets.length; t++) if (r.targets[t].exclude) r.hasExclusions = true;
        let tk = "";
        for (let t = 0; t < r.targets.length; t++) {
          const v = r.targets[t].variable;
          if (v == Var.TX || v == Var.MATCHED_VAR || v == Var.MATCHED_VAR_NAME || v == Var.MATCHED_VARS || v == Var.MATCHED_VARS_NAMES) { tk = ""; break; }
          tk += r.targets[t].describe() + "|";
        }
        r.targetKey = tk;
        if (tk.length > 0) {
          if (!targetIds.has(tk)) { targetIds.set(tk, targetIds.size + 1); listRules.push(r); }
          r.targetId = targetIds.get(tk);
        }
        r = r.chained;
      }
    }
    this.ruleSet.targetLists = targetIds.size;
    this.notePrefixLists(targetIds, listRules);
    this.buildScreens(chains);
    this.ruleSet.transformChains = chains.size - 1;
    this.buildPrefilters();
    const kept = new Array<Rule>();
    for (let i = 0; i < this.ruleSet.rules.length; i++) if (!this.ruleSet.rules[i].removed) kept.push(this.ruleSet.rules[i]);
    this.ruleSet.rules = kept;
    return this.ruleSet;
  }

  /**
   * For each shared target list, the longest other shared list its targets start with (e.g.
   * `REQUEST_COOKIES|...|ARGS` for `REQUEST_COOKIES|...|ARGS|REQUEST_FILENAME`), when the rest
   * of its targets has no exclusion (an exclusion applies to every target of its variable, so it
   * would change what the first part collects). The engine then starts the longer list from the
   * shorter one's entries instead of collecting them again (RuleSet.targetPrefix).
   */
  private notePrefixLists(targetIds: Map<string, i32>, listRules: Rule[]): void {
    const rs = this.ruleSet;
    rs.targetPrefix = new Array<i32>(listRules.length + 1).fill(0);
    rs.targetPrefixTargets = new Array<i32>(listRules.length + 1).fill(0);
    for (let l = 0; l < listRules.length; l++) {
      const r = listRules[l];
      const n = r.targets.length;
      let key = "";
      let best = 0, bestTargets = 0;
      for (let k = 0; k < n - 1; k++) {
        key += r.targets[k].describe() + "|";
        if (targetIds.has(key)) { best = targetIds.get(key); bestTargets = k + 1; }
      }
      if (best == 0) continue;
      let tailExcludes = false;
      for (let t = bestTargets; t < n; t++) if (r.targets[t].exclude) tailExcludes = true;
      if (tailExcludes) continue;
      rs.targetPrefix[r.targetId] = best;
      rs.targetPrefixTargets[r.targetId] = bestTargets;
    }
  }

  /**
   * The literal screen: one automaton with the required literals of every screened rule (@rx
   * from its regex, @pm its phrases, @contains & co. the parameter), so one pass over a form of a
   * value tells which rules can match it at all. Slots are grouped by transformation list (a
   * group's rules read the same form); multiMatch rules form groups of their own, whose screen
   * reads every form their operator runs on (RuleSet.screenGroupForms). Rules whose match needs
   * no literal (or negated, or with a macro parameter) are not screened.
   */
  private buildScreens(chains: Map<string, i32>): void {
    // Keyed by the list, or -1 - the list for multiMatch rules.
    const byChain = new Map<i32, Rule[]>();
    const litsOf = new Map<Rule, string[]>();
    const order = new Array<i32>();
    for (let i = 0; i < this.ruleSet.rules.length; i++) {
      let r: Rule | null = this.ruleSet.rules[i];
      while (r !== null) {
        const noted = r.screenLiterals;
        r.screenLiterals = null; // only needed here
        if (!r.removed && r.targets.length > 0 && this.screenable(r)) {
          let lits = r.screenLiteralsKnown ? noted : screenLiterals(r.op);
          if (lits === null && r.hasUnitSlot()) lits = NO_LITERALS; // a unit slot
          if (lits !== null) {
            const key = r.multiMatch ? -1 - r.transformChain : r.transformChain;
            if (!byChain.has(key)) { byChain.set(key, new Array<Rule>()); order.push(key); }
            byChain.get(key).push(r);
            litsOf.set(r, lits);
          }
        }
        r = r.chained;
      }
    }
    if (order.length == 0) return;
    const sc = new LiteralScreen();
    const rs = this.ruleSet;
    for (let k = 0; k < order.length; k++) {
      const key = order[k];
      const members = byChain.get(key);
      const multi = key < 0;
      // The engine keeps a multiMatch group's forms per value only for the first groups; past
      // them its rules stay unscreened (each form is then tested by its summary alone).
      if (multi && rs.screenGroupChain.length >= SCREEN_HINTED_GROUPS) continue;
      const chain = multi ? -1 - key : key;
      const g = rs.screenGroupChain.length;
      rs.screenGroupChain.push(internChain(rs, chains, screenFormOf(rs, chain)));
      rs.screenGroupForms.push(multi ? prefixScreenForms(rs, chains, chain) : null);
      rs.screenGroupStart.push(sc.slots);
      for (let m = 0; m < members.length; m++) {
        const r = members[m];
        r.screenSlot = r.hasUnitSlot() ? sc.addUnitSlot(r.screenUnitsLo, r.screenUnitsHi) : sc.add(litsOf.get(r));
        r.screenId = g;
        rs.screenedRules++;
      }
      rs.screenGroupEnd.push(sc.slots);
    }
    if (sc.slots == 0) return;
    sc.build();
    rs.screen = sc;
  }

  /** Groups @rx rules by transformation list and compiles each group's alternation. */
  private buildPrefilters(): void {
    const groups = new Map<string, Rule[]>();
    const order = new Array<string>();
    for (let i = 0; i < this.ruleSet.rules.length; i++) {
      let r: Rule | null = this.ruleSet.rules[i];
      while (r !== null) {
        if (!r.removed && r.op.kind == Op.Rx && !r.op.negated && !r.multiMatch && r.targetKey.length > 0 && r.targets.length > 0 && r.screenId < 0 &&
            !this.aboveParanoia(r)) {
          // Keyed by the transformation list alone: a group's verdict is about a value, whatever
          // the list holding it, so rules on different targets still share one pass per value.
          const key = r.transformChain.toString();
          if (!groups.has(key)) { groups.set(key, new Array<Rule>()); order.push(key); }
          groups.get(key).push(r);
        }
        r = r.chained;
      }
    }
    let id = 0;
    for (let g = 0; g < order.length; g++) {
      const members = groups.get(order[g]);
      if (members.length < 3) continue;
      let pattern = "";
      for (let m = 0; m < members.length; m++) pattern += (m > 0 ? "|" : "") + "(?:" + members[m].op.param.constantText() + ")";
      const re = compileRegex(pattern, false);
      if (re === null) { this.prefilterFailures++; continue; } // too large: the rules run one by one
      id++;
      this.ruleSet.prefilterGroups = id;
      this.ruleSet.prefilteredRules += members.length;
      for (let m = 0; m < members.length; m++) { members[m].prefilter = re; members[m].prefilterId = id; }
    }
  }

  /** Whether a rule link may be screened by its literals (removal and targets aside, which deferred directives may change). */
  private screenable(r: Rule): bool {
    return !r.op.negated && r.op.param.constant() && !this.aboveParanoia(r);
  }

  /**
   * Extracts a rule link's screen literals when it is parsed (the regex analysis leaves much
   * garbage; done here, it is freed with the directive's step rather than piling up in finish).
   * Depends only on what the link's own directive set.
   */
  private noteScreenLiterals(r: Rule): void {
    // The tokenizing detectors match only values holding one of their cues: the engine tests the
    // character sets of the cues against what a value's form may hold (summary.ts) and computes
    // no form, and runs no detector, for a value that cannot hold one (most values).
    if (!r.op.negated && (r.op.kind == Op.DetectXSS || r.op.kind == Op.DetectSQLi)) {
      const cues = r.op.kind == Op.DetectXSS ? XSS_NECESSARY_UNITS.split("") : sqliCueList();
      r.literalMasks = r.op.kind == Op.DetectXSS ? literalMasks(cues) : literalMasks(cues, 64);
      // The cues are literals too (lowercase, matched case-insensitively like the screen's): a
      // detector runs only where one occurs (mayBeXSS, mayBeSQLi), so the screen may pass over
      // every value holding none.
      if (this.aboveParanoia(r)) return;
      r.screenLiterals = cues;
      r.screenLiteralsKnown = true;
      return;
    }
    if (!r.op.negated && r.multiMatch && r.op.param.constant()) {
      // multiMatch runs on several forms of a value: before a form is computed, it is tested
      // against the character sets of the literals (summary.ts); the screen (buildScreens) reads
      // the forms a value has.
      const lits = screenLiterals(r.op);
      if (lits !== null) r.literalMasks = literalMasks(lits);
      if (this.aboveParanoia(r)) return;
      r.screenLiterals = lits;
      r.screenLiteralsKnown = true;
      return;
    }
    if (!this.screenable(r)) return;
    r.screenLiterals = screenLiterals(r.op);
    r.screenLiteralsKnown = true;
    // @validateByteRange has no literal, but matches only a value holding a disallowed byte:
    // the screen tells that from the value's summary (most values hold none).
    if (r.op.kind == Op.ValidateByteRange && !r.multiMatch) {
      const units = byteRangeUnits(r.op.allowedBytes!);
      r.screenUnitsLo = units.lo;
      r.screenUnitsHi = units.hi;
    }
  }

  /**
   * Whether the rule's chain starter is tagged for a paranoia level above `paranoiaHint` (then
   * it is normally skipped, and is left out of group alternations so they stay small; it keeps
   * no prefilter, so it is still correct if a rule raises the level at run time).
   */
  private aboveParanoia(r: Rule): bool {
    if (this.paranoiaHint <= 0) return false;
    const tags = r.tags;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i].startsWith("paranoia-level/")) {
        const pl = parseIntOr(tags[i].substring(15), 0);
        return pl > this.paranoiaHint;
      }
    }
    return false;
  }

  private fail(message: string): bool {
    if (this.error.length == 0) this.error = this.source + ": " + message;
    return false;
  }

  private at(d: Directive, message: string): bool {
    return this.fail("line " + d.line.toString() + ": " + d.name + ": " + message);
  }

  private directive(d: Directive): bool {
    const name = d.name;
    if (name == "SecRule") return this.secRule(d);
    if (name == "SecAction") return this.secAction(d);
    if (this.pendingChain !== null) {
      return this.at(d, "rule id " + this.pendingChain!.id.toString() + " ends with `chain` but the next directive is not a SecRule");
    }
    if (name == "SecMarker") {
      if (d.args.length != 1) return this.at(d, "expected one marker name");
      const r = new Rule();
      r.marker = d.args[0];
      r.line = d.line;
      this.ruleSet.rules.push(r);
      return true;
    }
    if (name == "SecRuleEngine") {
      if (d.args.length != 1) return this.at(d, "expected On, DetectionOnly or Off");
      const v = d.args[0].toLowerCase();
      if (v == "on") this.ruleSet.engineMode = EngineMode.On;
      else if (v == "detectiononly") this.ruleSet.engineMode = EngineMode.DetectionOnly;
      else if (v == "off") this.ruleSet.engineMode = EngineMode.Off;
      else return this.at(d, "expected On, DetectionOnly or Off, got \"" + d.args[0] + "\"");
      return true;
    }
    if (name == "SecRequestBodyAccess" || name == "SecResponseBodyAccess") {
      if (d.args.length != 1) return this.at(d, "expected On or Off");
      const v = d.args[0].toLowerCase();
      if (v != "on" && v != "off") return this.at(d, "expected On or Off, got \"" + d.args[0] + "\"");
      if (name == "SecRequestBodyAccess") this.ruleSet.requestBodyAccess = v == "on";
      else this.ruleSet.responseBodyAccess = v == "on";
      return true;
    }
    if (name == "SecRequestBodyLimit" || name == "SecResponseBodyLimit") {
      const n = d.args.length == 1 ? parseIntOr(d.args[0], -1) : -1;
      if (n <= 0 || n > 1073741824) return this.at(d, "expected a byte count from 1 to 1073741824");
      if (name == "SecRequestBodyLimit") this.ruleSet.requestBodyLimit = <i32>n;
      else this.ruleSet.responseBodyLimit = <i32>n;
      return true;
    }
    if (name == "SecRequestBodyLimitAction" || name == "SecResponseBodyLimitAction") {
      if (d.args.length != 1) return this.at(d, "expected Reject or ProcessPartial");
      const v = d.args[0].toLowerCase();
      let a = -1;
      if (v == "reject") a = BodyLimitAction.Reject;
      else if (v == "processpartial") a = BodyLimitAction.ProcessPartial;
      else return this.at(d, "expected Reject or ProcessPartial, got \"" + d.args[0] + "\"");
      if (name == "SecRequestBodyLimitAction") this.ruleSet.requestBodyLimitAction = a;
      else this.ruleSet.responseBodyLimitAction = a;
      return true;
    }
    if (name == "SecResponseBodyMimeType") {
      if (d.args.length == 0) return this.at(d, "expected at least one MIME type");
      const types = new Array<string>();
      for (let i = 0; i < d.args.length; i++) {
        const parts = d.args[i].split(" ");
        for (let j = 0; j < parts.length; j++) if (parts[j].length > 0) types.push(parts[j].toLowerCase());
      }
      this.ruleSet.responseBodyMimeTypes = types;
      return true;
    }
    if (name == "SecDefaultAction") return this.secDefaultAction(d);
    if (name == "SecRuleRemoveById" || name == "SecRuleRemoveByTag" || name == "SecRuleUpdateTargetById" || name == "SecRuleUpdateTargetByTag") {
      if (d.args.length == 0) return this.at(d, "missing argument");
      this.deferred.push(new Deferred(d.line, name, d.args));
      return true;
    }
    for (let i = 0; i < ACCEPTED_NO_EFFECT.length; i++) if (ACCEPTED_NO_EFFECT[i] == name) return true;
    return this.at(d, "unsupported directive");
  }

  private secDefaultAction(d: Directive): bool {
    if (d.args.length != 1) return this.at(d, "expected one quoted action list");
    const r = new Rule();
    r.line = d.line;
    r.phase = 2;
    if (!this.actions(d, r, d.args[0], false, true)) return false;
    const def = this.ruleSet.defaults[r.phase];
    def.disruptive = r.disruptive == Disruptive.None ? Disruptive.Pass : r.disruptive;
    if (def.disruptive == Disruptive.Block) return this.at(d, "`block` cannot be the default action (it means: use the default action)");
    def.status = r.status;
    def.log = r.log;
    def.auditlog = r.auditlog;
    def.transforms = r.transforms;
    return true;
  }

  private secAction(d: Directive): bool {
    if (d.args.length != 1) return this.at(d, "expected one quoted action list");
    const r = new Rule();
    r.line = d.line;
    r.op = new Operator();
    return this.finishRule(d, r, d.args[0]);
  }

  private secRule(d: Directive): bool {
    if (d.args.length < 2 || d.args.length > 3) return this.at(d, "expected VARIABLES \"OPERATOR\" \"ACTIONS\"");
    const r = new Rule();
    r.line = d.line;
    const where = this.pendingChain !== null
      ? "rule id " + this.pendingChain!.id.toString() + " (chained rule at line " + d.line.toString() + ")"
      : this.idHint(d);
    const targets = this.targets(d.args[0], where, d.line);
    if (targets === null) return false;
    r.targets = targets;
    const op = this.operator(d.args[1], where, d.line);
    if (op === null) return false;
    r.op = op;
    return this.finishRule(d, r, d.args.length == 3 ? d.args[2] : "");
  }

  /** "rule id N" from the action text when there is one, for errors raised before actions are parsed. */
  private idHint(d: Directive): string {
    const actions = d.args.length == 3 ? d.args[2] : (d.name == "SecAction" && d.args.length > 0 ? d.args[0] : "");
    const at = actions.indexOf("id:");
    if (at >= 0) {
      let end = at + 3;
      while (end < actions.length && actions.charCodeAt(end) >= 0x30 && actions.charCodeAt(end) <= 0x39) end++;
      if (end > at + 3) return "rule id " + actions.substring(at + 3, end) + " (line " + d.line.toString() + ")";
    }
    return "rule at line " + d.line.toString();
  }

  private finishRule(d: Directive, r: Rule, actionText: string): bool {
    const link = this.pendingChain !== null;
    r.isChainLink = link;
    if (!link) r.phase = 2;
    if (!this.actions(d, r, actionText, link, false)) return false;
    this.noteScreenLiterals(r);
    if (link) {
      const head = this.pendingChain!;
      r.phase = head.phase;
      this.pendingChainTail!.chained = r;
      this.pendingChainTail = r;
      if (!this.chainFlag) { this.pendingChain = null; this.pendingChainTail = null; }
      return true;
    }
    if (r.id == 0) return this.fail("line " + d.line.toString() + ": " + d.name + " without an id action (every rule needs `id:N`)");
    if (this.ids.has(r.id)) return this.fail("rule id " + r.id.toString() + " (line " + d.line.toString() + "): duplicate rule id");
    this.ids.add(r.id);
    // Rules inherit the default action of their phase.
    const def = this.ruleSet.defaults[r.phase];
    if (!this.hasOwnT) r.transforms = def.transforms.concat(r.transforms);
    // No disruptive action, or `block`: the phase's default (pass unless SecDefaultAction says otherwise).
    if (r.disruptive == Disruptive.None || r.disruptive == Disruptive.Block) {
      r.disruptive = def.disruptive;
      if (r.status == 0) r.status = def.status;
    }
    if (!this.hasLogFlag) { r.log = def.log; }
    if (!this.hasAuditFlag) { r.auditlog = def.auditlog; }
    this.ruleSet.rules.push(r);
    if (this.chainFlag) { this.pendingChain = r; this.pendingChainTail = r; }
    return true;
  }

  // Per-rule flags the action parser sets (reset for every action list).
  private chainFlag: bool = false;
  private hasOwnT: bool = false;
  private hasLogFlag: bool = false;
  private hasAuditFlag: bool = false;

  private actions(d: Directive, r: Rule, text: string, link: bool, isDefault: bool): bool {
    this.chainFlag = false;
    this.hasOwnT = false;
    this.hasLogFlag = false;
    this.hasAuditFlag = false;
    const list = splitActions(text);
    if (list === null) return this.at(d, "unterminated quote in the action list");
    // The id first, so every later error can name it.
    let where = "rule at line " + d.line.toString();
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (a.name.toLowerCase() == "id") {
        const id = parseIntOr(a.value, -1);
        if (id <= 0 || id > 2147483647 || a.value.trim() != id.toString()) return this.fail("line " + d.line.toString() + ": invalid rule id \"" + a.value + "\"");
        r.id = <i32>id;
        where = "rule id " + id.toString() + " (line " + d.line.toString() + ")";
      }
    }
    if (link) where = "rule id " + this.pendingChain!.id.toString() + " (chained rule at line " + d.line.toString() + ")";
    if (isDefault) where = "SecDefaultAction (line " + d.line.toString() + ")";
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      const name = a.name.toLowerCase();
      const v = a.value;
      if (name == "id") {
        if (link) return this.fail(where + ": a chained rule cannot have an id");
        if (isDefault) return this.fail(where + ": cannot contain id");
        continue;
      }
      if (name == "phase") {
        if (link) return this.fail(where + ": a chained rule cannot set the phase");
        const lv = v.toLowerCase();
        let p: i64 = -1;
        if (lv == "request") p = 2; else if (lv == "response") p = 4; else if (lv == "logging") p = 5; else p = parseIntOr(v, -1);
        if (p < 1 || p > 5) return this.fail(where + ": phase must be 1 to 5, got \"" + v + "\"");
        r.phase = <i32>p;
        continue;
      }
      if (name == "t") {
        if (v.toLowerCase() == "none") { r.transforms = []; this.hasOwnT = true; continue; }
        const t = transformByName(v);
        if (t < 0) return this.fail(where + ": unsupported transformation \"" + v + "\"");
        r.transforms.push(t);
        continue;
      }
      if (name == "deny" || name == "block" || name == "pass" || name == "allow") {
        if (link) return this.fail(where + ": disruptive action `" + name + "` is only allowed on the first rule of a chain");
        if (name == "allow" && v.length > 0) return this.fail(where + ": `allow:" + v + "` is not supported (only plain `allow`)");
        r.disruptive = name == "deny" ? Disruptive.Deny : name == "block" ? Disruptive.Block : name == "pass" ? Disruptive.Pass : Disruptive.Allow;
        continue;
      }
      if (name == "status") {
        const s = parseIntOr(v, -1);
        if (s < 200 || s > 599) return this.fail(where + ": status must be 200 to 599, got \"" + v + "\"");
        r.status = <i32>s;
        continue;
      }
      if (name == "log" || name == "nolog") { r.log = name == "log"; this.hasLogFlag = true; continue; }
      if (name == "auditlog" || name == "noauditlog") { r.auditlog = name == "auditlog"; this.hasAuditFlag = true; continue; }
      if (name == "msg" || name == "logdata") {
        const m = this.macro(v, where);
        if (m === null) return false;
        if (name == "msg") r.msg = m; else r.logdata = m;
        continue;
      }
      if (name == "severity") {
        const sev = severityName(v);
        if (sev.length == 0) return this.fail(where + ": unknown severity \"" + v + "\"");
        r.severity = sev;
        continue;
      }
      if (name == "tag") { r.tags.push(v); continue; }
      if (name == "ver") { r.ver = v; continue; }
      if (name == "rev" || name == "maturity" || name == "accuracy") continue; // metadata only
      if (name == "chain") {
        if (isDefault) return this.fail(where + ": cannot contain chain");
        this.chainFlag = true;
        continue;
      }
      if (name == "skipafter") {
        if (link) return this.fail(where + ": skipAfter is only allowed on the first rule of a chain");
        if (v.length == 0) return this.fail(where + ": skipAfter needs a marker name");
        r.skipAfter = v;
        continue;
      }
      if (name == "skip") {
        const n = parseIntOr(v, -1);
        if (n < 1) return this.fail(where + ": skip needs a positive count");
        r.skip = <i32>n;
        continue;
      }
      if (name == "capture") { r.capture = true; continue; }
      if (name == "multimatch") { r.multiMatch = true; continue; }
      if (name == "setvar") {
        const sv = this.setvar(v, where);
        if (sv === null) return false;
        r.setvars.push(sv);
        continue;
      }
      if (name == "ctl") {
        const c = this.ctl(v, where, d.line);
        if (c === null) return false;
        r.ctls.push(c);
        continue;
      }
      return this.fail(where + ": unsupported action \"" + a.name + "\"");
    }
    return true;
  }

  private setvar(text: string, where: string): SetVar | null {
    const sv = new SetVar();
    let body = text.trim();
    if (body.startsWith("!")) { sv.op = SetVarOp.Unset; body = body.substring(1); }
    const eq = body.indexOf("=");
    let name = eq < 0 ? body : body.substring(0, eq);
    let value = eq < 0 ? "1" : body.substring(eq + 1);
    if (sv.op != SetVarOp.Unset && eq >= 0) {
      if (value.startsWith("+")) { sv.op = SetVarOp.Add; value = value.substring(1); }
      else if (value.startsWith("-")) { sv.op = SetVarOp.Subtract; value = value.substring(1); }
    }
    const dot = name.indexOf(".");
    if (dot < 0 || name.substring(0, dot).toLowerCase() != "tx") {
      this.fail(where + ": setvar \"" + text + "\": only the TX collection is supported (tx.name=value)");
      return null;
    }
    const key = this.macro(name.substring(dot + 1).toLowerCase(), where);
    if (key === null) return null;
    if (key.parts.length == 0) { this.fail(where + ": setvar \"" + text + "\": empty variable name"); return null; }
    const v = this.macro(value, where);
    if (v === null) return null;
    sv.name = key;
    sv.value = v;
    for (let i = 1; i < key.parts.length; i += 2) {
      if (key.parts[i] == "MATCHED_VAR" || key.parts[i] == "MATCHED_VAR_NAME") sv.perMatch = true;
    }
    return sv;
  }

  private ctl(text: string, where: string, line: i32): Ctl | null {
    const eq = text.indexOf("=");
    if (eq < 0) { this.fail(where + ": ctl \"" + text + "\": expected name=value"); return null; }
    const name = text.substring(0, eq).trim().toLowerCase();
    const value = text.substring(eq + 1).trim();
    const c = new Ctl();
    c.text = text;
    if (name == "ruleengine") {
      c.kind = CtlKind.RuleEngine;
      const v = value.toLowerCase();
      if (v == "on") c.mode = EngineMode.On;
      else if (v == "off") c.mode = EngineMode.Off;
      else if (v == "detectiononly") c.mode = EngineMode.DetectionOnly;
      else { this.fail(where + ": ctl:ruleEngine must be On, Off or DetectionOnly"); return null; }
      return c;
    }
    if (name == "requestbodyaccess") {
      c.kind = CtlKind.RequestBodyAccess;
      const v = value.toLowerCase();
      if (v != "on" && v != "off") { this.fail(where + ": ctl:requestBodyAccess must be On or Off"); return null; }
      c.mode = v == "on" ? 1 : 0;
      return c;
    }
    if (name == "requestbodyprocessor") {
      c.kind = CtlKind.RequestBodyProcessor;
      const v = value.toUpperCase();
      if (v != "URLENCODED" && v != "JSON" && v != "MULTIPART" && v != "XML") { this.fail(where + ": ctl:requestBodyProcessor must be URLENCODED, JSON, MULTIPART or XML"); return null; }
      c.tag = v;
      return c;
    }
    if (name == "ruleremovebyid") {
      c.kind = CtlKind.RuleRemoveById;
      if (!parseIdRange(value, c)) { this.fail(where + ": ctl:ruleRemoveById needs an id or a range N-M"); return null; }
      return c;
    }
    if (name == "ruleremovebytag") {
      c.kind = CtlKind.RuleRemoveByTag;
      c.tag = value;
      return c;
    }
    if (name == "ruleremovetargetbyid" || name == "ruleremovetargetbytag") {
      const semi = value.indexOf(";");
      if (semi < 0) { this.fail(where + ": ctl:" + name + " expects ID;TARGET"); return null; }
      const what = value.substring(0, semi);
      if (name == "ruleremovetargetbyid") {
        c.kind = CtlKind.RuleRemoveTargetById;
        if (!parseIdRange(what, c)) { this.fail(where + ": ctl:ruleRemoveTargetById needs an id or a range N-M"); return null; }
      } else {
        c.kind = CtlKind.RuleRemoveTargetByTag;
        c.tag = what;
      }
      const targets = this.targets(value.substring(semi + 1), where, line);
      if (targets === null) return null;
      if (targets.length != 1) { this.fail(where + ": ctl:" + name + " takes one target"); return null; }
      c.target = targets[0];
      return c;
    }
    this.fail(where + ": unsupported ctl \"" + name + "\"");
    return null;
  }

  /** `ARGS|!ARGS:foo|&TX:x|REQUEST_HEADERS:/^x-/` */
  targets(text: string, where: string, line: i32): Target[] | null {
    const out = new Array<Target>();
    let i = 0;
    const n = text.length;
    while (i < n) {
      while (i < n && (text.charCodeAt(i) == 0x20 || text.charCodeAt(i) == 0x7c)) i++;
      if (i >= n) break;
      const t = new Target();
      if (text.charCodeAt(i) == 0x21) { t.exclude = true; i++; }
      if (i < n && text.charCodeAt(i) == 0x26) { t.count = true; i++; }
      const start = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x5f) i++;
        else break;
      }
      const name = text.substring(start, i);
      const v = varByName(name);
      if (v < 0) {
        this.fail(where + ": unsupported variable \"" + name + "\"");
        return null;
      }
      t.variable = v;
      if (i < n && text.charCodeAt(i) == 0x3a) {
        i++;
        if (!isCollection(v)) { this.fail(where + ": variable " + name + " takes no :selector"); return null; }
        if (i < n && text.charCodeAt(i) == 0x2f) {
          // /regex/ (a `\/` inside stays escaped)
          i++;
          const rs = i;
          while (i < n && text.charCodeAt(i) != 0x2f) { if (text.charCodeAt(i) == 0x5c) i++; i++; }
          if (i >= n) { this.fail(where + ": unterminated /regex/ selector in \"" + text + "\""); return null; }
          const pattern = text.substring(rs, i);
          i++;
          const re = compileRegex(pattern, true);
          if (re === null) { this.fail(where + ": invalid selector regex /" + pattern + "/: " + regexErrorText()); return null; }
          t.keyRegex = re;
          t.keyRegexSource = pattern;
        } else if (i < n && text.charCodeAt(i) == 0x27) {
          i++;
          const ks = i;
          while (i < n && text.charCodeAt(i) != 0x27) i++;
          t.key = text.substring(ks, i).toLowerCase();
          i++;
        } else {
          const ks = i;
          while (i < n && text.charCodeAt(i) != 0x7c) i++;
          t.key = text.substring(ks, i).trim().toLowerCase();
        }
      }
      if (t.exclude && t.count) { this.fail(where + ": cannot combine ! and & in \"" + t.describe() + "\""); return null; }
      if (t.exclude && !isCollection(v)) { this.fail(where + ": ! excludes keys of a collection, not " + name); return null; }
      out.push(t);
    }
    if (out.length == 0) { this.fail(where + ": no variables"); return null; }
    return out;
  }

  private operator(text: string, where: string, line: i32): Operator | null {
    const op = new Operator();
    let s = text;
    if (s.startsWith("!")) { op.negated = true; s = s.substring(1); }
    let name = "rx";
    let param = s;
    if (s.startsWith("@")) {
      let sp = 1;
      while (sp < s.length && s.charCodeAt(sp) != 0x20) sp++;
      name = s.substring(1, sp);
      param = sp < s.length ? s.substring(sp + 1) : "";
    }
    op.name = name;
    const lname = name.toLowerCase();
    const needsParam = lname != "detectsqli" && lname != "detectxss" && lname != "validateurlencoding" &&
      lname != "validateutf8encoding" && lname != "unconditionalmatch" && lname != "nomatch";
    if (needsParam && param.length == 0 && lname != "rx") { this.fail(where + ": @" + name + " needs a parameter"); return null; }
    const macro = this.macro(param, where);
    if (macro === null) return null;
    op.param = macro;
    if (lname == "rx") {
      op.kind = Op.Rx;
      const re = compileRegex(param, false);
      if (re === null) { this.fail(where + ": @rx: cannot compile /" + param + "/: " + regexErrorText()); return null; }
      op.regex = re;
    } else if (lname == "pm" || lname == "pmf" || lname == "pmfromfile") {
      op.kind = Op.Pm;
      const phrases = new Array<string>();
      if (lname == "pm") {
        const words = param.split(" ");
        for (let i = 0; i < words.length; i++) if (words[i].length > 0) phrases.push(words[i]);
      } else {
        const files = param.split(" ");
        for (let f = 0; f < files.length; f++) {
          const file = files[f];
          if (file.length == 0) continue;
          if (!this.dataFiles.has(file)) { this.fail(where + ": @" + name + ": no data file \"" + file + "\" (supply it in the data_files config field)"); return null; }
          const lines = this.dataFiles.get(file).split("\n");
          for (let i = 0; i < lines.length; i++) {
            const l = lines[i].trim();
            if (l.length > 0 && !l.startsWith("#")) phrases.push(l);
          }
        }
      }
      if (phrases.length == 0) { this.fail(where + ": @" + name + ": no phrases"); return null; }
      op.phrases = new PhraseMatcher(phrases, true);
    } else if (lname == "contains") op.kind = Op.Contains;
    else if (lname == "containsword") op.kind = Op.ContainsWord;
    else if (lname == "beginswith") op.kind = Op.BeginsWith;
    else if (lname == "endswith") op.kind = Op.EndsWith;
    else if (lname == "streq") op.kind = Op.Streq;
    else if (lname == "eq") op.kind = Op.Eq;
    else if (lname == "ge") op.kind = Op.Ge;
    else if (lname == "gt") op.kind = Op.Gt;
    else if (lname == "le") op.kind = Op.Le;
    else if (lname == "lt") op.kind = Op.Lt;
    else if (lname == "within") op.kind = Op.Within;
    else if (lname == "ipmatch") {
      op.kind = Op.IpMatch;
      const parts = param.split(",");
      const ranges = new Array<Cidr>();
      for (let i = 0; i < parts.length; i++) {
        let p = parts[i].trim();
        if (p.length == 0) continue;
        if (p.indexOf("/") < 0) p += p.indexOf(":") >= 0 ? "/128" : "/32";
        const c = Cidr.parse(p);
        if (c === null) { this.fail(where + ": @ipMatch: invalid address or range \"" + parts[i].trim() + "\""); return null; }
        ranges.push(c);
      }
      op.cidrs = new CidrSet(ranges);
    } else if (lname == "detectsqli") op.kind = Op.DetectSQLi;
    else if (lname == "detectxss") op.kind = Op.DetectXSS;
    else if (lname == "validatebyterange") {
      op.kind = Op.ValidateByteRange;
      const allowed = new StaticArray<bool>(256);
      const parts = param.split(",");
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i].trim();
        const dash = p.indexOf("-");
        const lo = parseIntOr(dash < 0 ? p : p.substring(0, dash), -1);
        const hi = dash < 0 ? lo : parseIntOr(p.substring(dash + 1), -1);
        if (lo < 0 || hi > 255 || lo > hi) { this.fail(where + ": @validateByteRange: invalid range \"" + p + "\""); return null; }
        for (let b = <i32>lo; b <= <i32>hi; b++) allowed[b] = true;
      }
      op.allowedBytes = allowed;
    } else if (lname == "validateurlencoding") op.kind = Op.ValidateUrlEncoding;
    else if (lname == "validateutf8encoding") op.kind = Op.ValidateUtf8Encoding;
    else if (lname == "unconditionalmatch") op.kind = Op.UnconditionalMatch;
    else if (lname == "nomatch") op.kind = Op.NoMatch;
    else { this.fail(where + ": unsupported operator @" + name); return null; }
    if ((op.kind == Op.Rx || op.kind == Op.Pm || op.kind == Op.IpMatch || op.kind == Op.ValidateByteRange) && !macro.constant()) {
      this.fail(where + ": @" + name + " does not take %{macros}");
      return null;
    }
    return op;
  }

  /** Compiles `%{...}` references; unknown references are errors. */
  macro(text: string, where: string): Macro | null {
    const parts = new Array<string>();
    let i = 0;
    let lit = "";
    while (i < text.length) {
      const at = text.indexOf("%{", i);
      if (at < 0) { lit += text.substring(i); break; }
      const end = text.indexOf("}", at + 2);
      if (end < 0) { lit += text.substring(i); break; }
      lit += text.substring(i, at);
      const ref = normalizeMacroRef(text.substring(at + 2, end));
      if (ref.length == 0) { this.fail(where + ": unsupported macro %{" + text.substring(at + 2, end) + "}"); return null; }
      parts.push(lit); // even positions are literals, "" between two references
      parts.push(ref);
      lit = "";
      i = end + 1;
    }
    if (lit.length > 0 || parts.length == 0) parts.push(lit);
    const m = new Macro();
    m.parts = StaticArray.fromArray(parts);
    return m;
  }

  private applyDeferred(d: Deferred): bool {
    const rules = this.ruleSet.rules;
    if (d.name == "SecRuleRemoveById") {
      for (let a = 0; a < d.args.length; a++) {
        const words = d.args[a].split(" ");
        for (let w = 0; w < words.length; w++) {
          if (words[w].length == 0) continue;
          const c = new Ctl();
          if (!parseIdRange(words[w], c)) return this.fail("line " + d.line.toString() + ": SecRuleRemoveById: invalid id or range \"" + words[w] + "\"");
          for (let i = 0; i < rules.length; i++) if (rules[i].marker.length == 0 && rules[i].id >= c.idFrom && rules[i].id <= c.idTo) rules[i].removed = true;
        }
      }
      return true;
    }
    if (d.name == "SecRuleRemoveByTag") {
      for (let i = 0; i < rules.length; i++) if (hasTag(rules[i], d.args[0])) rules[i].removed = true;
      return true;
    }
    // SecRuleUpdateTargetById / ByTag: "ID" "TARGETS"
    if (d.args.length != 2) return this.fail("line " + d.line.toString() + ": " + d.name + ": expected the rule and one target list (replacing a target is not supported)");
    const targets = this.targets(d.args[1], "line " + d.line.toString() + ": " + d.name, d.line);
    if (targets === null) return false;
    const c = new Ctl();
    const byId = d.name == "SecRuleUpdateTargetById";
    if (byId && !parseIdRange(d.args[0], c)) return this.fail("line " + d.line.toString() + ": " + d.name + ": invalid id \"" + d.args[0] + "\"");
    let found = false;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.marker.length > 0) continue;
      const hit = byId ? (r.id >= c.idFrom && r.id <= c.idTo) : hasTag(r, d.args[0]);
      if (!hit) continue;
      found = true;
      for (let t = 0; t < targets.length; t++) r.targets.push(targets[t]);
    }
    if (!found && byId) return this.fail("line " + d.line.toString() + ": " + d.name + ": no rule with id " + d.args[0]);
    return true;
  }
}

export function hasTag(r: Rule, tag: string): bool {
  for (let i = 0; i < r.tags.length; i++) if (r.tags[i] == tag) return true;
  return false;
}

function parseIdRange(s: string, c: Ctl): bool {
  const t = s.trim();
  const dash = t.indexOf("-");
  const from = parseIntOr(dash < 0 ? t : t.substring(0, dash), -1);
  const to = dash < 0 ? from : parseIntOr(t.substring(dash + 1), -1);
  if (from <= 0 || to < from || to > 2147483647) return false;
  c.idFrom = <i32>from;
  c.idTo = <i32>to;
  return true;
}

function severityName(v: string): string {
  const names = ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"];
  const u = v.trim().toUpperCase();
  for (let i = 0; i < names.length; i++) if (names[i] == u || i.toString() == u) return names[i];
  return "";
}

/**
 * A macro reference in its engine form: "TX:key", "MATCHED_VAR", "MATCHED_VAR_NAME", "RULE:id",
 * "RULE:msg", "RULE:severity", "REQUEST_HEADERS:name", "ARGS:name" or a scalar variable name;
 * "" when unsupported.
 */
export function normalizeMacroRef(ref: string): string {
  const dot = ref.indexOf(".");
  const head = (dot < 0 ? ref : ref.substring(0, dot)).toUpperCase();
  const key = dot < 0 ? "" : ref.substring(dot + 1).toLowerCase();
  if (head == "RULE") {
    if (key == "id" || key == "msg" || key == "severity" || key == "logdata") return "RULE:" + key;
    return "";
  }
  const v = varByName(head);
  if (v < 0) return "";
  if (isCollection(v)) {
    if (key.length == 0) return "";
    return head + ":" + key;
  }
  if (key.length > 0) return "";
  return head;
}

class ActionItem {
  constructor(public name: string, public value: string) {}
}

/** Splits `id:1,msg:'a, b',t:none` on commas outside single quotes; values lose their quotes. */
function splitActions(text: string): ActionItem[] | null {
  const out = new Array<ActionItem>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text.charCodeAt(i) == 0x20 || text.charCodeAt(i) == 0x2c || text.charCodeAt(i) == 0x09)) i++;
    if (i >= n) break;
    const ns = i;
    while (i < n && text.charCodeAt(i) != 0x3a && text.charCodeAt(i) != 0x2c) i++;
    const name = text.substring(ns, i).trim();
    let value = "";
    if (i < n && text.charCodeAt(i) == 0x3a) {
      i++;
      while (i < n && text.charCodeAt(i) == 0x20) i++;
      if (i < n && text.charCodeAt(i) == 0x27) {
        i++;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c == 0x5c && i + 1 < n && text.charCodeAt(i + 1) == 0x27) { value += "'"; i += 2; continue; }
          if (c == 0x27) { closed = true; i++; break; }
          value += String.fromCharCode(c);
          i++;
        }
        if (!closed) return null;
      } else {
        const vs = i;
        while (i < n && text.charCodeAt(i) != 0x2c) i++;
        value = text.substring(vs, i).trim();
      }
    }
    out.push(new ActionItem(name, value));
  }
  return out;
}

function regexErrorText(): string {
  const e = lastRegexError();
  return e === null ? "invalid pattern" : e.toString();
}

/** The literals of a unit slot (Rule.screenUnitsLo): none, its slot comes from summaries. */
const NO_LITERALS = new Array<string>();

/** The literals one of which every value an operator matches contains (lowercase-folded); null when there are none. */
function screenLiterals(op: Operator): string[] | null {
  const param = op.param.constantText();
  switch (op.kind) {
    case Op.Rx: return op.regex === null ? null : requiredLiterals(param, false);
    case Op.Pm: {
      const phrases = op.phrases!.phrases;
      if (phrases.length == 0 || phrases.length > 4096) return null;
      const out = new Array<string>();
      for (let i = 0; i < phrases.length; i++) out.push(lowerBytes(phrases[i]));
      return out;
    }
    case Op.Contains:
    case Op.ContainsWord:
    case Op.BeginsWith:
    case Op.EndsWith:
      return param.length == 0 ? null : [lowerBytes(param)];
  }
  return null;
}

/**
 * The id of transformation list `list` in the set's list trie (RuleSet.chainParent, chainLast),
 * with each of its prefixes, added when new; `chains` maps each list (one letter per
 * transformation) to its id.
 */
function internChain(rs: RuleSet, chains: Map<string, i32>, list: i32[]): i32 {
  let key = "";
  let parent = 0;
  for (let t = 0; t < list.length; t++) {
    key += String.fromCharCode(65 + list[t]);
    if (!chains.has(key)) {
      chains.set(key, rs.chainParent.length);
      rs.chainParent.push(parent);
      rs.chainLast.push(list[t]);
    }
    parent = chains.get(key);
  }
  return parent;
}

/**
 * The lists whose results a multiMatch group's screen reads for rules of list `chain`: the
 * screen form (screenFormOf) of each of its prefixes, from the empty one, each once.
 */
function prefixScreenForms(rs: RuleSet, chains: Map<string, i32>, chain: i32): StaticArray<i32> {
  const forms = new Array<i32>();
  for (let c = chain; ; c = rs.chainParent[c]) {
    const f = internChain(rs, chains, screenFormOf(rs, c));
    if (!forms.includes(f)) forms.unshift(f);
    if (c == 0) break;
  }
  return StaticArray.fromArray(forms);
}

/**
 * The transformations whose result the literal screen reads for rules of list `chain`: the list
 * without the lowercase and uppercase steps that only steps ignoring letter case follow, and with
 * such a cmdLine keeping case. The screen folds ASCII case, as those steps do (byte strings: ASCII
 * letters only), and such later steps give the same result up to case from either input, so the
 * screen finds the same literals in both forms while a value need not be copied in lowercase.
 */
function screenFormOf(rs: RuleSet, chain: i32): i32[] {
  const steps = new Array<i32>();
  for (let c = chain; c != 0; c = rs.chainParent[c]) steps.unshift(rs.chainLast[c]);
  const kept = new Array<i32>();
  let laterIgnoreCase = true;
  for (let t = steps.length - 1; t >= 0; t--) {
    const tf = steps[t];
    const caseStep = tf == Transform.Lowercase || tf == Transform.Uppercase;
    // cmdLine lowercases as its last act: without it, the same up to case.
    if (!(caseStep && laterIgnoreCase)) kept.unshift(tf == Transform.CmdLine && laterIgnoreCase ? Transform.CmdLineKeepCase : tf);
    if (!ignoresCase(tf)) laterIgnoreCase = false;
  }
  return kept;
}

/**
 * Whether transformation `tf` treats upper- and lowercase ASCII letters alike (it never tests a
 * letter and passes letters through unchanged, or changes only their case): applied to two
 * inputs equal up to case, its results are equal up to case.
 */
function ignoresCase(tf: i32): bool {
  switch (tf) {
    case Transform.Lowercase: case Transform.Uppercase: case Transform.RemoveWhitespace: case Transform.CompressWhitespace:
    case Transform.RemoveNulls: case Transform.ReplaceNulls: case Transform.ReplaceComments: case Transform.Trim:
    case Transform.TrimLeft: case Transform.TrimRight: case Transform.Length: case Transform.CmdLine: case Transform.CmdLineKeepCase:
      return true;
  }
  return false;
}
