// A strict JSON parser (RFC 8259) for plugin configuration and token payloads. It never traps:
// every malformed input yields an error with its position. Duplicate object keys are rejected
// (a config or claim set must not mean two things) and nesting depth is bounded.

export enum JsonKind { Null, Bool, Number, String, Array, Object }

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  boolValue: bool = false;
  numberValue: f64 = 0;
  stringValue: string = "";
  /** Array elements. */
  items: Array<JsonValue> = new Array<JsonValue>();
  /** Object keys and values, in document order. */
  keys: Array<string> = new Array<string>();
  values: Array<JsonValue> = new Array<JsonValue>();

  static null_(): JsonValue { return new JsonValue(); }
  static bool_(b: bool): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Bool; v.boolValue = b; return v; }
  static number_(n: f64): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Number; v.numberValue = n; return v; }
  static string_(s: string): JsonValue { const v = new JsonValue(); v.kind = JsonKind.String; v.stringValue = s; return v; }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** An object member, or null when absent or when this is not an object. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.values[i];
    return null;
  }

  /** "string", "number", ... for error messages. */
  kindName(): string {
    switch (this.kind) {
      case JsonKind.Null: return "null";
      case JsonKind.Bool: return "boolean";
      case JsonKind.Number: return "number";
      case JsonKind.String: return "string";
      case JsonKind.Array: return "array";
      default: return "object";
    }
  }
}

export class JsonResult {
  value: JsonValue | null = null;
  /** Empty when parsing succeeded. */
  error: string = "";
  ok(): bool { return this.value !== null; }
}

class JsonParser {
  pos: i32 = 0;
  error: string = "";
  constructor(public text: string, public maxDepth: i32) {}

  fail(what: string): JsonValue | null {
    if (this.error.length == 0) this.error = what + " at position " + this.pos.toString();
    return null;
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
  }

  parseValue(depth: i32): JsonValue | null {
    if (depth >= this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString());
    this.skipWhitespace();
    if (this.pos >= this.text.length) return this.fail("unexpected end of input");
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x7b) return this.parseObject(depth);
    if (c == 0x5b) return this.parseArray(depth);
    if (c == 0x22) {
      const s = this.parseString();
      return s === null ? null : JsonValue.string_(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (this.text.startsWith("true", this.pos)) { this.pos += 4; return JsonValue.bool_(true); }
    if (this.text.startsWith("false", this.pos)) { this.pos += 5; return JsonValue.bool_(false); }
    if (this.text.startsWith("null", this.pos)) { this.pos += 4; return JsonValue.null_(); }
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  parseObject(depth: i32): JsonValue | null {
    const obj = new JsonValue();
    obj.kind = JsonKind.Object;
    this.pos++; // {
    this.skipWhitespace();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x7d) { this.pos++; return obj; }
    while (true) {
      this.skipWhitespace();
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x22) return this.fail("expected a string key");
      const key = this.parseString();
      if (key === null) return null;
      for (let i = 0; i < obj.keys.length; i++) {
        if (obj.keys[i] == key) return this.fail("duplicate key \"" + key + "\"");
      }
      this.skipWhitespace();
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const v = this.parseValue(depth + 1);
      if (v === null) return null;
      obj.keys.push(key);
      obj.values.push(v);
      this.skipWhitespace();
      if (this.pos >= this.text.length) return this.fail("unexpected end of input in object");
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x7d) return obj;
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or '}'"); }
    }
    return null;
  }

  parseArray(depth: i32): JsonValue | null {
    const arr = new JsonValue();
    arr.kind = JsonKind.Array;
    this.pos++; // [
    this.skipWhitespace();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x5d) { this.pos++; return arr; }
    while (true) {
      const v = this.parseValue(depth + 1);
      if (v === null) return null;
      arr.items.push(v);
      this.skipWhitespace();
      if (this.pos >= this.text.length) return this.fail("unexpected end of input in array");
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x5d) return arr;
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or ']'"); }
    }
    return null;
  }

  hex4(at: i32): i32 {
    if (at + 4 > this.text.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(at + i);
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  parseString(): string | null {
    const t = this.text;
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    while (true) {
      if (this.pos >= t.length) { this.fail("unterminated string"); return null; }
      const c = t.charCodeAt(this.pos);
      if (c == 0x22) {
        out += t.substring(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) { this.fail("control character in string"); return null; }
      if (c != 0x5c) { this.pos++; continue; }
      out += t.substring(runStart, this.pos);
      if (this.pos + 1 >= t.length) { this.fail("unterminated escape"); return null; }
      const e = t.charCodeAt(this.pos + 1);
      this.pos += 2;
      if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) {
        const u = this.hex4(this.pos);
        if (u < 0) { this.fail("invalid \\u escape"); return null; }
        this.pos += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
          // A high surrogate must be followed by an escaped low surrogate.
          if (this.pos + 6 > t.length || t.charCodeAt(this.pos) != 0x5c || t.charCodeAt(this.pos + 1) != 0x75) {
            this.fail("unpaired surrogate in \\u escape"); return null;
          }
          const low = this.hex4(this.pos + 2);
          if (low < 0xdc00 || low > 0xdfff) { this.fail("unpaired surrogate in \\u escape"); return null; }
          this.pos += 6;
          out += String.fromCharCodes([u, low]);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          this.fail("unpaired surrogate in \\u escape"); return null;
        } else {
          out += String.fromCharCode(u);
        }
      } else { this.pos -= 1; this.fail("invalid escape"); return null; }
      runStart = this.pos;
    }
    return null;
  }

  parseNumber(): JsonValue | null {
    const t = this.text;
    const start = this.pos;
    if (t.charCodeAt(this.pos) == 0x2d) this.pos++;
    if (this.pos >= t.length) return this.fail("invalid number");
    let c = t.charCodeAt(this.pos);
    if (c == 0x30) {
      this.pos++;
      if (this.pos < t.length) {
        const d = t.charCodeAt(this.pos);
        if (d >= 0x30 && d <= 0x39) return this.fail("leading zero in number");
      }
    } else if (c >= 0x31 && c <= 0x39) {
      while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
    } else return this.fail("invalid number");
    if (this.pos < t.length && t.charCodeAt(this.pos) == 0x2e) {
      this.pos++;
      if (this.pos >= t.length || !isDigit(t.charCodeAt(this.pos))) return this.fail("expected digits after '.'");
      while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
    }
    if (this.pos < t.length) {
      c = t.charCodeAt(this.pos);
      if (c == 0x65 || c == 0x45) {
        this.pos++;
        if (this.pos < t.length && (t.charCodeAt(this.pos) == 0x2b || t.charCodeAt(this.pos) == 0x2d)) this.pos++;
        if (this.pos >= t.length || !isDigit(t.charCodeAt(this.pos))) return this.fail("expected digits in exponent");
        while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
      }
    }
    const n = F64.parseFloat(t.substring(start, this.pos));
    if (!isFinite(n)) return this.fail("number out of range");
    return JsonValue.number_(n);
  }
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

/** Parses a whole document; anything but whitespace after the value is an error. */
export function parseJson(text: string, maxDepth: i32 = 64): JsonResult {
  const p = new JsonParser(text, maxDepth);
  const r = new JsonResult();
  const v = p.parseValue(0);
  if (v !== null) {
    p.skipWhitespace();
    if (p.pos < text.length) p.fail("unexpected trailing characters");
  }
  if (p.error.length > 0) {
    r.error = p.error;
    return r;
  }
  r.value = v;
  return r;
}

function hexDigit(n: i32): string {
  return String.fromCharCode(n < 10 ? 0x30 + n : 0x61 + n - 10);
}

function quoteJson(s: string): string {
  let out = "\"";
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(runStart, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x08) out += "\\b";
    else if (c == 0x0c) out += "\\f";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else out += "\\u00" + hexDigit(c >> 4) + hexDigit(c & 0xf);
    runStart = i + 1;
  }
  return out + s.substring(runStart) + "\"";
}

function formatJsonNumber(n: f64): string {
  // Whole numbers print without a fraction, as JSON.stringify does (AssemblyScript prints "1.0").
  if (Math.floor(n) == n && Math.abs(n) < 9007199254740992.0) return (<i64>n).toString();
  return n.toString();
}

/** Compact JSON text for a value (object keys in document order). */
export function stringifyJson(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return v.boolValue ? "true" : "false";
    case JsonKind.Number: return formatJsonNumber(v.numberValue);
    case JsonKind.String: return quoteJson(v.stringValue);
    case JsonKind.Array: {
      const parts = new Array<string>();
      for (let i = 0; i < v.items.length; i++) parts.push(stringifyJson(v.items[i]));
      return "[" + parts.join(",") + "]";
    }
    default: {
      const parts = new Array<string>();
      for (let i = 0; i < v.keys.length; i++) parts.push(quoteJson(v.keys[i]) + ":" + stringifyJson(v.values[i]));
      return "{" + parts.join(",") + "}";
    }
  }
}
