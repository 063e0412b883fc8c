/**
 * HPACK (RFC 7541) for the lean HTTP/2 server: a decoder that hands each header field to a sink
 * as bytes, so no V8 string is made for a header nobody reads (node:http2 makes one per header,
 * in old space: docs/ext-authz.md, "Paced p99"), and the few constant header blocks the server
 * sends, encoded once.
 *
 * Every decoding error is a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3): the
 * caller answers with GOAWAY, since the two ends' dynamic tables can no longer agree.
 */

export class HpackError extends Error {}

/** Receives each decoded field. `name` and `value` are valid only during the call. */
export interface HeaderSink {
  field(name: Uint8Array, value: Uint8Array): void;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The static table (RFC 7541 Appendix A), index 1 first. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_NAMES = STATIC.map(([n]) => ascii(n));
const STATIC_VALUES = STATIC.map(([, v]) => ascii(v));
/** Static-table indices the server's own header blocks use. */
export const STATIC_STATUS_200 = 8;
export const STATIC_CONTENT_TYPE = 31;

// ---- Huffman code (RFC 7541 Appendix B) ----
// The code is canonical: codes are assigned in order of length, and within a length in order of
// symbol. So the bit length of each symbol defines it; the codes are computed below, and the
// unit tests check the result against codes the RFC lists and against nghttp2's encoder.
const HUFFMAN_LENGTHS: ReadonlyArray<readonly [number, string | readonly number[]]> = [
  [5, '012aceiost'],
  [6, ' %-./3456789=A_bdfghlmnpru'],
  [7, ':BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz'],
  [8, '&*,;XZ'],
  [10, '!"()?'],
  [11, "'+|"],
  [12, '#>'],
  [13, [0, 36, 64, 91, 93, 126]],
  [14, '^}'],
  [15, '<`{'],
  [19, [92, 195, 208]],
  [20, [128, 130, 131, 162, 184, 194, 224, 226]],
  [21, [153, 161, 167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230]],
  [22, [129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170, 173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232, 233]],
  [23, [1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239]],
  [24, [9, 142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237]],
  [25, [199, 207, 234, 235]],
  [26, [192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255]],
  [27, [203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252, 253, 254]],
  [28, [2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220, 249]],
  [30, [10, 13, 22, 256]],
];
const EOS = 256;
const MAX_CODE_LENGTH = 30;

/** Per code length: the first code, how many codes, and where their symbols start in SYMBOLS. */
const FIRST_CODE = new Int32Array(MAX_CODE_LENGTH + 1);
const CODE_COUNT = new Int32Array(MAX_CODE_LENGTH + 1);
const FIRST_SYMBOL = new Int32Array(MAX_CODE_LENGTH + 1);
const SYMBOLS = new Uint16Array(257);
/** Each symbol's code and length (for the tests; the decoder walks the tables above). */
export const HUFFMAN_CODES = new Uint32Array(257);
export const HUFFMAN_CODE_LENGTHS = new Uint8Array(257);
{
  const bySymbol = new Uint8Array(257);
  for (const [length, symbols] of HUFFMAN_LENGTHS) {
    for (const s of symbols) bySymbol[typeof s === 'string' ? s.charCodeAt(0) : s] = length;
  }
  let code = 0;
  let previous = 0;
  let n = 0;
  for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
    code <<= length - previous;
    previous = length;
    FIRST_CODE[length] = code;
    FIRST_SYMBOL[length] = n;
    for (let s = 0; s <= EOS; s++) {
      if (bySymbol[s] !== length) continue;
      SYMBOLS[n++] = s;
      HUFFMAN_CODES[s] = code;
      HUFFMAN_CODE_LENGTHS[s] = length;
      code++;
    }
    CODE_COUNT[length] = n - FIRST_SYMBOL[length]!;
  }
  if (n !== 257) throw new Error(`HPACK Huffman table has ${n} symbols`);
}

/** Table sizes count each entry's octets plus 32 (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** The dynamic table size this server allows (SETTINGS_HEADER_TABLE_SIZE left at its default). */
export const DEFAULT_TABLE_SIZE = 4096;

interface Entry {
  name: Uint8Array;
  value: Uint8Array;
}

export class HpackDecoder {
  /** Newest entry last; `head` skips evicted ones without shifting the array each time. */
  private entries: Entry[] = [];
  private head = 0;
  private size = 0;
  private maxSize: number;
  /** Huffman output for values, and for literal names (a name and its value are both live). */
  private scratch = new Uint8Array(256);
  private nameScratch = new Uint8Array(64);
  private pos = 0;
  private end = 0;
  private block: Uint8Array = new Uint8Array(0);

  constructor(
    /** The most a table size update may ask for: what SETTINGS_HEADER_TABLE_SIZE advertised. */
    private readonly sizeLimit = DEFAULT_TABLE_SIZE,
    /** The largest single decoded string (name or value). */
    private readonly maxStringLength = 65_536,
  ) {
    this.maxSize = sizeLimit;
  }

  /** Entries in the dynamic table (for tests). */
  get dynamicCount(): number {
    return this.entries.length - this.head;
  }

  /** Decodes one complete header block, in order, into `sink`. */
  decode(block: Uint8Array, sink: HeaderSink): void {
    this.block = block;
    this.pos = 0;
    this.end = block.length;
    let fieldSeen = false;
    while (this.pos < this.end) {
      const b = block[this.pos]!;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const i = this.integer(7);
        if (i === 0) throw new HpackError('indexed header field with index 0');
        sink.field(this.nameAt(i), this.valueAt(i));
        fieldSeen = true;
      } else if (b & 0x40) {
        // Literal with incremental indexing (§6.2.1): the field joins the dynamic table.
        const i = this.integer(6);
        const name = i === 0 ? this.string(true) : this.nameAt(i);
        const value = this.string(true);
        this.insert(name, value);
        sink.field(name, value);
        fieldSeen = true;
      } else if (b & 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block.
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const size = this.integer(5);
        if (size > this.sizeLimit) throw new HpackError(`dynamic table size update to ${size} above the allowed ${this.sizeLimit}`);
        this.maxSize = size;
        this.evictTo(size);
      } else {
        // Literal without indexing (§6.2.2) or never indexed (§6.2.3): decoded, not kept.
        const i = this.integer(4);
        if (i === 0) {
          const name = this.string(false, true);
          sink.field(name, this.string(false));
        } else {
          sink.field(this.nameAt(i), this.string(false));
        }
        fieldSeen = true;
      }
    }
  }

  /** An integer with an N-bit prefix (§5.1); bounded well below 2^31. */
  private integer(prefixBits: number): number {
    const block = this.block;
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new HpackError('truncated integer');
      const b = block[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (value > 0x7fffffff) throw new HpackError('integer too large');
      if (!(b & 0x80)) return value;
      shift += 7;
    }
  }

  /**
   * A string literal (§5.2). `own`: a copy the caller may keep (a table entry); otherwise a view,
   * valid until the next string of the same kind (`isName`) is read.
   */
  private string(own: boolean, isName = false): Uint8Array {
    if (this.pos >= this.end) throw new HpackError('truncated string');
    const huffman = (this.block[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    if (length > this.end - this.pos) throw new HpackError('string longer than its header block');
    const start = this.pos;
    this.pos += length;
    if (!huffman) {
      if (length > this.maxStringLength) throw new HpackError(`header string of ${length} bytes is over the limit of ${this.maxStringLength}`);
      const view = this.block.subarray(start, start + length);
      return own ? view.slice() : view;
    }
    const out = this.huffman(start, start + length, isName);
    return own ? out.slice() : out;
  }

  /** Decodes Huffman bytes [start, end) into a scratch buffer; returns a view of the output. */
  private huffman(start: number, end: number, isName: boolean): Uint8Array {
    const block = this.block;
    // Codes are at least 5 bits long: at most 8/5 output bytes per input byte.
    const bound = Math.min(Math.ceil(((end - start) * 8) / 5), this.maxStringLength + 1);
    let out = isName ? this.nameScratch : this.scratch;
    if (bound > out.length) {
      out = new Uint8Array(Math.max(bound, out.length * 2));
      if (isName) this.nameScratch = out;
      else this.scratch = out;
    }
    let n = 0;
    let code = 0;
    let length = 0;
    for (let p = start; p < end; p++) {
      const byte = block[p]!;
      for (let bit = 7; bit >= 0; bit--) {
        code = (code << 1) | ((byte >> bit) & 1);
        length++;
        const offset = code - FIRST_CODE[length]!;
        if (offset < CODE_COUNT[length]! && offset >= 0) {
          const symbol = SYMBOLS[FIRST_SYMBOL[length]! + offset]!;
          if (symbol === EOS) throw new HpackError('Huffman string contains EOS');
          if (n >= out.length) throw new HpackError(`header string is over the limit of ${this.maxStringLength} bytes`);
          out[n++] = symbol;
          code = 0;
          length = 0;
        } else if (length >= MAX_CODE_LENGTH) {
          throw new HpackError('invalid Huffman code');
        }
      }
    }
    // Padding: fewer than 8 bits, all ones (the EOS code's prefix) (§5.2).
    if (length > 7) throw new HpackError('Huffman padding longer than 7 bits');
    if (code !== (1 << length) - 1) throw new HpackError('Huffman padding is not all ones');
    if (n > this.maxStringLength) throw new HpackError(`header string is over the limit of ${this.maxStringLength} bytes`);
    return out.subarray(0, n);
  }

  private entryAt(index: number): Entry | undefined {
    const dynamicIndex = index - STATIC.length - 1;
    const at = this.entries.length - 1 - dynamicIndex;
    return at >= this.head && dynamicIndex >= 0 ? this.entries[at] : undefined;
  }

  private nameAt(index: number): Uint8Array {
    if (index <= STATIC.length) return STATIC_NAMES[index - 1]!;
    const e = this.entryAt(index);
    if (!e) throw new HpackError(`header index ${index} is not in the table`);
    return e.name;
  }

  private valueAt(index: number): Uint8Array {
    if (index <= STATIC.length) return STATIC_VALUES[index - 1]!;
    const e = this.entryAt(index);
    if (!e) throw new HpackError(`header index ${index} is not in the table`);
    return e.value;
  }

  private insert(name: Uint8Array, value: Uint8Array): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      // An entry larger than the table empties it and is not added (§4.4).
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - size);
    this.entries.push({ name, value });
    this.size += size;
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.head < this.entries.length) {
      const e = this.entries[this.head]!;
      this.entries[this.head++] = undefined as unknown as Entry;
      this.size -= e.name.length + e.value.length + ENTRY_OVERHEAD;
    }
    // Compact once the evicted prefix dominates, so the array stays about the table's size.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

// ---- Encoding: the server's header blocks, literal fields without indexing (§6.2.2) ----

function integerBytes(value: number, prefixBits: number, firstByteFlags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteFlags | value];
  const out = [firstByteFlags | max];
  value -= max;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function literalBytes(s: Uint8Array): number[] {
  return [...integerBytes(s.length, 7, 0), ...s];
}

/** An indexed field from the static table (§6.1). */
export function indexedField(index: number): Uint8Array {
  return Uint8Array.from(integerBytes(index, 7, 0x80));
}

/** A literal field without indexing whose name is a static-table entry. */
export function literalWithStaticName(nameIndex: number, value: string | Uint8Array): Uint8Array {
  const v = typeof value === 'string' ? ascii(value) : value;
  return Uint8Array.from([...integerBytes(nameIndex, 4, 0), ...literalBytes(v)]);
}

/** A literal field without indexing with a literal name (lowercase, as HTTP/2 requires). */
export function literalField(name: string, value: string | Uint8Array): Uint8Array {
  const v = typeof value === 'string' ? ascii(value) : value;
  return Uint8Array.from([0, ...literalBytes(ascii(name)), ...literalBytes(v)]);
}

/** Byte equality of a decoded name or value with a constant. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { ascii as asciiBytes };
