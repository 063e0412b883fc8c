// The Activation that reads from Envoy: properties through the SDK's non-trapping getters
// (a missing property is ABSENT, never an abort); request headers (and the request attributes
// derived from pseudo-headers) from one header-map read per request, because every host call
// costs microseconds.
import { HeaderMapTypeValues, decodeHostText, getHeaderPairsBytes, getPropertyEncoded, parseJson, JsonKind } from "@meshward/sdk/assembly";
import { Activation, AttrRegistry, AttrSpec, Source, Type, Value, ABSENT, fromJson } from "./expr/index";
import { parseIntText } from "./expr/evaluator";
import { indexOfUnit, lowerAscii } from "./expr/text";
import { HeaderBlock } from "./header-block";

/** Claims documents above this size are not parsed (the JWT filter bounds tokens to 8 KiB by default). */
const MAX_JSON_BYTES = 65536;

const PATH = String.UTF8.encode(":path");

export class HostActivation extends Activation {
  /** The request headers, fetched in one host call on first use per request and indexed in place. */
  private block: HeaderBlock = new HeaderBlock();
  private blockLoaded: bool = false;

  constructor(registry: AttrRegistry) { super(registry); }

  reset(): void {
    super.reset();
    this.block.clear();
    this.blockLoaded = false;
  }

  headers(): HeaderBlock {
    const b = this.block;
    if (this.blockLoaded) return b;
    this.blockLoaded = true;
    const raw = getHeaderPairsBytes(HeaderMapTypeValues.RequestHeaders);
    // Unreadable or malformed: no headers (load leaves the block empty).
    if (raw === null) b.clear();
    else if (!b.load(raw)) b.clear();
    return b;
  }

  /** Presence without decoding the value (the client_class signals only ask whether a header is there). */
  has(slot: i32): bool {
    if (!this.isCached(slot)) {
      const spec = this.registry.specs[slot];
      if (spec.source == Source.Header) return this.headers().has(spec.nameBytes);
    }
    return super.has(slot);
  }

  /** A request header's value (repeated values joined with ","), or null. `name`: lowercase UTF-8. */
  header(name: ArrayBuffer): string | null {
    return this.headers().get(name);
  }

  fetch(spec: AttrSpec): Value {
    switch (spec.source) {
      case Source.Property: {
        // Envoy's encodings: int64/uint64 as 8 bytes little-endian, bool as 1 byte, strings raw.
        const raw = getPropertyEncoded(spec.nameBytes);
        if (raw === null) return ABSENT;
        if (spec.type == Type.Int) return raw.byteLength == 8 ? Value.int_(load<i64>(changetype<usize>(raw))) : ABSENT;
        if (spec.type == Type.Bool) return raw.byteLength == 1 ? Value.bool_(load<u8>(changetype<usize>(raw)) != 0) : ABSENT;
        // Reused like header values: source.address repeats for every request of a connection.
        return Value.string_(decodeHostText(changetype<usize>(raw), raw.byteLength, true));
      }
      case Source.Header: {
        const s = this.header(spec.nameBytes);
        return s === null ? ABSENT : Value.string_(s);
      }
      case Source.UrlPath:
      case Source.Query: {
        const path = this.header(PATH);
        if (path === null) return ABSENT;
        let end = indexOfUnit(path, 0x23 /* # */);
        if (end < 0) end = path.length;
        const q = indexOfUnit(path, 0x3f /* ? */);
        if (spec.source == Source.UrlPath) return Value.string_(q >= 0 && q < end ? path.substring(0, q) : path.substring(0, end));
        return Value.string_(q >= 0 && q < end ? path.substring(q + 1, end) : "");
      }
      case Source.HeaderMap: {
        const block = this.headers();
        const keys = new Array<string>();
        const vals = new Array<Value>();
        for (let i = 0; i < block.count; i++) {
          if (block.removed(i)) continue;
          // Envoy's header maps are lowercase already; the fold is for hosts that are not.
          const name = lowerAscii(block.name(i));
          const at = keys.indexOf(name);
          // Repeated headers read as one value joined with ",", as Envoy's request.headers does.
          if (at >= 0) vals[at] = Value.string_(vals[at].s + "," + block.value(i));
          else { keys.push(name); vals.push(Value.string_(block.value(i))); }
        }
        return Value.map_(keys, vals);
      }
      case Source.JsonProperty: {
        const raw = getPropertyEncoded(spec.nameBytes);
        if (raw === null || raw.byteLength > MAX_JSON_BYTES) return ABSENT;
        const s = String.UTF8.decode(raw);
        const parsed = parseJson(s, 32);
        if (!parsed.ok() || parsed.value!.kind != JsonKind.Object) return ABSENT;
        return fromJson(parsed.value!);
      }
      case Source.IntProperty: {
        const raw = getPropertyEncoded(spec.nameBytes);
        return raw === null ? ABSENT : parseIntText(String.UTF8.decode(raw).trim());
      }
      default: return ABSENT;
    }
  }
}
