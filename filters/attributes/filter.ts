// The attributes filter: computes configured attributes once per request (expressions over
// Envoy's attributes, or ready generators) and hands them to later filters, ext_authz, routing
// and access logs as request headers, filter state and response headers. Glue only: the
// language lives in expr/, the generators in generators/, the rules in attribute.ts.

// The lean headers-only ABI entry: no per-request bookkeeping logs, and Envoy skips the callbacks
// this filter has no use for (body chunks, log, done).
export * from "@meshward/sdk/assembly/abi-headers";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, HeaderMapTypeValues,
  ConfigContext, getPluginConfiguration, logError, logInfo, logDebug, logEnabled, setLogLevel, LogLevelValues,
  removeHeader, setHeader, removeHeaderBytes, setHeaderBytes, addHeaderBytes, setPropertyBytes, WasmResultValues,
} from "@meshward/sdk/assembly";
import { render } from "./expr/index";
import { AttributesConfig, parseAttributesConfig } from "./config";
import { HostActivation } from "./host-activation";

/** A header value must not carry control characters (CR/LF would split an HTTP/1 header). */
function isHeaderValue(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c != 0x09) || c == 0x7f) return false;
  }
  return true;
}

class AttributesRoot extends RootContext {
  config: AttributesConfig | null = null;
  activation: HostActivation | null = null;

  onConfigure(configuration_size: u32): bool {
    const ctx = new ConfigContext();
    const config = parseAttributesConfig(ctx, getPluginConfiguration(configuration_size));
    if (config === null) {
      logError("attributes: invalid plugin configuration: " + ctx.error());
      return false;
    }
    setLogLevel(<LogLevelValues>config.logLevel);
    this.config = config;
    // One activation per VM: streams run one callback at a time, and each request resets it.
    this.activation = new HostActivation(config.registry);
    logInfo("attributes: configured " + config.attributes.length.toString() + " attribute(s) reading " +
      config.registry.specs.length.toString() + " host attribute(s)");
    return true;
  }

  createContext(context_id: u32): Context {
    return new AttributesStream(context_id, this);
  }
}

class AttributesStream extends Context {
  /** Response-header outputs of this request, parallel to config.attributes (null = remove). */
  responseValues: Array<string | null> | null = null;

  constructor(context_id: u32, readonly root: AttributesRoot) {
    super(context_id, root);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    const act = this.root.activation;
    if (config === null || act === null) return FilterHeadersStatusValues.Continue;
    act.reset();
    // Anti-forgery: the client cannot supply an attribute header. Only headers actually present
    // are removed (one header-map read instead of a removal call per output). Afterwards none of
    // the output headers is in the request, so they are appended rather than replaced (Envoy then
    // skips its lookup), unless a removal failed.
    const outputs = config.requestHeaderBytes;
    let outputsAbsent = true;
    if (outputs.length > 0) {
      const block = act.headers();
      for (let i = 0; i < outputs.length; i++) {
        const name = unchecked(outputs[i]);
        if (!block.has(name)) continue;
        if (removeHeaderBytes(HeaderMapTypeValues.RequestHeaders, name) != WasmResultValues.Ok) outputsAbsent = false;
        block.remove(name);
      }
    }
    const attrs = config.attributes;
    const debug = logEnabled(LogLevelValues.debug);
    for (let i = 0; i < attrs.length; i++) {
      const a = unchecked(attrs[i]);
      const v = a.compute(act);
      if (a.computedSlot >= 0) act.setComputed(a.computedSlot, v);
      const text = render(v);
      if (debug) logDebug("attributes: " + a.name + " = " + (text === null ? "(absent)" : text));
      if (a.hasResponseHeader) {
        if (this.responseValues === null) this.responseValues = new Array<string | null>(attrs.length);
        this.responseValues![i] = text !== null && isHeaderValue(text) ? text : null;
      }
      if (text === null) continue;
      const bytes = v.utf8(text);
      if (a.filterState) setPropertyBytes(a.filterStateKey, bytes);
      if (a.hasHeader) {
        if (!isHeaderValue(text)) {
          if (debug) logDebug("attributes: " + a.name + ": value has control characters; header " + a.header + " not set");
        } else if (outputsAbsent) addHeaderBytes(HeaderMapTypeValues.RequestHeaders, a.headerBytes, bytes);
        else setHeaderBytes(HeaderMapTypeValues.RequestHeaders, a.headerBytes, bytes);
      }
    }
    if (debug) logDebug("attributes: " + act.fetches.toString() + " distinct attribute read(s)");
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    // Most configurations write no response header: then the response needs nothing from this
    // filter (not even a look at each attribute).
    if (config === null || config.responseHeaders.length == 0) return FilterHeadersStatusValues.Continue;
    const values = this.responseValues;
    const attrs = config.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const name = attrs[i].responseHeader;
      if (name.length == 0) continue;
      let v: string | null = null;
      if (values !== null) v = values[i];
      // The upstream cannot supply it either: replaced, or removed when the attribute is absent.
      if (v === null) removeHeader(HeaderMapTypeValues.ResponseHeaders, name);
      else setHeader(HeaderMapTypeValues.ResponseHeaders, name, v!);
    }
    return FilterHeadersStatusValues.Continue;
  }
}

// Root id "attributes" (the plugin name Meshward's configs use), and "" for a configuration that
// sets none (Envoy's default root_id; an Istio WasmPlugin without pluginName).
registerRootContext((context_id: u32) => new AttributesRoot(context_id), "attributes");
registerRootContext((context_id: u32) => new AttributesRoot(context_id), "");
