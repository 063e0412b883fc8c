// A minimal gRPC unary load client written straight on one TCP connection with HTTP/2 framing
// (RFC 9113), so that on a 2-core machine the load generator costs far less CPU than the server
// it measures (a @grpc/grpc-js or node:http2 client costs about as much per call as the server).
// It does only what a unary call needs: the connection preface and SETTINGS, one HEADERS + one
// DATA frame per call (the header block encoded once, without Huffman or indexing, RFC 7541),
// flow control both ways, PING answers. It never decodes response headers: the answer is the
// DATA (the gRPC-framed response message) and a stream that ends without DATA (a trailers-only
// answer: a gRPC error) is reported as an error. Benchmark use only.
import { connect } from 'node:net';

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_PING = 0x6;
const FRAME_GOAWAY = 0x7;
const FRAME_WINDOW_UPDATE = 0x8;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Our receive windows: large, and topped up as answers arrive. */
const RECEIVE_WINDOW = 1 << 30;

/** Writes a 9-byte frame header into `out` at `p`. */
function putFrameHeader(out, p, length, type, flags, streamId) {
  out.writeUIntBE(length, p, 3);
  out[p + 3] = type;
  out[p + 4] = flags;
  out.writeUInt32BE(streamId, p + 5);
}

function frameHeader(length, type, flags, streamId) {
  const h = Buffer.alloc(9);
  putFrameHeader(h, 0, length, type, flags, streamId);
  return h;
}

/** An HPACK string literal, no Huffman (RFC 7541 §5.2); lengths below 127. */
function literal(s) {
  const b = Buffer.from(s, 'latin1');
  if (b.length >= 127) throw new Error('header too long for this client');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** The request header block: literal fields without indexing (RFC 7541 §6.2.2), so no table state. */
function headerBlock(authority, path) {
  const field = (name, value) => Buffer.concat([Buffer.from([0x00]), literal(name), literal(value)]);
  return Buffer.concat([
    field(':method', 'POST'),
    field(':scheme', 'http'),
    field(':path', path),
    field(':authority', authority),
    field('content-type', 'application/grpc'),
    field('te', 'trailers'),
  ]);
}

/**
 * Connects; `call(framedMessage)` resolves with the response message bytes (gRPC frame header
 * stripped) or rejects when the answer carried no message.
 */
export async function rawH2Client(host, port, path) {
  const socket = connect({ host, port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const block = headerBlock(`${host}:${port}`, path);
  let nextStream = 1;
  let sendWindow = 65535; // the connection's, raised by the server's WINDOW_UPDATEs
  let streamWindow = 65535; // each new stream's, from the server's SETTINGS
  let unacked = 0;
  // Streams in flight by id, in a fixed slot table (ids go up by 2): a Map with set/delete churn
  // would keep obsolete hash tables whose entries a scavenge promotes, and the client's own
  // mark-compacts would then land in the latencies it measures.
  const SLOTS = 1 << 14;
  const slots = new Array(SLOTS).fill(undefined);
  const streams = {
    get: (id) => {
      const s = slots[(id >>> 1) & (SLOTS - 1)];
      return s && s.id === id ? s : undefined;
    },
    set: (id, entry) => {
      const k = (id >>> 1) & (SLOTS - 1);
      if (slots[k]) throw new Error(`more than ${SLOTS} calls in flight`);
      entry.id = id;
      slots[k] = entry;
    },
    delete: (id) => {
      const k = (id >>> 1) & (SLOTS - 1);
      if (slots[k]?.id === id) slots[k] = undefined;
    },
    *values() {
      for (const s of slots) if (s) yield s;
    },
    clear: () => slots.fill(undefined),
  };
  const waiting = []; // calls held back by flow control
  let failed;

  socket.write(Buffer.concat([
    PREFACE,
    frameHeader(6, FRAME_SETTINGS, 0, 0),
    Buffer.from([0, SETTINGS_INITIAL_WINDOW_SIZE, ...u32(RECEIVE_WINDOW)]),
    frameHeader(4, FRAME_WINDOW_UPDATE, 0, 0),
    Buffer.from(u32(RECEIVE_WINDOW - 65535)),
  ]));

  function u32(n) {
    return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  }

  function send(framed, entry) {
    const id = nextStream;
    nextStream += 2;
    streams.set(id, entry);
    sendWindow -= framed.length;
    const out = Buffer.allocUnsafe(9 + block.length + 9 + framed.length);
    putFrameHeader(out, 0, block.length, FRAME_HEADERS, FLAG_END_HEADERS, id);
    block.copy(out, 9);
    putFrameHeader(out, 9 + block.length, framed.length, FRAME_DATA, FLAG_END_STREAM, id);
    framed.copy(out, 18 + block.length);
    socket.write(out);
  }

  function drain() {
    while (waiting.length && waiting[0].framed.length <= sendWindow) {
      const w = waiting.shift();
      send(w.framed, w.entry);
    }
  }

  function fail(err) {
    failed = err;
    for (const s of streams.values()) s.reject(err);
    streams.clear();
    for (const w of waiting) w.entry.reject(err);
    waiting.length = 0;
  }

  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 9) {
      const length = buf.readUIntBE(pos, 3);
      if (buf.length - pos < 9 + length) break;
      const type = buf[pos + 3];
      const flags = buf[pos + 4];
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = buf.subarray(pos + 9, pos + 9 + length);
      pos += 9 + length;
      if (type === FRAME_DATA) {
        const s = streams.get(id);
        if (s && length) s.chunks.push(Buffer.from(payload));
        unacked += length;
        if (flags & FLAG_END_STREAM) finish(id);
      } else if (type === FRAME_HEADERS) {
        if (flags & FLAG_END_STREAM) finish(id);
      } else if (type === FRAME_SETTINGS) {
        if (!(flags & FLAG_ACK)) {
          for (let p = 0; p + 6 <= payload.length; p += 6) {
            if (payload.readUInt16BE(p) === SETTINGS_INITIAL_WINDOW_SIZE) streamWindow = payload.readUInt32BE(p + 2);
          }
          socket.write(frameHeader(0, FRAME_SETTINGS, FLAG_ACK, 0));
        }
      } else if (type === FRAME_WINDOW_UPDATE) {
        if (id === 0) sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
      } else if (type === FRAME_PING) {
        if (!(flags & FLAG_ACK)) socket.write(Buffer.concat([frameHeader(8, FRAME_PING, FLAG_ACK, 0), payload]));
      } else if (type === FRAME_RST_STREAM) {
        const s = streams.get(id);
        streams.delete(id);
        s?.reject(new Error(`stream reset (code ${payload.readUInt32BE(0)})`));
      } else if (type === FRAME_GOAWAY) {
        fail(new Error('server sent GOAWAY'));
      }
    }
    pending = pos < buf.length ? buf.subarray(pos) : Buffer.alloc(0);
    // Give back what the answers used of our connection window, in large steps.
    if (unacked > RECEIVE_WINDOW / 4) {
      socket.write(Buffer.concat([frameHeader(4, FRAME_WINDOW_UPDATE, 0, 0), Buffer.from(u32(unacked))]));
      unacked = 0;
    }
    drain();
  });
  socket.on('error', (e) => fail(e));
  socket.on('close', () => fail(new Error('connection closed')));

  function finish(id) {
    const s = streams.get(id);
    if (!s) return;
    streams.delete(id);
    if (s.chunks.length === 0) return s.reject(new Error('answer without a message (a gRPC error status)'));
    const body = s.chunks.length === 1 ? s.chunks[0] : Buffer.concat(s.chunks);
    s.resolve(body.subarray(5));
  }

  return {
    call(framed) {
      return new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        if (framed.length > streamWindow) return reject(new Error('request larger than the stream window'));
        const entry = { resolve, reject, chunks: [] };
        if (waiting.length || framed.length > sendWindow) waiting.push({ framed, entry });
        else send(framed, entry);
      });
    },
    close() {
      socket.end();
    },
  };
}
