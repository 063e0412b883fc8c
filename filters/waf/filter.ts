// The WAF filter: SecLang rules (the bundled core ruleset and/or your own) run on every request
// in phases 1-2 and, when rules ask for it, on the response in phases 3-4. Glue only: parsing
// lives in config.ts and seclang/, the decisions in engine.ts, request parsing in request.ts.
export * from "@meshward/sdk/assembly/abi-collect";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, FilterDataStatusValues,
  FilterTrailersStatusValues, HeaderMapTypeValues, ConfigContext, getPluginConfiguration, logError,
  logInfo, logWarn, logDebug, logEnabled, setLogLevel, LogLevelValues, getHeaderPairsFlat, getHeaderValue, removeHeaderBytes,
  addHeaderBytes, sendLocalResponse, setPropertyBytes, getRequestBody, getResponseBody, Source, counter, gauge, CounterMetric, encodePropertyPath, getPropertyEncoded,
} from "@meshward/sdk/assembly";
import { LoadStatus, WafConfig, WafConfigLoader } from "./config";
import { ConfigureStep, collectBeforeBodiesOf, collectEveryAllocatedBytes, collectEveryInputBytes, configureInSteps, noteInput } from "@meshward/sdk/assembly/collect";
import { MatchEvent, Transaction, knownValue } from "./engine";
import { BodyLimitAction } from "./seclang/model";
import { Pairs, RequestData, contentTypeParam, flattenJson, flattenXml, mediaType, parseCookies, parseMultipart, parseUrlEncoded, setResponseStatusReader } from "./request";
import { byteStringOf, jsonString, textOf } from "./bytes";

const SCORE_HEADER = "x-meshward-waf-score";
// The outputs' names, encoded once (they are written on every request).
const SCORE_HEADER_BYTES = String.UTF8.encode(SCORE_HEADER);
/** Filter state `wasm.meshward.waf.anomaly_score` and `wasm.meshward.waf.matched_rules`. */
const SCORE_STATE_KEY = String.UTF8.encode("meshward.waf.anomaly_score");
const MATCHED_STATE_KEY = String.UTF8.encode("meshward.waf.matched_rules");
const NO_BYTES = new ArrayBuffer(0);
/** The text of scores below SCORE_TEXTS, encoded at first use (most requests score 0). */
const SCORE_TEXTS = 256;
const scoreTexts = new StaticArray<ArrayBuffer | null>(SCORE_TEXTS);

/** The score as UTF-8 text. */
function scoreBytes(score: i32): ArrayBuffer {
  if (<u32>score >= <u32>SCORE_TEXTS) return String.UTF8.encode(score.toString());
  let text = unchecked(scoreTexts[score]);
  if (text === null) {
    text = String.UTF8.encode(score.toString());
    unchecked(scoreTexts[score] = text);
  }
  return text!;
}
/** `request.protocol` (Request.protocol()), its path encoded once: it is read on every request. */
const PROTOCOL_PATH = encodePropertyPath(["request", "protocol"]);
/**
 * Garbage collection (built with the minimal runtime, the filter frees garbage only between
 * callbacks, sdk collect.ts): by what was allocated since the last collection, measured (a GET
 * leaves ~20 KB, a 128 KiB body of tiny values ~5 MiB: no input budget fits both). A collection
 * follows the end of the stream by which ALLOCATED_PER_COLLECT bytes were allocated, and precedes
 * the callback that ends a body of LARGE_BODY bytes or more when that body, at
 * GARBAGE_PER_BODY_BYTE (above the most measured, ~37 for tiny JSON values), would pass the same
 * budget: the body's garbage lands on a heap with room for it, and a run of 64 KiB bodies shares
 * a collection between a few (each costs a mark of the ~5 MiB live heap). BODY_INPUT_PER_COLLECT
 * is a backstop for what the count does not see (arrays made before a body that grow with it).
 * docs/waf.md "Runtime and memory".
 */
const ALLOCATED_PER_COLLECT: usize = 8 << 20;
const GARBAGE_PER_BODY_BYTE: u32 = 48;
const BODY_INPUT_PER_COLLECT: u32 = 1 << 20;
const LARGE_BODY: u32 = 16384;
let requestsSeen: u32 = 0;

class WafRoot extends RootContext {
  config: WafConfig | null = null;

  onConfigure(configuration_size: u32): bool {
    // Loaded in steps (the ABI entry collects the garbage of each before the next; see
    // configureStep): one call would leave tens of MiB of garbage behind under the minimal runtime.
    loading = new WafConfigLoader(new ConfigContext(), getPluginConfiguration(configuration_size));
    loadingFor = this;
    configureInSteps(configureStep);
    return true;
  }

  /** The last step of loading: the configuration takes effect. */
  configured(config: WafConfig): void {
    setLogLevel(<LogLevelValues>config.logLevel);
    this.config = config;
    let n = 0;
    for (let i = 0; i < config.rules.rules.length; i++) if (config.rules.rules[i].marker.length == 0) n++;
    logInfo("waf: configured " + n.toString() + " rule(s)" +
      (config.paranoiaLevel > 0 ? ", bundled ruleset at paranoia level " + config.paranoiaLevel.toString() : "") +
      (config.detectionOnly ? ", detection only" : "") +
      "; " + config.rules.screenedRules.toString() + " rule(s) screened by literals in one pass per value form (" + config.rules.screenGroupChain.length.toString() + " transformation list(s)), " +
      config.rules.prefilteredRules.toString() + " @rx rule(s) in " + config.rules.prefilterGroups.toString() + " shared-pass group(s)");
  }

  createContext(context_id: u32): Context {
    return new WafStream(context_id, this);
  }
}

/** The configuration being loaded and the root context it is for (globals: they outlive each step). */
let loading: WafConfigLoader | null = null;
let loadingFor: WafRoot | null = null;

/**
 * One step of loading the configuration, called by the ABI entry (sdk abi-collect.ts) until it
 * returns Done or Failed, with a garbage collection after each call. Sound because the
 * collection runs after this function returned, when no frame of the filter is live: every
 * object a later step uses is reachable from the globals above (the loader holds the parser,
 * the rules parsed so far and the JSON configuration).
 */
function configureStep(): ConfigureStep {
  const status = loading!.step();
  if (status == LoadStatus.More) return ConfigureStep.More;
  const loader = loading!;
  const root = loadingFor!;
  loading = null;
  loadingFor = null;
  if (status == LoadStatus.Failed) {
    logError("waf: invalid plugin configuration: " + loader.ctx.error());
    return ConfigureStep.Failed;
  }
  root.configured(loader.config!);
  return ConfigureStep.Done;
}

/** Strips the port from "ip:port" / "[v6]:port". */
function hostOf(address: string): string {
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end < 0 ? address : address.substring(1, end);
  }
  const colon = address.indexOf(":");
  return colon >= 0 && address.indexOf(":", colon + 1) < 0 ? address.substring(0, colon) : address;
}

class WafStream extends Context {
  tx: Transaction | null = null;
  requestDone: bool = false;
  responseInspected: bool = false;
  blocked: bool = false;
  /** Set once a body callback ran: the request headers have gone upstream by then. */
  sawBody: bool = false;
  headersSent: bool = false;

  constructor(context_id: u32, readonly root: WafRoot) {
    super(context_id, root);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    if (config === null) return FilterHeadersStatusValues.Continue;
    const tx = new Transaction(config.rules, config.blockStatus);
    this.tx = tx;
    const req = tx.req;
    // Names and values alternating.
    // Repeated names and values come back as the strings of earlier requests: no allocation, and
    // the value table finds them by identity (ValueTable.idsOf).
    // Byte strings (what the rules match): a value that is not ASCII comes as its bytes.
    const pairs = getHeaderPairsFlat(HeaderMapTypeValues.RequestHeaders, true, true);
    // The score header is ours: a client must not be able to forge it. Removed (a host call)
    // only when sent; the rules never see it.
    let forged = false;
    let path = "/";
    // Every header and a host from :authority at most (pseudo-headers are counted too: a bound).
    req.headers.reserve((pairs.length >> 1) + 1);
    for (let i = 0; i < pairs.length; i += 2) {
      const name = unchecked(pairs[i]);
      // Compared only where the length or the first unit allows (each == is a call).
      if (name.length == SCORE_HEADER.length && name == SCORE_HEADER) { forged = true; continue; }
      if (name.length > 0 && name.charCodeAt(0) == 0x3a) {
        if (name == ":path") path = unchecked(pairs[i + 1]);
        else if (name == ":method") req.method = unchecked(pairs[i + 1]);
        continue;
      }
      const value = unchecked(pairs[i + 1]);
      req.headers.add(name, value);
      if (name.length == 6 && name == "cookie") parseCookies(value, req.cookies, knownValue);
    }
    if (forged) removeHeaderBytes(HeaderMapTypeValues.RequestHeaders, SCORE_HEADER_BYTES);
    const authority = headerOf(pairs, ":authority");
    if (authority.length > 0 && req.header("host").length == 0) req.headers.add("host", authority);
    req.setUri(path, knownValue);
    const protocol = getPropertyEncoded(PROTOCOL_PATH);
    if (protocol !== null) req.protocol = String.UTF8.decode(protocol);
    // The client address is a host property read: made here only when a rule reads it, else
    // when an audit line needs it (readRemoteAddr).
    if (config.readsRemoteAddr) this.readRemoteAddr(req);

    if (tx.evaluatePhase(1)) return this.block(tx);
    if (end_of_stream || !tx.requestBodyAccess) return this.finishRequest(tx) ? FilterHeadersStatusValues.StopIteration : FilterHeadersStatusValues.Continue;
    // A body follows. Proxy-wasm cannot hold the headers and still see the body (a paused filter
    // gets no body callbacks), so the headers go upstream now with the phase-1 score; phase 2
    // runs on the buffered body and can still block (Envoy then resets the upstream request);
    // the final score goes to the filter state.
    this.writeScoreHeader(tx);
    setPropertyBytes(SCORE_STATE_KEY, scoreBytes(tx.anomalyScore()));
    return FilterHeadersStatusValues.Continue;
  }

  onRequestBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    const tx = this.tx;
    if (tx === null || this.requestDone || this.blocked) return FilterDataStatusValues.Continue;
    this.sawBody = true;
    const limit = tx.rules.requestBodyLimit;
    if (<i64>body_buffer_length > <i64>limit) {
      if (tx.rules.requestBodyLimitAction == BodyLimitAction.Reject) {
        if (logEnabled(LogLevelValues.info)) logInfo("waf: request body over SecRequestBodyLimit (" + limit.toString() + " bytes): rejected");
        this.blocked = true;
        this.requestDone = true;
        sendLocalResponse(413, "Request body too large.\n", [["content-type", "text/plain"]], "meshward_waf_body_limit");
        return FilterDataStatusValues.StopIterationNoBuffer;
      }
      // ProcessPartial: inspect the first `limit` bytes, let the rest through.
      this.inspectBody(tx, limit);
      return this.finishRequest(tx) ? FilterDataStatusValues.StopIterationNoBuffer : FilterDataStatusValues.Continue;
    }
    if (!end_of_stream) return FilterDataStatusValues.StopIterationAndBuffer;
    this.inspectBody(tx, limit);
    return this.finishRequest(tx) ? FilterDataStatusValues.StopIterationNoBuffer : FilterDataStatusValues.Continue;
  }

  onRequestTrailers(a: u32): FilterTrailersStatusValues {
    const tx = this.tx;
    if (tx === null || this.requestDone || this.blocked) return FilterTrailersStatusValues.Continue;
    this.sawBody = true;
    this.inspectBody(tx, tx.rules.requestBodyLimit);
    return this.finishRequest(tx) ? FilterTrailersStatusValues.StopIteration : FilterTrailersStatusValues.Continue;
  }

  /** Reads the buffered body (up to `limit` bytes) into the transaction and parses it by content type. */
  private inspectBody(tx: Transaction, limit: i32): void {
    const buf = getRequestBody();
    if (buf === null) return;
    const req = tx.req;
    req.bodyLength = buf.byteLength;
    const body = byteStringOf(buf.byteLength > limit ? buf.slice(0, limit) : buf);
    req.body = body;
    const ct = req.header("content-type");
    const type = mediaType(ct);
    let processor = req.bodyProcessor;
    if (processor.length == 0) {
      if (type == "application/x-www-form-urlencoded") processor = "URLENCODED";
      else if (type == "multipart/form-data") processor = "MULTIPART";
      else if (type == "application/json" || (type.startsWith("application/") && type.endsWith("+json"))) processor = "JSON";
      else if (type == "text/xml" || type == "application/xml" || (type.startsWith("application/") && type.endsWith("+xml"))) processor = "XML";
    }
    req.bodyProcessor = processor;
    if (processor == "URLENCODED") parseUrlEncoded(body, req.argsPost, knownValue);
    else if (processor == "JSON") req.bodyError = flattenJson(body, req.argsPost, knownValue);
    else if (processor == "MULTIPART") req.bodyError = parseMultipart(body, contentTypeParam(ct, "boundary"), req.argsPost, req.files);
    else if (processor == "XML") req.bodyError = flattenXml(body, req.argsPost);
    else if (body.length > 0 && isTextual(type)) {
      // Other text bodies (text/plain, no content type, ...) are one argument, so the
      // argument rules inspect them too.
      req.argsPost.add("body", body);
    }
    req.touch(); // the engine collects afresh for phase 2
    noteInput(<u32>body.length);
    if (req.bodyError.length > 0 && logEnabled(LogLevelValues.debug)) logDebug("waf: request body error: " + req.bodyError);
  }

  /** Phase 2 and the request's outputs; true when the request was blocked. */
  private finishRequest(tx: Transaction): bool {
    this.requestDone = true;
    this.headersSent = this.sawBody;
    if (tx.evaluatePhase(2)) { this.block(tx); return true; }
    this.publish(tx);
    if (!this.headersSent) this.writeScoreHeader(tx);
    this.count(tx.wouldInterruptRuleId != 0 ? Outcome.Detected : Outcome.Allowed);
    return false;
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    const tx = this.tx;
    if (config === null || tx === null || this.blocked || !config.hasResponseRules) {
      this.endTransaction();
      return FilterHeadersStatusValues.Continue;
    }
    const req = tx.req;
    if (config.readsResponseHeaders) {
      const pairs = getHeaderPairsFlat(HeaderMapTypeValues.ResponseHeaders, true, true);
      for (let i = 0; i < pairs.length; i += 2) {
        const name = unchecked(pairs[i]);
        if (name == ":status") req.responseStatus = unchecked(pairs[i + 1]);
        else if (!name.startsWith(":")) req.responseHeaders.add(name, unchecked(pairs[i + 1]));
      }
    } else {
      // No rule reads the other headers: the status alone, and only if a rule asks for it
      // (readResponseStatus). The response phases all run in this callback then (bodies are
      // not inspected), while the headers can be read.
      req.statusArrived();
    }
    req.touch();
    if (tx.evaluatePhase(3)) { this.blockResponse(tx); return FilterHeadersStatusValues.StopIteration; }
    if (end_of_stream || !this.inspectsResponseBody(tx)) {
      this.responseInspected = true;
      if (tx.evaluatePhase(4)) { this.blockResponse(tx); return FilterHeadersStatusValues.StopIteration; }
      tx.evaluatePhase(5);
      // Matches of the response phases that did not block are logged too.
      this.auditNew(tx);
      this.endTransaction();
      return FilterHeadersStatusValues.Continue;
    }
    // The body follows. As for requests, paused headers would get no body callbacks, so the
    // headers leave now; the body is held until phase 4 ran, and a deny there resets the
    // stream (Envoy's local reply after response headers), so the body never reaches the client.
    return FilterHeadersStatusValues.Continue;
  }

  private inspectsResponseBody(tx: Transaction): bool {
    if (!tx.rules.responseBodyAccess) return false;
    const type = mediaType(headerValueOf(tx.req.responseHeaders, "content-type"));
    const types = tx.rules.responseBodyMimeTypes;
    for (let i = 0; i < types.length; i++) if (types[i] == type) return true;
    return false;
  }

  onResponseBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    const tx = this.tx;
    if (tx === null || this.blocked || this.responseInspected || !this.root.config!.hasResponseRules) return FilterDataStatusValues.Continue;
    const limit = tx.rules.responseBodyLimit;
    const over = <i64>body_buffer_length > <i64>limit;
    if (!end_of_stream && !over) return FilterDataStatusValues.StopIterationAndBuffer;
    return this.finishResponse(tx) ? FilterDataStatusValues.StopIterationNoBuffer : FilterDataStatusValues.Continue;
  }

  onResponseTrailers(a: u32): FilterTrailersStatusValues {
    const tx = this.tx;
    if (tx === null || this.blocked || this.responseInspected || !this.root.config!.hasResponseRules) return FilterTrailersStatusValues.Continue;
    // The body ended without end_of_stream (trailers follow, as in gRPC): what was buffered is all of it.
    return this.finishResponse(tx) ? FilterTrailersStatusValues.StopIteration : FilterTrailersStatusValues.Continue;
  }

  /** Reads the buffered response body (up to the limit), runs phases 4 and 5; true when phase 4 blocked. */
  private finishResponse(tx: Transaction): bool {
    this.responseInspected = true;
    const limit = tx.rules.responseBodyLimit;
    const buf = getResponseBody();
    if (buf !== null) tx.req.responseBody = byteStringOf(buf.byteLength > limit ? buf.slice(0, limit) : buf);
    noteInput(<u32>tx.req.responseBody.length);
    tx.req.touch();
    if (tx.evaluatePhase(4)) { this.blockResponse(tx); return true; }
    tx.evaluatePhase(5);
    this.auditNew(tx);
    this.endTransaction();
    return false;
  }

  /**
   * The transaction is done once the request side finished and the response side has nothing
   * left to run: its parts go to later requests (Transaction.release), and this stream's later
   * callbacks find none. A response that arrives before the request ended leaves it to the
   * garbage collector (the request's phases may still run).
   */
  private endTransaction(): void {
    const tx = this.tx;
    if (tx === null || !this.requestDone) return;
    this.tx = null;
    tx.release();
  }

  private block(tx: Transaction): FilterHeadersStatusValues {
    this.blocked = true;
    this.requestDone = true;
    this.publish(tx);
    this.count(Outcome.Blocked);
    const config = this.root.config!;
    sendLocalResponse(<u32>tx.interruptStatus, config.blockBody, [["content-type", "text/plain"]], "meshward_waf_blocked");
    return FilterHeadersStatusValues.StopIteration;
  }

  private blockResponse(tx: Transaction): void {
    this.blocked = true;
    this.auditNew(tx);
    this.count(Outcome.BlockedResponse);
    const config = this.root.config!;
    sendLocalResponse(<u32>tx.interruptStatus, config.blockBody, [["content-type", "text/plain"]], "meshward_waf_blocked");
  }

  private audited: i32 = 0;

  /** Filter state for later filters and ext_authz, audit lines, metrics per family. */
  private publish(tx: Transaction): void {
    setPropertyBytes(SCORE_STATE_KEY, scoreBytes(tx.anomalyScore()));
    const ids = tx.matchedRuleIds();
    setPropertyBytes(MATCHED_STATE_KEY, ids.length > 0 ? String.UTF8.encode(ids) : NO_BYTES);
    this.auditNew(tx);
  }

  /**
   * The score header, written once per request (when the headers leave). Appended: a forged
   * one was removed when the headers were read, and an append skips Envoy's lookup of a replace.
   */
  private writeScoreHeader(tx: Transaction): void {
    addHeaderBytes(HeaderMapTypeValues.RequestHeaders, SCORE_HEADER_BYTES, scoreBytes(tx.anomalyScore()));
  }

  private remoteAddrRead: bool = false;

  private readRemoteAddr(req: RequestData): void {
    if (this.remoteAddrRead) return;
    this.remoteAddrRead = true;
    const source = Source.address();
    if (source !== null) req.remoteAddr = hostOf(source);
  }

  private auditNew(tx: Transaction): void {
    const config = this.root.config!;
    for (let i = this.audited; i < tx.events.length; i++) {
      const ev = tx.events[i];
      if (!ev.log) continue;
      const c = counter("waf.rule." + ev.family + "." + ev.action);
      if (c !== null) c.increment(1);
      if (config.auditLog && logEnabled(LogLevelValues.warn)) {
        this.readRemoteAddr(tx.req);
        logWarn(auditLine(tx, ev));
      }
    }
    this.audited = tx.events.length;
  }

  private count(outcome: Outcome): void {
    let c = unchecked(outcomeCounters[outcome]);
    if (c === null) {
      c = counter("waf.requests." + unchecked(OUTCOME_NAMES[outcome]));
      unchecked(outcomeCounters[outcome] = c);
    }
    if (c !== null) c.increment(1);
    // The VM's linear memory, now and then (a gauge per worker VM; wasm memory never shrinks).
    if ((++requestsSeen & 255) == 1) {
      const g = gauge("waf.wasm_memory_bytes");
      if (g !== null) g.set(<u64>memory.size() << 16);
    }
  }
}

/** How a stream ended, counted as `waf.requests.<name>` (OUTCOME_NAMES). */
enum Outcome { Allowed, Detected, Blocked, BlockedResponse }
const OUTCOME_NAMES: StaticArray<string> = ["allowed", "detected", "blocked", "blocked_response"];
/** The counter of each outcome once defined (counter() would build and hash its name per request). */
const outcomeCounters = new StaticArray<CounterMetric | null>(4);

/** Content types whose body is text worth inspecting as one value (binary types are not). */
function isTextual(type: string): bool {
  return type.length == 0 || type.startsWith("text/") || type == "application/x-javascript" || type == "application/javascript" ||
    type == "application/graphql" || type == "application/x-ndjson" || type == "application/csp-report";
}

/** The first value of `name` in names and values alternating. */
function headerOf(pairs: string[], name: string): string {
  for (let i = 0; i < pairs.length; i += 2) if (unchecked(pairs[i]) == name) return unchecked(pairs[i + 1]);
  return "";
}

function headerValueOf(p: Pairs, name: string): string {
  for (let i = 0; i < p.length; i++) if (p.names[i].toLowerCase() == name) return p.values[i];
  return "";
}

const AUDIT_VALUE_MAX = 256;

function clip(s: string): string {
  return s.length > AUDIT_VALUE_MAX ? s.substring(0, AUDIT_VALUE_MAX) + "..." : s;
}

/** One JSON audit line per matched rule (matched data clipped; never the full body). */
function auditLine(tx: Transaction, ev: MatchEvent): string {
  let tags = "[";
  for (let i = 0; i < ev.tags.length; i++) tags += (i > 0 ? "," : "") + jsonString(textOf(ev.tags[i]));
  tags += "]";
  return "{\"waf\":\"match\",\"rule_id\":" + ev.ruleId.toString() +
    ",\"phase\":" + ev.phase.toString() +
    ",\"family\":" + jsonString(ev.family) +
    ",\"action\":" + jsonString(ev.action) +
    ",\"mode\":" + jsonString(tx.mode == 2 ? "block" : "detection_only") +
    ",\"severity\":" + jsonString(ev.severity) +
    ",\"msg\":" + jsonString(textOf(clip(ev.msg))) +
    ",\"data\":" + jsonString(textOf(clip(ev.logdata))) +
    ",\"matched_var\":" + jsonString(textOf(clip(ev.matchedVarName))) +
    ",\"method\":" + jsonString(textOf(tx.req.method)) +
    ",\"uri\":" + jsonString(textOf(clip(tx.req.uri))) +
    ",\"client\":" + jsonString(tx.req.remoteAddr) +
    ",\"tags\":" + tags + "}";
}

/** The response's `:status`, read when a rule first asks for it (RequestData.statusArrived). */
function readResponseStatus(): string {
  const status = getHeaderValue(HeaderMapTypeValues.ResponseHeaders, ":status");
  return status !== null ? status : "";
}

setResponseStatusReader(readResponseStatus);
collectBeforeBodiesOf(LARGE_BODY, GARBAGE_PER_BODY_BYTE);
collectEveryAllocatedBytes(ALLOCATED_PER_COLLECT);
collectEveryInputBytes(BODY_INPUT_PER_COLLECT);
registerRootContext((context_id: u32) => new WafRoot(context_id), "waf");
