// @meshward/sdk/assembly encoding.ts: strict base64 / base64url, hex, UTF-8 validation, compiled
// into the sdk-probe filter and driven through the Node host.
import { describe, expect, it } from 'vitest';
import { hex, probeBody, pseudoRandomBytes, useProbe } from './probe.js';

const host = useProbe();
const run = (op: string, ...args: string[]): Promise<string> => probeBody(host(), op, args);

describe('base64Decode (standard alphabet, padding required, canonical only)', () => {
  const valid: Array<[string, string]> = [
    ['', ''],
    ['QQ==', 'A'],
    ['QUI=', 'AB'],
    ['QUJD', 'ABC'],
    ['QUJDRA==', 'ABCD'],
    ['SGVsbG8sIHdvcmxkIQ==', 'Hello, world!'],
    ['AAAA', '\0\0\0'],
  ];
  it.each(valid)('decodes %j', async (input, text) => {
    expect(await run('b64-decode', input)).toBe(hex(text));
  });

  it('decodes every byte value and the + and / characters', async () => {
    expect(await run('b64-decode', '+/+/')).toBe('fbffbf');
    expect(await run('b64-decode', '////')).toBe('ffffff');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(await run('b64-decode', Buffer.from(all).toString('base64'))).toBe(hex(all));
  });

  const rejected: Array<[string, string]> = [
    ['Q', 'one character'],
    ['QQ', 'missing padding'],
    ['QQ=', 'partial padding'],
    ['QUJDRA=', 'length not a multiple of 4'],
    ['QR==', 'non-zero unused bits (one byte)'],
    ['QUJ=', 'non-zero unused bits (two bytes)'],
    ['Q===', 'three padding characters'],
    ['====', 'only padding'],
    ['QQ==QQ==', 'padding in the middle'],
    ['QQ=A', 'padding before data'],
    ['QU JD', 'inner space'],
    ['QUJ-', 'base64url character -'],
    ['QUJ_', 'base64url character _'],
    ['QUJD*', 'character outside the alphabet'],
    ['QUJ.', 'dot'],
  ];
  it.each(rejected)('rejects %j (%s)', async (input) => {
    expect(await run('b64-decode', input)).toBe('null');
  });
});

describe('base64UrlDecode (url alphabet, unpadded unless allowed)', () => {
  const valid: Array<[string, string]> = [
    ['', ''],
    ['QQ', '41'],
    ['QUI', '4142'],
    ['QUJD', '414243'],
    ['-_-_', 'fbffbf'],
    ['_w', 'ff'],
    ['AP8', '00ff'],
    ['eyJhbGciOiJSUzI1NiJ9', hex('{"alg":"RS256"}')],
  ];
  it.each(valid)('decodes %j', async (input, expected) => {
    expect(await run('b64url-decode', input)).toBe(expected);
  });

  const rejected: Array<[string, string]> = [
    ['Q', 'impossible length'],
    ['QQ==', 'padding when not allowed'],
    ['QR', 'non-zero unused bits (one byte)'],
    ['QUJ', 'non-zero unused bits (two bytes)'],
    ['+/+/', 'standard-alphabet characters'],
    ['QU=I', 'padding inside'],
    ['QUJD\t', 'tab'],
    ['QUJDQ', 'five characters'],
  ];
  it.each(rejected)('rejects %j (%s)', async (input) => {
    expect(await run('b64url-decode', input)).toBe('null');
  });

  it('accepts correct padding only when asked to', async () => {
    expect(await run('b64url-decode', 'QQ==', 'pad')).toBe('41');
    expect(await run('b64url-decode', 'QUI=', 'pad')).toBe('4142');
    expect(await run('b64url-decode', 'QQ', 'pad')).toBe('41');
    expect(await run('b64url-decode', 'QQ=', 'pad')).toBe('null');
    expect(await run('b64url-decode', 'QR==', 'pad')).toBe('null');
    expect(await run('b64url-decode', 'Q===', 'pad')).toBe('null');
  });
});

describe('base64Encode / base64UrlEncode', () => {
  const samples = Array.from({ length: 24 }, (_, i) => pseudoRandomBytes(i + 1, i * 3 + (i % 3)));
  it.each(samples.map((b) => [hex(b)]))('matches Node for bytes %s and decodes back', async (h) => {
    const bytes = Buffer.from(h, 'hex');
    const std = await run('b64-encode', h);
    expect(std).toBe(bytes.toString('base64'));
    const url = await run('b64url-encode', h);
    expect(url).toBe(bytes.toString('base64url'));
    expect(await run('b64url-encode', h, 'pad')).toBe(bytes.toString('base64url') + '='.repeat((4 - (url.length % 4)) % 4));
    expect(await run('b64-decode', std)).toBe(h);
    expect(await run('b64url-decode', url)).toBe(h);
  });

  it('encodes the RFC 4648 test vectors', async () => {
    const vectors: Array<[string, string]> = [
      ['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy'],
    ];
    for (const [text, b64] of vectors) expect(await run('b64-encode', hex(text))).toBe(b64);
  });

  it('hexDecode rejects odd lengths and non-hex characters', async () => {
    expect(await run('b64-encode', 'abc')).toBe('bad-hex');
    expect(await run('b64-encode', 'zz')).toBe('bad-hex');
    expect(await run('b64-encode', 'FFfe')).toBe('//4=');
  });
});

describe('isValidUtf8 / decodeUtf8', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const nodeAccepts = (h: string): boolean => {
    try {
      fatal.decode(Buffer.from(h, 'hex'));
      return true;
    } catch {
      return false;
    }
  };
  const cases: Array<[string, boolean, string]> = [
    ['', true, 'empty'],
    ['41', true, 'ASCII'],
    ['7f', true, 'DEL'],
    ['c2a9', true, '©'],
    ['dfbf', true, 'U+07FF'],
    ['e282ac', true, '€'],
    ['ed9fbf', true, 'U+D7FF (last before surrogates)'],
    ['ee8080', true, 'U+E000 (first after surrogates)'],
    ['efbfbf', true, 'U+FFFF'],
    ['f09f9880', true, 'emoji'],
    ['f48fbfbf', true, 'U+10FFFF'],
    ['80', false, 'lone continuation byte'],
    ['bf', false, 'lone continuation byte'],
    ['c0af', false, 'overlong "/" (2 bytes)'],
    ['c1bf', false, 'overlong (C1)'],
    ['e080af', false, 'overlong (3 bytes)'],
    ['f08282ac', false, 'overlong (4 bytes)'],
    ['eda080', false, 'surrogate U+D800'],
    ['edbfbf', false, 'surrogate U+DFFF'],
    ['f4908080', false, 'above U+10FFFF'],
    ['f5808080', false, 'F5 lead byte'],
    ['ff', false, 'FF'],
    ['fe', false, 'FE'],
    ['c2', false, 'truncated 2-byte'],
    ['e282', false, 'truncated 3-byte'],
    ['f09f98', false, 'truncated 4-byte'],
    ['41c2', false, 'truncated at the end'],
    ['c241', false, 'bad continuation'],
    ['e228a1', false, 'bad second byte'],
    ['f0288cbc', false, 'bad second byte (4-byte)'],
  ];
  it.each(cases)('%s is %s (%s)', async (h, valid) => {
    expect(nodeAccepts(h)).toBe(valid); // the table agrees with WHATWG's fatal decoder
    expect(await run('utf8-validate', h)).toBe(valid ? 'valid' : 'invalid');
    expect(await run('utf8-decode', h)).toBe(valid ? 'text:' + Buffer.from(h, 'hex').toString('utf8') : 'null');
  });

  it('decodes multi-byte text', async () => {
    expect(await run('utf8-decode', hex('Héllo wörld ✓ 😀'))).toBe('text:Héllo wörld ✓ 😀');
  });
});
