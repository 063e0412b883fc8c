// The Activation that reads from Envoy: properties through the SDK's non-trapping getters
// (a missing property is ABSENT, never an abort), request headers through the header-map API.
import {
  HeaderMapTypeValues, getBoolProperty, getHeaderPairs, getHeaderValue, getIntProperty, getStringProperty,
  lowercaseAscii, parseJson, JsonKind,
} from "@meshward/sdk/assembly";
import { Activation, AttrRegistry, AttrSpec, Source, Type, Value, ABSENT, fromJson } from "./expr/index";
import { parseIntText } from "./expr/evaluator";

/** Claims documents above this size are not parsed (the JWT filter bounds tokens to 8 KiB by default). */
const MAX_JSON_BYTES = 65536;

export class HostActivation extends Activation {
  constructor(registry: AttrRegistry) { super(registry); }

  fetch(spec: AttrSpec): Value {
    switch (spec.source) {
      case Source.Property: {
        if (spec.type == Type.Int) {
          const v = getIntProperty(spec.path);
          return v === null ? ABSENT : Value.int_(v.value);
        }
        if (spec.type == Type.Bool) {
          const v = getBoolProperty(spec.path);
          return v === null ? ABSENT : Value.bool_(v.value);
        }
        const s = getStringProperty(spec.path);
        return s === null ? ABSENT : Value.string_(s);
      }
      case Source.Header: {
        const s = getHeaderValue(HeaderMapTypeValues.RequestHeaders, spec.path[0]);
        return s === null ? ABSENT : Value.string_(s);
      }
      case Source.HeaderMap: {
        const pairs = getHeaderPairs(HeaderMapTypeValues.RequestHeaders);
        const keys = new Array<string>();
        const vals = new Array<Value>();
        for (let i = 0; i < pairs.length; i++) {
          const name = lowercaseAscii(pairs[i][0]);
          const at = keys.indexOf(name);
          // Repeated headers read as one value joined with ",", as Envoy's request.headers does.
          if (at >= 0) vals[at] = Value.string_(vals[at].s + "," + pairs[i][1]);
          else { keys.push(name); vals.push(Value.string_(pairs[i][1])); }
        }
        return Value.map_(keys, vals);
      }
      case Source.JsonProperty: {
        const s = getStringProperty(spec.path);
        if (s === null || s.length > MAX_JSON_BYTES) return ABSENT;
        const parsed = parseJson(s, 32);
        if (!parsed.ok() || parsed.value!.kind != JsonKind.Object) return ABSENT;
        return fromJson(parsed.value!);
      }
      case Source.IntProperty: {
        const s = getStringProperty(spec.path);
        return s === null ? ABSENT : parseIntText(s.trim());
      }
      default: return ABSENT;
    }
  }
}
