// Which rule applies to a request: the first whose path and method match, as jwt_authn does.
import { matchGlob } from "@meshward/sdk/assembly";
import { JwtConfig, PathMatch, Rule } from "./config";

export function findRule(config: JwtConfig, urlPath: string, method: string): Rule | null {
  for (let i = 0; i < config.rules.length; i++) {
    const rule = config.rules[i];
    if (rule.methods.length > 0 && !rule.methods.includes(method)) continue;
    let hit = false;
    switch (rule.pathMatch) {
      case PathMatch.Prefix: hit = urlPath.startsWith(rule.pathValue); break;
      case PathMatch.Exact: hit = urlPath == rule.pathValue; break;
      default: hit = matchGlob(rule.pathValue, urlPath);
    }
    if (hit) return rule;
  }
  return null;
}
