/**
 * Writes small MaxMind DB (`.mmdb`) files for tests, following the published format
 * (https://maxmind.github.io/MaxMind-DB/): a binary trie of the given networks, 16 zero bytes,
 * the data section, the metadata marker and the metadata map. Only what the tests need: strings,
 * unsigned integers, maps, arrays, booleans; record sizes 24, 28 and 32.
 */
import { parseCidr } from '../../ext-authz/src/cidr.js';

type Value = string | number | boolean | Value[] | { [k: string]: Value };

function control(type: number, size: number): Buffer {
  const ext = type > 7;
  const sizeBytes: number[] = [];
  let s = size;
  if (size >= 65821) {
    s = 31;
    const v = size - 65821;
    sizeBytes.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  } else if (size >= 285) {
    s = 30;
    const v = size - 285;
    sizeBytes.push((v >> 8) & 0xff, v & 0xff);
  } else if (size >= 29) {
    s = 29;
    sizeBytes.push(size - 29);
  }
  const first = ((ext ? 0 : type) << 5) | s;
  return Buffer.from([first, ...(ext ? [type - 7] : []), ...sizeBytes]);
}

export function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([control(2, b.length), b]);
  }
  if (typeof v === 'boolean') return control(14, v ? 1 : 0);
  if (typeof v === 'number') {
    const bytes: number[] = [];
    for (let n = v; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    return Buffer.concat([control(bytes.length <= 2 ? 5 : 6, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(v)) return Buffer.concat([control(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

type Slot = { node: number } | { data: number } | undefined;

export function writeMmdb(networks: Array<{ cidr: string; record: Value }>, options: { ipVersion?: 4 | 6; recordSize?: 24 | 28 | 32 } = {}): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 24;
  const nodes: Array<[Slot, Slot]> = [[undefined, undefined]];
  const data: Buffer[] = [];
  let dataLength = 0;
  for (const { cidr, record } of networks) {
    const c = parseCidr(cidr);
    let bytes = c.bytes;
    let prefix = c.prefix;
    if (ipVersion === 6 && bytes.length === 4) {
      // IPv4 networks live under ::/96 in an IPv6 tree.
      const b = new Uint8Array(16);
      b.set(bytes, 12);
      bytes = b;
      prefix += 96;
    }
    const offset = dataLength;
    const encoded = encode(record);
    data.push(encoded);
    dataLength += encoded.length;
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      if (i === prefix - 1) {
        nodes[node]![bit] = { data: offset };
        break;
      }
      const slot = nodes[node]![bit];
      if (slot && 'node' in slot) node = slot.node;
      else {
        nodes.push([undefined, undefined]);
        nodes[node]![bit] = { node: nodes.length - 1 };
        node = nodes.length - 1;
      }
    }
  }
  const count = nodes.length;
  const value = (s: Slot) => (s === undefined ? count : 'node' in s ? s.node : count + 16 + s.data);
  const tree = Buffer.alloc((count * recordSize * 2) / 8);
  nodes.forEach(([l, r], i) => {
    const at = (i * recordSize * 2) / 8;
    const a = value(l);
    const b = value(r);
    if (recordSize === 24) {
      tree.writeUIntBE(a, at, 3);
      tree.writeUIntBE(b, at + 3, 3);
    } else if (recordSize === 32) {
      tree.writeUInt32BE(a, at);
      tree.writeUInt32BE(b, at + 4);
    } else {
      tree.writeUIntBE(a & 0xffffff, at, 3);
      tree[at + 3] = ((a >> 20) & 0xf0) | ((b >> 24) & 0x0f);
      tree.writeUIntBE(b & 0xffffff, at + 4, 3);
    }
  });
  const metadata = encode({
    node_count: count,
    record_size: recordSize,
    ip_version: ipVersion,
    database_type: 'Meshward-Test-Country',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_700_000_000,
    description: { en: 'test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), metadata]);
}
