/**
 * JSON text of values, byte for byte what JSON.stringify writes, for the hot paths that write
 * JSON by hand (the decision line, a Rego policy's input): strings and numbers, the usual values
 * there, without a call into the serializer each.
 */

/**
 * `s` as a JSON string: quoted as it is when nothing in it needs escaping (ids, paths, names:
 * nearly every value), else by JSON.stringify (quotes, backslashes, control characters, and
 * surrogates, of which it escapes the lone ones). A loop, not a regex test: cheaper on short text.
 */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** A number's JSON text: as JSON.stringify writes it (`null` for NaN and the infinities). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** JSON.stringify(value): undefined for what JSON leaves out (undefined, functions, symbols). */
export function jsonValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return jsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return JSON.stringify(value);
  }
}
