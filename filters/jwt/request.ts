// Query strings and cookies into name/value pairs, for token extraction. Pure.

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Percent-decoding of a query component ('+' is a space). Tokens are ASCII, so bytes map to chars. */
export function percentDecode(s: string): string {
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2b) { out += " "; continue; }
    if (c == 0x25 && i + 2 < s.length) {
      const h = hexValue(s.charCodeAt(i + 1));
      const l = hexValue(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) { out += String.fromCharCode((h << 4) | l); i += 2; continue; }
    }
    out += String.fromCharCode(c);
  }
  return out;
}

/** The parameters of a `:path` (everything after the first '?', up to a '#'). */
export function parseQuery(path: string): Array<string[]> {
  const out = new Array<string[]>();
  const q = path.indexOf("?");
  if (q < 0) return out;
  let query = path.substring(q + 1);
  const hash = query.indexOf("#");
  if (hash >= 0) query = query.substring(0, hash);
  const parts = query.split("&");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.length == 0) continue;
    const eq = part.indexOf("=");
    if (eq < 0) out.push([percentDecode(part), ""]);
    else out.push([percentDecode(part.substring(0, eq)), percentDecode(part.substring(eq + 1))]);
  }
  return out;
}

/** Cookie pairs from every `cookie` header value (RFC 6265 `name=value; name2=value2`). */
export function parseCookies(values: Array<string>): Array<string[]> {
  const out = new Array<string[]>();
  for (let v = 0; v < values.length; v++) {
    const parts = values[v].split(";");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i].trim();
      const eq = part.indexOf("=");
      if (eq <= 0) continue;
      let value = part.substring(eq + 1).trim();
      if (value.length >= 2 && value.startsWith("\"") && value.endsWith("\"")) value = value.substring(1, value.length - 1);
      out.push([part.substring(0, eq).trim(), value]);
    }
  }
  return out;
}

/** The path without its query string. */
export function urlPathOf(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.substring(0, q);
}
