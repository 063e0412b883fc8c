// The WAF's plugin configuration (docs/waf.md):
//   { "ruleset": { "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4,
//                  "exclusions": "<SecLang>" },
//     "rules": "<SecLang>", "mode": "block" | "detection_only", "block_status": 403,
//     "block_body": "...", "data_files": { "<name>": "<content>" }, "audit_log": true,
//     "log_level": "info" }
// At least one of `ruleset` (the bundled core ruleset) and `rules` (your own SecLang) is needed;
// with both, the bundled rules run first. SecLang errors name the field, the line and the rule id.
import { ConfigContext, ConfigObject, readConfigObject, parseLogLevel } from "@meshward/sdk/assembly";
import { SecLangParser } from "./seclang/parser";
import { EngineMode, Macro, Rule, RuleSet, Var } from "./seclang/model";
import { BUNDLED_RULES } from "./rules.generated";
import { textOf, toByteString } from "./bytes";

export class WafConfig {
  rules: RuleSet = new RuleSet();
  detectionOnly: bool = false;
  blockStatus: i32 = 403;
  blockBody: string = "Request blocked by the web application firewall.\n";
  auditLog: bool = true;
  logLevel: i32 = 2;
  paranoiaLevel: i32 = 0;
  /** Whether any rule runs in phase 3/4 (else the response is not inspected at all). */
  hasResponseRules: bool = false;
  /**
   * Whether a rule reads REMOTE_ADDR (a target or a macro): else the filter reads the client
   * address (a host property read) only for an audit line.
   */
  readsRemoteAddr: bool = false;
  /**
   * Whether the response's headers beyond `:status` are needed: a rule reads RESPONSE_HEADERS or
   * RESPONSE_HEADERS_NAMES (a target or a macro), or response bodies are inspected (by content
   * type). Else only `:status` is read: one value instead of the whole map.
   */
  readsResponseHeaders: bool = false;
}

/** Whether a rule or chain link reads variable `v` (`name`) as a target or in a macro. */
export function readsVariable(rs: RuleSet, v: i32, name: string): bool {
  for (let i = 0; i < rs.rules.length; i++) {
    let r: Rule | null = rs.rules[i];
    while (r !== null) {
      for (let t = 0; t < r.targets.length; t++) if (r.targets[t].variable == v && !r.targets[t].exclude) return true;
      if (macroReads(r.op.param, name) || macroReads(r.msg, name) || macroReads(r.logdata, name)) return true;
      for (let s = 0; s < r.setvars.length; s++) if (macroReads(r.setvars[s].name, name) || macroReads(r.setvars[s].value, name)) return true;
      r = r.chained;
    }
  }
  return false;
}

function macroReads(m: Macro, name: string): bool {
  for (let i = 1; i < m.parts.length; i += 2) if (m.parts[i].toUpperCase().startsWith(name)) return true;
  return false;
}

/** The SecLang the `ruleset` fields turn into (runs before the bundled rules). */
export function rulesetSetup(paranoia: i64, inbound: i64, outbound: i64): string {
  return "SecAction \"id:900000,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=" + paranoia.toString() +
    ",setvar:tx.detection_paranoia_level=" + paranoia.toString() + "\"\n" +
    "SecAction \"id:900110,phase:1,pass,nolog,t:none,setvar:tx.inbound_anomaly_score_threshold=" + inbound.toString() +
    ",setvar:tx.outbound_anomaly_score_threshold=" + outbound.toString() + "\"\n";
}

/** What one `WafConfigLoader.step` leaves to do. */
export enum LoadStatus { More, Done, Failed }

/** SecLang directives parsed per loading step (a directive's garbage is ~0.1 MiB, its regex analysis mostly). */
const DIRECTIVES_PER_STEP = 16;

/** The SecLang texts of a configuration, in the order they are parsed. */
const enum Text { Setup, Exclusions, Bundled, Rules, End }

/**
 * Loads a configuration in steps, so that a filter built with the minimal runtime can free each
 * step's garbage before the next (filter.ts collects between steps, when none of this module's
 * frames is live): loading the bundled ruleset in one call leaves ~55 MiB of garbage (the regex
 * analysis of every rule). Everything one step hands to the next is a field of this loader.
 * Errors (in `ctx`) and results are those of loading in one call (`parseWafConfig`).
 */
export class WafConfigLoader {
  /** The configuration once `step` returned Done. */
  config: WafConfig | null = null;
  private root: ConfigObject | null = null;
  private ruleset: ConfigObject | null = null;
  private parser: SecLangParser | null = null;
  private started: bool = false;
  private text: Text = Text.Setup;
  private setup: string = "";
  private exclusions: string = "";

  constructor(readonly ctx: ConfigContext, private readonly json: string) {}

  /** One step of loading: More (call again), Done (`config` is set) or Failed (`ctx` says why). */
  step(): LoadStatus {
    if (!this.started) {
      this.started = true;
      return this.options() ? LoadStatus.More : LoadStatus.Failed;
    }
    if (this.text != Text.End) return this.parseTexts() ? LoadStatus.More : LoadStatus.Failed;
    return this.finish() ? LoadStatus.Done : LoadStatus.Failed;
  }

  /** The JSON fields (all but the SecLang texts' content). */
  private options(): bool {
    const ctx = this.ctx;
    const root = readConfigObject(ctx, this.json);
    if (root === null) return false;
    this.root = root;
    const config = new WafConfig();
    this.config = config;
    config.logLevel = parseLogLevel(root.oneOf("log_level", ["trace", "debug", "info", "warn", "error", "critical"], "info"));
    const mode = root.oneOf("mode", ["block", "detection_only"], "block");
    config.detectionOnly = mode == "detection_only";
    config.blockStatus = <i32>root.integer("block_status", 403, 200, 599);
    config.blockBody = root.string("block_body", config.blockBody);
    config.auditLog = root.bool("audit_log", true);

    const dataFiles = new Map<string, string>();
    const files = root.object("data_files");
    if (files !== null) {
      const names = files.keys();
      // Bytes, as the request data they are matched against (see parseTexts).
      for (let i = 0; i < names.length && !ctx.failed(); i++) dataFiles.set(names[i], toByteString(files.requiredString(names[i])));
    }
    if (ctx.failed()) return false;

    const parser = new SecLangParser(dataFiles);
    this.parser = parser;
    const ruleset = root.object("ruleset");
    this.ruleset = ruleset;
    const hasRules = root.has("rules");
    if (ruleset === null && !hasRules && !ctx.failed()) {
      ctx.fail("rules", "expected `rules` (SecLang text), `ruleset` (the bundled core ruleset), or both");
      return false;
    }
    if (ruleset !== null) {
      const pl = ruleset.integer("paranoia_level", 1, 1, 4);
      const inbound = ruleset.integer("inbound_threshold", 5, 1, 10000);
      const outbound = ruleset.integer("outbound_threshold", 4, 1, 10000);
      this.exclusions = toByteString(ruleset.string("exclusions", ""));
      ruleset.finish();
      if (ctx.failed()) return false;
      config.paranoiaLevel = <i32>pl;
      parser.paranoiaHint = <i32>pl;
      this.setup = rulesetSetup(pl, inbound, outbound);
      this.text = Text.Setup;
    } else {
      this.text = Text.Rules;
    }
    return true;
  }

  /** Begins the next text or parses a few more directives of the current one. */
  private parseTexts(): bool {
    const parser = this.parser!;
    if (parser.parsing()) {
      if (!parser.parseSome(DIRECTIVES_PER_STEP)) return this.failText();
      if (!parser.parsing()) this.text = this.nextText(this.text);
      return true;
    }
    const t = this.text;
    if (t == Text.Setup) return parser.begin(this.setup, "ruleset") || this.failText();
    if (t == Text.Exclusions) return parser.begin(this.exclusions, "exclusions") || this.failText();
    if (t == Text.Bundled) return parser.begin(BUNDLED_RULES, "bundled ruleset") || this.failText();
    // Text.Rules. Request data is matched as bytes (UTF-8 as it came, one unit per byte), so the
    // rules are too: a literal or pattern with non-ASCII text matches those bytes, as a rule file
    // does in ModSecurity.
    const text = toByteString(this.root!.string("rules", ""));
    if (this.ctx.failed()) return false;
    return parser.begin(text, "rules") || this.failText();
  }

  private nextText(t: Text): Text {
    if (t == Text.Setup) return this.exclusions.length > 0 ? Text.Exclusions : Text.Bundled;
    if (t == Text.Exclusions) return Text.Bundled;
    if (t == Text.Bundled) return this.root!.has("rules") ? Text.Rules : Text.End;
    return Text.End;
  }

  /** Records the parser's error under the field of the text being parsed. */
  private failText(): bool {
    const t = this.text;
    const path = t == Text.Exclusions ? this.ruleset!.pathOf("exclusions") : t == Text.Rules ? "rules" : "ruleset";
    this.ctx.fail(path, textOf(this.parser!.error));
    return false;
  }

  /** Unknown fields, then removals, target updates, screens and prefilters (SecLangParser.finish). */
  private finish(): bool {
    const ctx = this.ctx;
    const root = this.root!;
    root.finish();
    if (ctx.failed()) return false;
    const parser = this.parser!;
    const rs = parser.finish();
    if (rs === null) { ctx.fail(this.ruleset !== null && !root.has("rules") ? "ruleset" : "rules", textOf(parser.error)); return false; }
    const config = this.config!;
    if (config.detectionOnly && rs.engineMode == EngineMode.On) rs.engineMode = EngineMode.DetectionOnly;
    for (let i = 0; i < rs.rules.length; i++) if (rs.rules[i].marker.length == 0 && rs.rules[i].phase >= 3 && rs.rules[i].phase <= 4) config.hasResponseRules = true;
    config.readsRemoteAddr = readsVariable(rs, Var.REMOTE_ADDR, "REMOTE_ADDR");
    // "RESPONSE_HEADERS" as a macro prefix also covers RESPONSE_HEADERS_NAMES.
    config.readsResponseHeaders = rs.responseBodyAccess || readsVariable(rs, Var.RESPONSE_HEADERS, "RESPONSE_HEADERS") ||
      readsVariable(rs, Var.RESPONSE_HEADERS_NAMES, "RESPONSE_HEADERS_NAMES");
    config.rules = rs;
    return true;
  }
}

/** Loads a configuration in one call (WafConfigLoader's steps back to back); null on error (`ctx` says why). */
export function parseWafConfig(ctx: ConfigContext, text: string): WafConfig | null {
  const loader = new WafConfigLoader(ctx, text);
  let status = loader.step();
  while (status == LoadStatus.More) status = loader.step();
  return status == LoadStatus.Done ? loader.config : null;
}
