// Reading plugin configuration with errors that name the path of the bad field, e.g.
// `providers.main.issuer: expected string, got number`. The first error wins and later ones are
// dropped; a getter that fails returns its fallback, so a filter's config.ts reads straight through
// and checks `ctx.failed()` once at the end. Unknown fields are errors (a typo must not be ignored):
// call `finish()` on every object after reading it. Nothing here traps, whatever the input.
import { JsonKind, JsonValue, parseJson } from "./json";

export class ConfigContext {
  private error_: string = "";

  failed(): bool { return this.error_.length > 0; }
  /** `<path>: <what>`, or "" when nothing failed. */
  error(): string { return this.error_; }

  fail(path: string, what: string): void {
    if (this.error_.length == 0) this.error_ = path.length > 0 ? path + ": " + what : what;
  }
}

/** Appends an object key to a path: `a.b` for plain keys, `a["odd key"]` otherwise. */
export function childPath(parent: string, key: string): string {
  let plain = key.length > 0;
  for (let i = 0; i < key.length && plain; i++) {
    const c = key.charCodeAt(i);
    plain = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d;
  }
  const escaped = plain ? key : "[\"" + key.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"") + "\"]";
  if (!plain) return parent + escaped;
  return parent.length > 0 ? parent + "." + key : key;
}

export function indexPath(parent: string, index: i32): string {
  return parent + "[" + index.toString() + "]";
}

function expected(what: string, got: JsonValue): string {
  return "expected " + what + ", got " + got.kindName();
}

/** A JSON object being read as configuration. */
export class ConfigObject {
  private used: Array<string> = new Array<string>();

  constructor(public ctx: ConfigContext, public path: string, public value: JsonValue) {}

  /** Keys in document order (for map-shaped fields such as header tables); marks them all known. */
  keys(): Array<string> {
    for (let i = 0; i < this.value.keys.length; i++) this.markUsed(this.value.keys[i]);
    return this.value.keys.slice();
  }

  has(key: string): bool {
    return this.value.get(key) !== null;
  }

  pathOf(key: string): string {
    return childPath(this.path, key);
  }

  private markUsed(key: string): void {
    if (!this.used.includes(key)) this.used.push(key);
  }

  /** The raw member (marks it as known); null when absent. */
  raw(key: string): JsonValue | null {
    this.markUsed(key);
    return this.value.get(key);
  }

  private missing(key: string): void {
    this.ctx.fail(this.pathOf(key), "required field missing");
  }

  // Getters take (key, fallback, required = false): the fallback is returned when the field is
  // absent, or after any error.
  string(key: string, fallback: string = "", required: bool = false): string {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return fallback; }
    if (v.kind != JsonKind.String) { this.ctx.fail(this.pathOf(key), expected("string", v)); return fallback; }
    return v.stringValue;
  }

  requiredString(key: string): string { return this.string(key, "", true); }

  number(key: string, fallback: f64 = 0, required: bool = false): f64 {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return fallback; }
    if (v.kind != JsonKind.Number) { this.ctx.fail(this.pathOf(key), expected("number", v)); return fallback; }
    return v.numberValue;
  }

  /** A whole number within [min, max]. */
  integer(key: string, fallback: i64, min: i64, max: i64, required: bool = false): i64 {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return fallback; }
    if (v.kind != JsonKind.Number) { this.ctx.fail(this.pathOf(key), expected("integer", v)); return fallback; }
    const n = v.numberValue;
    if (Math.floor(n) != n || n < <f64>min || n > <f64>max) {
      this.ctx.fail(this.pathOf(key), "expected an integer from " + min.toString() + " to " + max.toString());
      return fallback;
    }
    return <i64>n;
  }

  bool(key: string, fallback: bool = false, required: bool = false): bool {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return fallback; }
    if (v.kind != JsonKind.Bool) { this.ctx.fail(this.pathOf(key), expected("boolean", v)); return fallback; }
    return v.boolValue;
  }

  /** One of `allowed`; anything else is an error that lists them. */
  oneOf(key: string, allowed: Array<string>, fallback: string, required: bool = false): string {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return fallback; }
    if (v.kind != JsonKind.String) { this.ctx.fail(this.pathOf(key), expected("string", v)); return fallback; }
    if (allowed.includes(v.stringValue)) return v.stringValue;
    this.ctx.fail(this.pathOf(key), "expected one of " + allowed.join(", ") + ", got \"" + v.stringValue + "\"");
    return fallback;
  }

  object(key: string, required: bool = false): ConfigObject | null {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return null; }
    if (v.kind != JsonKind.Object) { this.ctx.fail(this.pathOf(key), expected("object", v)); return null; }
    return new ConfigObject(this.ctx, this.pathOf(key), v);
  }

  array(key: string, required: bool = false): ConfigArray | null {
    const v = this.raw(key);
    if (v === null) { if (required) this.missing(key); return null; }
    if (v.kind != JsonKind.Array) { this.ctx.fail(this.pathOf(key), expected("array", v)); return null; }
    return new ConfigArray(this.ctx, this.pathOf(key), v);
  }

  /** Strings of an array field; a non-string element is an error at its index. */
  stringArray(key: string, required: bool = false): Array<string> {
    const out = new Array<string>();
    const arr = this.array(key, required);
    if (arr === null) return out;
    for (let i = 0; i < arr.length; i++) out.push(arr.string(i));
    return out;
  }

  /** Call after reading every field: any member not read is reported as unknown. */
  finish(): void {
    if (this.ctx.failed()) return;
    for (let i = 0; i < this.value.keys.length; i++) {
      const k = this.value.keys[i];
      if (!this.used.includes(k)) {
        this.ctx.fail(this.path, "unknown field \"" + k + "\"");
        return;
      }
    }
  }
}

/** A JSON array being read as configuration. */
export class ConfigArray {
  constructor(public ctx: ConfigContext, public path: string, public value: JsonValue) {}

  get length(): i32 { return this.value.items.length; }

  /** Element `i`; out of range is reported as an error (and reads as null) rather than trapping. */
  at(i: i32): JsonValue {
    if (i < 0 || i >= this.value.items.length) {
      this.ctx.fail(indexPath(this.path, i), "index out of range");
      return JsonValue.null_();
    }
    return this.value.items[i];
  }

  string(i: i32, fallback: string = ""): string {
    const v = this.at(i);
    if (v.kind != JsonKind.String) { this.ctx.fail(indexPath(this.path, i), expected("string", v)); return fallback; }
    return v.stringValue;
  }

  number(i: i32, fallback: f64 = 0): f64 {
    const v = this.at(i);
    if (v.kind != JsonKind.Number) { this.ctx.fail(indexPath(this.path, i), expected("number", v)); return fallback; }
    return v.numberValue;
  }

  object(i: i32): ConfigObject | null {
    const v = this.at(i);
    if (v.kind != JsonKind.Object) { this.ctx.fail(indexPath(this.path, i), expected("object", v)); return null; }
    return new ConfigObject(this.ctx, indexPath(this.path, i), v);
  }
}

/**
 * Parses the plugin configuration text as a JSON object. Returns null (with the reason in
 * `ctx`) for empty text, invalid JSON or a non-object.
 */
export function readConfigObject(ctx: ConfigContext, text: string): ConfigObject | null {
  let blank = true;
  for (let i = 0; i < text.length && blank; i++) {
    const c = text.charCodeAt(i);
    blank = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
  }
  if (blank) { ctx.fail("", "configuration is empty; expected a JSON object"); return null; }
  const parsed = parseJson(text);
  if (!parsed.ok()) { ctx.fail("", "configuration is not valid JSON: " + parsed.error); return null; }
  const v = parsed.value!;
  if (v.kind != JsonKind.Object) { ctx.fail("", "configuration must be a JSON object, got " + v.kindName()); return null; }
  return new ConfigObject(ctx, "", v);
}
