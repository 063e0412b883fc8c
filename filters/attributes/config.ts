// The attributes filter's plugin configuration:
//   { "attributes": [ { "name", "rules": [{ "when", "value" }] | "operation" | "spiffe" |
//       "client_class" | "api_version", "default", "outputs": { "header", "filter_state",
//       "response_header" } } ], "log_level" }
// Every expression is parsed and type-checked here, once; any error names the field path, the
// attribute and the position in the expression.
import {
  ConfigContext, ConfigObject, readConfigObject, parseLogLevel, indexPath, childPath,
} from "@meshward/sdk/assembly";
import { AttrRegistry, compileCondition, compileExpression, Compiled } from "./expr/index";
import {
  Attribute, Rule, OperationGenerator, SpiffeGenerator, ClientClassGenerator, ApiVersionGenerator,
} from "./attribute";
import { PathTemplate, parseTemplate } from "./generators/operation";
import { SPIFFE_PARTS } from "./generators/spiffe";

export const MAX_ATTRIBUTES = 256;
export const MAX_RULES = 256;

export class AttributesConfig {
  attributes: Array<Attribute> = new Array<Attribute>();
  registry: AttrRegistry = new AttrRegistry();
  logLevel: i32 = 2; // info
  /** Every request header an attribute writes; removed from each incoming request (anti-forgery). */
  requestHeaders: Array<string> = new Array<string>();
  responseHeaders: Array<string> = new Array<string>();
  /** `requestHeaders` as UTF-8, encoded once. */
  requestHeaderBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
}

// Headers an attribute may not take over: framing, routing and credentials.
const RESERVED_HEADERS: Array<string> = [
  "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
  "upgrade", "proxy-connection", "authorization", "proxy-authorization", "cookie", "set-cookie",
];

function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a ||
      c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return true;
}

function isAttributeName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}

const GENERATORS: Array<string> = ["rules", "operation", "spiffe", "client_class", "api_version"];

class Parser {
  constructor(public ctx: ConfigContext, public config: AttributesConfig) {}

  /** Compiles `src` or reports `<path>: attribute "<name>": at <pos>: <what>`. */
  expression(path: string, attrName: string, src: string, condition: bool, earlier: Array<string>): Compiled {
    const c = condition ? compileCondition(src, this.config.registry, earlier) : compileExpression(src, this.config.registry, earlier);
    if (!c.ok()) this.ctx.fail(path, "attribute \"" + attrName + "\": " + c.error);
    return c;
  }

  header(obj: ConfigObject, key: string, used: Array<string>): string {
    const name = obj.string(key, "");
    if (this.ctx.failed() || !obj.has(key)) return "";
    if (!isHeaderName(name)) { this.ctx.fail(obj.pathOf(key), "invalid header name \"" + name + "\" (lowercase token characters)"); return ""; }
    if (RESERVED_HEADERS.includes(name)) { this.ctx.fail(obj.pathOf(key), "header \"" + name + "\" is reserved (framing, routing or credentials)"); return ""; }
    if (used.includes(name)) { this.ctx.fail(obj.pathOf(key), "header \"" + name + "\" is already written by another attribute"); return ""; }
    used.push(name);
    return name;
  }

  attribute(obj: ConfigObject, earlier: Array<string>): Attribute | null {
    const ctx = this.ctx;
    const a = new Attribute();
    a.name = obj.requiredString("name");
    if (ctx.failed()) return null;
    if (!isAttributeName(a.name)) { ctx.fail(obj.pathOf("name"), "invalid attribute name \"" + a.name + "\" (1-64 letters, digits, '_', '-', '.')"); return null; }
    if (earlier.includes(a.name)) { ctx.fail(obj.pathOf("name"), "duplicate attribute name \"" + a.name + "\""); return null; }
    a.filterStateKey = String.UTF8.encode("meshward.attr." + a.name);

    let kinds = 0;
    for (let i = 0; i < GENERATORS.length; i++) if (obj.has(GENERATORS[i])) kinds++;
    if (kinds != 1) {
      ctx.fail(obj.path, "attribute \"" + a.name + "\": expected exactly one of " + GENERATORS.join(", ") + ", got " + kinds.toString());
      return null;
    }
    const reg = this.config.registry;
    if (obj.has("rules")) {
      const rules = obj.array("rules");
      if (rules === null) return null;
      if (rules.length == 0) { ctx.fail(rules.path, "expected at least one rule"); return null; }
      if (rules.length > MAX_RULES) { ctx.fail(rules.path, "at most " + MAX_RULES.toString() + " rules"); return null; }
      for (let i = 0; i < rules.length && !ctx.failed(); i++) {
        const r = rules.object(i);
        if (r === null) return null;
        let when: Compiled | null = null;
        if (r.has("when")) {
          const src = r.string("when");
          if (ctx.failed()) return null;
          when = this.expression(r.pathOf("when"), a.name, src, true, earlier);
        }
        const valueSrc = r.requiredString("value");
        if (ctx.failed()) return null;
        const value = this.expression(r.pathOf("value"), a.name, valueSrc, false, earlier);
        r.finish();
        if (ctx.failed()) return null;
        a.rules.push(new Rule(when === null ? null : when.node, value.node!));
      }
    } else if (obj.has("operation")) {
      const ops = obj.object("operation");
      if (ops === null) return null;
      const keys = ops.keys();
      if (keys.length == 0) { ctx.fail(ops.path, "expected at least one template, e.g. { \"GET /users/{id}\": \"GetUser\" }"); return null; }
      const templates = new Array<PathTemplate>();
      for (let i = 0; i < keys.length; i++) {
        const value = ops.requiredString(keys[i]);
        if (ctx.failed()) return null;
        const t = parseTemplate(keys[i], value);
        if (t.template === null) { ctx.fail(ops.pathOf(keys[i]), "invalid template: " + t.error); return null; }
        templates.push(t.template!);
      }
      a.generator = new OperationGenerator(reg, templates);
    } else if (obj.has("spiffe")) {
      const part = obj.oneOf("spiffe", SPIFFE_PARTS, "id");
      if (ctx.failed()) return null;
      a.generator = new SpiffeGenerator(reg, part);
    } else if (obj.has("client_class")) {
      const cc = obj.object("client_class");
      if (cc === null) return null;
      const bots = this.lowerList(cc, "bots");
      const cli = this.lowerList(cc, "cli");
      const mobile = this.lowerList(cc, "mobile_apps");
      cc.finish();
      if (ctx.failed()) return null;
      a.generator = new ClientClassGenerator(reg, bots, cli, mobile);
    } else {
      const av = obj.object("api_version");
      if (av === null) return null;
      let header = "";
      if (av.has("header")) {
        header = av.string("header");
        if (!ctx.failed() && !isHeaderName(header)) { ctx.fail(av.pathOf("header"), "invalid header name \"" + header + "\""); return null; }
      }
      const fromPath = av.bool("path", true);
      const fromAccept = av.bool("accept", true);
      av.finish();
      if (ctx.failed()) return null;
      if (header.length == 0 && !fromPath && !fromAccept) { ctx.fail(av.path, "expected at least one source (header, path or accept)"); return null; }
      a.generator = new ApiVersionGenerator(reg, header, fromPath, fromAccept);
    }

    if (obj.has("default")) {
      const src = obj.string("default");
      if (ctx.failed()) return null;
      a.defaultValue = this.expression(obj.pathOf("default"), a.name, src, false, earlier).node;
      if (ctx.failed()) return null;
    }

    const outputs = obj.object("outputs");
    if (outputs !== null) {
      a.header = this.header(outputs, "header", this.config.requestHeaders);
      a.filterState = outputs.bool("filter_state", true);
      a.responseHeader = this.header(outputs, "response_header", this.config.responseHeaders);
      if (a.header.length > 0) {
        a.headerBytes = String.UTF8.encode(a.header);
        this.config.requestHeaderBytes.push(a.headerBytes);
      }
      outputs.finish();
    }
    obj.finish();
    return ctx.failed() ? null : a;
  }

  lowerList(obj: ConfigObject, key: string): Array<string> {
    const list = obj.stringArray(key);
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      let ok = s.length > 0;
      for (let k = 0; k < s.length && ok; k++) { const c = s.charCodeAt(k); ok = !(c >= 0x41 && c <= 0x5a); }
      if (!ok) { this.ctx.fail(indexPath(childPath(obj.path, key), i), "expected a non-empty lowercase substring"); break; }
    }
    return list;
  }
}

/** Parses and validates; on failure `ctx.error()` names the field. */
export function parseAttributesConfig(ctx: ConfigContext, text: string): AttributesConfig | null {
  const root = readConfigObject(ctx, text);
  if (root === null) return null;
  const config = new AttributesConfig();
  const level = root.oneOf("log_level", ["trace", "debug", "info", "warn", "error", "critical"], "info");
  config.logLevel = parseLogLevel(level);
  const list = root.array("attributes", true);
  if (list !== null) {
    if (list.length == 0 && !ctx.failed()) ctx.fail(list.path, "expected at least one attribute");
    if (list.length > MAX_ATTRIBUTES && !ctx.failed()) ctx.fail(list.path, "at most " + MAX_ATTRIBUTES.toString() + " attributes");
    const p = new Parser(ctx, config);
    const earlier = new Array<string>();
    for (let i = 0; i < list.length && !ctx.failed(); i++) {
      const obj = list.object(i);
      if (obj === null) break;
      const a = p.attribute(obj, earlier);
      if (a === null) break;
      config.attributes.push(a);
      earlier.push(a.name);
    }
  }
  root.finish();
  if (ctx.failed()) return null;
  // Slots for attr.<name> exist only when some expression reads them.
  for (let i = 0; i < config.attributes.length; i++) {
    const a = config.attributes[i];
    a.computedSlot = config.registry.computedSlot(a.name);
  }
  compactConfig(config);
  return config;
}

/**
 * What requests read, copied next to each other now that parsing left its garbage behind (see
 * expr/compact.ts): the header names, the attribute specs, then attribute by attribute.
 */
function compactConfig(config: AttributesConfig): void {
  const names = config.requestHeaderBytes;
  const nameCopies = new Array<ArrayBuffer>(names.length);
  for (let i = 0; i < names.length; i++) unchecked(nameCopies[i] = names[i].slice(0));
  config.requestHeaderBytes = nameCopies;
  config.registry.compact();
  const compacted = new Array<Attribute>(config.attributes.length);
  for (let i = 0; i < compacted.length; i++) {
    const c = config.attributes[i].compacted();
    // The anti-forgery list and the outputs share one buffer per header name.
    const at = names.indexOf(c.headerBytes);
    if (at >= 0) c.headerBytes = nameCopies[at];
    unchecked(compacted[i] = c);
  }
  config.attributes = compacted;
}
