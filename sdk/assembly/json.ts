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

// Objects with more keys than this check duplicates through a Set: a token payload is untrusted,
// and a linear scan per key would make a payload with many keys cost quadratic time.
const DUPLICATE_SCAN_LIMIT = 8;

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
    let seen: Set<string> | null = null;
    while (true) {
      this.skipWhitespace();
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x22) return this.fail("expected a string key");
      const key = this.parseString();
      if (key === null) return null;
      let duplicate = false;
      if (seen !== null) {
        duplicate = seen.has(key);
      } else {
        for (let i = 0; i < obj.keys.length && !duplicate; i++) duplicate = obj.keys[i] == key;
        if (obj.keys.length >= DUPLICATE_SCAN_LIMIT) {
          const set = new Set<string>();
          for (let i = 0; i < obj.keys.length; i++) set.add(obj.keys[i]);
          seen = set;
        }
      }
      if (duplicate) return this.fail("duplicate key \"" + key + "\"");
      if (seen !== null) seen.add(key);
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

  /**
   * Two passes: find the closing quote, then (only when there are escapes) decode into one flat
   * buffer. Escapes only shrink text, so the raw span bounds the result; the work stays linear even
   * for a string made of thousands of escapes (an untrusted token payload can be).
   */
  parseString(): string | null {
    const t = this.text;
    const start = this.pos + 1; // after the opening quote
    let end = start;
    let escaped = false;
    while (true) {
      if (end >= t.length) { this.pos = t.length; this.fail("unterminated string"); return null; }
      const c = t.charCodeAt(end);
      if (c == 0x22) break;
      if (c < 0x20) { this.pos = end; this.fail("control character in string"); return null; }
      if (c == 0x5c) { escaped = true; end += 2; } else end++;
    }
    if (!escaped) {
      this.pos = end + 1;
      return t.substring(start, end);
    }
    const out = new StaticArray<u16>(end - start);
    let n = 0;
    let p = start;
    while (p < end) {
      const c = t.charCodeAt(p);
      if (c != 0x5c) { unchecked(out[n++] = <u16>c); p++; continue; }
      const e = t.charCodeAt(p + 1);
      p += 2;
      let u = -1;
      if (e == 0x22) u = 0x22;
      else if (e == 0x5c) u = 0x5c;
      else if (e == 0x2f) u = 0x2f;
      else if (e == 0x62) u = 0x08;
      else if (e == 0x66) u = 0x0c;
      else if (e == 0x6e) u = 0x0a;
      else if (e == 0x72) u = 0x0d;
      else if (e == 0x74) u = 0x09;
      else if (e == 0x75) {
        u = p + 4 <= end ? this.hex4(p) : -1;
        if (u < 0) { this.pos = p; this.fail("invalid \\u escape"); return null; }
        p += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
          // A high surrogate must be followed by an escaped low surrogate.
          const low = p + 6 <= end && t.charCodeAt(p) == 0x5c && t.charCodeAt(p + 1) == 0x75 ? this.hex4(p + 2) : -1;
          if (low < 0xdc00 || low > 0xdfff) { this.pos = p; this.fail("unpaired surrogate in \\u escape"); return null; }
          unchecked(out[n++] = <u16>u);
          u = low;
          p += 6;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          this.pos = p; this.fail("unpaired surrogate in \\u escape"); return null;
        }
      } else { this.pos = p - 1; this.fail("invalid escape"); return null; }
      unchecked(out[n++] = <u16>u);
    }
    this.pos = end + 1;
    return String.UTF16.decodeUnsafe(changetype<usize>(out), <usize>n << 1);
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

/** A growable UTF-16 buffer: appends copy into one flat array, so building output stays linear. */
class Utf16Builder {
  buf: StaticArray<u16>;
  len: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.buf = new StaticArray<u16>(capacity);
  }

  private reserve(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let capacity = this.buf.length << 1;
    if (capacity < need) capacity = need;
    const next = new StaticArray<u16>(capacity);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.len << 1);
    this.buf = next;
  }

  char(c: i32): void {
    this.reserve(1);
    unchecked(this.buf[this.len++] = <u16>c);
  }

  text(s: string): void {
    const n = s.length;
    this.reserve(n);
    memory.copy(changetype<usize>(this.buf) + (<usize>this.len << 1), changetype<usize>(s), <usize>n << 1);
    this.len += n;
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len << 1);
  }
}

function hexDigit(n: i32): i32 {
  return n < 10 ? 0x30 + n : 0x61 + n - 10;
}

function writeQuoted(out: Utf16Builder, s: string): void {
  out.char(0x22);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) { out.char(c); continue; }
    out.char(0x5c);
    if (c == 0x22 || c == 0x5c) out.char(c);
    else if (c == 0x08) out.char(0x62);
    else if (c == 0x0c) out.char(0x66);
    else if (c == 0x0a) out.char(0x6e);
    else if (c == 0x0d) out.char(0x72);
    else if (c == 0x09) out.char(0x74);
    else { out.text("u00"); out.char(hexDigit(c >> 4)); out.char(hexDigit(c & 0xf)); }
  }
  out.char(0x22);
}

function formatJsonNumber(n: f64): string {
  // Whole numbers print without a fraction, as JSON.stringify does (AssemblyScript prints "1.0").
  if (Math.floor(n) == n && Math.abs(n) < 9007199254740992.0) return (<i64>n).toString();
  return n.toString();
}

function writeJson(out: Utf16Builder, v: JsonValue): void {
  switch (v.kind) {
    case JsonKind.Null: out.text("null"); break;
    case JsonKind.Bool: out.text(v.boolValue ? "true" : "false"); break;
    case JsonKind.Number: out.text(formatJsonNumber(v.numberValue)); break;
    case JsonKind.String: writeQuoted(out, v.stringValue); break;
    case JsonKind.Array: {
      out.char(0x5b);
      for (let i = 0; i < v.items.length; i++) {
        if (i > 0) out.char(0x2c);
        writeJson(out, v.items[i]);
      }
      out.char(0x5d);
      break;
    }
    default: {
      out.char(0x7b);
      for (let i = 0; i < v.keys.length; i++) {
        if (i > 0) out.char(0x2c);
        writeQuoted(out, v.keys[i]);
        out.char(0x3a);
        writeJson(out, v.values[i]);
      }
      out.char(0x7d);
    }
  }
}

/** Compact JSON text for a value (object keys in document order). */
export function stringifyJson(v: JsonValue): string {
  const out = new Utf16Builder();
  writeJson(out, v);
  return out.toString();
}
