// A raw HTTP/2 client for protocol tests: writes frames byte by byte (so a test can send what a
// well-behaved client library never would) and reads the server's frames, decoding header blocks
// with the server's own HPACK decoder (hpack.test.ts holds that decoder to nghttp2's encoder).
import { connect, type Socket } from 'node:net';
import { HpackDecoder, literalField } from '../../ext-authz/src/protocol/h2/hpack.js';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  /** HEADERS: the decoded fields. */
  headers?: Record<string, string>;
}

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** A header block of literal fields without indexing, no Huffman (the server's own encoder). */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literalField(n, v)));
}

export const grpcRequestHeaders = (path: string, extra: Array<[string, string]> = []): Array<[string, string]> => [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', path],
  [':authority', 'localhost'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
  ...extra,
];

/** A gRPC length-prefixed message. */
export function grpcFramed(message: Uint8Array, compressed = false): Buffer {
  const h = Buffer.alloc(5);
  h[0] = compressed ? 1 : 0;
  h.writeUInt32BE(message.length, 1);
  return Buffer.concat([h, message]);
}

export class RawH2Client {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly decoder = new HpackDecoder();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const length = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + length) break;
        const f: Frame = { type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + length)) };
        if (f.type === FRAME.HEADERS) {
          const headers: Record<string, string> = {};
          this.decoder.decode(f.payload, { field: (n, v) => (headers[Buffer.from(n).toString('latin1')] = Buffer.from(v).toString('latin1')) });
          f.headers = headers;
        }
        this.frames.push(f);
        this.buf = this.buf.subarray(9 + length);
        // Give the connection window back as answers arrive (stream windows are left to the test).
        if (f.type === FRAME.DATA && length > 0) {
          const increment = Buffer.alloc(4);
          increment.writeUInt32BE(length);
          socket.write(frame(FRAME.WINDOW_UPDATE, 0, 0, increment));
        }
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects and sends the preface and `settings` (id → value). */
  static async open(port: number, settings: Array<[number, number]> = [], preface = true): Promise<RawH2Client> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawH2Client(socket);
    if (preface) {
      const payload = Buffer.alloc(6 * settings.length);
      settings.forEach(([id, v], i) => {
        payload.writeUInt16BE(id, i * 6);
        payload.writeUInt32BE(v, i * 6 + 2);
      });
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(FRAME.SETTINGS, 0, 0, payload)]));
    }
    return c;
  }

  send(...bytes: Buffer[]): void {
    this.socket.write(Buffer.concat(bytes));
  }

  /** Waits until a frame matching `pred` has arrived (or the socket closed, or `timeoutMs`). */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 2000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f || this.closed || Date.now() >= deadline) return f;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
