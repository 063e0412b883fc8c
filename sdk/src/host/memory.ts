/**
 * Access to a module's linear memory: bounds-checked reads and writes, and copying host data
 * into memory the module allocated (Envoy's `copyToPointerSize`). Views are re-created only when
 * the memory grows, so the common path is a property check and a typed-array access.
 */

/** Thrown by memory helpers for an out-of-range access; hostcalls turn it into InvalidMemoryAccess. */
export class InvalidMemoryAccess extends Error {
  constructor(ptr: number, size: number) {
    super(`invalid memory access: ${ptr}+${size}`);
    this.name = 'InvalidMemoryAccess';
  }
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function decodeUtf8(b: Uint8Array): string {
  return b.length === 0 ? '' : utf8Decoder.decode(b);
}

export class WasmMemory {
  private buffer: ArrayBuffer;
  private u8: Uint8Array;
  private dv: DataView;

  /** `malloc` returns a pointer (0 on failure); set once the instance exists. */
  malloc: ((size: number) => number) | undefined;

  constructor(readonly memory: WebAssembly.Memory) {
    this.buffer = memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.u8 = new Uint8Array(this.buffer);
      this.dv = new DataView(this.buffer);
    }
  }

  get size(): number {
    this.refresh();
    return this.u8.length;
  }

  private check(ptr: number, size: number): void {
    this.refresh();
    if (ptr < 0 || size < 0 || ptr + size > this.u8.length) throw new InvalidMemoryAccess(ptr, size);
  }

  /** A view (no copy) of module memory; valid until the next call into the module. */
  view(ptr: number, size: number): Uint8Array {
    ptr >>>= 0;
    size >>>= 0;
    if (size === 0) return new Uint8Array(0);
    this.check(ptr, size);
    return this.u8.subarray(ptr, ptr + size);
  }

  /** A copy of module memory. */
  bytes(ptr: number, size: number): Uint8Array {
    return this.view(ptr, size).slice();
  }

  string(ptr: number, size: number): string {
    return decodeUtf8(this.view(ptr, size));
  }

  u32(ptr: number): number {
    ptr >>>= 0;
    this.check(ptr, 4);
    return this.dv.getUint32(ptr, true);
  }

  setU32(ptr: number, value: number): void {
    ptr >>>= 0;
    this.check(ptr, 4);
    this.dv.setUint32(ptr, value >>> 0, true);
  }

  setU64(ptr: number, value: bigint): void {
    ptr >>>= 0;
    this.check(ptr, 8);
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, value), true);
  }

  setU16(ptr: number, value: number): void {
    ptr >>>= 0;
    this.check(ptr, 2);
    this.dv.setUint16(ptr, value, true);
  }

  write(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    if (data.length === 0) return;
    this.check(ptr, data.length);
    this.u8.set(data, ptr);
  }

  /**
   * Allocate `data.length` bytes with the module's allocator, copy `data` there and write the
   * pointer and size to `ptrPtr` / `sizePtr` (pointer 0 for empty data, like Envoy).
   * Returns false when allocation or a write fails.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    if (data.length > 0) {
      const p = this.alloc(data.length);
      if (p === 0) return false;
      this.u8.set(data, p);
      ptr = p;
    }
    try {
      this.setU32(ptrPtr, ptr);
      this.setU32(sizePtr, data.length);
    } catch {
      return false;
    }
    return true;
  }

  /** Allocate with the module's allocator; 0 when it fails or returns an out-of-range pointer. */
  alloc(size: number): number {
    if (!this.malloc) return 0;
    const p = this.malloc(size) >>> 0;
    if (p === 0) return 0;
    this.refresh();
    if (p + size > this.u8.length) return 0;
    return p;
  }
}
