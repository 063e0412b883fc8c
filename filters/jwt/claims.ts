// Claim requirements of a rule, in the style of Istio's AuthorizationPolicy `when` conditions on
// `request.auth.*`: every condition must hold for the request's verified token (the first one,
// which is also its principal). Pure: parsing the key at configure time, matching per request.
import { JsonKind, JsonValue } from "@meshward/sdk/assembly";
import { Jwt } from "./token";

export enum ClaimSource { Claim, Principal, Audiences, Presenter, Issuer, Subject }

export class ClaimCondition {
  source: ClaimSource = ClaimSource.Claim;
  /** For Claim: the nested claim names, outermost first (`claims[a][b]` → ["a", "b"]). */
  path: Array<string> = new Array<string>();
  values: Array<string> = new Array<string>();
  notValues: Array<string> = new Array<string>();
}

/** Parses a condition key; returns an error message, or "" with `out` filled. */
export function parseConditionKey(key: string, out: ClaimCondition): string {
  if (key == "request.auth.principal") { out.source = ClaimSource.Principal; return ""; }
  if (key == "request.auth.audiences") { out.source = ClaimSource.Audiences; return ""; }
  if (key == "request.auth.presenter") { out.source = ClaimSource.Presenter; return ""; }
  if (key == "request.auth.issuer") { out.source = ClaimSource.Issuer; return ""; }
  if (key == "request.auth.subject") { out.source = ClaimSource.Subject; return ""; }
  const prefix = "request.auth.claims";
  if (!key.startsWith(prefix)) {
    return "expected request.auth.claims[name]..., request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.issuer or request.auth.subject";
  }
  let i = prefix.length;
  while (i < key.length) {
    if (key.charCodeAt(i) != 0x5b) return "expected '[' at position " + i.toString() + " of the key";
    const close = key.indexOf("]", i + 1);
    if (close < 0) return "unclosed '[' at position " + i.toString() + " of the key";
    const name = key.substring(i + 1, close);
    if (name.length == 0) return "empty claim name at position " + i.toString() + " of the key";
    if (name.indexOf("[") >= 0) return "'[' inside a claim name at position " + i.toString() + " of the key";
    out.path.push(name);
    i = close + 1;
  }
  if (out.path.length == 0) return "expected a claim name in brackets, e.g. request.auth.claims[groups]";
  if (out.path.length > 16) return "claims nested deeper than 16 levels";
  out.source = ClaimSource.Claim;
  return "";
}

/** Istio's value matching: "*" (present), "prefix*", "*suffix", or the exact value. */
export function valueMatches(pattern: string, value: string): bool {
  if (pattern == "*") return true;
  if (pattern.length > 1 && pattern.endsWith("*")) return value.startsWith(pattern.substring(0, pattern.length - 1));
  if (pattern.length > 1 && pattern.startsWith("*")) return value.endsWith(pattern.substring(1));
  return value == pattern;
}

/** A string, number or boolean claim as text (integers without a decimal point); null otherwise. */
export function scalarText(v: JsonValue): string | null {
  if (v.kind == JsonKind.String) return v.stringValue;
  if (v.kind == JsonKind.Bool) return v.boolValue ? "true" : "false";
  if (v.kind == JsonKind.Number) {
    const n = v.numberValue;
    return n == Math.floor(n) && Math.abs(n) < 9e15 ? (<i64>n).toString() : n.toString();
  }
  return null;
}

/** The claim at a dotted name (`org.tenant`) as text, for claim_to_headers; null when absent or not a scalar. */
export function claimText(payload: JsonValue, dottedName: string): string | null {
  let v: JsonValue | null = payload;
  const parts = dottedName.split(".");
  for (let i = 0; i < parts.length && v !== null; i++) v = v.get(parts[i]);
  return v === null ? null : scalarText(v);
}

/** The strings a condition compares: a list-valued claim gives each element; OAuth `scope`/`scp` strings give each word. */
export function conditionSubjects(c: ClaimCondition, jwt: Jwt): Array<string> {
  const out = new Array<string>();
  switch (c.source) {
    case ClaimSource.Principal: out.push(jwt.iss + "/" + jwt.sub); return out;
    case ClaimSource.Audiences: return jwt.audiences;
    case ClaimSource.Issuer: out.push(jwt.iss); return out;
    case ClaimSource.Subject: out.push(jwt.sub); return out;
    case ClaimSource.Presenter: {
      const azp = jwt.payload.get("azp");
      if (azp !== null && azp.kind == JsonKind.String) out.push(azp.stringValue);
      return out;
    }
    default: break;
  }
  let v: JsonValue | null = jwt.payload;
  for (let i = 0; i < c.path.length && v !== null; i++) v = v.get(c.path[i]);
  if (v === null) return out;
  if (v.kind == JsonKind.Array) {
    for (let i = 0; i < v.items.length; i++) {
      const t = scalarText(v.items[i]);
      if (t !== null) out.push(t);
    }
    return out;
  }
  const t = scalarText(v);
  if (t === null) return out;
  const last = c.path[c.path.length - 1];
  if (c.path.length == 1 && v.kind == JsonKind.String && (last == "scope" || last == "scp")) {
    const words = t.split(" ");
    for (let i = 0; i < words.length; i++) if (words[i].length > 0) out.push(words[i]);
    return out;
  }
  out.push(t);
  return out;
}

function anyMatches(patterns: Array<string>, subjects: Array<string>): bool {
  for (let i = 0; i < patterns.length; i++) {
    for (let j = 0; j < subjects.length; j++) if (valueMatches(patterns[i], subjects[j])) return true;
  }
  return false;
}

/** One condition: some value matches (when values are given) and no not_value matches. */
export function conditionHolds(c: ClaimCondition, jwt: Jwt): bool {
  const subjects = conditionSubjects(c, jwt);
  if (c.values.length > 0 && !anyMatches(c.values, subjects)) return false;
  return !anyMatches(c.notValues, subjects);
}

/** Every condition holds for `jwt`. */
export function claimsSatisfied(conditions: Array<ClaimCondition>, jwt: Jwt): bool {
  for (let i = 0; i < conditions.length; i++) if (!conditionHolds(conditions[i], jwt)) return false;
  return true;
}
