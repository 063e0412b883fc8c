// Pure header-name validation (no host calls): HTTP token characters, lowercase, because
// HTTP/2 and Envoy's header maps are lowercase; pseudo-headers (":path") are not allowed.
export function isValidHeaderName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a ||
      c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return true;
}

// A value must not carry control characters (CR/LF would smuggle extra header lines past an
// HTTP/1 codec; NUL is invalid everywhere). HTAB is allowed, as in RFC 9110's field-value.
export function isValidHeaderValue(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c != 0x09) || c == 0x7f) return false;
  }
  return true;
}
