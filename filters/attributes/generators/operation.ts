// The `operation` generator's templates: "GET /users/{id}" → "GetUser". A template is an optional
// method list ("GET", "GET|HEAD", "*") and a path pattern of segments: literal text, `{name}` or
// `*` (exactly one non-empty segment), and `**` or `{name=**}` (any number of segments, including
// none). Matching is on the path without the query, segment by segment, in O(segments × pattern)
// with no recursion; a trailing slash is ignored ("/users/" matches "/users").

import { Value } from "../expr/value";
import { copyString, compactValue } from "../expr/compact";
import { indexOfUnit } from "../expr/text";

export enum SegmentKind { Literal, One, Any }

export class PathTemplate {
  methods: Array<string> = new Array<string>(); // empty: any method
  kinds: Array<SegmentKind> = new Array<SegmentKind>();
  texts: Array<string> = new Array<string>();
  /** The value as the language's string, made once. */
  result: Value;
  constructor(public source: string, public value: string) {
    this.result = Value.string_(value);
  }

  /** A copy in adjacent allocations (see expr/compact.ts). */
  compacted(): PathTemplate {
    const t = new PathTemplate(this.source, this.value);
    t.result = compactValue(this.result);
    const methods = new Array<string>(this.methods.length);
    for (let i = 0; i < methods.length; i++) unchecked(methods[i] = copyString(this.methods[i]));
    t.methods = methods;
    t.kinds = this.kinds.slice(0);
    const texts = new Array<string>(this.texts.length);
    for (let i = 0; i < texts.length; i++) unchecked(texts[i] = copyString(this.texts[i]));
    t.texts = texts;
    return t;
  }

  matches(method: string, path: PathSegments): bool {
    if (this.methods.length > 0 && !this.methods.includes(method)) return false;
    return matchSegments(this, path);
  }
}

export class TemplateResult {
  template: PathTemplate | null = null;
  error: string = "";
}

function isMethodChar(c: i32): bool { return (c >= 0x41 && c <= 0x5a) || c == 0x2d || c == 0x5f; }

function isVarName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2e)) return false;
  }
  return true;
}

/** Path segments of "/a/b/"; the query is cut, a trailing empty segment dropped. */
export function splitPath(path: string): Array<string> {
  let p = path;
  const q = p.indexOf("?");
  if (q >= 0) p = p.substring(0, q);
  if (p.startsWith("/")) p = p.substring(1);
  if (p.endsWith("/")) p = p.substring(0, p.length - 1);
  if (p.length == 0) return new Array<string>();
  return p.split("/");
}

export function parseTemplate(text: string, value: string): TemplateResult {
  const r = new TemplateResult();
  const t = new PathTemplate(text, value);
  let path = text;
  const space = text.indexOf(" ");
  if (space >= 0) {
    const methods = text.substring(0, space);
    path = text.substring(space + 1);
    if (methods != "*") {
      const list = methods.split("|");
      for (let i = 0; i < list.length; i++) {
        const m = list[i];
        let ok = m.length > 0;
        for (let k = 0; k < m.length && ok; k++) ok = isMethodChar(m.charCodeAt(k));
        if (!ok) { r.error = "invalid method '" + m + "' (uppercase letters, e.g. GET or GET|HEAD, or *)"; return r; }
        t.methods.push(m);
      }
    }
  }
  if (!path.startsWith("/")) { r.error = "the path must start with '/' (e.g. \"GET /users/{id}\")"; return r; }
  if (path.indexOf("?") >= 0 || path.indexOf(" ") >= 0) { r.error = "the path must not contain '?' or spaces"; return r; }
  const segs = splitPath(path);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.length == 0) { r.error = "empty path segment ('//')"; return r; }
    if (s == "**" || (s.startsWith("{") && s.endsWith("=**}") && isVarName(s.substring(1, s.length - 4)))) {
      t.kinds.push(SegmentKind.Any); t.texts.push("");
    } else if (s == "*" || (s.startsWith("{") && s.endsWith("}") && isVarName(s.substring(1, s.length - 1)))) {
      t.kinds.push(SegmentKind.One); t.texts.push("");
    } else if (s.indexOf("{") >= 0 || s.indexOf("}") >= 0 || s.indexOf("*") >= 0) {
      r.error = "invalid segment '" + s + "' (use {name}, *, ** or {name=**} for a whole segment)";
      return r;
    } else {
      t.kinds.push(SegmentKind.Literal); t.texts.push(s);
    }
  }
  r.template = t;
  return r;
}

/**
 * A request path split into segments in place (offsets, no substrings): reused across requests.
 * Same rules as splitPath: query cut, one leading and one trailing "/" ignored.
 */
export class PathSegments {
  text: string = "";
  starts: Int32Array = new Int32Array(16);
  ends: Int32Array = new Int32Array(16);
  count: i32 = 0;

  set(path: string): void {
    this.text = path;
    let end = indexOfUnit(path, 0x3f /* ? */);
    if (end < 0) end = path.length;
    let start = path.length > 0 && path.charCodeAt(0) == 0x2f ? 1 : 0;
    if (end > start && path.charCodeAt(end - 1) == 0x2f) end--;
    this.count = 0;
    if (end <= start) return;
    let segStart = start;
    for (let i = start; i <= end; i++) {
      if (i < end && path.charCodeAt(i) != 0x2f) continue;
      if (this.count == this.starts.length) {
        const s2 = new Int32Array(this.count * 2); s2.set(this.starts); this.starts = s2;
        const e2 = new Int32Array(this.count * 2); e2.set(this.ends); this.ends = e2;
      }
      unchecked(this.starts[this.count] = segStart);
      unchecked(this.ends[this.count] = i);
      this.count++;
      segStart = i + 1;
    }
  }

  length(i: i32): i32 { return unchecked(this.ends[i]) - unchecked(this.starts[i]); }

  equals(i: i32, literal: string): bool {
    return this.length(i) == literal.length && this.text.startsWith(literal, unchecked(this.starts[i]));
  }
}

function matchSegments(t: PathTemplate, segs: PathSegments): bool {
  const kinds = t.kinds;
  const n = segs.count;
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < n) {
    if (pi < kinds.length) {
      const k = unchecked(kinds[pi]);
      if (k == SegmentKind.Any) { starP = pi; starS = si; pi++; continue; }
      if ((k == SegmentKind.One && segs.length(si) > 0) || (k == SegmentKind.Literal && segs.equals(si, unchecked(t.texts[pi])))) { pi++; si++; continue; }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    starS++;
    si = starS;
  }
  while (pi < kinds.length && unchecked(kinds[pi]) == SegmentKind.Any) pi++;
  return pi == kinds.length;
}
