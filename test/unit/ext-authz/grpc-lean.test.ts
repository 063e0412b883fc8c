// The lean gRPC transport (server.grpc.transport: lean) at the protocol level: raw frames for what
// client libraries never send (bad prefaces, broken header blocks, tiny windows, resets), and a
// @grpc/grpc-js client for what they do (many calls on one connection, large and compressed
// messages). Real Envoy talks to it in test/e2e/ext-authz-grpc-transport.test.ts.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceDefinitions, startAuthzServer, type AuthzServer } from '../../../ext-authz/src/index.js';
import { FLAG, FRAME, frame, grpcFramed, grpcRequestHeaders, headerBlock, RawH2Client, type Frame } from '../../support/h2-raw.js';

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const running: AuthzServer[] = [];
const raws: RawH2Client[] = [];
const clients: grpc.Client[] = [];
let lines: string[] = [];

afterEach(async () => {
  for (const c of raws.splice(0)) c.close();
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((s) => s.close()));
  lines = [];
});

async function start(): Promise<AuthzServer> {
  const loopback = { host: '127.0.0.1', port: 0 };
  const s = await startAuthzServer(
    {
      log_level: 'info',
      server: { grpc: loopback, http: { enabled: false }, admin: { enabled: false } },
      policy: { policies: [{ name: 'deny-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] }] },
    },
    { logSink: (l) => lines.push(l), shutdownGraceMs: 200 },
  );
  running.push(s);
  return s;
}

async function raw(s: AuthzServer, settings: Array<[number, number]> = [], preface = true): Promise<RawH2Client> {
  const c = await RawH2Client.open(s.ports.grpc!, settings, preface);
  raws.push(c);
  return c;
}

const defs = serviceDefinitions();
const encodeCheck = (path: string, headers: Record<string, string> = {}) =>
  defs.authorization['Check']!.requestSerialize({
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 40000 } } },
      request: { http: { id: 'r', method: 'GET', path, host: 'api.local', headers: { ':path': path, ...headers } } },
    },
  });
const decodeResponse = (message: Buffer) => defs.authorization['Check']!.responseDeserialize(message) as { status?: { code?: number }; denied_response?: { status?: { code?: string } } };

/** The frames the server sent on one stream, and the response message (gRPC prefix removed). */
async function answerOn(c: RawH2Client, streamId: number): Promise<{ frames: Frame[]; headers: Record<string, string>; message?: Buffer }> {
  const end = await c.waitFor((f) => f.streamId === streamId && (f.type === FRAME.RST_STREAM || (f.flags & FLAG.END_STREAM) !== 0 && (f.type === FRAME.HEADERS || f.type === FRAME.DATA)));
  expect(end, `stream ${streamId} ended`).toBeDefined();
  const frames = c.frames.filter((f) => f.streamId === streamId);
  const headers = Object.assign({}, ...frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.headers));
  const data = Buffer.concat(frames.filter((f) => f.type === FRAME.DATA).map((f) => f.payload));
  return { frames, headers, ...(data.length ? { message: data.subarray(5, 5 + data.readUInt32BE(1)) } : {}) };
}

const request = (streamId: number, path: string, body: Buffer, extra: Array<[string, string]> = []) => [
  frame(FRAME.HEADERS, FLAG.END_HEADERS, streamId, headerBlock(grpcRequestHeaders(path, extra))),
  frame(FRAME.DATA, FLAG.END_STREAM, streamId, body),
];

describe('lean gRPC transport: frames', () => {
  it('answers a Check sent in pieces: HEADERS :status 200, one DATA, trailers grpc-status 0; SETTINGS and PING acknowledged', async () => {
    const s = await start();
    const c = await raw(s);
    const [headers, data] = request(1, CHECK, grpcFramed(encodeCheck('/admin/x')));
    // The request split across writes and mid-frame.
    c.send(headers!.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    c.send(headers!.subarray(5), data!.subarray(0, 12));
    await new Promise((r) => setTimeout(r, 20));
    c.send(data!.subarray(12), frame(FRAME.PING, 0, 0, Buffer.from('12345678')));
    const a = await answerOn(c, 1);
    expect(a.frames.map((f) => f.type)).toEqual([FRAME.HEADERS, FRAME.DATA, FRAME.HEADERS]);
    expect(a.headers).toMatchObject({ ':status': '200', 'content-type': 'application/grpc', 'grpc-status': '0' });
    expect(decodeResponse(a.message!)).toMatchObject({ status: { code: 7 }, denied_response: { status: { code: 'Forbidden' } } });
    expect(await c.waitFor((f) => f.type === FRAME.PING && f.flags === FLAG.ACK && f.payload.toString() === '12345678')).toBeDefined();
    expect(await c.waitFor((f) => f.type === FRAME.SETTINGS && f.flags === FLAG.ACK)).toBeDefined();
    const settings = c.frames.find((f) => f.type === FRAME.SETTINGS && f.flags === 0)!;
    expect(settings.payload.length % 6).toBe(0);
  });

  it('a connection without the HTTP/2 preface gets GOAWAY PROTOCOL_ERROR and is closed; the log says why; the server goes on', async () => {
    const s = await start();
    const c = await raw(s, [], false);
    c.send(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
    const goaway = await c.waitFor((f) => f.type === FRAME.GOAWAY);
    expect(goaway?.payload.readUInt32BE(4)).toBe(1); // PROTOCOL_ERROR
    expect(goaway?.payload.subarray(8).toString()).toMatch(/not an HTTP\/2 connection preface/);
    expect(await c.waitClosed()).toBe(true);
    expect(lines.some((l) => /grpc connection error/.test(l) && /PROTOCOL_ERROR/.test(l))).toBe(true);
    const ok = await raw(s);
    ok.send(...request(1, CHECK, grpcFramed(encodeCheck('/x'))));
    expect((await answerOn(ok, 1)).headers['grpc-status']).toBe('0');
  });

  it('a header block that names an entry not in the table is a COMPRESSION_ERROR: GOAWAY and close', async () => {
    const s = await start();
    const c = await raw(s);
    c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.from([0x80 | 70])));
    const goaway = await c.waitFor((f) => f.type === FRAME.GOAWAY);
    expect(goaway?.payload.readUInt32BE(4)).toBe(9); // COMPRESSION_ERROR
    expect(await c.waitClosed()).toBe(true);
  });

  it('call errors answer on their stream and keep the connection: unknown method, wrong content type, GET, malformed and badly framed messages', async () => {
    const s = await start();
    const c = await raw(s);
    const good = grpcFramed(encodeCheck('/x'));
    c.send(
      ...request(1, '/pkg.Nope/Call', good),
      frame(FRAME.HEADERS, FLAG.END_HEADERS, 3, headerBlock(grpcRequestHeaders(CHECK).map(([n, v]) => [n, n === 'content-type' ? 'application/json' : v] as [string, string]))),
      frame(FRAME.DATA, FLAG.END_STREAM, 3, good),
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 5, headerBlock(grpcRequestHeaders(CHECK).map(([n, v]) => [n, n === ':method' ? 'GET' : v] as [string, string]))),
      ...request(7, CHECK, grpcFramed(Buffer.from([0x0a, 0x05, 0x01]))),
      ...request(9, CHECK, Buffer.concat([good, good])),
      ...request(11, CHECK, good.subarray(0, good.length - 1)),
      ...request(13, CHECK, Buffer.alloc(0)),
      ...request(15, CHECK, grpcFramed(Buffer.from('not gzip'), true), [['grpc-encoding', 'gzip']]),
      ...request(17, CHECK, grpcFramed(encodeCheck('/x'), true), [['grpc-encoding', 'snappy']]),
      ...request(19, CHECK, good),
    );
    const status = async (id: number) => (await answerOn(c, id)).headers;
    expect(await status(1)).toMatchObject({ 'grpc-status': '12', 'grpc-message': 'unknown method /pkg.Nope/Call' });
    expect((await status(3))[':status']).toBe('415');
    expect((await status(5))[':status']).toBe('405');
    expect(await status(7)).toMatchObject({ 'grpc-status': '3', 'grpc-message': 'malformed CheckRequest' });
    expect(await status(9)).toMatchObject({ 'grpc-status': '12', 'grpc-message': 'more than one request message for a unary call' });
    expect(await status(11)).toMatchObject({ 'grpc-status': '13', 'grpc-message': 'truncated gRPC message' });
    expect(await status(13)).toMatchObject({ 'grpc-status': '13', 'grpc-message': 'no request message' });
    expect(await status(15)).toMatchObject({ 'grpc-status': '13', 'grpc-message': 'could not decompress the gzip message' });
    expect(await status(17)).toMatchObject({ 'grpc-status': '12', 'grpc-accept-encoding': 'identity,deflate,gzip' });
    expect(await status(19)).toMatchObject({ 'grpc-status': '0' });
    expect(c.closed).toBe(false);
  });

  it('a header block over CONTINUATION frames is read; a header list over 64 KiB gets RESOURCE_EXHAUSTED and the connection goes on', async () => {
    const s = await start();
    const c = await raw(s);
    const send = (id: number, extra: Array<[string, string]>) => {
      const block = headerBlock(grpcRequestHeaders(CHECK, extra));
      const pieces: Buffer[] = [];
      for (let p = 0; p < block.length; p += 10_000) pieces.push(block.subarray(p, p + 10_000));
      c.send(
        ...pieces.map((piece, i) => frame(i === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, i === pieces.length - 1 ? FLAG.END_HEADERS : 0, id, piece)),
        frame(FRAME.DATA, FLAG.END_STREAM, id, grpcFramed(encodeCheck('/x'))),
      );
    };
    send(1, [['x-pad', 'p'.repeat(30_000)]]);
    expect((await answerOn(c, 1)).headers['grpc-status']).toBe('0');
    send(3, [['x-pad', 'p'.repeat(40_000)], ['x-pad2', 'q'.repeat(40_000)]]);
    expect((await answerOn(c, 3)).headers).toMatchObject({ 'grpc-status': '8', 'grpc-message': 'request headers over 65536 bytes' });
    c.send(...request(5, CHECK, grpcFramed(encodeCheck('/x'))));
    expect((await answerOn(c, 5)).headers['grpc-status']).toBe('0');
  });

  it('flow control: with a 16-byte stream window from the client, the answer waits for WINDOW_UPDATE', async () => {
    const s = await start();
    const c = await raw(s, [[0x4, 16]]); // SETTINGS_INITIAL_WINDOW_SIZE
    c.send(...request(1, CHECK, grpcFramed(encodeCheck('/admin/y'))));
    expect(await c.waitFor((f) => f.streamId === 1 && f.type === FRAME.HEADERS)).toBeDefined();
    expect(await c.waitFor((f) => f.streamId === 1 && f.type === FRAME.DATA, 150)).toBeUndefined();
    c.send(frame(FRAME.WINDOW_UPDATE, 0, 1, Buffer.from([0, 0, 0x10, 0])));
    const a = await answerOn(c, 1);
    expect(a.headers['grpc-status']).toBe('0');
    expect(decodeResponse(a.message!).status?.code).toBe(7);
  });

  it('a stream left open while 2,100 newer ones come and go is still answered when its request ends', async () => {
    const s = await start();
    const c = await raw(s);
    c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(grpcRequestHeaders(CHECK))));
    const body = grpcFramed(encodeCheck('/x'));
    // In batches of 100 streams, each answered before the next (a client keeps under the
    // server's SETTINGS_MAX_CONCURRENT_STREAMS).
    for (let id = 3; id <= 4201; id += 200) {
      const batch: Buffer[] = [];
      for (let j = id; j < id + 200; j += 2) batch.push(...request(j, CHECK, body));
      c.send(...batch);
      expect((await answerOn(c, id + 198)).headers['grpc-status']).toBe('0');
    }
    c.send(frame(FRAME.DATA, FLAG.END_STREAM, 1, grpcFramed(encodeCheck('/admin/late'))));
    const late = await answerOn(c, 1);
    expect(decodeResponse(late.message!).status?.code).toBe(7);
    expect(c.frames.filter((f) => f.type === FRAME.HEADERS && f.headers?.['grpc-status'] === '0')).toHaveLength(2101);
  });

  it('a stream the client resets before its request ends gets no answer; the next one does', async () => {
    const s = await start();
    const c = await raw(s);
    c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(grpcRequestHeaders(CHECK))), frame(FRAME.RST_STREAM, 0, 1, Buffer.from([0, 0, 0, 8])));
    c.send(...request(3, CHECK, grpcFramed(encodeCheck('/x'))));
    expect((await answerOn(c, 3)).headers['grpc-status']).toBe('0');
    expect(c.frames.filter((f) => f.streamId === 1)).toEqual([]);
  });
});

describe('lean gRPC transport: a @grpc/grpc-js client', () => {
  function checkClient(s: AuthzServer, options: grpc.ChannelOptions = {}) {
    const Auth = grpc.makeGenericClientConstructor(defs.authorization, 'Authorization');
    const a = new Auth(`127.0.0.1:${s.ports.grpc}`, grpc.credentials.createInsecure(), options) as unknown as grpc.Client & Record<string, (r: unknown, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>;
    clients.push(a);
    return (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status?: { code?: number } }>((resolve, reject) =>
        a['Check']!({ attributes: { request: { http: { method: 'GET', path, headers: { ':path': path, ...headers } } } } }, (e, r) => (e ? reject(e) : resolve(r as { status?: { code?: number } }))),
      );
  }

  it('400 concurrent calls on one channel are each answered with their own decision', async () => {
    const check = checkClient(await start());
    const paths = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? `/admin/${i}` : `/ok/${i}`));
    const answers = await Promise.all(paths.map((p) => check(p, { 'x-request-id': `id-${p}` })));
    expect(answers.map((a) => a.status?.code ?? 0)).toEqual(paths.map((p) => (p.startsWith('/admin') ? 7 : 0)));
  });

  it('a 3 MiB request crosses several stream windows; one over 8 MiB is RESOURCE_EXHAUSTED; gzip-compressed requests are read', async () => {
    const s = await start();
    const check = checkClient(s);
    expect((await check('/admin/big', { 'x-big': 'b'.repeat(3 << 20) })).status?.code).toBe(7);
    await expect(check('/x', { 'x-huge': 'h'.repeat(9 << 20) })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect((await check('/ok')).status?.code ?? 0).toBe(0);
    const gzipped = checkClient(s, { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    expect((await gzipped('/admin/z', { 'x-text': 'repeat '.repeat(1000) })).status?.code).toBe(7);
  });

  it('server.grpc.transport is validated at load, naming the field', async () => {
    await expect(startAuthzServer({ server: { grpc: { transport: 'nghttp2' } } })).rejects.toThrow(/server\.grpc\.transport/);
  });
});
