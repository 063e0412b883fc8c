// The request headers as the host serialized them (Proxy-Wasm pairs: u32 count, u32 name/value
// lengths, then NUL-terminated names and values), indexed in place: nothing is decoded until an
// expression asks for a value, and lookups compare UTF-8 bytes against names encoded once at
// configure time. Reading a request's headers costs one host call and one small index.
import { decodeHostText } from "@meshward/sdk/assembly";

const NO_BYTES = new ArrayBuffer(0);

/** Buckets of the name index (a power of two). */
const BUCKETS = 64;

/** The bucket of a name: its length and first and last bytes (header names differ in these). */
// @ts-ignore: decorator
@inline function bucketOf(at: usize, len: usize): i32 {
  if (len == 0) return 0;
  return <i32>((len * 31 + (<usize>load<u8>(at) << 3) + <usize>load<u8>(at + len - 1)) & (BUCKETS - 1));
}

export class HeaderBlock {
  /** Per entry: name offset, name length (-1 once removed), value offset, value length. */
  private index: Int32Array = new Int32Array(64);
  /**
   * The entries by name: the first entry of each bucket, and per entry the next one in its bucket,
   * in header order (-1 ends a chain). A filter asks for a dozen names per request; a lookup
   * then compares the few entries of one bucket instead of every header.
   */
  private heads: Int32Array = new Int32Array(BUCKETS);
  private chain: Int32Array = new Int32Array(16);
  private buf: ArrayBuffer = NO_BYTES;
  count: i32 = 0;

  static empty(): HeaderBlock { return new HeaderBlock(); }

  /** Indexes serialized pairs; null when malformed (a length pointing past the end). */
  static parse(buf: ArrayBuffer): HeaderBlock | null {
    const block = new HeaderBlock();
    return block.load(buf) ? block : null;
  }

  /**
   * Indexes `buf` in place of what this block held (one block serves every request: no
   * allocation unless a request has more headers than any before). False when malformed; the
   * block is then empty.
   */
  load(buf: ArrayBuffer): bool {
    this.buf = buf;
    this.count = 0;
    const total = <u64>buf.byteLength;
    if (total == 0) return true;
    if (total < 4) return false;
    const base = changetype<usize>(buf);
    const n = <u64>load<u32>(base);
    if (n == 0) return true;
    if (4 + 8 * n > total || n > 65536) return false;
    if (<i32>n * 4 > this.index.length) this.index = new Int32Array(<i32>n * 4);
    const index = this.index;
    let data: u64 = 4 + 8 * n;
    for (let i: i32 = 0; i < <i32>n; i++) {
      const nameLen = <u64>load<u32>(base + 4 + 8 * <usize>i);
      const valueLen = <u64>load<u32>(base + 8 + 8 * <usize>i);
      if (data + nameLen + 1 + valueLen + 1 > total) return false;
      unchecked(index[4 * i] = <i32>data);
      unchecked(index[4 * i + 1] = <i32>nameLen);
      data += nameLen + 1;
      unchecked(index[4 * i + 2] = <i32>data);
      unchecked(index[4 * i + 3] = <i32>valueLen);
      data += valueLen + 1;
    }
    // Chains built from the last entry back, so each lists its entries in header order.
    if (<i32>n > this.chain.length) this.chain = new Int32Array(<i32>n);
    const heads = this.heads;
    const chain = this.chain;
    heads.fill(-1);
    for (let i = <i32>n - 1; i >= 0; i--) {
      const b = bucketOf(base + <usize>unchecked(index[4 * i]), <usize>unchecked(index[4 * i + 1]));
      unchecked(chain[i] = heads[b]);
      unchecked(heads[b] = i);
    }
    this.count = <i32>n;
    return true;
  }

  /** Forgets the request's headers (the buffer can then be collected). */
  clear(): void {
    this.buf = NO_BYTES;
    this.count = 0;
  }

  /** The first entry at or after `from` named `name` (UTF-8 bytes, compared exactly); -1 if none. */
  find(name: ArrayBuffer, from: i32 = 0): i32 {
    if (this.count == 0) return -1;
    const len = name.byteLength;
    const base = changetype<usize>(this.buf);
    const key = changetype<usize>(name);
    const index = this.index;
    for (let i = unchecked(this.heads[bucketOf(key, <usize>len)]); i >= 0; i = unchecked(this.chain[i])) {
      if (i < from || unchecked(index[4 * i + 1]) != len) continue;
      if (memory.compare(base + <usize>unchecked(index[4 * i]), key, <usize>len) == 0) return i;
    }
    return -1;
  }

  /** The value of `name`, repeated values joined with ","; null when absent. */
  get(name: ArrayBuffer): string | null {
    let i = this.find(name);
    if (i < 0) return null;
    let out = this.value(i);
    while ((i = this.find(name, i + 1)) >= 0) out += "," + this.value(i);
    return out;
  }

  has(name: ArrayBuffer): bool { return this.find(name) >= 0; }

  // Decoded through the SDK's reuse table: a client's headers repeat request after request, and a
  // repeated value is then the same string, with no allocation.
  name(i: i32): string {
    return decodeHostText(changetype<usize>(this.buf) + <usize>this.index[4 * i], <usize>max(this.index[4 * i + 1], 0), true);
  }

  value(i: i32): string {
    return decodeHostText(changetype<usize>(this.buf) + <usize>this.index[4 * i + 2], <usize>this.index[4 * i + 3], true);
  }

  removed(i: i32): bool { return this.index[4 * i + 1] < 0; }

  /** Hides every entry named `name` (after the host removed it). */
  remove(name: ArrayBuffer): void {
    let i = -1;
    while ((i = this.find(name, i + 1)) >= 0) this.index[4 * i + 1] = -1;
  }
}
