// The JWT filter: verifies bearer tokens as Envoy's jwt_authn does, inside a wasm VM, and hands
// the verified identity to later filters, access logs and ext_authz. Glue only: the decisions
// live in config.ts, rules.ts, authenticate.ts, verify.ts and token.ts.
// The lean headers-only entry: no per-request bookkeeping logs, no body/log callbacks into the VM.
export * from "@meshward/sdk/assembly/abi-headers";
import {
  CalloutRootContext, Context, registerRootContext, FilterHeadersStatusValues, HeaderMapTypeValues,
  ConfigContext, getPluginConfiguration, logError, logInfo, logDebug, logEnabled, setLogLevel, LogLevelValues,
  getHeaderPairs, removeHeader, clearRouteCache, setHeader, sendLocalResponse, setFilterState, currentTimeNanos,
  lowercaseHeaderNames, headerFirst,
} from "@meshward/sdk/assembly";
import { warmUpEcdsa, initEd25519, Curve } from "./crypto/index";
import { JwtConfig, parseJwtConfig } from "./config";
import { findRule } from "./rules";
import { authenticate, findToken, RequestView, VerifiedToken } from "./authenticate";
import { urlPathOf } from "./request";
import { JwtStatus, statusMessage, statusHttpCode } from "./status";
import { JwksFetcher, JwksWaiter } from "./jwks-fetcher";
import { remoteProvidersOf } from "./remote-jwks";
import { VerifiedTokenCache } from "./token-cache";
import { claimsSatisfied, claimText } from "./claims";
import { HostRsaVerifier } from "./host-verify";
import { offloadRsaPkcs1 } from "./verify";

class JwtRoot extends CalloutRootContext {
  config: JwtConfig | null = null;
  cache: VerifiedTokenCache = new VerifiedTokenCache(0, 0);
  fetcher: JwksFetcher | null = null;

  onConfigure(configuration_size: u32): bool {
    const ctx = new ConfigContext();
    const config = parseJwtConfig(ctx, getPluginConfiguration(configuration_size));
    if (config === null) {
      logError("jwt: invalid plugin configuration: " + ctx.error());
      return false;
    }
    setLogLevel(<LogLevelValues>config.logLevel);
    // Build the fixed-base tables now rather than on a client's first request.
    warmUpEcdsa(Curve.P256);
    warmUpEcdsa(Curve.P384);
    initEd25519();
    const host = config.hostVerification ? HostRsaVerifier.ifAvailable() : null;
    offloadRsaPkcs1(host);
    this.config = config;
    this.cache = new VerifiedTokenCache(config.tokenCacheSize, config.maxTokenBytes);
    this.fetcher = new JwksFetcher(config, this, this.cache);
    // Which remote key sets each rule may need: worked out once, not per request.
    for (let i = 0; i < config.rules.length; i++) {
      const rule = config.rules[i];
      if (rule.requires !== null) remoteProvidersOf(config, rule.requires!, rule.remoteProviders);
    }
    let keys = 0;
    let remote = 0;
    for (let i = 0; i < config.providers.length; i++) {
      keys += config.providers[i].keys.length;
      if (config.providers[i].remote) remote++;
    }
    logInfo("jwt: configured " + config.providers.length.toString() + " provider(s) (" + remote.toString() + " with remote JWKS), " +
      keys.toString() + " local key(s), " + config.rules.length.toString() + " rule(s); RSA verified " +
      (host !== null ? "by the host (verify_signature)" : "in wasm"));
    return true;
  }

  createContext(context_id: u32): Context {
    return new JwtStream(context_id, this);
  }
}

class JwtStream extends Context implements JwksWaiter {
  /** A stream waits for a key fetch at most once; after that it is decided with what there is. */
  private waited: bool = false;

  constructor(context_id: u32, readonly root: JwtRoot) {
    super(context_id, root);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    return this.decide();
  }

  waiterId(): u32 { return this.context_id; }

  resumeAfterJwks(): void {
    if (this.decide() == FilterHeadersStatusValues.Continue) this.continueRequest();
  }

  private decide(): FilterHeadersStatusValues {
    const config = this.root.config;
    if (config === null) return FilterHeadersStatusValues.Continue;
    // Headers this filter writes never come from the client.
    for (let i = 0; i < config.outputHeaders.length; i++) removeHeader(HeaderMapTypeValues.RequestHeaders, config.outputHeaders[i]);

    const pairs = lowercaseHeaderNames(getHeaderPairs(HeaderMapTypeValues.RequestHeaders));
    const path = headerFirst(pairs, ":path");
    const method = headerFirst(pairs, ":method");
    const rule = findRule(config, urlPathOf(path === null ? "/" : path), method === null ? "" : method);
    if (rule === null || rule.requires === null) return FilterHeadersStatusValues.Continue;

    const req = new RequestView();
    req.headers = pairs;
    req.path = path === null ? "" : path;
    const now = <i64>(currentTimeNanos() / 1000000000);
    const cache = this.root.cache;
    cache.nowSeconds = now;
    const fetcher = this.root.fetcher!;
    fetcher.nowSeconds = now;
    const remote = rule.remoteProviders;
    if (!this.waited) {
      let parked = false;
      for (let i = 0; i < remote.length; i++) {
        if (fetcher.prepare(remote[i], findToken(req, remote[i]) !== null, this)) parked = true;
      }
      if (parked) {
        this.waited = true;
        return FilterHeadersStatusValues.StopIteration;
      }
    }

    const result = authenticate(req, config, rule.requires!, cache);
    if (result.status == JwtStatus.NoMatchingKey && !this.waited) {
      // The issuer may have rotated its keys: look again (rate-limited) before refusing.
      let parked = false;
      for (let i = 0; i < remote.length; i++) {
        if (findToken(req, remote[i]) !== null && fetcher.refetchForUnknownKid(remote[i], this)) parked = true;
      }
      if (parked) {
        this.waited = true;
        return FilterHeadersStatusValues.StopIteration;
      }
    }
    if (result.status == JwtStatus.Ok && rule.when.length > 0) {
      // Claim requirements judge the request's identity: its first verified token.
      if (result.verified.length == 0) result.status = JwtStatus.Missing;
      else if (!claimsSatisfied(rule.when, result.verified[0].jwt)) result.status = JwtStatus.ClaimsNotAllowed;
    }
    if (result.status != JwtStatus.Ok) {
      this.reject(config, pairs, result.status);
      return FilterHeadersStatusValues.StopIteration;
    }
    let reroute = false;
    for (let i = 0; i < result.verified.length; i++) {
      this.publish(result.verified[i], i == 0);
      if (result.verified[i].provider.clearRouteCache) reroute = true;
    }
    // As jwt_authn's clear_route_cache: routes matching on the headers just written see them.
    if (reroute) clearRouteCache();
    return FilterHeadersStatusValues.Continue;
  }

  /** Outputs of a verified token: headers upstream, filter state, and the token removed unless forwarded. */
  private publish(v: VerifiedToken, first: bool): void {
    const p = v.provider;
    const jwt = v.jwt;
    if (!p.forward && v.header.length > 0) removeHeader(HeaderMapTypeValues.RequestHeaders, v.header);
    if (p.forwardPayloadHeader.length > 0) setHeader(HeaderMapTypeValues.RequestHeaders, p.forwardPayloadHeader, jwt.payloadB64);
    for (let i = 0; i < p.claimToHeaders.length; i++) {
      const value = claimText(jwt.payload, p.claimToHeaders[i].claim);
      if (value !== null) setHeader(HeaderMapTypeValues.RequestHeaders, p.claimToHeaders[i].header, value);
    }
    if (first) {
      // The first verified token is the request's identity (Istio's request.auth.principal).
      setFilterState("meshward.jwt.principal", jwt.iss + "/" + jwt.sub);
      setFilterState("meshward.jwt.claims", jwt.payloadJson);
      setFilterState("meshward.jwt.provider", p.name);
    }
    if (logEnabled(LogLevelValues.debug)) logDebug("jwt: " + p.name + ": verified token of " + jwt.iss + "/" + jwt.sub);
  }

  private reject(config: JwtConfig, pairs: Array<string[]>, status: JwtStatus): void {
    const message = statusMessage(status);
    if (logEnabled(LogLevelValues.debug)) logDebug("jwt: request refused: " + message);
    const proto = headerFirst(pairs, "x-forwarded-proto");
    const scheme = proto !== null ? proto : headerFirst(pairs, ":scheme");
    const host = headerFirst(pairs, ":authority");
    const path = headerFirst(pairs, ":path");
    let challenge = "Bearer realm=\"" + (scheme === null ? "http" : scheme!) + "://" +
      (host === null ? "" : host!) + urlPathOf(path === null ? "" : path!) + "\"";
    // RFC 6750: a valid token lacking what the resource needs is insufficient_scope, not invalid.
    if (status == JwtStatus.ClaimsNotAllowed) challenge += ", error=\"insufficient_scope\"";
    else if (status != JwtStatus.Missing) challenge += ", error=\"invalid_token\"";
    const details = "jwt_authn_access_denied{" + message.replaceAll(" ", "_") + "}";
    sendLocalResponse(statusHttpCode(status), config.stripFailureResponse ? "" : message,
      [["www-authenticate", challenge]], details);
  }
}

registerRootContext((context_id: u32) => new JwtRoot(context_id), "jwt");
// Istio's WasmPlugin without `pluginName` gives the plugin an empty root id.
registerRootContext((context_id: u32) => new JwtRoot(context_id), "");
