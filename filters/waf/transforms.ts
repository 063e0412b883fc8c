// SecLang transformations (`t:name`) on byte strings. Each is a pure function; a rule's list is
// applied in order to every value before its operator runs. Semantics follow ModSecurity's
// reference manual; invalid encodings are left as they are (never dropped), so an evasion that
// hides behind a broken escape still reaches the operator.
import { ByteBuilder, REUSED_MAX, hasUnit, hexValue, isSpace, lowerBytes, upperBytes } from "./bytes";

/**
 * The builder every transformation writes its result with: each builds one string from start to
 * finish and none calls another meanwhile, so one buffer serves them all instead of a new one
 * per value (large results get a builder of their own, so the shared buffer stays small).
 */
const shared = new ByteBuilder(256);

function builderFor(capacity: i32): ByteBuilder {
  if (capacity > REUSED_MAX) return new ByteBuilder(capacity);
  shared.reset(capacity);
  return shared;
}

export enum Transform {
  Lowercase, Uppercase, UrlDecode, UrlDecodeUni, HtmlEntityDecode, JsDecode, CssDecode,
  Base64Decode, HexDecode, RemoveNulls, ReplaceNulls, RemoveWhitespace, CompressWhitespace,
  ReplaceComments, RemoveCommentsChar, RemoveComments, CmdLine, NormalizePath, NormalizePathWin,
  Utf8ToUnicode, Trim, TrimLeft, TrimRight, Length,
  /**
   * Internal (no `t:` name): cmdLine without its lowercasing, for the literal screen, which folds
   * case itself (parser.ts screenFormOf): most values come out of it unchanged.
   */
  CmdLineKeepCase,
}

/** How many transformations there are (ids 0 .. TRANSFORM_COUNT - 1), the internal one included. */
export const TRANSFORM_COUNT = Transform.CmdLineKeepCase + 1;

const NAMES: string[] = [
  "lowercase", "uppercase", "urlDecode", "urlDecodeUni", "htmlEntityDecode", "jsDecode", "cssDecode",
  "base64Decode", "hexDecode", "removeNulls", "replaceNulls", "removeWhitespace", "compressWhitespace",
  "replaceComments", "removeCommentsChar", "removeComments", "cmdLine", "normalizePath", "normalizePathWin",
  "utf8toUnicode", "trim", "trimLeft", "trimRight", "length", "cmdLine (case kept)",
];

/** The transformation named `name` (case-insensitive), -1 when unsupported. `none` is handled by the parser. */
export function transformByName(name: string): i32 {
  const lower = name.toLowerCase();
  // The SecLang names only (not the internal transformations after Length).
  for (let i = 0; i <= Transform.Length; i++) if (NAMES[i].toLowerCase() == lower) return i;
  // Aliases ModSecurity accepts.
  if (lower == "normalisepath") return Transform.NormalizePath;
  if (lower == "normalisepathwin") return Transform.NormalizePathWin;
  return -1;
}

export function transformName(t: i32): string { return NAMES[t]; }

export function applyTransform(t: i32, s: string): string {
  switch (t) {
    case Transform.Lowercase: return lowerBytes(s);
    case Transform.Uppercase: return upperBytes(s);
    case Transform.UrlDecode: return urlDecode(s, false);
    case Transform.UrlDecodeUni: return urlDecode(s, true);
    case Transform.HtmlEntityDecode: return htmlEntityDecode(s);
    case Transform.JsDecode: return jsDecode(s);
    case Transform.CssDecode: return cssDecode(s);
    case Transform.Base64Decode: return base64Decode(s);
    case Transform.HexDecode: return hexDecode(s);
    case Transform.RemoveNulls: return removeChar(s, 0);
    case Transform.ReplaceNulls: return removeChar(s, 0) == s ? s : s.replaceAll("\0", " ");
    case Transform.RemoveWhitespace: return removeWhitespace(s);
    case Transform.CompressWhitespace: return compressWhitespace(s);
    case Transform.ReplaceComments: return replaceComments(s);
    case Transform.RemoveCommentsChar: return removeCommentsChar(s);
    case Transform.RemoveComments: return removeComments(s);
    case Transform.CmdLine: return cmdLine(s, true);
    case Transform.CmdLineKeepCase: return cmdLine(s, false);
    case Transform.NormalizePath: return normalizePath(s, false);
    case Transform.NormalizePathWin: return normalizePath(s, true);
    case Transform.Utf8ToUnicode: return utf8ToUnicode(s);
    case Transform.Trim: return trimBytes(s, true, true);
    case Transform.TrimLeft: return trimBytes(s, true, false);
    case Transform.TrimRight: return trimBytes(s, false, true);
    case Transform.Length: return s.length.toString();
  }
  return s;
}

export function applyTransforms(list: i32[], s: string): string {
  for (let i = 0; i < list.length; i++) s = applyTransform(list[i], s);
  return s;
}

/** A %uFFxx full-width form maps to its ASCII counterpart; other code points keep their low byte (as ModSecurity). */
function unicodeToByte(code: i32): i32 {
  if (code >= 0xff01 && code <= 0xff5e) return (code & 0xff) + 0x20;
  return code & 0xff;
}

export function urlDecode(s: string, unicode: bool): string {
  const n = s.length;
  const p = changetype<usize>(s);
  // Up to the first % or +, the value is its own decoding (none: the value itself).
  let i = 0;
  while (i < n) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c == 0x25 || c == 0x2b) break;
    i++;
  }
  if (i == n) return s;
  // Never longer than the input: plain stores into the builder, the plain start copied at once.
  const b = builderFor(n);
  const q = b.data;
  memory.copy(q, p, <usize>i << 1);
  let o = i;
  for (; i < n; i++) {
    let c = <i32>load<u16>(p + (<usize>i << 1));
    if (c == 0x2b) {
      c = 0x20;
    } else if (c == 0x25) {
      if (unicode && i + 5 < n && (<i32>load<u16>(p + (<usize>(i + 1) << 1)) | 0x20) == 0x75) {
        const h1 = hexValue(<i32>load<u16>(p + (<usize>(i + 2) << 1))), h2 = hexValue(<i32>load<u16>(p + (<usize>(i + 3) << 1)));
        const h3 = hexValue(<i32>load<u16>(p + (<usize>(i + 4) << 1))), h4 = hexValue(<i32>load<u16>(p + (<usize>(i + 5) << 1)));
        if (h1 >= 0 && h2 >= 0 && h3 >= 0 && h4 >= 0) {
          store<u16>(q + (<usize>o << 1), <u16>unicodeToByte((h1 << 12) | (h2 << 8) | (h3 << 4) | h4));
          o++;
          i += 5;
          continue;
        }
      }
      if (i + 2 < n) {
        const h = hexValue(<i32>load<u16>(p + (<usize>(i + 1) << 1))), l = hexValue(<i32>load<u16>(p + (<usize>(i + 2) << 1)));
        if (h >= 0 && l >= 0) {
          store<u16>(q + (<usize>o << 1), <u16>((h << 4) | l));
          o++;
          i += 2;
          continue;
        }
      }
    }
    store<u16>(q + (<usize>o << 1), <u16>c);
    o++;
  }
  b.length = o;
  return b.toString();
}

function entityByName(name: string): i32 {
  const n = name.toLowerCase();
  if (n == "quot") return 0x22;
  if (n == "amp") return 0x26;
  if (n == "lt") return 0x3c;
  if (n == "gt") return 0x3e;
  if (n == "nbsp") return 0xa0;
  if (n == "apos") return 0x27;
  if (n == "colon") return 0x3a;
  if (n == "lpar") return 0x28;
  if (n == "rpar") return 0x29;
  if (n == "sol") return 0x2f;
  if (n == "tab") return 0x09;
  if (n == "newline") return 0x0a;
  if (n == "grave") return 0x60;
  return -1;
}

export function htmlEntityDecode(s: string): string {
  if (!hasUnit(s, 0x26)) return s; // no &
  const b = builderFor(s.length);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x26 || i + 1 >= n) { b.push(c); continue; }
    let j = i + 1;
    if (s.charCodeAt(j) == 0x23) {
      j++;
      const hex = j < n && (s.charCodeAt(j) | 0x20) == 0x78;
      if (hex) j++;
      const start = j;
      let v = 0;
      while (j < n && j - start < 8) {
        const d = hex ? hexValue(s.charCodeAt(j)) : (s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39 ? s.charCodeAt(j) - 0x30 : -1);
        if (d < 0) break;
        v = hex ? (v << 4) | d : v * 10 + d;
        j++;
      }
      if (j == start) { b.push(c); continue; }
      b.push(unicodeToByte(v));
      if (j < n && s.charCodeAt(j) == 0x3b) j++;
      i = j - 1;
      continue;
    }
    const start = j;
    while (j < n && j - start < 8) {
      const d = s.charCodeAt(j) | 0x20;
      if (d < 0x61 || d > 0x7a) break;
      j++;
    }
    const v = j > start ? entityByName(s.substring(start, j)) : -1;
    if (v < 0) { b.push(c); continue; }
    b.push(v);
    if (j < n && s.charCodeAt(j) == 0x3b) j++;
    i = j - 1;
  }
  return b.toString();
}

export function jsDecode(s: string): string {
  if (!hasUnit(s, 0x5c)) return s; // no backslash
  const b = builderFor(s.length);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x5c || i + 1 >= n) { b.push(c); continue; }
    const e = s.charCodeAt(i + 1);
    if ((e == 0x75 || e == 0x55) && i + 5 < n) {
      const h1 = hexValue(s.charCodeAt(i + 2)), h2 = hexValue(s.charCodeAt(i + 3));
      const h3 = hexValue(s.charCodeAt(i + 4)), h4 = hexValue(s.charCodeAt(i + 5));
      if (h1 >= 0 && h2 >= 0 && h3 >= 0 && h4 >= 0) {
        b.push(unicodeToByte((h1 << 12) | (h2 << 8) | (h3 << 4) | h4));
        i += 5;
        continue;
      }
    }
    if ((e == 0x78 || e == 0x58) && i + 3 < n) {
      const h = hexValue(s.charCodeAt(i + 2)), l = hexValue(s.charCodeAt(i + 3));
      if (h >= 0 && l >= 0) { b.push((h << 4) | l); i += 3; continue; }
    }
    if (e >= 0x30 && e <= 0x37) {
      let v = 0, j = i + 1;
      while (j < n && j < i + 4 && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x37) {
        v = v * 8 + (s.charCodeAt(j) - 0x30);
        j++;
      }
      b.push(v & 0xff);
      i = j - 1;
      continue;
    }
    let out = e;
    if (e == 0x6e) out = 0x0a; else if (e == 0x72) out = 0x0d; else if (e == 0x74) out = 0x09;
    else if (e == 0x62) out = 0x08; else if (e == 0x66) out = 0x0c; else if (e == 0x76) out = 0x0b;
    b.push(out);
    i++;
  }
  return b.toString();
}

export function cssDecode(s: string): string {
  if (!hasUnit(s, 0x5c)) return s; // no backslash
  const b = builderFor(s.length);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x5c) { b.push(c); continue; }
    if (i + 1 >= n) break; // a trailing backslash is dropped
    let j = i + 1, v = 0;
    while (j < n && j < i + 7 && hexValue(s.charCodeAt(j)) >= 0) { v = (v << 4) | hexValue(s.charCodeAt(j)); j++; }
    if (j > i + 1) {
      b.push(unicodeToByte(v));
      if (j < n && isSpace(s.charCodeAt(j))) j++;
      i = j - 1;
      continue;
    }
    const e = s.charCodeAt(i + 1);
    if (e != 0x0a) b.push(e); // an escaped newline is a line continuation
    i++;
  }
  return b.toString();
}

function base64Value(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b || c == 0x2d) return 62;
  if (c == 0x2f || c == 0x5f) return 63;
  return -1;
}

/** Decodes until the first character that is not Base64 (as ModSecurity's lenient decoder does). */
export function base64Decode(s: string): string {
  const b = builderFor((s.length * 3) / 4 + 1);
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x3d) break;
    if (isSpace(c)) continue;
    const v = base64Value(c);
    if (v < 0) break;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) { bits -= 8; b.push((acc >> bits) & 0xff); }
  }
  return b.toString();
}

export function hexDecode(s: string): string {
  const b = builderFor(s.length / 2 + 1);
  for (let i = 0; i + 1 < s.length; i += 2) {
    const h = hexValue(s.charCodeAt(i)), l = hexValue(s.charCodeAt(i + 1));
    if (h < 0 || l < 0) return s; // not hex: unchanged
    b.push((h << 4) | l);
  }
  return b.toString();
}

function removeChar(s: string, ch: i32): string {
  let found = false;
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) if (<i32>load<u16>(p + (<usize>i << 1)) == ch) { found = true; break; }
  if (!found) return s;
  // No longer than the input: written with plain stores into the builder's room.
  const b = builderFor(s.length);
  const d = b.data;
  let k = 0;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = load<u16>(p + (<usize>i << 1));
    if (<i32>c != ch) { store<u16>(d + (<usize>k << 1), c); k++; }
  }
  b.length = k;
  return b.toString();
}

function isWideSpace(c: i32): bool { return isSpace(c) || c == 0xa0; }

function removeWhitespace(s: string): string {
  // No longer than the input: written with plain stores into the builder's room.
  const b = builderFor(s.length);
  const p = changetype<usize>(s), d = b.data;
  let k = 0;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (!isWideSpace(c)) { store<u16>(d + (<usize>k << 1), <u16>c); k++; }
  }
  b.length = k;
  return b.toString();
}

function compressWhitespace(s: string): string {
  // Nothing to do unless there is a run of spaces or a space that is not 0x20.
  let needed = false;
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n && !needed; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (isWideSpace(c) && (c != 0x20 || (i + 1 < n && isWideSpace(<i32>load<u16>(p + (<usize>(i + 1) << 1)))))) needed = true;
  }
  if (!needed) return s;
  // No longer than the input: written with plain stores into the builder's room.
  const b = builderFor(s.length);
  const d = b.data;
  let k = 0;
  let inSpace = false;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (isWideSpace(c)) {
      if (!inSpace) { store<u16>(d + (<usize>k << 1), 0x20); k++; }
      inSpace = true;
    } else { store<u16>(d + (<usize>k << 1), <u16>c); k++; inSpace = false; }
  }
  b.length = k;
  return b.toString();
}

/** C-style comments become one space; an unterminated one runs to the end. */
function replaceComments(s: string): string {
  if (s.indexOf("/*") < 0) return s;
  const b = builderFor(s.length);
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) == 0x2f && i + 1 < s.length && s.charCodeAt(i + 1) == 0x2a) {
      const end = s.indexOf("*/", i + 2);
      b.push(0x20);
      if (end < 0) break;
      i = end + 1;
      continue;
    }
    b.push(s.charCodeAt(i));
  }
  return b.toString();
}

// Removes C comments (slash-star ... star-slash), SQL (--) and shell (#) comments to the end of the line.
function removeComments(s: string): string {
  const b = builderFor(s.length);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2f && i + 1 < n && s.charCodeAt(i + 1) == 0x2a) {
      const end = s.indexOf("*/", i + 2);
      if (end < 0) break;
      i = end + 1;
      continue;
    }
    if ((c == 0x2d && i + 1 < n && s.charCodeAt(i + 1) == 0x2d) || c == 0x23) {
      let j = i;
      while (j < n && s.charCodeAt(j) != 0x0a && s.charCodeAt(j) != 0x0d) j++;
      i = j - 1;
      continue;
    }
    b.push(c);
  }
  return b.toString();
}

function removeCommentsChar(s: string): string {
  const b = builderFor(s.length);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const next = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if ((c == 0x2f && next == 0x2a) || (c == 0x2a && next == 0x2f) || (c == 0x2d && next == 0x2d)) { i++; continue; }
    if (c == 0x23) continue;
    b.push(c);
  }
  return b.toString();
}

/** cmdLine's handling of a unit below 128, by unit (see CMD_*): one load instead of a dozen compares. */
const CMD_COPY: u8 = 0, CMD_DROP: u8 = 1, CMD_SPACE: u8 = 2, CMD_SEPARATOR: u8 = 3, CMD_BEFORE: u8 = 4, CMD_UPPER: u8 = 5;
const CMD_LINE_CLASSES: StaticArray<u8> = cmdLineClasses();

function cmdLineClasses(): StaticArray<u8> {
  const t = new StaticArray<u8>(128);
  t[0x5c] = CMD_DROP; t[0x22] = CMD_DROP; t[0x27] = CMD_DROP; t[0x5e] = CMD_DROP;
  // Spaces (isSpace's units) apart from `,` and `;`, which always change the value.
  t[0x20] = CMD_SPACE; t[0x09] = CMD_SPACE; t[0x0a] = CMD_SPACE; t[0x0d] = CMD_SPACE; t[0x0b] = CMD_SPACE; t[0x0c] = CMD_SPACE;
  t[0x2c] = CMD_SEPARATOR; t[0x3b] = CMD_SEPARATOR;
  t[0x2f] = CMD_BEFORE; t[0x28] = CMD_BEFORE;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = CMD_UPPER;
  return t;
}

/**
 * ModSecurity's cmdLine: drop \ " ' ^, drop spaces before / and (, , and ; become spaces, compress
 * spaces, lowercase (unless `lower` is false: the screen's form, Transform.CmdLineKeepCase).
 */
function cmdLine(s: string, lower: bool): string {
  const classes = changetype<usize>(CMD_LINE_CLASSES);
  // Unchanged when there is nothing to delete, fold or lowercase (most values).
  let plain = true;
  const p = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c >= 128) continue;
    const cls = load<u8>(classes + <usize>c);
    if (cls == CMD_COPY || cls == CMD_BEFORE || (cls == CMD_UPPER && !lower)) continue;
    if (cls == CMD_SPACE && c == 0x20 && i + 1 < n) {
      // A single 0x20 before anything but a space, '/' or '(' stays.
      const next = <i32>load<u16>(p + (<usize>(i + 1) << 1));
      if (next >= 128) continue;
      const after = load<u8>(classes + <usize>next);
      if (after != CMD_SPACE && after != CMD_BEFORE) continue;
    }
    plain = false;
    break;
  }
  if (plain) return s;
  // No longer than the input (one unit out per unit in at most): plain stores into the builder's room.
  const b = builderFor(n);
  const d = b.data;
  let k = 0;
  let space = false;
  for (let i = 0; i < n; i++) {
    let c = <i32>load<u16>(p + (<usize>i << 1));
    const cls = c < 128 ? load<u8>(classes + <usize>c) : CMD_COPY;
    if (cls == CMD_DROP) continue;
    if (cls == CMD_SPACE || cls == CMD_SEPARATOR) {
      if (!space) { store<u16>(d + (<usize>k << 1), 0x20); k++; space = true; }
      continue;
    }
    // A space before '/' or '(' is dropped (it was the last unit written).
    if (cls == CMD_BEFORE && space) k--;
    space = false;
    if (cls == CMD_UPPER && lower) c += 0x20;
    store<u16>(d + (<usize>k << 1), <u16>c);
    k++;
  }
  b.length = k;
  return b.toString();
}

/** Removes `./` segments and `//`, resolves `../` (never above the start); Windows form turns `\` into `/` first. */
export function normalizePath(s: string, windows: bool): string {
  if (windows && hasUnit(s, 0x5c)) s = s.replaceAll("\\", "/");
  // Without a slash there is one segment: unchanged unless it is ".".
  if (!hasUnit(s, 0x2f)) return s == "." ? "" : s;
  const absolute = s.startsWith("/");
  const trailing = s.endsWith("/") || s.endsWith("/.") || s.endsWith("/..");
  const parts = s.split("/");
  const out = new Array<string>();
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.length == 0 || p == ".") continue;
    if (p == "..") {
      if (out.length > 0 && out[out.length - 1] != "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(p);
  }
  let r = (absolute ? "/" : "") + out.join("/");
  if (trailing && out.length > 0) r += "/";
  return r;
}

/** Multi-byte UTF-8 sequences become `%uXXXX` (the code point; low 16 bits). */
function utf8ToUnicode(s: string): string {
  let any = false;
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) if (load<u16>(p + (<usize>i << 1)) >= 0x80) { any = true; break; }
  if (!any) return s;
  const b = builderFor(s.length * 2);
  const n = s.length;
  const HEX = "0123456789abcdef";
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let len = 0, cp = 0;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const d = s.charCodeAt(i + k);
      if ((d & 0xc0) != 0x80) ok = false; else cp = (cp << 6) | (d & 0x3f);
    }
    if (!ok) { b.push(c); continue; }
    b.pushString("%u");
    b.push(HEX.charCodeAt((cp >> 12) & 15)); b.push(HEX.charCodeAt((cp >> 8) & 15));
    b.push(HEX.charCodeAt((cp >> 4) & 15)); b.push(HEX.charCodeAt(cp & 15));
    i += len - 1;
  }
  return b.toString();
}

function trimBytes(s: string, left: bool, right: bool): string {
  let a = 0, z = s.length;
  if (left) while (a < z && isWideSpace(s.charCodeAt(a))) a++;
  if (right) while (z > a && isWideSpace(s.charCodeAt(z - 1))) z--;
  return a == 0 && z == s.length ? s : s.substring(a, z);
}
