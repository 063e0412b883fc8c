// Remote JWKS: fetches each remote provider's key set with http_call through its Envoy cluster,
// shares it with the other worker VMs through shared data, and resumes the streams that waited
// for it. The rules of when to fetch live in remote-jwks.ts; this is the I/O.
import {
  BaseContext, HttpCallHandler, HttpCallRequest, HttpCallResponse, httpCall, WasmResultValues,
  getSharedString, setSharedString, currentTimeNanos, wasmResultName, logInfo, logWarn, logDebug, logEnabled, LogLevelValues,
} from "@meshward/sdk/assembly";
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { JwtConfig, Provider } from "./config";
import { Jwk, parseJwks } from "./jwks";
import { RemoteJwksState, decodeSharedJwks, encodeSharedJwks } from "./remote-jwks";
import { VerifiedTokenCache } from "./token-cache";

/** A paused stream waiting for a key set. */
export interface JwksWaiter {
  /** Runs with the waiter's context made effective; decides and resumes (or answers) the stream. */
  resumeAfterJwks(): void;
  waiterId(): u32;
}

class JwksResponseHandler extends HttpCallHandler {
  constructor(public fetcher: JwksFetcher, public state: RemoteJwksState) { super(); }
  onResponse(r: HttpCallResponse): void { this.fetcher.onFetched(this.state, r); }
}

function sharedKey(p: Provider): string { return "meshward.jwt.jwks:" + p.remoteUri; }
function stampKey(p: Provider): string { return "meshward.jwt.jwks.at:" + p.remoteUri; }

export class JwksFetcher {
  private states: Array<RemoteJwksState> = new Array<RemoteJwksState>();
  private waiters: Array<Array<JwksWaiter>> = new Array<Array<JwksWaiter>>();
  nowSeconds: i64 = 0;

  constructor(config: JwtConfig, public root: BaseContext, public cache: VerifiedTokenCache) {
    for (let i = 0; i < config.providers.length; i++) {
      const p = config.providers[i];
      if (!p.remote) continue;
      this.states.push(new RemoteJwksState(p));
      this.waiters.push(new Array<JwksWaiter>());
    }
  }

  private indexOf(p: Provider): i32 {
    for (let i = 0; i < this.states.length; i++) if (this.states[i].provider == p) return i;
    return -1;
  }

  /**
   * Before verifying: adopt a newer copy from shared data, refresh stale keys in the background,
   * and when the provider has no keys yet, park `waiter` until a fetch answers. True = parked.
   */
  prepare(p: Provider, hasToken: bool, waiter: JwksWaiter): bool {
    const i = this.indexOf(p);
    if (i < 0) return false;
    const state = this.states[i];
    const now = this.nowSeconds;
    this.adoptShared(state, now);
    if (state.hasKeys()) {
      if (state.shouldRefreshInBackground(now)) this.start(state, "cache_duration elapsed");
      return false;
    }
    if (!hasToken) return false;
    if (state.inFlight || (state.mustFetchBeforeVerifying(now) && this.start(state, "no keys yet"))) {
      this.waiters[i].push(waiter);
      return true;
    }
    return false;
  }

  /** A token named a kid the set lacks: re-fetch (rate-limited) and park `waiter`. True = parked. */
  refetchForUnknownKid(p: Provider, waiter: JwksWaiter): bool {
    const i = this.indexOf(p);
    if (i < 0) return false;
    const state = this.states[i];
    // A fetch already under way (e.g. the cache_duration refresh) may bring the key: wait for it.
    if (state.inFlight) {
      this.waiters[i].push(waiter);
      return true;
    }
    if (!state.mayRefetchForUnknownKid(this.nowSeconds)) return false;
    state.lastUnknownKidFetch = this.nowSeconds;
    if (!this.start(state, "a token names an unknown kid")) return false;
    this.waiters[i].push(waiter);
    return true;
  }

  private start(state: RemoteJwksState, why: string): bool {
    const p = state.provider;
    state.lastAttempt = this.nowSeconds;
    const request = new HttpCallRequest("GET", p.remotePath);
    request.authority = p.remoteAuthority;
    request.header("accept", "application/json");
    const r = httpCall(this.root, p.remoteCluster, request, p.remoteTimeoutMs, new JwksResponseHandler(this, state));
    if (r != WasmResultValues.Ok) {
      state.lastFailure = this.nowSeconds;
      logWarn("jwt: provider " + p.name + ": cannot fetch JWKS from " + p.remoteUri + " through cluster \"" +
        p.remoteCluster + "\" (" + wasmResultName(r) + "; is the cluster defined?)");
      return false;
    }
    state.inFlight = true;
    if (logEnabled(LogLevelValues.debug)) logDebug("jwt: provider " + p.name + ": fetching JWKS from " + p.remoteUri + " (" + why + ")");
    return true;
  }

  onFetched(state: RemoteJwksState, r: HttpCallResponse): void {
    const p = state.provider;
    state.inFlight = false;
    this.nowSeconds = <i64>(currentTimeNanos() / 1000000000);
    let problem = "";
    if (r.failed) problem = r.failure;
    else if (r.status != 200) problem = "HTTP " + r.status.toString();
    else {
      const text = r.bodyText();
      const jwks = parseJwks(text);
      if (jwks.error.length > 0) problem = jwks.error;
      else {
        state.fetchedAt = this.nowSeconds;
        this.install(p, jwks.keys);
        setSharedString(sharedKey(p), encodeSharedJwks(state.fetchedAt, text));
        setSharedString(stampKey(p), state.fetchedAt.toString());
        logInfo("jwt: provider " + p.name + ": fetched " + jwks.keys.length.toString() + " key(s) from " + p.remoteUri);
      }
    }
    if (problem.length > 0) {
      state.lastFailure = this.nowSeconds;
      logWarn("jwt: provider " + p.name + ": JWKS fetch from " + p.remoteUri + " failed: " + problem +
        (state.hasKeys() ? "; still using the " + p.keys.length.toString() + " cached key(s)" : "; tokens cannot be verified yet"));
    }
    this.resumeWaiters(this.indexOf(p));
  }

  private install(p: Provider, keys: Array<Jwk>): void {
    p.keys = keys;
    // Tokens verified against the old set must be checked again against the new one.
    this.cache.clear();
  }

  private resumeWaiters(i: i32): void {
    if (i < 0) return;
    const list = this.waiters[i];
    this.waiters[i] = new Array<JwksWaiter>();
    for (let j = 0; j < list.length; j++) {
      // A stream whose client went away cannot be made effective: nothing to resume.
      if (imports.proxy_set_effective_context(list[j].waiterId()) != WasmResultValues.Ok) continue;
      list[j].resumeAfterJwks();
    }
  }

  /** Another VM may have fetched a newer set: take it from shared data. */
  private adoptShared(state: RemoteJwksState, now: i64): void {
    if (!state.shouldCheckShared(now)) return;
    state.lastSharedCheck = now;
    const p = state.provider;
    const stamp = getSharedString(stampKey(p));
    if (stamp === null || I64.parseInt(stamp) <= state.fetchedAt) return;
    const stored = getSharedString(sharedKey(p));
    if (stored === null) return;
    const shared = decodeSharedJwks(stored);
    if (shared === null || shared.fetchedAt <= state.fetchedAt) return;
    const jwks = parseJwks(shared.jwks);
    if (jwks.error.length > 0) return;
    state.fetchedAt = shared.fetchedAt;
    this.install(p, jwks.keys);
    if (logEnabled(LogLevelValues.debug)) logDebug("jwt: provider " + p.name + ": took " + jwks.keys.length.toString() + " key(s) fetched by another worker");
  }
}
