/**
 * Protocol Buffers wire format, the few primitives the Check codec needs
 * (https://protobuf.dev/programming-guides/encoding/). Reading is bounds-checked: truncated or
 * malformed input throws a WireError, never reads past the message.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class WireError extends Error {}

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    /** One past the last byte of the message being read. */
    public end = buf.length,
  ) {
    this.pos = pos;
  }

  /** An unsigned varint as a number (exact up to 2^53; tags, lengths, enums, uint32). */
  uint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** A varint read as int32 (proto3 int32: its low 32 bits, two's complement). */
  int32(): number {
    const buf = this.buf;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++]!;
      if (i < 5) result |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return result | 0;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** An int64 as a decimal string (as proto-loader's `longs: String`). */
  int64String(): string {
    const start = this.pos;
    const n = this.uint();
    if (n <= Number.MAX_SAFE_INTEGER) return String(n);
    // Large or negative: redo it exactly.
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt(this.buf[p]! & 0x7f) << shift;
      shift += 7n;
    }
    return BigInt.asIntN(64, v).toString();
  }

  /** A length-delimited field: returns the index one past its end (its content starts at `pos`). */
  lengthEnd(): number {
    const len = this.uint();
    const end = this.pos + len;
    if (end > this.end) throw new WireError('length past the end of the message');
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  bytes(): Buffer {
    const end = this.lengthEnd();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Skips a field of an unknown or unused number. Groups (wire types 3/4) are refused: proto3 has none. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError('truncated field');
  }
}

/** Fails unless a known field came with the wire type its declaration implies. */
export function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) throw new WireError(`${field}: wire type ${actual}, expected ${expected}`);
}

/**
 * Writes one message into a growing buffer. Nested messages reserve one length byte and move
 * their content when it turns out longer than 127 bytes (rare for the small messages written here).
 */
export class WireWriter {
  private buf = Buffer.allocUnsafe(2048);
  pos = 0;

  reset(): this {
    this.pos = 0;
    return this;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 1024));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uintField(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  doubleField(field: number, v: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  stringField(field: number, s: string): void {
    const start = this.begin(field);
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.end(start);
  }

  /** Starts a length-delimited field; returns where its length goes (pass it to end()). */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  end(lengthAt: number): void {
    const len = this.pos - lengthAt - 1;
    if (len < 0x80) {
      this.buf[lengthAt] = len;
      return;
    }
    let size = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(lengthAt + size, lengthAt + 1, this.pos);
    this.pos += size - 1;
    const after = this.pos;
    this.pos = lengthAt;
    this.varint(len);
    this.pos = after;
  }

  /** A copy of what was written (the writer's buffer is reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
