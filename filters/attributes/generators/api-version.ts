// The `api_version` generator: the API version a request asks for, from (in order) a header, a
// path segment ("/api/v2/users" → "v2") and the Accept header ("application/vnd.acme.v3+json" or
// "...; version=3"). Numeric versions are normalised to "v<n>" ("2" → "v2", "V2.1" → "v2.1");
// other header values (e.g. dates such as "2024-06-01") are kept as written when they are short
// and printable.
import { indexOfUnit } from "../expr/text";

/** "v2", "V2.1", "2" → "v2", "v2.1", "v2"; null when not of that shape. */
export function normaliseNumeric(s: string): string | null {
  let t = s;
  if (t.length > 0 && (t.charCodeAt(0) == 0x76 || t.charCodeAt(0) == 0x56)) t = t.substring(1);
  if (t.length == 0 || t.length > 16) return null;
  let dots = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c == 0x2e) { if (i == 0 || i == t.length - 1 || t.charCodeAt(i - 1) == 0x2e || ++dots > 2) return null; continue; }
    if (c < 0x30 || c > 0x39) return null;
  }
  return "v" + t;
}

/** A header value as a version: numeric forms normalised, other short printable tokens kept. */
export function versionFromHeader(value: string): string | null {
  const v = value.trim();
  const n = normaliseNumeric(v);
  if (n !== null) return n;
  if (v.length == 0 || v.length > 32) return null;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x2d || c == 0x2e || c == 0x5f;
    if (!ok) return null;
  }
  return v;
}

/** The first path segment of the form v<digits>[.<digits>] (query ignored). */
export function versionFromPath(path: string): string | null {
  let p = path;
  const q = indexOfUnit(p, 0x3f /* ? */);
  if (q >= 0) p = p.substring(0, q);
  const segs = p.split("/");
  for (let i = 0; i < segs.length && i < 8; i++) {
    const s = segs[i];
    if (s.length < 2 || (s.charCodeAt(0) != 0x76 && s.charCodeAt(0) != 0x56)) continue;
    const n = normaliseNumeric(s);
    if (n !== null) return n;
  }
  return null;
}

/** From Accept: a vendor media type "vnd.<x>.v3+json" or a "version=3" parameter. */
export function versionFromAccept(accept: string): string | null {
  const a = accept.toLowerCase();
  const vnd = a.indexOf("vnd.");
  if (vnd >= 0) {
    let end = a.indexOf("+", vnd);
    const semi = a.indexOf(";", vnd);
    const comma = a.indexOf(",", vnd);
    if (end < 0 || (semi >= 0 && semi < end)) end = semi;
    if (end < 0 || (comma >= 0 && comma < end)) end = comma;
    if (end < 0) end = a.length;
    const parts = a.substring(vnd, end).split(".");
    for (let i = parts.length - 1; i >= 1; i--) {
      if (parts[i].startsWith("v")) {
        const n = normaliseNumeric(parts[i]);
        if (n !== null) return n;
      }
    }
  }
  const at = a.indexOf("version=");
  if (at >= 0) {
    let end = at + 8;
    while (end < a.length && a.charCodeAt(end) != 0x3b && a.charCodeAt(end) != 0x2c && a.charCodeAt(end) != 0x20) end++;
    return normaliseNumeric(a.substring(at + 8, end));
  }
  return null;
}
