// A minimal HTTP/1.1 keep-alive load client written straight on TCP sockets (RFC 9112), the
// HTTP/1.1 counterpart of raw-h2-client.mjs: on a 2-core machine the load generator must cost far
// less CPU than the server it measures (a node:http client parses every answer into objects).
// Like Envoy's HTTP/1.1 connection pool to an ext_authz `http_service`, it keeps a pool of
// connections with one request in flight on each (no pipelining); a request that finds every
// connection busy waits for the first one to free up (Envoy would open another connection; a
// fixed pool keeps connection set-up out of the measured window). A connection the server closes
// (e.g. its keep-alive timeout while other servers take their turn) is replaced, as Envoy's pool
// does; a request in flight on it fails. Each request is a pre-encoded
// byte string; of the answer only the status code is read (the headers are scanned for
// Content-Length, the body skipped). Benchmark use only.
import { connect } from 'node:net';

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = 'content-length:';

/**
 * Opens `connections` keep-alive connections; `call(requestBytes)` resolves with the answer's
 * HTTP status code once the whole answer (headers and Content-Length body) has arrived.
 */
export async function rawH1Client(host, port, { connections = 32 } = {}) {
  const idle = [];
  const waiting = []; // { bytes, resolve, reject } held until a connection is free
  const all = [];
  let failed;

  function fail(err) {
    if (failed) return;
    failed = err;
    for (const c of all) c.entry?.reject(err);
    for (const w of waiting) w.reject(err);
    waiting.length = 0;
  }

  let closing = false;

  function open() {
    const socket = connect({ host, port, noDelay: true });
    const conn = { socket, connected: false, entry: undefined, pending: undefined };
    // An answer this client cannot take: fail the request in flight and drop the connection
    // (its 'close' replaces it), as Envoy would.
    const broken = (why) => {
      conn.entry?.reject(new Error(why));
      conn.entry = undefined;
      conn.pending = undefined;
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      // Bytes with no request in flight (e.g. a 408 before the server closes an idle connection).
      if (!conn.entry) return broken('an answer without a request');
      const buf = conn.pending ? Buffer.concat([conn.pending, chunk]) : chunk;
      conn.pending = undefined;
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        conn.pending = buf;
        return;
      }
      // "HTTP/1.1 200 OK": the status is bytes 9-11.
      const status = (buf[9] - 48) * 100 + (buf[10] - 48) * 10 + (buf[11] - 48);
      const head = buf.latin1Slice(0, end).toLowerCase();
      const at = head.indexOf(CONTENT_LENGTH);
      if (at < 0) return broken(`answer without Content-Length (status ${status})`);
      const length = parseInt(head.slice(at + CONTENT_LENGTH.length, head.indexOf('\r\n', at)), 10);
      const total = end + 4 + length;
      if (buf.length < total) {
        conn.pending = buf;
        return;
      }
      if (buf.length > total) return broken('more bytes than one answer (the client never pipelines)');
      const entry = conn.entry;
      conn.entry = undefined;
      release(conn);
      entry.resolve(status);
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      // A connection that never opened is reported by open()'s promise instead.
      if (closing || !conn.connected) return;
      all.splice(all.indexOf(conn), 1);
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      conn.entry?.reject(new Error('connection closed by the server'));
      conn.entry = undefined;
      // Replace it; a server that refuses new connections fails the client.
      open().then(release, (e) => fail(e));
    });
    all.push(conn);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => {
        conn.connected = true;
        resolve(conn);
      });
      socket.once('error', reject);
    });
  }

  function release(conn) {
    const w = waiting.shift();
    if (w) send(conn, w);
    else idle.push(conn);
  }

  function send(conn, entry) {
    conn.entry = entry;
    conn.socket.write(entry.bytes);
  }

  for (const conn of await Promise.all(Array.from({ length: connections }, open))) idle.push(conn);

  return {
    call(bytes) {
      return new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        const entry = { bytes, resolve, reject };
        const conn = idle.pop();
        if (conn) send(conn, entry);
        else waiting.push(entry);
      });
    },
    close() {
      closing = true;
      failed ??= new Error('client closed');
      for (const c of all) c.socket.end();
    },
  };
}
