/**
 * A reader for MaxMind DB files (the `.mmdb` format of GeoLite2 / GeoIP2 and compatible
 * databases, https://maxmind.github.io/MaxMind-DB/): a binary search tree over the address bits
 * whose leaves point into a data section of typed values. Read-only, whole file in memory, no
 * dependency. Used by the geo signal for the country of the source address.
 */
import { parseIp } from '../cidr.js';

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);
/** The data section starts 16 zero bytes after the search tree. */
const DATA_SEPARATOR = 16;

export interface MmdbMetadata {
  node_count: number;
  record_size: number;
  ip_version: number;
  database_type: string;
  binary_format_major_version: number;
  [key: string]: unknown;
}

export class MmdbError extends Error {}

/** Decodes data-section values; `base` is where pointers count from. */
class Decoder {
  constructor(
    private readonly buf: Buffer,
    private readonly base: number,
  ) {}

  decode(offset: number, depth = 0): { value: unknown; next: number } {
    if (offset >= this.buf.length) throw new MmdbError('data offset past the end of the file');
    // A corrupt file could nest (or point) in circles: refuse instead of overflowing the stack.
    if (depth > 64) throw new MmdbError('data nested too deeply');
    const ctrl = this.buf[offset]!;
    let at = offset + 1;
    let type = ctrl >> 5;
    if (type === 1) return this.pointer(ctrl, at, depth);
    if (type === 0) {
      type = 7 + this.buf[at]!;
      at++;
    }
    let size = ctrl & 0x1f;
    if (size === 29) size = 29 + this.buf[at++]!;
    else if (size === 30) {
      size = 285 + this.buf.readUInt16BE(at);
      at += 2;
    } else if (size === 31) {
      size = 65821 + this.buf.readUIntBE(at, 3);
      at += 3;
    }
    switch (type) {
      case 2:
        return { value: this.buf.toString('utf8', at, at + size), next: at + size };
      case 3:
        return { value: this.buf.readDoubleBE(at), next: at + 8 };
      case 4:
        return { value: this.buf.subarray(at, at + size), next: at + size };
      case 5:
      case 6:
      case 9:
      case 10:
        return { value: size === 0 ? 0 : Number(this.uint(at, size)), next: at + size };
      case 7: {
        const map: Record<string, unknown> = {};
        for (let i = 0; i < size; i++) {
          const k = this.decode(at, depth + 1);
          const v = this.decode(k.next, depth + 1);
          map[String(k.value)] = v.value;
          at = v.next;
        }
        return { value: map, next: at };
      }
      case 8: {
        const v = size === 0 ? 0 : Number(this.uint(at, size));
        return { value: size === 4 ? v | 0 : v, next: at + size };
      }
      case 11: {
        const list: unknown[] = [];
        for (let i = 0; i < size; i++) {
          const v = this.decode(at, depth + 1);
          list.push(v.value);
          at = v.next;
        }
        return { value: list, next: at };
      }
      case 14:
        return { value: size !== 0, next: at };
      case 15:
        return { value: this.buf.readFloatBE(at), next: at + 4 };
      default:
        throw new MmdbError(`unknown data type ${type}`);
    }
  }

  private uint(at: number, size: number): bigint {
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(this.buf[at + i]!);
    return v;
  }

  private pointer(ctrl: number, at: number, depth: number): { value: unknown; next: number } {
    const ss = (ctrl >> 3) & 0x3;
    const vvv = ctrl & 0x7;
    let p: number;
    if (ss === 0) p = (vvv << 8) | this.buf[at]!;
    else if (ss === 1) p = ((vvv << 16) | this.buf.readUInt16BE(at)) + 2048;
    else if (ss === 2) p = ((vvv << 24) | this.buf.readUIntBE(at, 3)) + 526336;
    else p = this.buf.readUInt32BE(at);
    // The pointed-to value is decoded in place; reading goes on after the pointer itself.
    return { value: this.decode(this.base + p, depth + 1).value, next: at + ss + 1 };
  }
}

/** Decodes one data-section value at `offset`; pointers count from `base` (the data section's start). */
export function decodeMmdbValue(buf: Buffer, base: number, offset: number): unknown {
  return new Decoder(buf, base).decode(offset).value;
}

export class MmdbReader {
  readonly metadata: MmdbMetadata;
  private readonly decoder: Decoder;
  private readonly treeSize: number;
  private readonly ipv4Start: number;

  constructor(private readonly buf: Buffer) {
    const marker = buf.lastIndexOf(METADATA_MARKER);
    if (marker < 0) throw new MmdbError('not a MaxMind DB file (no metadata marker)');
    const meta = new Decoder(buf, marker + METADATA_MARKER.length).decode(marker + METADATA_MARKER.length).value as MmdbMetadata;
    if (!meta || typeof meta !== 'object' || typeof meta.node_count !== 'number' || ![24, 28, 32].includes(meta.record_size)) {
      throw new MmdbError('MaxMind DB metadata is missing node_count or has an unsupported record_size');
    }
    if (meta.binary_format_major_version !== 2) throw new MmdbError(`unsupported MaxMind DB format version ${String(meta.binary_format_major_version)}`);
    this.metadata = meta;
    this.treeSize = (meta.node_count * meta.record_size * 2) / 8;
    if (this.treeSize + DATA_SEPARATOR > marker) throw new MmdbError('MaxMind DB search tree is larger than the file');
    this.decoder = new Decoder(buf, this.treeSize + DATA_SEPARATOR);
    // In an IPv6 tree, IPv4 addresses live under ::/96: follow 96 zero bits once.
    let node = 0;
    if (meta.ip_version === 6) for (let i = 0; i < 96 && node < meta.node_count; i++) node = this.record(node, 0);
    this.ipv4Start = node;
  }

  private record(node: number, bit: number): number {
    const size = this.metadata.record_size;
    const at = (node * size * 2) / 8;
    if (size === 24) return this.buf.readUIntBE(at + bit * 3, 3);
    if (size === 32) return this.buf.readUInt32BE(at + bit * 4);
    // 28 bits: the middle byte's high nibble belongs to the left record, low nibble to the right.
    const middle = this.buf[at + 3]!;
    return bit === 0 ? ((middle & 0xf0) << 20) | this.buf.readUIntBE(at, 3) : ((middle & 0x0f) << 24) | this.buf.readUIntBE(at + 4, 3);
  }

  /** The record for `ip` (a decoded data-section value), or undefined when the address is not in the database. */
  lookup(ip: string): unknown {
    let bytes = parseIp(ip);
    if (!bytes) return undefined;
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) is looked up as IPv4.
    if (bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) bytes = bytes.subarray(12);
    if (bytes.length === 16 && this.metadata.ip_version === 4) return undefined;
    const count = this.metadata.node_count;
    let node = bytes.length === 4 ? this.ipv4Start : 0;
    const bits = bytes.length * 8;
    for (let i = 0; i < bits && node < count; i++) node = this.record(node, (bytes[i >> 3]! >> (7 - (i & 7))) & 1);
    if (node === count) return undefined;
    if (node < count) return undefined;
    return this.decoder.decode(node - count - DATA_SEPARATOR + this.treeSize + DATA_SEPARATOR).value;
  }
}

/** ISO country code of a GeoIP2/GeoLite2 Country or City record (`country.iso_code`, else `registered_country.iso_code`). */
export function countryOf(record: unknown): string | undefined {
  const r = record as { country?: { iso_code?: unknown }; registered_country?: { iso_code?: unknown } } | undefined;
  const code = r?.country?.iso_code ?? r?.registered_country?.iso_code;
  return typeof code === 'string' ? code.toUpperCase() : undefined;
}
