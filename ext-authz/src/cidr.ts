import { isIP } from 'node:net';

/**
 * IPv4/IPv6 addresses and CIDR blocks, parsed to bytes so matching is exact. IPv4-mapped IPv6
 * addresses (`::ffff:10.0.0.1`) match IPv4 blocks, since that is how a dual-stack socket reports
 * an IPv4 peer.
 */
export interface Cidr {
  /** The text it was parsed from, for messages. */
  text: string;
  bytes: Uint8Array;
  prefix: number;
}

function parseV4(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.').map(Number));
}

/**
 * A plain dotted-quad IPv4 address (`10.0.3.7`: four decimal octets, no leading zeros, nothing
 * around it) read straight into bytes, or undefined for anything else (the general path then
 * decides). Source addresses are read on every Check, and almost all of them look like this.
 */
function plainV4(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A leading zero ("010") is not an IPv4 octet for node's isIP either.
      if (digits === 1 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else if (c === 46 && digits > 0 && part < 3) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
}

function parseV6(ip: string): Uint8Array {
  let text = ip;
  const tail: number[] = [];
  // An embedded IPv4 tail: ::ffff:1.2.3.4
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(text.slice(lastColon + 1));
    tail.push(((v4[0]! << 8) | v4[1]!) >>> 0, ((v4[2]! << 8) | v4[3]!) >>> 0);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headParts = head === '' ? [] : head.split(':');
  const restParts = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headParts.length - restParts.length;
  const groups = [...headParts, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...restParts].map((g) => parseInt(g, 16));
  if (tail.length) groups.splice(6, 2, ...tail);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Bytes of an IP address (4 or 16), or undefined when it is not one. Zone ids (`%eth0`) are dropped. */
export function parseIp(text: string): Uint8Array | undefined {
  const plain = plainV4(text);
  if (plain) return plain;
  const ip = text.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(ip);
  if (kind === 4) return parseV4(ip);
  if (kind === 6) return parseV6(ip);
  return undefined;
}

function unmapV4(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). Throws with a reason. */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const ipText = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const bytes = parseIp(ipText);
  if (!bytes) throw new Error(`"${text}" is not an IP address or CIDR block`);
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`"${text}": prefix length must be 0-${max}`);
    prefix = Number(p);
  }
  return { text: trimmed, bytes, prefix };
}

/** True when `ip` (text or bytes) lies inside the block. Families must agree (IPv4-mapped counts as IPv4). */
export function cidrContains(cidr: Cidr, ip: string | Uint8Array): boolean {
  const raw = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!raw) return false;
  const addr = unmapV4(raw);
  const block = cidr.bytes.length === 16 && cidr.prefix >= 96 ? unmapV4(cidr.bytes) : cidr.bytes;
  const prefix = block.length === cidr.bytes.length ? cidr.prefix : cidr.prefix - 96;
  if (addr.length !== block.length) return false;
  let bits = prefix;
  for (let i = 0; i < block.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (block[i]! & mask)) return false;
  }
  return true;
}

export function anyCidrContains(cidrs: readonly Cidr[], ip: string | undefined): boolean {
  if (!ip) return false;
  const bytes = parseIp(ip);
  return bytes !== undefined && cidrs.some((c) => cidrContains(c, bytes));
}
