// The JWT filter's plugin configuration. Field names and meanings follow Envoy's jwt_authn
// (`JwtAuthentication`, snake_case JSON), so a jwt_authn config carries over; fields this
// version does not implement are refused by name rather than ignored.
import {
  ConfigContext, ConfigObject, ConfigArray, readConfigObject, parseLogLevel, JsonKind, JsonValue,
  childPath, indexPath, lowercaseHeaderName,
} from "@meshward/sdk/assembly";
import { Jwk, parseJwks } from "./jwks";
import { ClaimCondition, parseConditionKey } from "./claims";

export class HeaderLocation {
  constructor(public name: string, public prefix: string) {}
}

export class ClaimToHeader {
  constructor(public header: string, public claim: string) {}
}

export class Provider {
  name: string = "";
  issuer: string = "";
  audiences: Array<string> = new Array<string>();
  keys: Array<Jwk> = new Array<Jwk>();
  fromHeaders: Array<HeaderLocation> = new Array<HeaderLocation>();
  fromParams: Array<string> = new Array<string>();
  fromCookies: Array<string> = new Array<string>();
  forward: bool = false;
  forwardPayloadHeader: string = "";
  claimToHeaders: Array<ClaimToHeader> = new Array<ClaimToHeader>();
  /** Re-pick the route after writing headers (routes may match on claim headers). */
  clearRouteCache: bool = false;
  clockSkewSeconds: i64 = 60;
  requireExpiration: bool = false;
  /** Seconds; 0 = no limit. */
  maxLifetimeSeconds: i64 = 0;
  /** remote_jwks: fetched with http_call through `remoteCluster`; `keys` holds the last good set. */
  remote: bool = false;
  remoteUri: string = "";
  remoteCluster: string = "";
  remotePath: string = "/";
  remoteAuthority: string = "";
  remoteTimeoutMs: u32 = 1000;
  cacheDurationSeconds: i64 = 600;
  /** After a failed fetch, no new attempt for this long (jwt_authn's failed_refetch_duration). */
  failedRefetchSeconds: i64 = 1;
  /** A token with an unknown kid re-fetches the set at most this often; 0 = never. */
  unknownKidRefetchSeconds: i64 = 30;
}

export enum RequirementKind { Provider, Any, All, AllowMissing, AllowMissingOrFailed }

export class Requirement {
  kind: RequirementKind = RequirementKind.Provider;
  provider: Provider | null = null;
  children: Array<Requirement> = new Array<Requirement>();
}

export enum PathMatch { Prefix, Exact, Glob }

export class Rule {
  pathMatch: PathMatch = PathMatch.Prefix;
  pathValue: string = "/";
  /** Empty: any method. */
  methods: Array<string> = new Array<string>();
  /** Null: the route needs no token. */
  requires: Requirement | null = null;
  /** Claim requirements (Istio-style `when`); all must hold for the request's verified token. */
  when: Array<ClaimCondition> = new Array<ClaimCondition>();
  /** The remote-JWKS providers `requires` may use (filled once at configure time). */
  remoteProviders: Array<Provider> = new Array<Provider>();
}

export class JwtConfig {
  providers: Array<Provider> = new Array<Provider>();
  rules: Array<Rule> = new Array<Rule>();
  maxTokenBytes: i32 = 8192;
  stripFailureResponse: bool = false;
  tokenCacheSize: i32 = 1000;
  /** RS256/384/512 by Envoy's verify_signature when offered (faster); false: always in wasm. */
  hostVerification: bool = true;
  logLevel: i32 = 2; // info
  /** Every header a provider writes; removed from each incoming request so none can be forged. */
  outputHeaders: Array<string> = new Array<string>();

  provider(name: string): Provider | null {
    for (let i = 0; i < this.providers.length; i++) if (this.providers[i].name == name) return this.providers[i];
    return null;
  }
}

const HEADER_TOKEN_CHARS = "!#$%&'*+-.^_`|~";

function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ||
      HEADER_TOKEN_CHARS.indexOf(String.fromCharCode(c)) >= 0;
    if (!ok) return false;
  }
  return true;
}

/** A protobuf Duration in JSON ("300s", "1.5s") or a number of seconds; `fallback` when absent. */
function readDuration(obj: ConfigObject, key: string, fallback: f64): f64 {
  const v = obj.raw(key);
  if (v === null) return fallback;
  let n: f64 = -1;
  if (v.kind == JsonKind.Number) n = v.numberValue;
  else if (v.kind == JsonKind.String && v.stringValue.endsWith("s")) {
    const digits = v.stringValue.substring(0, v.stringValue.length - 1);
    const parsed = parseFloat(digits);
    if (digits.length > 0 && !isNaN(parsed)) n = parsed;
  }
  if (!(n >= 0) || n > 3.15e9) {
    obj.ctx.fail(obj.pathOf(key), "expected a duration such as \"300s\" (or a number of seconds)");
    return fallback;
  }
  return n;
}

/** A duration rounded up to whole seconds. */
function readSeconds(obj: ConfigObject, key: string, fallback: i64): i64 {
  return <i64>Math.ceil(readDuration(obj, key, <f64>fallback));
}

function readHeaderName(ctx: ConfigContext, path: string, name: string): string {
  if (!isHeaderName(name) || name.startsWith(":")) {
    ctx.fail(path, "invalid header name \"" + name + "\"");
    return "";
  }
  return lowercaseHeaderName(name);
}

function parseRemoteJwks(provider: Provider, remote: ConfigObject): void {
  const ctx = remote.ctx;
  provider.remote = true;
  const httpUri = remote.object("http_uri", true);
  if (httpUri !== null) {
    const uri = httpUri.requiredString("uri");
    provider.remoteCluster = httpUri.requiredString("cluster");
    const timeout = readDuration(httpUri, "timeout", 1);
    httpUri.finish();
    if (ctx.failed()) return;
    if (timeout <= 0 || timeout > 600) {
      ctx.fail(httpUri.pathOf("timeout"), "expected a timeout between 1ms and 600s");
      return;
    }
    provider.remoteTimeoutMs = <u32>Math.max(1, Math.round(timeout * 1000));
    const scheme = uri.indexOf("://");
    if (scheme <= 0 || !(uri.startsWith("http://") || uri.startsWith("https://"))) {
      ctx.fail(httpUri.pathOf("uri"), "expected an http:// or https:// URI");
      return;
    }
    const rest = uri.substring(scheme + 3);
    const slash = rest.indexOf("/");
    provider.remoteAuthority = slash < 0 ? rest : rest.substring(0, slash);
    provider.remotePath = slash < 0 ? "/" : rest.substring(slash);
    if (provider.remoteAuthority.length == 0) ctx.fail(httpUri.pathOf("uri"), "the URI has no host");
    provider.remoteUri = uri;
  }
  provider.cacheDurationSeconds = readSeconds(remote, "cache_duration", 600);
  if (provider.cacheDurationSeconds < 1 && !ctx.failed()) ctx.fail(remote.pathOf("cache_duration"), "must be at least 1s");
  provider.failedRefetchSeconds = readSeconds(remote, "failed_refetch_duration", 1);
  provider.unknownKidRefetchSeconds = readSeconds(remote, "unknown_kid_refetch_interval", 30);
  remote.finish();
}

function parseProvider(config: JwtConfig, p: ConfigObject, name: string): Provider {
  const ctx = p.ctx;
  const provider = new Provider();
  provider.name = name;
  provider.issuer = p.string("issuer");
  provider.audiences = p.stringArray("audiences");
  if (p.has("local_jwks") == p.has("remote_jwks")) {
    p.raw("local_jwks");
    p.raw("remote_jwks");
    ctx.fail(p.path, "expected exactly one of local_jwks, remote_jwks");
    return provider;
  }
  const remote = p.object("remote_jwks");
  if (remote !== null) {
    parseRemoteJwks(provider, remote);
  } else {
    const local = p.object("local_jwks");
    if (local === null) return provider;
    const inline = local.string("inline_string", "", true);
    local.finish();
    if (ctx.failed()) return provider;
    const jwks = parseJwks(inline);
    if (jwks.error.length > 0) {
      ctx.fail(local.pathOf("inline_string"), jwks.error);
      return provider;
    }
    provider.keys = jwks.keys;
  }
  if (ctx.failed()) return provider;

  const headers = p.array("from_headers");
  if (headers !== null) {
    for (let i = 0; i < headers.length && !ctx.failed(); i++) {
      const h = headers.object(i);
      if (h === null) break;
      const hname = readHeaderName(ctx, h.pathOf("name"), h.requiredString("name"));
      const prefix = h.string("value_prefix");
      h.finish();
      provider.fromHeaders.push(new HeaderLocation(hname, prefix));
    }
  }
  provider.fromParams = p.stringArray("from_params");
  provider.fromCookies = p.stringArray("from_cookies");
  if (!p.has("from_headers") && !p.has("from_params") && !p.has("from_cookies")) {
    // jwt_authn's default locations.
    provider.fromHeaders.push(new HeaderLocation("authorization", "Bearer "));
    provider.fromParams.push("access_token");
  }
  provider.forward = p.bool("forward");
  const fph = p.string("forward_payload_header");
  if (fph.length > 0) {
    provider.forwardPayloadHeader = readHeaderName(ctx, p.pathOf("forward_payload_header"), fph);
    config.outputHeaders.push(provider.forwardPayloadHeader);
  }
  const cth = p.array("claim_to_headers");
  if (cth !== null) {
    for (let i = 0; i < cth.length && !ctx.failed(); i++) {
      const c = cth.object(i);
      if (c === null) break;
      const header = readHeaderName(ctx, c.pathOf("header_name"), c.requiredString("header_name"));
      const claim = c.requiredString("claim_name");
      c.finish();
      provider.claimToHeaders.push(new ClaimToHeader(header, claim));
      config.outputHeaders.push(header);
    }
  }
  provider.clearRouteCache = p.bool("clear_route_cache");
  provider.clockSkewSeconds = p.integer("clock_skew_seconds", 60, 0, 86400);
  provider.requireExpiration = p.bool("require_expiration");
  provider.maxLifetimeSeconds = readSeconds(p, "max_lifetime", 0);
  p.finish();
  return provider;
}

function parseRequirement(config: JwtConfig, ctx: ConfigContext, path: string, v: JsonValue): Requirement | null {
  if (v.kind != JsonKind.Object) { ctx.fail(path, "expected an object"); return null; }
  const o = new ConfigObject(ctx, path, v);
  const req = new Requirement();
  let kinds = 0;
  if (o.has("provider_name")) {
    kinds++;
    const name = o.string("provider_name");
    req.kind = RequirementKind.Provider;
    req.provider = config.provider(name);
    if (req.provider === null && !ctx.failed()) ctx.fail(o.pathOf("provider_name"), "no provider named \"" + name + "\"");
  }
  if (o.has("requires_any") || o.has("requires_all")) {
    const key = o.has("requires_any") ? "requires_any" : "requires_all";
    kinds += o.has("requires_any") && o.has("requires_all") ? 2 : 1;
    req.kind = key == "requires_any" ? RequirementKind.Any : RequirementKind.All;
    const list = o.object(key);
    if (list !== null) {
      const items = list.array("requirements", true);
      list.finish();
      if (items !== null) {
        if (items.length < 2 && !ctx.failed()) ctx.fail(list.pathOf("requirements"), "needs at least 2 requirements");
        for (let i = 0; i < items.length && !ctx.failed(); i++) {
          const child = parseRequirement(config, ctx, indexPath(items.path, i), items.at(i));
          if (child !== null) req.children.push(child);
        }
      }
    }
  }
  if (o.has("allow_missing")) { kinds++; req.kind = RequirementKind.AllowMissing; o.object("allow_missing"); }
  if (o.has("allow_missing_or_failed")) { kinds++; req.kind = RequirementKind.AllowMissingOrFailed; o.object("allow_missing_or_failed"); }
  if (kinds != 1 && !ctx.failed()) {
    ctx.fail(path, "expected exactly one of provider_name, requires_any, requires_all, allow_missing, allow_missing_or_failed");
  }
  o.finish();
  return ctx.failed() ? null : req;
}

function parseRule(config: JwtConfig, r: ConfigObject): Rule {
  const ctx = r.ctx;
  const rule = new Rule();
  const match = r.object("match", true);
  if (match !== null) {
    let n = 0;
    if (match.has("prefix")) { n++; rule.pathMatch = PathMatch.Prefix; rule.pathValue = match.string("prefix"); }
    if (match.has("path")) { n++; rule.pathMatch = PathMatch.Exact; rule.pathValue = match.string("path"); }
    if (match.has("glob")) { n++; rule.pathMatch = PathMatch.Glob; rule.pathValue = match.string("glob"); }
    if (n != 1 && !ctx.failed()) ctx.fail(match.path, "expected exactly one of prefix, path, glob");
    rule.methods = match.stringArray("methods");
    for (let i = 0; i < rule.methods.length; i++) rule.methods[i] = rule.methods[i].toUpperCase();
    match.finish();
  }
  const requires = r.raw("requires");
  if (requires !== null && !ctx.failed()) rule.requires = parseRequirement(config, ctx, r.pathOf("requires"), requires);
  const when = r.array("when");
  if (when !== null && !ctx.failed()) {
    if (rule.requires === null) ctx.fail(r.pathOf("when"), "claim conditions need a token: add requires");
    for (let i = 0; i < when.length && !ctx.failed(); i++) {
      const w = when.object(i);
      if (w === null) break;
      const c = new ClaimCondition();
      const key = w.requiredString("key");
      c.values = w.stringArray("values");
      c.notValues = w.stringArray("not_values");
      w.finish();
      if (ctx.failed()) break;
      const problem = parseConditionKey(key, c);
      if (problem.length > 0) ctx.fail(w.pathOf("key"), problem);
      else if (c.values.length == 0 && c.notValues.length == 0) ctx.fail(w.path, "expected values or not_values");
      rule.when.push(c);
    }
  }
  r.finish();
  return rule;
}

/** Parses and validates the configuration; null with the reason (and field path) in `ctx`. */
export function parseJwtConfig(ctx: ConfigContext, text: string): JwtConfig | null {
  const root = readConfigObject(ctx, text);
  if (root === null) return null;
  const config = new JwtConfig();
  const providers = root.object("providers", true);
  if (providers !== null) {
    const names = providers.keys();
    if (names.length == 0 && !ctx.failed()) ctx.fail(providers.path, "at least one provider is needed");
    for (let i = 0; i < names.length && !ctx.failed(); i++) {
      const p = providers.object(names[i]);
      if (p === null) break;
      config.providers.push(parseProvider(config, p, names[i]));
    }
  }
  const rules = root.array("rules", true);
  if (rules !== null && !ctx.failed()) {
    for (let i = 0; i < rules.length && !ctx.failed(); i++) {
      const r = rules.object(i);
      if (r === null) break;
      config.rules.push(parseRule(config, r));
    }
  }
  config.maxTokenBytes = <i32>root.integer("max_token_bytes", 8192, 256, 1 << 20);
  config.stripFailureResponse = root.bool("strip_failure_response");
  config.tokenCacheSize = <i32>root.integer("token_cache_size", 1000, 0, 100000);
  const hv = root.string("host_verification", "auto");
  if (hv != "auto" && hv != "off" && !ctx.failed()) ctx.fail(root.pathOf("host_verification"), "expected \"auto\" or \"off\"");
  config.hostVerification = hv == "auto";
  const level = root.string("log_level", "info");
  config.logLevel = parseLogLevel(level);
  if (config.logLevel < 0 && !ctx.failed()) ctx.fail(root.pathOf("log_level"), "expected one of trace, debug, info, warn, error, critical");
  root.finish();
  return ctx.failed() ? null : config;
}


