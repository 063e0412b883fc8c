import { describe, expect, it } from 'vitest';
import { cidrContains, matchPattern, parseCidr, parseIp } from '../../../ext-authz/src/index.js';

describe('CIDR matching', () => {
  it.each<[string, string, boolean]>([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.0/24', '192.168.1.255', true],
    ['192.168.1.0/24', '192.168.2.0', false],
    ['192.168.1.128/25', '192.168.1.127', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['203.0.113.7', '203.0.113.7', true],
    ['203.0.113.7', '203.0.113.8', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::1', '::1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['10.0.0.0/8', '2001:db8::1', false],
    ['2001:db8::/32', '10.0.0.1', false],
    ['10.0.0.0/8', 'not-an-ip', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(cidrContains(parseCidr(cidr), ip)).toBe(expected);
  });

  it('parses addresses to bytes and refuses bad input', () => {
    expect([...parseIp('1.2.3.4')!]).toEqual([1, 2, 3, 4]);
    expect([...parseIp('::ffff:1.2.3.4')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    expect([...parseIp('[2001:db8::1]')!].slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(parseIp('1.2.3')).toBeUndefined();
    // Dotted quads (read by a fast path) against node's own IPv4 syntax, edge by edge.
    const v4 = (t: string) => (parseIp(t) ? [...parseIp(t)!] : undefined);
    expect(v4('0.0.0.0')).toEqual([0, 0, 0, 0]);
    expect(v4('255.255.255.255')).toEqual([255, 255, 255, 255]);
    expect(v4('10.0.3.7')).toEqual([10, 0, 3, 7]);
    expect(v4(' 10.0.3.7 ')).toEqual([10, 0, 3, 7]);
    expect(v4('10.0.3.7%eth0')).toEqual([10, 0, 3, 7]);
    for (const bad of ['256.1.1.1', '1.2.3.256', '01.2.3.4', '1.2.3.00', '1.2.3.4.', '.1.2.3.4', '1..2.3', '1.2.3.4.5', '1.2.3.a', '1.2.3.-1', '1234.1.1.1', '1.2.3.', '']) {
      expect(v4(bad), bad).toBeUndefined();
    }
    expect(() => parseCidr('10.0.0.0/abc')).toThrow('prefix length must be 0-32');
    expect(() => parseCidr('::/129')).toThrow('prefix length must be 0-128');
  });
});

describe('Istio string patterns', () => {
  it.each<[string, string | undefined, boolean]>([
    ['*', 'x', true],
    ['*', '', false],
    ['*', undefined, false],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['ab*', 'abcd', true],
    ['ab*', 'ab', true],
    ['*cd', 'abcd', true],
    ['*cd', 'abce', false],
  ])('%s ~ %j: %s', (pattern, value, expected) => {
    expect(matchPattern(pattern, value)).toBe(expected);
  });
});
