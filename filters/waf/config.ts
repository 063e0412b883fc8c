// The WAF's plugin configuration (docs/waf.md):
//   { "ruleset": { "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4,
//                  "exclusions": "<SecLang>" },
//     "rules": "<SecLang>", "mode": "block" | "detection_only", "block_status": 403,
//     "block_body": "...", "data_files": { "<name>": "<content>" }, "audit_log": true,
//     "log_level": "info" }
// At least one of `ruleset` (the bundled core ruleset) and `rules` (your own SecLang) is needed;
// with both, the bundled rules run first. SecLang errors name the field, the line and the rule id.
import { ConfigContext, readConfigObject, parseLogLevel } from "@meshward/sdk/assembly";
import { SecLangParser } from "./seclang/parser";
import { EngineMode, RuleSet } from "./seclang/model";
import { BUNDLED_RULES } from "./rules.generated";

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
}

/** The SecLang the `ruleset` fields turn into (runs before the bundled rules). */
export function rulesetSetup(paranoia: i64, inbound: i64, outbound: i64): string {
  return "SecAction \"id:900000,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=" + paranoia.toString() +
    ",setvar:tx.detection_paranoia_level=" + paranoia.toString() + "\"\n" +
    "SecAction \"id:900110,phase:1,pass,nolog,t:none,setvar:tx.inbound_anomaly_score_threshold=" + inbound.toString() +
    ",setvar:tx.outbound_anomaly_score_threshold=" + outbound.toString() + "\"\n";
}

export function parseWafConfig(ctx: ConfigContext, text: string): WafConfig | null {
  const root = readConfigObject(ctx, text);
  if (root === null) return null;
  const config = new WafConfig();
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
    for (let i = 0; i < names.length && !ctx.failed(); i++) dataFiles.set(names[i], files.requiredString(names[i]));
  }
  if (ctx.failed()) return null;

  const parser = new SecLangParser(dataFiles);
  const ruleset = root.object("ruleset");
  const hasRules = root.has("rules");
  if (ruleset === null && !hasRules && !ctx.failed()) {
    ctx.fail("rules", "expected `rules` (SecLang text), `ruleset` (the bundled core ruleset), or both");
    return null;
  }
  if (ruleset !== null) {
    const pl = ruleset.integer("paranoia_level", 1, 1, 4);
    const inbound = ruleset.integer("inbound_threshold", 5, 1, 10000);
    const outbound = ruleset.integer("outbound_threshold", 4, 1, 10000);
    const exclusions = ruleset.string("exclusions", "");
    ruleset.finish();
    if (ctx.failed()) return null;
    config.paranoiaLevel = <i32>pl;
    parser.paranoiaHint = <i32>pl;
    if (!parser.parse(rulesetSetup(pl, inbound, outbound), "ruleset")) { ctx.fail("ruleset", parser.error); return null; }
    if (exclusions.length > 0 && !parser.parse(exclusions, "exclusions")) { ctx.fail(ruleset.pathOf("exclusions"), parser.error); return null; }
    if (!parser.parse(BUNDLED_RULES, "bundled ruleset")) { ctx.fail("ruleset", parser.error); return null; }
  }
  if (hasRules) {
    const text = root.string("rules", "");
    if (ctx.failed()) return null;
    if (!parser.parse(text, "rules")) { ctx.fail("rules", parser.error); return null; }
  }
  root.finish();
  if (ctx.failed()) return null;
  const rs = parser.finish();
  if (rs === null) { ctx.fail(ruleset !== null && !hasRules ? "ruleset" : "rules", parser.error); return null; }
  if (config.detectionOnly && rs.engineMode == EngineMode.On) rs.engineMode = EngineMode.DetectionOnly;
  for (let i = 0; i < rs.rules.length; i++) if (rs.rules[i].marker.length == 0 && rs.rules[i].phase >= 3 && rs.rules[i].phase <= 4) config.hasResponseRules = true;
  config.rules = rs;
  return config;
}
