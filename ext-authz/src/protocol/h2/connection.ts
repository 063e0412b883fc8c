/**
 * A lean HTTP/2 server connection (RFC 9113, cleartext with prior knowledge, as gRPC uses it):
 * framing, flow control both ways, SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION, and HPACK
 * through ./hpack.ts. It exists for the Check server's tail latency: node:http2 turns every
 * received header into a V8 string in old space before any JavaScript runs, which costs a
 * mark-compact every few seconds at 5,000 Checks/s (docs/ext-authz.md, "Paced p99"). Here headers
 * stay bytes, and what a request allocates is short-lived.
 *
 * Scope: a server for request/response exchanges where the request body is read whole before the
 * handler runs (gRPC unary and server-streaming calls). No server push, no priorities (PRIORITY
 * is parsed and ignored, as RFC 9113 allows), no TLS (put a mesh sidecar or Envoy in front).
 */
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, type HeaderSink } from './hpack.js';

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_PRIORITY = 0x2;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_PUSH_PROMISE = 0x5;
const FRAME_PING = 0x6;
const FRAME_GOAWAY = 0x7;
const FRAME_WINDOW_UPDATE = 0x8;
const FRAME_CONTINUATION = 0x9;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** Error codes (RFC 9113 §7). */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_INTERNAL_ERROR = 0x2;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_STREAM_CLOSED = 0x5;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_ENHANCE_YOUR_CALM = 0xb;
const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
export const h2ErrorName = (code: number): string => ERROR_NAMES[code] ?? `0x${code.toString(16)}`;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 0x7fffffff;
/** The frame size we accept (the protocol default; we do not advertise more). */
const MAX_FRAME_SIZE = 16_384;
/** A header block may span CONTINUATION frames; this bounds what one request can make us hold. */
const MAX_HEADER_BLOCK = 256 * 1024;

export interface H2ServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: how much of a request body a stream may send ahead. */
  streamWindow: number;
  /** The connection receive window, raised once at the start (it starts at 65,535). */
  connectionWindow: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes (name + value + 32 each) per request. */
  maxHeaderListSize: number;
  /** A request body above this is answered by `onTooLarge` without buffering more of it. */
  maxBodyBytes: number;
}

export const DEFAULT_H2_OPTIONS: H2ServerOptions = {
  maxConcurrentStreams: 1000,
  streamWindow: 1 << 20,
  connectionWindow: 16 << 20,
  maxHeaderListSize: 64 * 1024,
  maxBodyBytes: 8 * 1024 * 1024 + 5,
};

/**
 * What the application layer sees of a stream's request headers: it decodes the fields it needs
 * as they are decoded (a fresh head per stream from `newHead`), so the connection never makes a
 * string for a header.
 */
export interface RequestHead extends HeaderSink {
  /** Decoded header bytes so far (names + values + 32 per field, as SETTINGS counts them). */
  listSize: number;
}

export interface H2Application<H extends RequestHead> {
  newHead(): H;
  /** A request's headers and its whole body arrived (the body possibly empty). */
  onRequest(stream: H2Stream<H>, body: Buffer): void;
  /** The body grew past `maxBodyBytes`: answer (the connection then resets the stream). */
  onTooLarge(stream: H2Stream<H>): void;
  /** The header list was over SETTINGS_MAX_HEADER_LIST_SIZE: answer. */
  onHeadersTooLarge(stream: H2Stream<H>): void;
  /** A connection-level problem, for the log: the peer broke the protocol, or the socket failed. */
  onConnectionError(message: string): void;
}

type StreamState = 'open' | 'half-closed-remote' | 'closed';

export class H2Stream<H extends RequestHead = RequestHead> {
  state: StreamState = 'open';
  /** Set when the peer reset the stream or the connection went away: answers are dropped. */
  cancelled = false;
  /** Called once if the stream is cancelled before it was answered. */
  onCancel: (() => void) | undefined;
  body: Buffer[] | undefined;
  bodyBytes = 0;
  /** Body bytes received since the last stream WINDOW_UPDATE. */
  unacknowledged = 0;
  sendWindow: number;
  tooLarge = false;
  /** Frames waiting for flow-control window, in order (DATA and the HEADERS after them). */
  queued: Buffer[] | undefined;
  endAfterQueue = false;

  constructor(
    readonly connection: H2ServerConnection<H>,
    readonly id: number,
    readonly head: H,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** Headers, then the data, then trailers (ending the stream). Any part may be omitted. */
  respond(headers: Uint8Array | undefined, data: Uint8Array | undefined, trailers: Uint8Array | undefined): void {
    this.connection.send(this, headers, data, trailers);
  }
}

/** One HTTP/2 connection from a client. */
export class H2ServerConnection<H extends RequestHead> {
  private readonly decoder: HpackDecoder;
  private readonly streams = new StreamTable<H2Stream<H>>();
  private pending: Buffer | undefined;
  private prefaceSeen = false;
  private lastStreamId = 0;
  /** A header block in progress (HEADERS without END_HEADERS, then CONTINUATION). */
  private continuation: { streamId: number; flags: number; parts: Buffer[]; bytes: number } | undefined;
  /** Peer settings that shape what we send. */
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = MAX_FRAME_SIZE;
  private connectionSendWindow = DEFAULT_WINDOW;
  private connectionReceived = 0;
  private connectionReceiveWindow: number;
  /** Streams with frames waiting for window, in the order they blocked. */
  private blocked = new Set<H2Stream<H>>();
  private goingAway = false;
  private dead = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    private readonly socket: Socket,
    private readonly app: H2Application<H>,
    private readonly options: H2ServerOptions,
    private readonly onClosed: (c: H2ServerConnection<H>) => void,
  ) {
    this.decoder = new HpackDecoder();
    this.connectionReceiveWindow = options.connectionWindow;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', (e) => {
      // A reset by the peer is how clients often leave; not worth a warning.
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET' && (e as NodeJS.ErrnoException).code !== 'EPIPE') this.app.onConnectionError(`socket error: ${e.message}`);
      this.destroy();
    });
    socket.on('close', () => this.destroy());
    // Writes queue in user space when the peer stops reading; stop reading its requests too, so a
    // client that never reads cannot make us hold unbounded answers.
    socket.on('drain', () => socket.resume());
    this.writeSettings();
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Graceful close: no new streams; the socket ends once the open ones are answered. */
  shutdown(): void {
    if (this.dead || this.goingAway) return;
    this.goingAway = true;
    this.writeGoaway(this.lastStreamId, H2_NO_ERROR, '');
    if (this.streams.size === 0) this.socket.end();
  }

  destroy(): void {
    if (this.dead) return;
    this.socket.destroy();
    this.teardown();
  }

  /** The connection is over: open streams are cancelled and the owner told (once). */
  private teardown(): void {
    this.dead = true;
    this.socket.off('data', this.onData);
    for (const s of this.streams.values()) this.cancel(s);
    this.streams.clear();
    this.blocked.clear();
    this.onClosed(this);
  }

  // ---- receiving ----

  private receive(chunk: Buffer): void {
    if (this.dead) return;
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    try {
      if (!this.prefaceSeen) {
        const n = Math.min(data.length, PREFACE.length);
        if (data.compare(PREFACE, 0, n, 0, n) !== 0) {
          this.connectionError(H2_PROTOCOL_ERROR, 'not an HTTP/2 connection preface (this port speaks gRPC over HTTP/2 with prior knowledge)');
          return;
        }
        if (data.length < PREFACE.length) {
          this.pending = data;
          return;
        }
        this.prefaceSeen = true;
        pos = PREFACE.length;
      }
      while (data.length - pos >= 9) {
        const length = (data[pos]! << 16) | (data[pos + 1]! << 8) | data[pos + 2]!;
        if (length > MAX_FRAME_SIZE) {
          this.connectionError(H2_FRAME_SIZE_ERROR, `frame of ${length} bytes over SETTINGS_MAX_FRAME_SIZE ${MAX_FRAME_SIZE}`);
          return;
        }
        if (data.length - pos - 9 < length) break;
        const type = data[pos + 3]!;
        const flags = data[pos + 4]!;
        const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
        this.frame(type, flags, streamId, data, pos + 9, pos + 9 + length);
        if (this.dead) return;
        pos += 9 + length;
      }
    } catch (e) {
      if (e instanceof HpackError) this.connectionError(H2_COMPRESSION_ERROR, e.message);
      else this.connectionError(H2_INTERNAL_ERROR, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    // Copy a partial frame out of the chunk so the chunk is not kept alive by it.
    if (pos < data.length) this.pending = Buffer.from(data.subarray(pos));
  }

  private frame(type: number, flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    if (this.continuation && type !== FRAME_CONTINUATION) {
      this.connectionError(H2_PROTOCOL_ERROR, 'expected CONTINUATION');
      return;
    }
    switch (type) {
      case FRAME_DATA:
        return this.dataFrame(flags, streamId, data, start, end);
      case FRAME_HEADERS:
        return this.headersFrame(flags, streamId, data, start, end);
      case FRAME_PRIORITY:
        if (streamId === 0) return this.connectionError(H2_PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) return this.streamError(streamId, H2_FRAME_SIZE_ERROR);
        return;
      case FRAME_RST_STREAM: {
        if (streamId === 0) return this.connectionError(H2_PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (end - start !== 4) return this.connectionError(H2_FRAME_SIZE_ERROR, 'RST_STREAM length');
        if (streamId > this.lastStreamId) return this.connectionError(H2_PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        const s = this.streams.get(streamId);
        if (s) {
          this.closeStream(s);
          this.cancel(s);
        }
        return;
      }
      case FRAME_SETTINGS:
        return this.settingsFrame(flags, streamId, data, start, end);
      case FRAME_PUSH_PROMISE:
        return this.connectionError(H2_PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FRAME_PING:
        if (streamId !== 0) return this.connectionError(H2_PROTOCOL_ERROR, 'PING on a stream');
        if (end - start !== 8) return this.connectionError(H2_FRAME_SIZE_ERROR, 'PING length');
        if (!(flags & FLAG_ACK)) this.write(this.frameBytes(FRAME_PING, FLAG_ACK, 0, data.subarray(start, end)));
        return;
      case FRAME_GOAWAY:
        if (streamId !== 0) return this.connectionError(H2_PROTOCOL_ERROR, 'GOAWAY on a stream');
        // The client will open no more streams; finish the open ones, then close.
        this.goingAway = true;
        if (this.streams.size === 0) this.socket.end();
        return;
      case FRAME_WINDOW_UPDATE:
        return this.windowUpdateFrame(streamId, data, start, end);
      case FRAME_CONTINUATION:
        return this.continuationFrame(flags, streamId, data, start, end);
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private headersFrame(flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    if (streamId === 0 || (streamId & 1) === 0) return this.connectionError(H2_PROTOCOL_ERROR, `HEADERS on stream ${streamId} (clients use odd stream ids)`);
    let p = start;
    let padding = 0;
    if (flags & FLAG_PADDED) {
      if (end - p < 1) return this.connectionError(H2_FRAME_SIZE_ERROR, 'HEADERS padding length missing');
      padding = data[p++]!;
    }
    if (flags & FLAG_PRIORITY) p += 5;
    if (end - p < padding) return this.connectionError(H2_PROTOCOL_ERROR, 'HEADERS padding longer than the frame');
    const fragment = data.subarray(p, end - padding);
    if (!(flags & FLAG_END_HEADERS)) {
      this.continuation = { streamId, flags, parts: [Buffer.from(fragment)], bytes: fragment.length };
      return;
    }
    this.headerBlock(streamId, flags, fragment);
  }

  private continuationFrame(flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    const c = this.continuation;
    if (!c || c.streamId !== streamId) return this.connectionError(H2_PROTOCOL_ERROR, 'CONTINUATION without a header block in progress on its stream');
    c.bytes += end - start;
    if (c.bytes > MAX_HEADER_BLOCK) return this.connectionError(H2_ENHANCE_YOUR_CALM, `header block over ${MAX_HEADER_BLOCK} bytes`);
    c.parts.push(Buffer.from(data.subarray(start, end)));
    if (!(flags & FLAG_END_HEADERS)) return;
    this.continuation = undefined;
    this.headerBlock(streamId, c.flags, Buffer.concat(c.parts));
  }

  private headerBlock(streamId: number, flags: number, block: Uint8Array): void {
    const existing = this.streams.get(streamId);
    if (existing) {
      // Trailers from the client: they must end the stream. gRPC clients send none; decode them
      // (the dynamic table depends on it) and ignore what they say.
      const sink = this.app.newHead();
      this.decoder.decode(block, sink);
      if (existing.state !== 'open' || !(flags & FLAG_END_STREAM)) return this.streamError(streamId, H2_PROTOCOL_ERROR);
      this.endOfRequest(existing);
      return;
    }
    if (streamId <= this.lastStreamId) return this.connectionError(H2_STREAM_CLOSED, `HEADERS on closed stream ${streamId}`);
    this.lastStreamId = streamId;
    const head = this.app.newHead();
    this.decoder.decode(block, head);
    if (this.goingAway) return this.writeRst(streamId, H2_REFUSED_STREAM);
    if (this.streams.size >= this.options.maxConcurrentStreams) return this.writeRst(streamId, H2_REFUSED_STREAM);
    const stream = new H2Stream<H>(this, streamId, head, this.peerInitialWindow);
    this.streams.set(streamId, stream);
    if (head.listSize > this.options.maxHeaderListSize) {
      stream.tooLarge = true;
      this.app.onHeadersTooLarge(stream);
      return;
    }
    if (flags & FLAG_END_STREAM) this.endOfRequest(stream);
  }

  private dataFrame(flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    if (streamId === 0) return this.connectionError(H2_PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    // Flow control counts the whole frame, padding included.
    this.connectionReceived += length;
    if (this.connectionReceived > this.connectionReceiveWindow) return this.connectionError(H2_FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (this.connectionReceived >= this.options.connectionWindow / 2) {
      this.writeWindowUpdate(0, this.connectionReceived);
      this.connectionReceiveWindow = this.options.connectionWindow;
      this.connectionReceived = 0;
    }
    let p = start;
    let padding = 0;
    if (flags & FLAG_PADDED) {
      if (length < 1) return this.connectionError(H2_FRAME_SIZE_ERROR, 'DATA padding length missing');
      padding = data[p++]!;
      if (end - p < padding) return this.connectionError(H2_PROTOCOL_ERROR, 'DATA padding longer than the frame');
    }
    const stream = this.streams.get(streamId);
    if (!stream) {
      if (streamId > this.lastStreamId) return this.connectionError(H2_PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      // A stream already closed: answered early and reset (the client may have sent more before
      // it saw the reset), refused, or reset by the client. Counted above for the connection
      // window, otherwise ignored (RFC 9113 §5.1, "closed").
      return;
    }
    if (stream.state !== 'open') return this.streamError(streamId, H2_STREAM_CLOSED);
    stream.unacknowledged += length;
    if (stream.unacknowledged > this.options.streamWindow) return this.streamError(streamId, H2_FLOW_CONTROL_ERROR);
    if (!stream.tooLarge) {
      const payload = end - padding - p;
      stream.bodyBytes += payload;
      if (stream.bodyBytes > this.options.maxBodyBytes) {
        stream.tooLarge = true;
        stream.body = undefined;
        this.app.onTooLarge(stream);
        return;
      }
      if (payload > 0) (stream.body ??= []).push(data.subarray(p, end - padding));
    }
    if (flags & FLAG_END_STREAM) {
      this.endOfRequest(stream);
    } else if (stream.unacknowledged >= this.options.streamWindow / 2) {
      this.writeWindowUpdate(streamId, stream.unacknowledged);
      stream.unacknowledged = 0;
    }
  }

  private endOfRequest(stream: H2Stream<H>): void {
    stream.state = 'half-closed-remote';
    if (stream.tooLarge) return;
    const parts = stream.body;
    stream.body = undefined;
    // The parts are views into socket chunks; one copy makes a body the handler may keep.
    const body = !parts ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.app.onRequest(stream, body);
  }

  private settingsFrame(flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    if (streamId !== 0) return this.connectionError(H2_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) {
      if (end !== start) return this.connectionError(H2_FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0) return this.connectionError(H2_FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    for (let p = start; p < end; p += 6) {
      const id = data.readUInt16BE(p);
      const value = data.readUInt32BE(p + 2);
      switch (id) {
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.connectionError(H2_FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) s.sendWindow += delta;
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < 16_384 || value > 16_777_215) return this.connectionError(H2_PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.peerMaxFrameSize = value;
          break;
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) return this.connectionError(H2_PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1');
          break;
        // HEADER_TABLE_SIZE bounds the table we encode with; our blocks never index, so any
        // value is fine. The others limit the client's side of the exchange.
        default:
          break;
      }
    }
    this.write(this.frameBytes(FRAME_SETTINGS, FLAG_ACK, 0, EMPTY));
    this.flushBlocked();
  }

  private windowUpdateFrame(streamId: number, data: Buffer, start: number, end: number): void {
    if (end - start !== 4) return this.connectionError(H2_FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const increment = data.readUInt32BE(start) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) return this.connectionError(H2_PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.connectionSendWindow += increment;
      if (this.connectionSendWindow > MAX_WINDOW) return this.connectionError(H2_FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
    } else {
      const s = this.streams.get(streamId);
      if (!s) return; // a stream already closed: allowed (RFC 9113 §6.9)
      if (increment === 0) return this.streamError(streamId, H2_PROTOCOL_ERROR);
      s.sendWindow += increment;
      if (s.sendWindow > MAX_WINDOW) return this.streamError(streamId, H2_FLOW_CONTROL_ERROR);
    }
    this.flushBlocked();
  }

  // ---- sending ----

  /** Called by H2Stream.respond. */
  send(stream: H2Stream<H>, headers: Uint8Array | undefined, data: Uint8Array | undefined, trailers: Uint8Array | undefined): void {
    if (this.dead || stream.cancelled || stream.state === 'closed') return;
    const dataLength = data ? data.length : 0;
    const canSendNow = !stream.queued && dataLength <= stream.sendWindow && dataLength <= this.connectionSendWindow && dataLength <= this.peerMaxFrameSize;
    if (canSendNow) {
      // The common case, a small answer: one buffer, one write.
      const total = (headers ? 9 + headers.length : 0) + (data ? 9 + dataLength : 0) + (trailers ? 9 + trailers.length : 0);
      const out = Buffer.allocUnsafe(total);
      let p = 0;
      if (headers) p = putFrame(out, p, FRAME_HEADERS, FLAG_END_HEADERS | (!data && !trailers ? FLAG_END_STREAM : 0), stream.id, headers);
      if (data) p = putFrame(out, p, FRAME_DATA, 0, stream.id, data);
      if (trailers) p = putFrame(out, p, FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, stream.id, trailers);
      stream.sendWindow -= dataLength;
      this.connectionSendWindow -= dataLength;
      this.write(out);
      if (trailers || (headers && !data)) this.finish(stream);
      return;
    }
    // Split the data into frames the peer accepts and send as the windows allow.
    const queued = (stream.queued ??= []);
    if (headers) queued.push(this.frameBytes(FRAME_HEADERS, FLAG_END_HEADERS | (!data && !trailers ? FLAG_END_STREAM : 0), stream.id, headers));
    if (data) {
      let p = 0;
      do {
        queued.push(this.frameBytes(FRAME_DATA, 0, stream.id, data.subarray(p, p + this.peerMaxFrameSize)));
        p += this.peerMaxFrameSize;
      } while (p < dataLength);
    }
    if (trailers) queued.push(this.frameBytes(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, stream.id, trailers));
    if (trailers || (headers && !data)) stream.endAfterQueue = true;
    this.blocked.add(stream);
    this.flushBlocked();
  }

  private flushBlocked(): void {
    for (const s of this.blocked) {
      const q = s.queued!;
      let i = 0;
      for (; i < q.length; i++) {
        // What a frame takes from the flow-control windows: a DATA frame's payload, nothing for HEADERS.
        const cost = q[i]![3] === FRAME_DATA ? q[i]!.length - 9 : 0;
        if (cost > 0 && (cost > s.sendWindow || cost > this.connectionSendWindow)) break;
        s.sendWindow -= cost;
        this.connectionSendWindow -= cost;
        this.write(q[i]!);
      }
      if (i === q.length) {
        s.queued = undefined;
        this.blocked.delete(s);
        if (s.endAfterQueue) this.finish(s);
      } else {
        q.splice(0, i);
      }
      if (this.connectionSendWindow <= 0) break;
    }
  }

  /** Our side ended the stream. */
  private finish(stream: H2Stream<H>): void {
    if (stream.state === 'open') {
      // Answered before the request ended (too large, refused): stop the client sending more.
      this.writeRst(stream.id, H2_NO_ERROR);
    }
    this.closeStream(stream);
  }

  private closeStream(stream: H2Stream<H>): void {
    stream.state = 'closed';
    stream.body = undefined;
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    if (this.goingAway && this.streams.size === 0) this.socket.end();
  }

  private cancel(stream: H2Stream<H>): void {
    if (stream.cancelled) return;
    stream.cancelled = true;
    const onCancel = stream.onCancel;
    stream.onCancel = undefined;
    onCancel?.();
  }

  private streamError(streamId: number, code: number): void {
    this.writeRst(streamId, code);
    const s = this.streams.get(streamId);
    if (s) {
      this.closeStream(s);
      this.cancel(s);
    }
  }

  private connectionError(code: number, message: string): void {
    if (this.dead) return;
    this.app.onConnectionError(`HTTP/2 ${h2ErrorName(code)}: ${message}`);
    this.writeGoaway(this.lastStreamId, code, message);
    this.socket.end();
    // Give the GOAWAY a moment to leave, then make sure the socket is gone.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.teardown();
  }

  private writeSettings(): void {
    const o = this.options;
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(SETTINGS_MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(o.maxConcurrentStreams, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(o.streamWindow, 8);
    settings.writeUInt16BE(SETTINGS_MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(o.maxHeaderListSize, 14);
    // SETTINGS_HEADER_TABLE_SIZE is left at its default, 4,096 (hpack.ts DEFAULT_TABLE_SIZE).
    this.write(this.frameBytes(FRAME_SETTINGS, 0, 0, settings));
    if (o.connectionWindow > DEFAULT_WINDOW) this.writeWindowUpdate(0, o.connectionWindow - DEFAULT_WINDOW);
  }

  private writeWindowUpdate(streamId: number, increment: number): void {
    const b = Buffer.allocUnsafe(13);
    putHeader(b, 0, 4, FRAME_WINDOW_UPDATE, 0, streamId);
    b.writeUInt32BE(increment, 9);
    this.write(b);
  }

  private writeRst(streamId: number, code: number): void {
    const b = Buffer.allocUnsafe(13);
    putHeader(b, 0, 4, FRAME_RST_STREAM, 0, streamId);
    b.writeUInt32BE(code, 9);
    this.write(b);
  }

  private writeGoaway(lastStreamId: number, code: number, message: string): void {
    const debug = Buffer.from(message.slice(0, 256), 'utf8');
    const payload = Buffer.allocUnsafe(8 + debug.length);
    payload.writeUInt32BE(lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    debug.copy(payload, 8);
    this.write(this.frameBytes(FRAME_GOAWAY, 0, 0, payload));
  }

  private frameBytes(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(9 + payload.length);
    putFrame(out, 0, type, flags, streamId, payload);
    return out;
  }

  private write(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.socket.write(bytes)) this.socket.pause();
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The open streams by id. Not a Map: with a stream added and deleted per request, V8 rehashes a
 * Map's table now and then, and an obsolete table (kept for iterators, in old space when the Map
 * is) holds the streams that were open at that moment where scavenges treat them as roots, so each
 * is promoted with all it reaches (docs/ext-authz.md, "What fills the old generation", item 3).
 * Client stream ids rise by 2, so a fixed slot table indexed by id finds a stream directly; a
 * stream still open when a newer one lands on its slot (thousands of streams later) goes to a
 * small overflow Map.
 */
class StreamTable<S extends { id: number }> {
  private static readonly SLOTS = 2048;
  private readonly slots: Array<S | undefined> = new Array<S | undefined>(StreamTable.SLOTS).fill(undefined);
  private readonly overflow = new Map<number, S>();
  size = 0;

  private static slotOf(id: number): number {
    return (id >>> 1) & (StreamTable.SLOTS - 1);
  }

  get(id: number): S | undefined {
    const s = this.slots[StreamTable.slotOf(id)];
    if (s !== undefined && s.id === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  set(id: number, stream: S): void {
    const k = StreamTable.slotOf(id);
    if (this.slots[k] === undefined) this.slots[k] = stream;
    else this.overflow.set(id, stream);
    this.size++;
  }

  delete(id: number): void {
    const k = StreamTable.slotOf(id);
    const s = this.slots[k];
    if (s !== undefined && s.id === id) this.slots[k] = undefined;
    else if (!this.overflow.delete(id)) return;
    this.size--;
  }

  values(): S[] {
    const out: S[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    for (const s of this.overflow.values()) out.push(s);
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.overflow.clear();
    this.size = 0;
  }
}

function putHeader(out: Buffer, p: number, length: number, type: number, flags: number, streamId: number): number {
  out[p] = length >>> 16;
  out[p + 1] = (length >>> 8) & 0xff;
  out[p + 2] = length & 0xff;
  out[p + 3] = type;
  out[p + 4] = flags;
  out.writeUInt32BE(streamId, p + 5);
  return p + 9;
}

function putFrame(out: Buffer, p: number, type: number, flags: number, streamId: number, payload: Uint8Array): number {
  p = putHeader(out, p, payload.length, type, flags, streamId);
  out.set(payload, p);
  return p + payload.length;
}
