// Cross-site scripting detection for @detectXSS, in the spirit of libinjection's HTML5 approach
// (written for this project): the input is read the way a browser's HTML tokenizer would read it
// in the places a reflected value lands, and flagged when it would create script:
//
//  - in text: a tag that runs or loads code (<script>, <iframe>, <object>, <svg>, <meta>, ...), or
//    any tag with an event-handler attribute (on...=), or a URL attribute (href, src, action, ...)
//    whose value is a javascript:/vbscript:/data:text/html URL (entities and the whitespace
//    browsers ignore inside the scheme are removed first), or a style attribute with
//    expression(), url(javascript:...), behavior or -moz-binding;
//  - inside an attribute value (quoted with ", ' or `, or unquoted): the same attribute checks on
//    what follows the attacker's closing quote, so `" onmouseover="alert(1)` is caught without a tag;
//  - as a whole URL: a value that is a javascript:/vbscript: URL with code in it.
//
// Plain text with < and > (math, "<3", "a <b> tag") and ordinary markup (<b>, <a href="https://...">)
// is not flagged.

import { asciiLower, contains, find } from "./text";

const DANGEROUS_TAGS = new Set<string>();

function initTags(): void {
  if (DANGEROUS_TAGS.size > 0) return;
  const list =
    "script iframe frame frameset object embed applet meta base style link svg math xml import isindex bgsound layer ilayer vmlframe xss set animate handler noscript template portal listener";
  const parts = list.split(" ");
  for (let i = 0; i < parts.length; i++) DANGEROUS_TAGS.add(parts[i]);
}

/** Attributes whose value is fetched or navigated to as a URL. */
function isUrlAttribute(name: string): bool {
  return (
    name == "href" || name == "src" || name == "action" || name == "formaction" || name == "data" || name == "background" || name == "lowsrc" ||
    name == "dynsrc" || name == "poster" || name == "codebase" || name == "xlink:href" || name == "srcdoc" || name == "to" || name == "from" ||
    name == "values" || name == "code" || name == "archive" || name == "content" || name == "ping" || name == "icon" || name == "manifest" ||
    name == "cite" || name == "longdesc" || name == "usemap" || name == "profile" || name == "classid"
  );
}

/** Words starting with "on" that are not event handlers (so "online=1" in prose is not one). */
function isEventHandlerName(name: string): bool {
  if (name.length < 5 || !name.startsWith("on")) return false;
  for (let i = 2; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f)) return false;
  }
  return !(
    name == "online" || name == "onion" || name == "onions" || name == "onward" || name == "onwards" || name == "onset" || name == "onto" ||
    name == "ongoing" || name == "onboard" || name == "onboarding" || name == "onsite" || name == "onshore" || name == "onstage" || name == "onlooker" ||
    name == "onerous" || name == "onyx"
  );
}

/** Builds a string from code units in linear time (repeated += copies the whole string each time). */
class Units {
  codes: Array<i32> = new Array<i32>();
  push(c: i32): void {
    this.codes.push(c);
  }
  pushString(s: string): void {
    for (let i = 0; i < s.length; i++) this.codes.push(s.charCodeAt(i));
  }
  get length(): i32 {
    return this.codes.length;
  }
  toString(): string {
    return String.fromCharCodes(this.codes);
  }
}

@inline
function isSpace(c: i32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0;
}

@inline
function isLetter(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

@inline
function lowerAscii(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Decodes the HTML character references browsers decode in attribute values (&#NN; &#xHH; and a few names). */
function decodeEntities(s: string): string {
  if (find(s, "&") < 0) return s;
  const out = new Units();
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c != 0x26) {
      out.push(c);
      i++;
      continue;
    }
    let j = i + 1;
    if (j < n && s.charCodeAt(j) == 0x23) {
      j++;
      let hex = false;
      if (j < n && (s.charCodeAt(j) | 0x20) == 0x78) {
        hex = true;
        j++;
      }
      let v = 0, digits = 0;
      while (j < n) {
        const d = s.charCodeAt(j);
        let dv = -1;
        if (d >= 0x30 && d <= 0x39) dv = d - 0x30;
        else if (hex && (d | 0x20) >= 0x61 && (d | 0x20) <= 0x66) dv = (d | 0x20) - 0x57;
        if (dv < 0) break;
        if (v < 0x110000) v = v * (hex ? 16 : 10) + dv;
        digits++;
        j++;
      }
      if (digits > 0) {
        if (j < n && s.charCodeAt(j) == 0x3b) j++;
        out.push(v > 0 && v <= 0xffff ? v : 0xfffd);
        i = j;
        continue;
      }
    } else {
      while (j < n && isLetter(s.charCodeAt(j))) j++;
      const name = asciiLower(s.substring(i + 1, j));
      let v = -1;
      if (name == "tab") v = 9;
      else if (name == "newline") v = 10;
      else if (name == "colon") v = 0x3a;
      else if (name == "lpar") v = 0x28;
      else if (name == "rpar") v = 0x29;
      else if (name == "lt") v = 0x3c;
      else if (name == "gt") v = 0x3e;
      else if (name == "quot") v = 0x22;
      else if (name == "apos") v = 0x27;
      else if (name == "amp") v = 0x26;
      else if (name == "sol") v = 0x2f;
      else if (name == "nbsp") v = 0xa0;
      if (v >= 0) {
        if (j < n && s.charCodeAt(j) == 0x3b) j++;
        out.push(v);
        i = j;
        continue;
      }
    }
    out.push(0x26);
    i++;
  }
  return out.toString();
}

/** The value as a browser resolves a URL's scheme: entities decoded, control and space removed, lowercased. */
function schemeView(value: string): string {
  // The scheme is near the start: a bounded prefix is enough (entities are at most ~10 units each).
  const v = decodeEntities(value.length > 512 ? value.substring(0, 512) : value);
  const out = new Units();
  for (let i = 0; i < v.length && out.length < 24; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f || c == 0xa0) continue; // browsers skip these inside and before the scheme
    out.push(lowerAscii(c));
  }
  return out.toString();
}

function isScriptUrl(value: string): bool {
  const s = schemeView(value);
  return s.startsWith("javascript:") || s.startsWith("vbscript:") || s.startsWith("livescript:") || s.startsWith("data:text/html") || s.startsWith("data:image/svg") || s.startsWith("data:application/x") || s.startsWith("data:,") || s.startsWith("data:text/javascript");
}

function isScriptStyle(value: string): bool {
  const v = asciiLower(decodeEntities(value));
  const units = new Units();
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c == 0x5c) continue; // CSS escapes and comments hide words; whitespace too
    units.push(c);
  }
  const compact = stripCssComments(units.toString());
  return contains(compact, "expression(") || contains(compact, "javascript:") || contains(compact, "vbscript:") || contains(compact, "behavior:") || contains(compact, "-moz-binding") || contains(compact, "@import");
}

/**
 * Reads attributes from i (inside a tag, after its name) up to the closing ">" or the end: -1 when
 * one would run script, else where reading stopped (the caller resumes there, so text inside
 * attribute values is read once: the scan stays linear). inTag: a "<" ends the tag.
 */
function attributesRunScript(s: string, i: i32, inTag: bool): i32 {
  const n = s.length;
  let attrs = 0;
  while (i < n && attrs < 64) {
    let c = s.charCodeAt(i);
    // Separators between attributes: whitespace, "/", and (outside a real tag) quotes.
    if (isSpace(c) || c == 0x2f || (!inTag && (c == 0x22 || c == 0x27 || c == 0x60))) {
      i++;
      continue;
    }
    if (c == 0x3e /* > */) return i + 1;
    if (c == 0x3c && inTag) return i;
    // Attribute name: up to whitespace, /, >, =.
    const start = i;
    while (i < n) {
      c = s.charCodeAt(i);
      if (isSpace(c) || c == 0x2f || c == 0x3e || c == 0x3d || (i > start && (c == 0x22 || c == 0x27 || c == 0x3c))) break;
      i++;
    }
    if (i == start) {
      i++;
      continue;
    }
    attrs++;
    const name = asciiLower(s.substring(start, i));
    let j = i;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j >= n || s.charCodeAt(j) != 0x3d) {
      i = j;
      continue;
    }
    // An event handler with a value (even an empty one: the attribute is still set).
    if (isEventHandlerName(name)) return -1;
    j++;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    let value = "";
    if (j < n && (s.charCodeAt(j) == 0x22 || s.charCodeAt(j) == 0x27 || s.charCodeAt(j) == 0x60)) {
      const q = s.charCodeAt(j);
      let end = find(s, String.fromCharCode(q), j + 1);
      // Unterminated: read the value to the next ">" so later tags are still looked at.
      if (end < 0) end = find(s, ">", j + 1);
      if (end < 0) end = n;
      value = s.substring(j + 1, end);
      i = end + 1;
    } else {
      let end = j;
      while (end < n && !isSpace(s.charCodeAt(end)) && s.charCodeAt(end) != 0x3e) end++;
      value = s.substring(j, end);
      i = end;
    }
    if (isUrlAttribute(name) && isScriptUrl(value)) return -1;
    if (name == "srcdoc" && find(value, "<") >= 0) return -1;
    if (name == "style" && isScriptStyle(value)) return -1;
    if (name == "http-equiv" && contains(asciiLower(value), "refresh")) return -1;
  }
  return i;
}

/** Tags in text context. */
function tagsRunScript(s: string): bool {
  const n = s.length;
  let i = find(s, "<");
  while (i >= 0 && i < n) {
    let j = i + 1;
    if (j < n && s.charCodeAt(j) == 0x2f) j++;
    if (j < n && s.charCodeAt(j) == 0x3f /* <? */) {
      // <?import (IE) and <?xml-stylesheet (XSLT) load code.
      const rest = asciiLower(s.substring(j + 1, j + 16));
      if (rest.startsWith("import") || rest.startsWith("xml-stylesheet")) return true;
    } else if (j < n && isLetter(s.charCodeAt(j))) {
      const start = j;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (!(isLetter(c) || (c >= 0x30 && c <= 0x39) || c == 0x3a || c == 0x2d || c == 0x5f)) break;
        j++;
      }
      let name = asciiLower(s.substring(start, j));
      const colon = name.lastIndexOf(":");
      if (colon >= 0) name = name.substring(colon + 1); // x:script, v:vmlframe
      if (DANGEROUS_TAGS.has(name)) {
        // "<style" or "<script" followed by the end, space, /, > or a control character.
        if (j >= n) return true;
        // "<script" followed by anything that ends a tag name for the reader (space, /, >, #, ...)
        const c = s.charCodeAt(j);
        if (!(isLetter(c) || (c >= 0x30 && c <= 0x39))) return true;
      }
      const stop = attributesRunScript(s, j, true);
      if (stop < 0) return true;
      if (stop > j) {
        i = find(s, "<", stop);
        continue;
      }
    }
    i = find(s, "<", i + 1);
  }
  return false;
}

// Removes CSS comments: a comment inside "expression" hides the word from a plain search.
function stripCssComments(s: string): string {
  if (find(s, "/*") < 0) return s;
  const out = new Units();
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) == 0x2f && i + 1 < s.length && s.charCodeAt(i + 1) == 0x2a) {
      const end = find(s, "*/", i + 2);
      if (end < 0) break;
      i = end + 2;
      continue;
    }
    out.push(s.charCodeAt(i));
    i++;
  }
  return out.toString();
}

/** CSS that runs script (a value landing in a style attribute or sheet). */
function cssRunsScript(s: string): bool {
  const units = new Units();
  const v = decodeEntities(s);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c == 0x5c || c == 0x27 || c == 0x22) continue; // spaces, CSS escapes, quotes
    units.push(lowerAscii(c));
  }
  const compact = stripCssComments(units.toString());
  return (
    contains(compact, "url(javascript") || contains(compact, "url(vbscript") || contains(compact, "-moz-binding:") ||
    contains(compact, "behavior:url(") || contains(compact, ":expression(") || contains(compact, "{expression(")
  );
}

/** Names a value breaking out of a JS string calls to run code or reach the page. */
function isJsSink(name: string): bool {
  return (
    name == "alert" || name == "prompt" || name == "confirm" || name == "eval" || name == "settimeout" || name == "setinterval" ||
    name == "function" || name == "fetch" || name == "import" || name == "document" || name == "window" || name == "top" ||
    name == "self" || name == "parent" || name == "location" || name == "constructor" || name == "atob" || name == "xmlhttprequest"
  );
}

/**
 * A value breaking out of a JavaScript string: a quote, then an operator or ";", then a call to a
 * script sink: "';alert(1)//", "\"-alert(1)-\"", "'+eval(name)+'".
 */
function jsBreakout(s: string): bool {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const q = s.charCodeAt(i);
    if (q != 0x27 && q != 0x22 && q != 0x60) continue;
    let j = i + 1;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j >= n) continue;
    const op = s.charCodeAt(j);
    if (!(op == 0x3b || op == 0x2b || op == 0x2d || op == 0x2a || op == 0x2f || op == 0x7c || op == 0x26 || op == 0x2c || op == 0x29 || op == 0x7d)) continue;
    j++;
    while (j < n && (isSpace(s.charCodeAt(j)) || s.charCodeAt(j) == 0x29 || s.charCodeAt(j) == 0x7d || s.charCodeAt(j) == 0x3b)) j++;
    const start = j;
    while (j < n && (isLetter(s.charCodeAt(j)) || s.charCodeAt(j) == 0x5f || s.charCodeAt(j) == 0x24)) j++;
    if (j == start) continue;
    const name = asciiLower(s.substring(start, j));
    if (!isJsSink(name)) continue;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j < n) {
      const c = s.charCodeAt(j);
      if (c == 0x28 || c == 0x60 || c == 0x2e || c == 0x5b || c == 0x3d) return true;
    }
  }
  return false;
}

/**
 * Client-side template expressions that reach code ({{constructor.constructor('alert(1)')()}}):
 * frameworks such as AngularJS evaluate {{...}} found in the page.
 */
function templateInjection(s: string): bool {
  let i = find(s, "{{");
  while (i >= 0) {
    let end = find(s, "}}", i + 2);
    if (end < 0) end = s.length;
    const body = asciiLower(s.substring(i + 2, end));
    if (contains(body, "constructor") || contains(body, "$eval") || contains(body, "$on.") || contains(body, "alert(") || contains(body, "prompt(") || contains(body, "confirm(") || contains(body, "fromcharcode")) return true;
    if (end >= s.length) break;
    i = find(s, "{{", end + 2);
  }
  return false;
}

/** A value that is itself a script URL with code after the scheme (not "javascript: the good parts"). */
function isScriptUrlValue(s: string): bool {
  if (!isScriptUrl(s)) return false;
  // Entities or control characters inside the scheme ("ja&tab;vascript:") are evasion, not prose.
  const plain = asciiLower(s.trim());
  if (!(plain.startsWith("javascript:") || plain.startsWith("vbscript:") || plain.startsWith("livescript:") || plain.startsWith("data:"))) return true;
  const v = decodeEntities(s);
  const colon = find(v, ":");
  const rest = v.substring(colon + 1);
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c == 0x28 || c == 0x60 || c == 0x3d || c == 0x5b || c == 0x2f || c == 0x7b || c == 0x3b || c == 0x2e || c == 0x5c || c == 0x22 || c == 0x27) return true;
  }
  return schemeView(s).startsWith("data:");
}

/**
 * Code units one of which every input detectXSS flags holds, each
 * needed by one of its checks: "<" (tags), ":" or "&" (script URLs, whose scheme ends in a
 * colon, possibly an entity; CSS), "(" (CSS), quotes (JavaScript breakout), "{" (templates),
 * "+" (UTF-7) and "=" (attribute values). A value with none of them is clean without tokenizing
 * (most values: words, numbers, identifiers).
 */
export const XSS_NECESSARY_UNITS = "<:&('\"`{+=";
/** XSS_NECESSARY_UNITS as a table over ASCII. */
const XSS_UNITS: StaticArray<u8> = xssUnits(XSS_NECESSARY_UNITS);

function xssUnits(units: string): StaticArray<u8> {
  const t = new StaticArray<u8>(128);
  for (let i = 0; i < units.length; i++) t[units.charCodeAt(i)] = 1;
  return t;
}

/** Whether input holds one of XSS_UNITS (a necessary condition for detectXSS). */
export function mayBeXSS(input: string): bool {
  const p = changetype<usize>(input);
  for (let i = 0, n = input.length; i < n; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c < 128 && unchecked(XSS_UNITS[c]) != 0) return true;
  }
  return false;
}

/** Whether input would run script when reflected into an HTML page (text, attribute or URL). */
export function detectXSS(input: string): bool {
  return mayBeXSS(input) && detectXSSChecks(input);
}

/** detectXSS without the necessary-unit test (the checks themselves; exported for the test that proves the test sound). */
export function detectXSSChecks(input: string): bool {
  if (input.length == 0) return false;
  initTags();
  if (find(input, "<") >= 0 && tagsRunScript(input)) return true;
  if (isScriptUrlValue(input)) return true;
  if (find(input, "(") >= 0 || find(input, ":") >= 0) {
    const lower = asciiLower(input);
    // Only CSS that names one of its script hooks is worth normalizing.
    if ((contains(lower, "url") || contains(lower, "&#") || contains(lower, "expression") || contains(lower, "binding") || contains(lower, "behavior")) && cssRunsScript(input)) return true;
  }
  if (jsBreakout(input)) return true;
  if (templateInjection(input)) return true;
  // UTF-7 "<": +ADw- (read as a tag by browsers that sniff UTF-7)
  if (find(input, "+") >= 0) {
    const lower = asciiLower(input);
    if (contains(lower, "+adw-") && (contains(lower, "script") || contains(lower, "+ad4-"))) return true;
  }
  // Inside an attribute value: what follows the first quote of each kind, and the unquoted case
  // (the value ends at the first whitespace).
  if (find(input, "=") < 0) return false;
  const quotes = "\"'`";
  for (let q = 0; q < 3; q++) {
    const at = find(input, quotes.charAt(q));
    if (at >= 0 && attributesRunScript(input, at + 1, false) < 0) return true;
  }
  for (let i = 0; i < input.length; i++) {
    if (isSpace(input.charCodeAt(i))) return attributesRunScript(input, i + 1, false) < 0;
  }
  return false;
}
