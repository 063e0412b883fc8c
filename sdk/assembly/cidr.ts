// IP addresses and CIDR ranges: parsing (null on bad input, never a trap), formatting and
// containment.
//
// Accepted forms:
//   IPv4  dotted quad, each part 0..255 in decimal without leading zeros ("10.0.0.1"; "010.0.0.1"
//         is rejected: some parsers read it as octal).
//   IPv6  RFC 4291 text: eight groups of 1-4 hex digits, one "::" for a run of zero groups, and an
//         optional dotted IPv4 tail ("::ffff:10.1.2.3"). No zone ids ("%eth0"), no brackets (use
//         parseAddressWithPort for "[::1]:80").
//   CIDR  "<address>/<prefix>" with a decimal prefix (0..32 or 0..128, no leading zeros); a bare
//         address is a single-address range. Host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges, and IPv4 addresses match ranges
// written as IPv4-mapped IPv6 (e.g. ::ffff:10.0.0.0/104): they are the same client.

export class IpAddress {
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  constructor(public bytes: Uint8Array) {}

  isV4(): bool { return this.bytes.length == 4; }

  /** For ::ffff:a.b.c.d, the IPv4 address a.b.c.d; null otherwise (and for IPv4 itself). */
  unmapV4(): IpAddress | null {
    if (this.bytes.length != 16) return null;
    for (let i = 0; i < 10; i++) if (this.bytes[i] != 0) return null;
    if (this.bytes[10] != 0xff || this.bytes[11] != 0xff) return null;
    const b = new Uint8Array(4);
    for (let i = 0; i < 4; i++) b[i] = this.bytes[12 + i];
    return new IpAddress(b);
  }

  /** The IPv4-mapped IPv6 form of an IPv4 address; this address when already IPv6. */
  toV6(): IpAddress {
    if (this.bytes.length == 16) return this;
    const b = new Uint8Array(16);
    b[10] = 0xff;
    b[11] = 0xff;
    for (let i = 0; i < 4; i++) b[12 + i] = this.bytes[i];
    return new IpAddress(b);
  }

  equals(other: IpAddress): bool {
    if (this.bytes.length != other.bytes.length) return false;
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] != other.bytes[i]) return false;
    return true;
  }

  /** Canonical text: dotted IPv4, RFC 5952 IPv6 (lowercase, longest zero run as "::"). */
  toString(): string {
    if (this.isV4()) return v4Text(this.bytes, 0);
    const mapped = this.unmapV4();
    if (mapped !== null) return "::ffff:" + v4Text(mapped.bytes, 0);
    const groups = new Array<i32>(8);
    for (let i = 0; i < 8; i++) groups[i] = (<i32>this.bytes[2 * i] << 8) | <i32>this.bytes[2 * i + 1];
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8;) {
      if (groups[i] != 0) { i++; continue; }
      let j = i;
      while (j < 8 && groups[j] == 0) j++;
      if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
      i = j;
    }
    if (bestLen < 2) bestStart = -1;
    let out = "";
    for (let i = 0; i < 8; i++) {
      if (i == bestStart) {
        out += "::";
        i += bestLen - 1;
        continue;
      }
      if (out.length > 0 && !out.endsWith(":")) out += ":";
      out += groups[i].toString(16);
    }
    return out;
  }

  /** Parses an IPv4 or IPv6 address; null when it is not one. */
  static parse(s: string): IpAddress | null {
    if (s.indexOf(":") >= 0) return parseV6(s);
    return parseV4(s);
  }
}

function v4Text(b: Uint8Array, at: i32): string {
  return b[at].toString() + "." + b[at + 1].toString() + "." + b[at + 2].toString() + "." + b[at + 3].toString();
}

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

/** Writes the IPv4 address in `s` into `out[at..at+4]`; false when `s` is not one. */
function parseV4Into(s: string, out: Uint8Array, at: i32): bool {
  return parseV4Span(s, 0, s.length, out, at);
}

/** parseV4Into for `s[from..to)` (no substring). */
function parseV4Span(s: string, from: i32, to: i32, out: Uint8Array, at: i32): bool {
  let part = 0;
  let value = 0;
  let digits = 0;
  let leadingZero = false;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x2e; // a virtual '.' ends the last part
    if (c == 0x2e) {
      if (digits == 0 || part > 3) return false;
      out[at + part] = <u8>value;
      part++;
      value = 0;
      digits = 0;
      leadingZero = false;
      continue;
    }
    if (!isDigit(c)) return false;
    if (leadingZero) return false; // "01"
    if (digits == 0 && c == 0x30) leadingZero = true;
    value = value * 10 + (c - 0x30);
    digits++;
    if (digits > 3 || value > 255) return false;
  }
  return part == 4;
}

function parseV4(s: string): IpAddress | null {
  const b = new Uint8Array(4);
  return parseV4Into(s, b, 0) ? new IpAddress(b) : null;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses colon-separated groups (an IPv4 tail allowed when `allowV4Tail`) into 16-bit words. */
function parseGroups(s: string, allowV4Tail: bool, words: Array<i32>): bool {
  if (s.length == 0) return true;
  const pieces = s.split(":");
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (piece.length == 0) return false;
    if (piece.indexOf(".") >= 0) {
      if (!allowV4Tail || i != pieces.length - 1) return false;
      const b = new Uint8Array(4);
      if (!parseV4Into(piece, b, 0)) return false;
      words.push((<i32>b[0] << 8) | <i32>b[1]);
      words.push((<i32>b[2] << 8) | <i32>b[3]);
      continue;
    }
    if (piece.length > 4) return false;
    let v = 0;
    for (let k = 0; k < piece.length; k++) {
      const h = hexValue(piece.charCodeAt(k));
      if (h < 0) return false;
      v = (v << 4) | h;
    }
    words.push(v);
  }
  return true;
}

function parseV6(s: string): IpAddress | null {
  const gap = s.indexOf("::");
  const head = new Array<i32>();
  const tail = new Array<i32>();
  if (gap < 0) {
    if (!parseGroups(s, true, head) || head.length != 8) return null;
  } else {
    const h = s.substring(0, gap);
    const t = s.substring(gap + 2);
    // The head never ends in an IPv4 part; a second "::" or ":::" leaves an empty piece.
    if (!parseGroups(h, false, head) || !parseGroups(t, true, tail)) return null;
    if (head.length + tail.length > 7) return null;
  }
  const b = new Uint8Array(16);
  for (let i = 0; i < head.length; i++) {
    b[2 * i] = <u8>(head[i] >> 8);
    b[2 * i + 1] = <u8>head[i];
  }
  const start = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    b[2 * (start + i)] = <u8>(tail[i] >> 8);
    b[2 * (start + i) + 1] = <u8>tail[i];
  }
  return new IpAddress(b);
}

/** Parses an IP address (IPv4 or IPv6) or null. */
export function parseIp(s: string): IpAddress | null {
  return IpAddress.parse(s);
}

/**
 * The address of "ip:port", "[ipv6]:port" (Envoy's `source.address` form), "[ipv6]" or a bare
 * address; null when malformed (the port must be decimal 0..65535).
 */
export function parseAddressWithPort(s: string): IpAddress | null {
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return null;
    const rest = s.substring(close + 1);
    if (rest.length > 0 && (!rest.startsWith(":") || !validPort(rest, 1, rest.length))) return null;
    const ip = parseV6(s.substring(1, close));
    return ip;
  }
  // "a.b.c.d:port" (one colon) is parsed in place: Envoy's source.address, read per request.
  let colon = -1;
  let colons = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) != 0x3a) continue;
    if (colons++ == 0) colon = i;
  }
  if (colons == 1) {
    if (!validPort(s, colon + 1, s.length)) return null;
    const b = new Uint8Array(4);
    return parseV4Span(s, 0, colon, b, 0) ? new IpAddress(b) : null;
  }
  return IpAddress.parse(s);
}

/** Whether `s[from..to)` is a decimal port, 0..65535. */
function validPort(s: string, from: i32, to: i32): bool {
  if (to <= from || to - from > 5) return false;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return false;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535;
}

export class Cidr {
  constructor(public network: IpAddress, public prefixLength: i32) {}

  /** Parses "10.0.0.0/8", "2001:db8::/32", or a bare address; null on bad input. */
  static parse(s: string): Cidr | null {
    const slash = s.indexOf("/");
    const addrText = slash < 0 ? s : s.substring(0, slash);
    const ip = IpAddress.parse(addrText);
    if (ip === null) return null;
    const max = ip.bytes.length * 8;
    let prefix = max;
    if (slash >= 0) {
      const p = s.substring(slash + 1);
      if (p.length == 0 || p.length > 3 || (p.length > 1 && p.charCodeAt(0) == 0x30)) return null;
      prefix = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (!isDigit(c)) return null;
        prefix = prefix * 10 + (c - 0x30);
      }
      if (prefix > max) return null;
    }
    const b = new Uint8Array(ip.bytes.length);
    for (let i = 0; i < b.length; i++) b[i] = ip.bytes[i] & maskByte(prefix, i);
    return new Cidr(new IpAddress(b), prefix);
  }

  contains(addr: IpAddress): bool {
    let a = addr;
    if (this.network.isV4() && !a.isV4()) {
      const u = a.unmapV4();
      if (u === null) return false;
      a = u;
    } else if (!this.network.isV4() && a.isV4()) {
      a = a.toV6();
    }
    for (let i = 0; i < a.bytes.length; i++) {
      const m = maskByte(this.prefixLength, i);
      if (m == 0) break;
      if ((a.bytes[i] & m) != this.network.bytes[i]) return false;
    }
    return true;
  }

  /** Parses `address` (as parseAddressWithPort) and tests it; false when it does not parse. */
  containsString(address: string): bool {
    const a = parseAddressWithPort(address);
    return a !== null && this.contains(a);
  }

  toString(): string {
    return this.network.toString() + "/" + this.prefixLength.toString();
  }
}

function maskByte(prefix: i32, index: i32): u8 {
  const bits = prefix - index * 8;
  if (bits >= 8) return 0xff;
  if (bits <= 0) return 0;
  const m: i32 = 0xff << (8 - bits);
  return <u8>(m & 0xff);
}

/** Parses a CIDR or null. */
export function parseCidr(s: string): Cidr | null {
  return Cidr.parse(s);
}

/** A set of ranges (an allow or deny list). */
export class CidrSet {
  constructor(public ranges: Array<Cidr>) {}

  /** Every entry must parse; null when any is bad (check entries one by one with Cidr.parse to name it). */
  static parse(list: Array<string>): CidrSet | null {
    const ranges = new Array<Cidr>();
    for (let i = 0; i < list.length; i++) {
      const c = Cidr.parse(list[i]);
      if (c === null) return null;
      ranges.push(c);
    }
    return new CidrSet(ranges);
  }

  contains(addr: IpAddress): bool {
    for (let i = 0; i < this.ranges.length; i++) if (this.ranges[i].contains(addr)) return true;
    return false;
  }

  containsString(address: string): bool {
    const a = parseAddressWithPort(address);
    return a !== null && this.contains(a);
  }
}
