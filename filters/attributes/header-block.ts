// The request headers as the host serialized them (Proxy-Wasm pairs: u32 count, u32 name/value
// lengths, then NUL-terminated names and values), indexed in place: nothing is decoded until an
// expression asks for a value, and lookups compare UTF-8 bytes against names encoded once at
// configure time. Reading a request's headers costs one host call and one small index.

const NO_BYTES = new ArrayBuffer(0);

export class HeaderBlock {
  /** Per entry: name offset, name length (-1 once removed), value offset, value length. */
  private index: Int32Array = new Int32Array(64);
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
    const len = name.byteLength;
    const base = changetype<usize>(this.buf);
    const key = changetype<usize>(name);
    for (let i = from; i < this.count; i++) {
      if (unchecked(this.index[4 * i + 1]) != len) continue;
      if (memory.compare(base + <usize>unchecked(this.index[4 * i]), key, <usize>len) == 0) return i;
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

  name(i: i32): string {
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + <usize>this.index[4 * i], <usize>max(this.index[4 * i + 1], 0));
  }

  value(i: i32): string {
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + <usize>this.index[4 * i + 2], <usize>this.index[4 * i + 3]);
  }

  removed(i: i32): bool { return this.index[4 * i + 1] < 0; }

  /** Hides every entry named `name` (after the host removed it). */
  remove(name: ArrayBuffer): void {
    let i = -1;
    while ((i = this.find(name, i + 1)) >= 0) this.index[4 * i + 1] = -1;
  }
}
