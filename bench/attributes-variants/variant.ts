// Hand-made variants of filters/attributes/filter.ts for bench/attributes-cost.mjs: each does one
// part of the filter's per-request work, so the parts' costs in real Envoy show side by side.
// The bench writes one copy per mode with MODE replaced and builds it (never shipped):
//   0 entry only: the configuration is parsed, the request callback returns at once
//   1 host reads only: the header-map read and the 3 property reads the typical attributes make
//   2 evaluation only: the typical attributes computed from reads made once (first request) and
//     reused, so no host call per request; no outputs
//   3 host reads + outputs only: the reads of 1, then every configured filter-state and header
//     output written with a fixed value; no evaluation
export * from "@meshward/sdk/assembly/abi-headers";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, HeaderMapTypeValues,
  ConfigContext, getPluginConfiguration, logError, setLogLevel, LogLevelValues,
  getHeaderPairsBytes, getPropertyEncoded, setPropertyBytes, addHeaderBytes,
} from "@meshward/sdk/assembly";
import { render, AttrSpec, Source, Value } from "../../filters/attributes/expr/index";
import { AttributesConfig, parseAttributesConfig } from "../../filters/attributes/config";
import { HostActivation } from "../../filters/attributes/host-activation";
import { HeaderBlock } from "../../filters/attributes/header-block";

const MODE: i32 = __MODE__;

/** Mode 2: the first request's reads, reused by every later request. */
let rawHeaders: ArrayBuffer | null = null;
const propertyValues = new Map<i32, Value>();

class ReusedReads extends HostActivation {
  private reused: HeaderBlock = new HeaderBlock();
  private loaded: bool = false;
  reset(): void { super.reset(); this.loaded = false; }
  headers(): HeaderBlock {
    if (!this.loaded) {
      let raw = rawHeaders;
      if (raw === null) { raw = getHeaderPairsBytes(HeaderMapTypeValues.RequestHeaders)!; rawHeaders = raw; }
      this.reused.load(raw);
      this.loaded = true;
    }
    return this.reused;
  }
  fetch(spec: AttrSpec): Value {
    if (spec.source == Source.Property || spec.source == Source.JsonProperty || spec.source == Source.IntProperty) {
      if (propertyValues.has(spec.slot)) return propertyValues.get(spec.slot);
      const v = super.fetch(spec);
      propertyValues.set(spec.slot, v);
      return v;
    }
    return super.fetch(spec);
  }
}

// The properties the typical attributes read on a plaintext connection (spiffe, ip_in_cidr, the claim rule).
const SAN = String.UTF8.encode("connection\0uri_san_peer_certificate");
const ADDRESS = String.UTF8.encode("source\0address");
const CLAIMS = String.UTF8.encode("wasm.meshward.jwt.claims");
const VALUE = String.UTF8.encode("value");

class VariantRoot extends RootContext {
  config: AttributesConfig | null = null;
  act: HostActivation | null = null;
  onConfigure(configuration_size: u32): bool {
    const ctx = new ConfigContext();
    const config = parseAttributesConfig(ctx, getPluginConfiguration(configuration_size));
    if (config === null) { logError("attributes variant: invalid configuration: " + ctx.error()); return false; }
    setLogLevel(<LogLevelValues>config.logLevel);
    this.config = config;
    this.act = MODE == 2 ? new ReusedReads(config.registry) : new HostActivation(config.registry);
    return true;
  }
  createContext(context_id: u32): Context { return new VariantStream(context_id, this); }
}

class VariantStream extends Context {
  constructor(context_id: u32, readonly root: VariantRoot) { super(context_id, root); }
  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config!;
    const act = this.root.act!;
    if (MODE == 0) return FilterHeadersStatusValues.Continue;
    act.reset();
    const attrs = config.attributes;
    if (MODE == 1 || MODE == 3) {
      act.headers();
      getPropertyEncoded(SAN);
      getPropertyEncoded(ADDRESS);
      getPropertyEncoded(CLAIMS);
      if (MODE == 3) {
        for (let i = 0; i < attrs.length; i++) {
          const a = attrs[i];
          if (a.filterState) setPropertyBytes(a.filterStateKey, VALUE);
          if (a.header.length > 0) addHeaderBytes(HeaderMapTypeValues.RequestHeaders, a.headerBytes, VALUE);
        }
      }
      return FilterHeadersStatusValues.Continue;
    }
    let bytes = 0;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i];
      const v = a.compute(act);
      if (a.computedSlot >= 0) act.setComputed(a.computedSlot, v);
      const text = render(v);
      if (text !== null) bytes += v.utf8(text).byteLength;
    }
    // Keeps the results observable so the optimizer cannot drop the evaluation.
    if (bytes == 0x7fffffff) logError("attributes variant: unexpected size");
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => new VariantRoot(context_id), "attributes");
