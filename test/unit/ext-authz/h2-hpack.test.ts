// HPACK for the lean HTTP/2 transport: the Huffman code against codes RFC 7541 lists, every header
// a real encoder (nghttp2, through a node:http2 client) sends decoded back byte for byte across a
// connection's life (dynamic table, eviction, Huffman, never-indexed fields), and each malformed
// block refused with a COMPRESSION_ERROR-class HpackError.
import { connect, sensitiveHeaders, type ClientHttp2Session } from 'node:http2';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_H2_OPTIONS, H2ServerConnection, type RequestHead } from '../../../ext-authz/src/protocol/h2/connection.js';
import { HpackDecoder, HpackError, HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, indexedField, literalWithStaticName, type HeaderSink } from '../../../ext-authz/src/protocol/h2/hpack.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('HPACK Huffman code', () => {
  it('is a complete prefix code whose codes match those RFC 7541 Appendix B lists', () => {
    let kraft = 0;
    for (let s = 0; s <= 256; s++) kraft += 2 ** -HUFFMAN_CODE_LENGTHS[s]!;
    expect(kraft).toBe(1);
    const listed: Array<[number, number, number]> = [
      // symbol, code, bits
      [48, 0x0, 5], // '0'
      [97, 0x3, 5], // 'a'
      [116, 0x9, 5], // 't'
      [32, 0x14, 6], // ' '
      [117, 0x2d, 6], // 'u'
      [58, 0x5c, 7], // ':'
      [122, 0x7b, 7], // 'z'
      [38, 0xf8, 8], // '&'
      [33, 0x3f8, 10], // '!'
      [0, 0x1ff8, 13],
      [92, 0x7fff0, 19], // '\'
      [255, 0x3ffffee, 26],
      [10, 0x3ffffffc, 30],
      [256, 0x3fffffff, 30], // EOS
    ];
    for (const [symbol, code, bits] of listed) {
      expect([HUFFMAN_CODES[symbol], HUFFMAN_CODE_LENGTHS[symbol]], `symbol ${symbol}`).toEqual([code, bits]);
    }
  });
});

/** Collects a request's fields as latin1 strings, in order. */
class CollectingHead implements RequestHead, HeaderSink {
  listSize = 0;
  fields: Array<[string, string]> = [];
  field(name: Uint8Array, value: Uint8Array): void {
    this.listSize += name.length + value.length + 32;
    this.fields.push([text(name), text(value)]);
  }
}

describe('HPACK decoding what nghttp2 encodes (node:http2 client, one connection)', () => {
  let server: Server;
  let client: ClientHttp2Session;
  const received: Array<Array<[string, string]>> = [];

  beforeAll(async () => {
    // The lean connection with an application that records each request's header list and
    // answers 200 with no body.
    server = createServer((socket) => {
      new H2ServerConnection<CollectingHead>(
        socket,
        {
          newHead: () => new CollectingHead(),
          onRequest: (stream) => {
            received.push(stream.head.fields);
            stream.respond(indexedField(8), undefined, undefined);
          },
          onTooLarge: (stream) => stream.respond(literalWithStaticName(8, '413'), undefined, undefined),
          onHeadersTooLarge: (stream) => stream.respond(literalWithStaticName(8, '431'), undefined, undefined),
          onConnectionError: (m) => {
            throw new Error(m);
          },
        },
        DEFAULT_H2_OPTIONS,
        () => {},
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const send = (headers: Record<string, string | string[]>, sensitive: string[] = []) =>
    new Promise<number>((resolve, reject) => {
      const req = client.request({ ':method': 'POST', ':path': '/svc/Method', ...headers, ...(sensitive.length ? { [sensitiveHeaders]: sensitive } : {}) }, { endStream: true });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.resume();
    });

  it('decodes 400 requests byte for byte: repeated headers (indexed), new values (Huffman), long values, never-indexed fields, evictions', async () => {
    // Every printable byte and every byte 0x80-0xff, each in a value where Huffman is shorter
    // than the raw bytes (so nghttp2 uses it), and values of 100-3,000 bytes (multi-byte lengths,
    // entries that evict the whole 4,096-byte table or do not fit in it).
    const bytes = [...Array.from({ length: 95 }, (_, i) => 0x20 + i), ...Array.from({ length: 128 }, (_, i) => 0x80 + i)];
    const expected: Array<Array<[string, string]>> = [];
    for (let i = 0; i < 400; i++) {
      const b = bytes[i % bytes.length]!;
      const headers: Record<string, string> = {
        'content-type': 'application/grpc',
        te: 'trailers',
        'x-request-id': `${i.toString(16).padStart(8, '0')}-1111-2222-3333-${(i * 7919).toString(16)}`,
        'x-byte': `0000000000${String.fromCharCode(b)}0000000000`,
        'user-agent': 'grpc-node-js/1.0',
      };
      if (i % 7 === 0) headers['x-long'] = 'ab'.repeat(50 + i * 4);
      if (i % 50 === 3) headers['x-huge'] = 'z'.repeat(5000);
      const sensitive = i % 3 === 0 ? ['authorization'] : [];
      if (sensitive.length) headers['authorization'] = `Bearer token-${i}`;
      expect(await send(headers, sensitive)).toBe(200);
      expected.push([[':method', 'POST'], [':path', '/svc/Method'], ...Object.entries(headers)]);
    }
    expect(received).toHaveLength(400);
    for (let i = 0; i < 400; i++) {
      // node adds :scheme and :authority; compare the fields it was given, in its order.
      const got = received[i]!.filter(([n]) => n !== ':scheme' && n !== ':authority');
      expect(new Map(got), `request ${i}`).toEqual(new Map(expected[i]));
      expect(got).toHaveLength(expected[i]!.length);
    }
  });
});

describe('HPACK decoding errors', () => {
  const sink: HeaderSink = { field: () => {} };
  const decodes = (bytes: number[]) => () => new HpackDecoder().decode(Uint8Array.from(bytes), sink);

  it('decodes the representations it is given (static index, literal name, Huffman value, size update)', () => {
    const fields: Array<[string, string]> = [];
    const d = new HpackDecoder();
    const collect: HeaderSink = { field: (n, v) => fields.push([text(n), text(v)]) };
    // size update to 256; :method POST (index 3); literal with indexing "x-a: b"; then that entry (62).
    d.decode(Uint8Array.from([0x3f, 0xe1, 0x01, 0x83, 0x40, 3, 0x78, 0x2d, 0x61, 1, 0x62, 0xbe]), collect);
    // "a" Huffman-coded: 00011 + 111 padding = 0x1f.
    d.decode(Uint8Array.from([0x00, 1, 0x61, 0x81, 0x1f]), collect);
    expect(fields).toEqual([
      [':method', 'POST'],
      ['x-a', 'b'],
      ['x-a', 'b'],
      ['a', 'a'],
    ]);
    expect(d.dynamicCount).toBe(1);
  });

  it('refuses index 0, indices past the table, truncated integers and strings', () => {
    expect(decodes([0x80])).toThrow(HpackError);
    expect(decodes([0x80 | 62])).toThrow(/index 62 is not in the table/);
    expect(decodes([0xff])).toThrow(/truncated integer/);
    expect(decodes([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).toThrow(/integer too large/);
    expect(decodes([0x00, 5, 0x61])).toThrow(/string longer than its header block/);
    expect(decodes([0x00])).toThrow(/truncated string/);
  });

  it('refuses bad Huffman: padding not all ones, padding of 8 bits or more, EOS in the string', () => {
    expect(decodes([0x00, 1, 0x61, 0x81, 0x18])).toThrow(/padding is not all ones/);
    expect(decodes([0x00, 1, 0x61, 0x82, 0x1f, 0xff])).toThrow(/padding longer than 7 bits/);
    expect(decodes([0x00, 1, 0x61, 0x84, 0xff, 0xff, 0xff, 0xff])).toThrow(/EOS/);
  });

  it('refuses a table size update above the advertised size, or after a field', () => {
    expect(decodes([0x3f, 0xe2, 0x1f])).toThrow(/above the allowed 4096/);
    expect(decodes([0x83, 0x20])).toThrow(/size update after a header field/);
  });

  it('evicts oldest first and keeps indices right; an entry larger than the table empties it', () => {
    const d = new HpackDecoder(4096);
    const fields: string[] = [];
    const collect: HeaderSink = { field: (n, v) => fields.push(`${text(n)}=${text(v)}`) };
    const literal = (name: string, value: string) => [0x40, name.length, ...Buffer.from(name), ...(value.length < 127 ? [value.length] : [0x7f, value.length - 127]), ...Buffer.from(value)];
    // Each entry is 32 + 1 + 100 = 133 bytes; 40 of them overflow the 4,096-byte table.
    for (let i = 0; i < 40; i++) d.decode(Uint8Array.from(literal(String.fromCharCode(97 + (i % 26)), String(i).padStart(100, '0'))), collect);
    // 30 entries fit: the newest (index 62) is #39, the oldest kept (index 91) #10.
    expect(d.dynamicCount).toBe(30);
    fields.length = 0;
    d.decode(Uint8Array.from([0x80 | 62, 0x80 | 91]), collect);
    expect(fields).toEqual([`n=${'39'.padStart(100, '0')}`, `k=${'10'.padStart(100, '0')}`]);
    expect(() => d.decode(Uint8Array.from([0x80 | 92]), collect)).toThrow(/not in the table/);
    // 5,000 bytes: larger than the table, so the table is emptied and nothing added (length 5,000
    // = 127 + 4,873 as a 7-bit-prefix integer: 0x7f, 0x89, 0x26).
    d.decode(Uint8Array.from([0x40, 1, 0x78, 0x7f, 0x89, 0x26, ...Buffer.from('y'.repeat(5000))]), collect);
    expect(d.dynamicCount).toBe(0);
  });
});
