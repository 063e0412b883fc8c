// @meshward/sdk/assembly body.ts: reading whole request/response bodies and replacing, prepending
// or appending with proxy_set_buffer_bytes, through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import type { UpstreamHandler } from '../../../sdk/src/host/index.js';
import { loadProbe, probe, useProbe } from './probe.js';

const host = useProbe();

describe('request body', () => {
  const reads: Array<[string, string | string[], string]> = [
    ['one chunk', 'hello', 'len=5;body=hello'],
    ['three chunks', ['ab', 'cd', 'ef'], 'len=6;body=abcdef'],
    ['UTF-8', 'héllo ✓', `len=${Buffer.byteLength('héllo ✓')};body=héllo ✓`],
    ['JSON', '{"a":[1,2]}', 'len=11;body={"a":[1,2]}'],
  ];
  it.each(reads)('reads the whole buffered body (%s)', async (_name, body, expected) => {
    const res = await probe(host(), 'request-body-read', [], { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.headers['x-probe-op']).toBe('request-body-read');
    expect(res.body).toBe(expected);
    expect(res.upstreamRequest).toBeUndefined();
  });

  it('reads a body delivered HTTP/2-style (end of stream on the last data chunk)', async () => {
    const h2 = await loadProbe({ http1Codec: false });
    const res = await probe(h2, 'request-body-read', [], { method: 'POST', body: ['x', 'yz'] });
    expect(res.body).toBe('len=3;body=xyz');
  });

  it('answers for a request without a body', async () => {
    const res = await probe(host(), 'request-body-read');
    expect(res.body).toBe('len=0;body=');
  });

  const edits: Array<[mode: string, text: string, body: string | string[], expected: string]> = [
    ['replace', 'NEW', 'old body', 'NEW'],
    ['replace', 'a much longer replacement body', 'short', 'a much longer replacement body'],
    ['replace', 'X', ['a', 'b', 'c'], 'X'],
    ['prepend', 'pre-', 'old', 'pre-old'],
    ['append', '-post', 'old', 'old-post'],
    ['append', '-post', ['o', 'l', 'd'], 'old-post'],
  ];
  it.each(edits)('%s %j on %j: the upstream gets %j', async (mode, text, body, expected) => {
    const res = await probe(host(), 'request-body-edit', [mode, text], { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.upstreamRequest?.body).toBe(expected);
    // content-length was removed by the filter; the upstream sees the new length, nothing stale.
    expect(res.warnings).toEqual([]);
    expect(res.upstreamRequest?.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
  });

  it.each([
    ['splice:0:2', 'abcdef', 'Xcdef'], // drop 2 bytes at the start, then prepend
    ['splice:0:6', 'abcdef', 'X'],
    ['splice:0:0', 'abcdef', 'Xabcdef'],
    ['splice:6:0', 'abcdef', 'abcdefX'], // start at the end appends
    ['splice:100:0', 'abcdef', 'abcdefX'],
  ])('setBufferBytes %s on %j -> %j', async (mode, body, expected) => {
    const res = await probe(host(), 'request-body-edit', [mode, 'X'], { method: 'POST', body });
    expect(res.upstreamRequest?.body).toBe(expected);
  });

  it('setBufferBytes refuses a write in the middle (BadArgument, as Envoy)', async () => {
    const res = await probe(host(), 'request-body-edit', ['splice:2:1', 'X'], { method: 'POST', body: 'abcdef' });
    expect(res.status).toBe(500);
    expect(res.body).toBe('edit=BadArgument');
    expect(res.upstreamRequest).toBeUndefined();
  });
});

describe('response body', () => {
  const upstream =
    (body: string | string[]): UpstreamHandler =>
    () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body });

  it.each([
    ['one chunk', 'upstream says hi', 'len=16;body=upstream says hi'],
    ['chunks', ['ab', 'cd', 'e'], 'len=5;body=abcde'],
  ] as Array<[string, string | string[], string]>)('reads the whole upstream body (%s)', async (_n, body, expected) => {
    const res = await probe(host(), 'response-body-read', [], { upstream: upstream(body) });
    expect(res.status).toBe(200);
    expect(res.body).toBe(expected);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.warnings).toEqual([]);
  });

  it.each([
    ['replace', 'R', 'original', 'R'],
    ['prepend', '>>', 'original', '>>original'],
    ['append', '<<', 'original', 'original<<'],
    ['append', '!', ['a', 'b'], 'ab!'],
  ] as Array<[string, string, string | string[], string]>)('%s %j on %j -> %j', async (mode, text, body, expected) => {
    const res = await probe(host(), 'response-body-edit', [mode, text], { upstream: upstream(body) });
    expect(res.status).toBe(200);
    expect(res.body).toBe(expected);
    expect(res.headers['content-type']).toBe('text/plain');
  });

  it('a refused response edit leaves the body as it was', async () => {
    const res = await probe(host(), 'response-body-edit', ['splice:3:1', 'X'], { upstream: upstream('original') });
    expect(res.body).toBe('original');
    expect(res.logs.map((l) => l.message)).toContain('sdk-probe: response body edit failed: BadArgument');
  });

  it('edits the echo upstream response too (the request reaches the upstream unchanged)', async () => {
    const res = await probe(host(), 'response-body-edit', ['prepend', 'X'], { method: 'POST', body: 'payload' });
    expect(res.body.startsWith('X{')).toBe(true);
    expect(JSON.parse(res.body.slice(1)).body).toBe('payload');
  });
});
