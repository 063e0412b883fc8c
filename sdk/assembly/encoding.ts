// Strict encodings for security decisions (tokens, signatures, config): base64 and base64url
// (RFC 4648), hex, and UTF-8 validation.
//
// Decoders accept exactly one spelling per byte sequence and return null otherwise: characters
// outside the alphabet (including whitespace and the other base64 alphabet), misplaced or missing
// padding, impossible lengths, and non-zero unused bits in the last character ("non-canonical":
// `QQ==` decodes, `QR==` does not) are all rejected. This matters for JWTs, where two spellings of
// one signature must not both verify.

const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const PAD: i32 = 0x3d; // '='

/** 6-bit value of `c` in the alphabet (std or url); -1 when not in it. */
function sextet(c: i32, url: bool): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (url) {
    if (c == 0x2d) return 62; // '-'
    if (c == 0x5f) return 63; // '_'
  } else {
    if (c == 0x2b) return 62; // '+'
    if (c == 0x2f) return 63; // '/'
  }
  return -1;
}

/** Decodes `n` unpadded characters of `s` (n % 4 != 1 checked by the callers). */
function decodeUnpadded(s: string, n: i32, url: bool): ArrayBuffer | null {
  const rem = n & 3;
  if (rem == 1) return null;
  const outLen = (n >> 2) * 3 + (rem == 0 ? 0 : rem - 1);
  const out = new ArrayBuffer(outLen);
  const p = changetype<usize>(out);
  let o: usize = 0;
  let i = 0;
  const full = n - rem;
  while (i < full) {
    const a = sextet(s.charCodeAt(i), url);
    const b = sextet(s.charCodeAt(i + 1), url);
    const c = sextet(s.charCodeAt(i + 2), url);
    const d = sextet(s.charCodeAt(i + 3), url);
    if ((a | b | c | d) < 0) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(p + o, <u8>(v >> 16));
    store<u8>(p + o + 1, <u8>(v >> 8));
    store<u8>(p + o + 2, <u8>v);
    o += 3;
    i += 4;
  }
  if (rem == 2) {
    const a = sextet(s.charCodeAt(i), url);
    const b = sextet(s.charCodeAt(i + 1), url);
    if ((a | b) < 0 || (b & 0x0f) != 0) return null;
    store<u8>(p + o, <u8>((a << 2) | (b >> 4)));
  } else if (rem == 3) {
    const a = sextet(s.charCodeAt(i), url);
    const b = sextet(s.charCodeAt(i + 1), url);
    const c = sextet(s.charCodeAt(i + 2), url);
    if ((a | b | c) < 0 || (c & 0x03) != 0) return null;
    const v = (a << 12) | (b << 6) | c;
    store<u8>(p + o, <u8>(v >> 10));
    store<u8>(p + o + 1, <u8>(v >> 2));
  }
  return out;
}

/** Length of `s` without its padding, or -1 when the padding is wrong for a padded encoding. */
function strippedLength(s: string): i32 {
  const n = s.length;
  if ((n & 3) != 0) return -1;
  let pads = 0;
  if (n >= 1 && s.charCodeAt(n - 1) == PAD) {
    pads = 1;
    if (n >= 2 && s.charCodeAt(n - 2) == PAD) pads = 2;
  }
  // Any other '=' (a third one, or one in the middle) is rejected by the decoder as a bad character.
  return n - pads;
}

/** Standard base64 with padding (RFC 4648 §4); null when not canonical. */
export function base64Decode(s: string): ArrayBuffer | null {
  const n = strippedLength(s);
  if (n < 0) return null;
  return decodeUnpadded(s, n, false);
}

/**
 * base64url (RFC 4648 §5) without padding, as JWTs use it (RFC 7515); null when not canonical.
 * With `allowPadding`, a correctly padded string is accepted too (partial padding never is).
 */
export function base64UrlDecode(s: string, allowPadding: bool = false): ArrayBuffer | null {
  let n = s.length;
  if (n > 0 && s.charCodeAt(n - 1) == PAD) {
    if (!allowPadding) return null;
    n = strippedLength(s);
    if (n < 0) return null;
  }
  return decodeUnpadded(s, n, true);
}

function encode(data: ArrayBuffer, alphabet: string, pad: bool): string {
  const p = changetype<usize>(data);
  const len = data.byteLength;
  let out = "";
  let i = 0;
  const parts = new Array<string>();
  while (i + 3 <= len) {
    const v = (<i32>load<u8>(p + <usize>i) << 16) | (<i32>load<u8>(p + <usize>i + 1) << 8) | <i32>load<u8>(p + <usize>i + 2);
    parts.push(
      alphabet.charAt((v >> 18) & 63) + alphabet.charAt((v >> 12) & 63) + alphabet.charAt((v >> 6) & 63) + alphabet.charAt(v & 63),
    );
    i += 3;
  }
  const rem = len - i;
  if (rem == 1) {
    const v = <i32>load<u8>(p + <usize>i) << 16;
    out = alphabet.charAt((v >> 18) & 63) + alphabet.charAt((v >> 12) & 63);
    if (pad) out += "==";
  } else if (rem == 2) {
    const v = (<i32>load<u8>(p + <usize>i) << 16) | (<i32>load<u8>(p + <usize>i + 1) << 8);
    out = alphabet.charAt((v >> 18) & 63) + alphabet.charAt((v >> 12) & 63) + alphabet.charAt((v >> 6) & 63);
    if (pad) out += "=";
  }
  return parts.join("") + out;
}

/** Standard base64 with padding. */
export function base64Encode(data: ArrayBuffer): string {
  return encode(data, STD_ALPHABET, true);
}

/** base64url; unpadded by default (JWT style). */
export function base64UrlEncode(data: ArrayBuffer, pad: bool = false): string {
  return encode(data, URL_ALPHABET, pad);
}

const HEX = "0123456789abcdef";

/** Lowercase hex. */
export function hexEncode(data: ArrayBuffer): string {
  const p = changetype<usize>(data);
  const parts = new Array<string>(data.byteLength);
  for (let i = 0; i < data.byteLength; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    parts[i] = HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return parts.join("");
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Hex (either case) to bytes; null for an odd length or a non-hex character. */
export function hexDecode(s: string): ArrayBuffer | null {
  if ((s.length & 1) != 0) return null;
  const out = new ArrayBuffer(s.length >> 1);
  const p = changetype<usize>(out);
  for (let i = 0; i < s.length; i += 2) {
    const hi = hexDigit(s.charCodeAt(i));
    const lo = hexDigit(s.charCodeAt(i + 1));
    if ((hi | lo) < 0) return null;
    store<u8>(p + <usize>(i >> 1), <u8>((hi << 4) | lo));
  }
  return out;
}

/**
 * True when `data` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
 */
export function isValidUtf8(data: ArrayBuffer): bool {
  const p = changetype<usize>(data);
  const n = data.byteLength;
  let i = 0;
  while (i < n) {
    const b0 = <i32>load<u8>(p + <usize>i);
    if (b0 < 0x80) { i++; continue; }
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 == 0xe0) { need = 2; lo = 0xa0; }
    else if (b0 >= 0xe1 && b0 <= 0xec) need = 2;
    else if (b0 == 0xed) { need = 2; hi = 0x9f; }
    else if (b0 >= 0xee && b0 <= 0xef) need = 2;
    else if (b0 == 0xf0) { need = 3; lo = 0x90; }
    else if (b0 >= 0xf1 && b0 <= 0xf3) need = 3;
    else if (b0 == 0xf4) { need = 3; hi = 0x8f; }
    else return false;
    if (i + need >= n) return false; // truncated
    const b1 = <i32>load<u8>(p + <usize>i + 1);
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const b = <i32>load<u8>(p + <usize>(i + k));
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

/** Decodes well-formed UTF-8; null when `data` is not (see isValidUtf8). */
export function decodeUtf8(data: ArrayBuffer): string | null {
  if (!isValidUtf8(data)) return null;
  return String.UTF8.decode(data);
}

/** UTF-8 bytes of `s`. */
export function encodeUtf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/**
 * The `length` bytes at `at` as a byte string: each byte one code unit (0..255), as filters that
 * inspect raw bytes (a WAF) read request data.
 */
export function byteStringAt(at: usize, length: usize): string {
  if (length == 0) return "";
  // Written straight into the string (a body is large: no intermediate copy).
  const out = changetype<string>(__new(length << 1, idof<string>()));
  const dst = changetype<usize>(out);
  // Four bytes per step, each spread to its 16-bit unit.
  let i: usize = 0;
  for (; i + 4 <= length; i += 4) {
    const w = <u64>load<u32>(at + i);
    store<u64>(dst + (i << 1), (w & 0xff) | ((w & 0xff00) << 8) | ((w & 0xff0000) << 16) | ((w & 0xff000000) << 24));
  }
  for (; i < length; i++) store<u16>(dst + (i << 1), <u16>load<u8>(at + i));
  return out;
}
