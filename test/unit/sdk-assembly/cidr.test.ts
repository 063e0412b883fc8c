// @meshward/sdk/assembly cidr.ts: IPv4/IPv6 parsing and formatting, CIDR parsing and containment
// (including IPv4-mapped IPv6), through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { probeBody, useProbe } from './probe.js';

const host = useProbe();
const run = (op: string, ...args: string[]): Promise<string> => probeBody(host(), op, args);

describe('IpAddress.parse / toString', () => {
  const valid: Array<[string, string]> = [
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.1.2.3', '10.1.2.3'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::ffff:a01:203', '::ffff:10.1.2.3'],
    ['::FFFF:10.1.2.3', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fe80::1:2', 'fe80::1:2'],
  ];
  it.each(valid)('%j -> %j', async (input, canonical) => {
    expect(await run('ip-parse', input)).toBe(canonical);
  });

  const invalid = [
    '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', '01.2.3.4', '1.2.3.04', '1..2.3', 'a.b.c.d', '1.2.3.4/8',
    ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2:3:4:5:6:7:8', ':1::', '1:2:3:4:5:6:7:8::',
    '::1.2.3', '1.2.3.4::', '::ffff:1.2.3.256', '::1.2.3.4:5', 'fe80::1%eth0', '[::1]', 'g::1', '1:2', 'localhost',
  ];
  it.each(invalid)('rejects %j', async (input) => {
    expect(await run('ip-parse', input)).toBe('null');
  });
});

describe('parseAddressWithPort', () => {
  const cases: Array<[string, string]> = [
    ['10.0.0.1:8080', '10.0.0.1'],
    ['10.0.0.1:0', '10.0.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['[::1]:443', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['::1', '::1'],
    ['10.0.0.1:', 'null'],
    ['10.0.0.1:65536', 'null'],
    ['10.0.0.1:http', 'null'],
    ['[::1', 'null'],
    ['[::1]x', 'null'],
    ['[::1]:', 'null'],
    ['[10.0.0.1]:80', 'null'],
    // The one-colon form is parsed in place: each bound of the address and the port counts.
    ['10.0.0.1:080', '10.0.0.1'],
    ['10.0.0.1:123456', 'null'],
    ['01.0.0.1:80', 'null'],
    ['10.0.0:80', 'null'],
    ['10.0.0.1.5:80', 'null'],
    ['10.0.0.256:80', 'null'],
    [':80', 'null'],
    ['10.0.0.1:8:0', 'null'],
  ];
  it.each(cases)('%j -> %j', async (input, expected) => {
    expect(await run('addr-parse', input)).toBe(expected);
  });
});

describe('Cidr.parse', () => {
  const valid: Array<[string, string]> = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.168.1.129/25', '192.168.1.128/25'],
    ['10.1.2.3', '10.1.2.3/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:ffff::/32', '2001:db8::/32'],
    ['2001:db8::1/127', '2001:db8::/127'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104'],
  ];
  it.each(valid)('%j -> %j', async (input, canonical) => {
    expect(await run('cidr-parse', input)).toBe(canonical);
  });

  const invalid = [
    '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/8/8', '2001:db8::/129', '/8', '10.0.0.0/a',
    '10.0.0/8', '10.0.0.0/1000', 'fe80::/10%eth0',
  ];
  it.each(invalid)('rejects %j', async (input) => {
    expect(await run('cidr-parse', input)).toBe('null');
  });
});

describe('Cidr.contains', () => {
  const cases: Array<[string, string, string]> = [
    ['10.0.0.0/8', '10.255.255.255', 'true'],
    ['10.0.0.0/8', '10.0.0.0', 'true'],
    ['10.0.0.0/8', '11.0.0.0', 'false'],
    ['10.0.0.0/8', '9.255.255.255', 'false'],
    ['192.168.1.128/25', '192.168.1.200', 'true'],
    ['192.168.1.128/25', '192.168.1.127', 'false'],
    ['172.16.0.0/12', '172.31.255.255', 'true'],
    ['172.16.0.0/12', '172.32.0.0', 'false'],
    ['10.1.2.3', '10.1.2.3', 'true'],
    ['10.1.2.3', '10.1.2.4', 'false'],
    ['0.0.0.0/0', '1.2.3.4', 'true'],
    ['0.0.0.0/0', '::1', 'false'],
    ['2001:db8::/32', '2001:db8:1::5', 'true'],
    ['2001:db8::/32', '2001:db9::', 'false'],
    ['2001:db8::/32', '10.0.0.1', 'false'],
    ['fe80::/10', 'fe80::1', 'true'],
    ['fe80::/10', 'febf::1', 'true'],
    ['fe80::/10', 'fec0::1', 'false'],
    ['::/0', '10.0.0.1', 'true'],
    // IPv4-mapped IPv6 addresses are the IPv4 client.
    ['10.0.0.0/8', '::ffff:10.9.8.7', 'true'],
    ['10.0.0.0/8', '::ffff:11.0.0.1', 'false'],
    ['10.0.0.0/8', '::10.9.8.7', 'false'],
    ['::ffff:10.0.0.0/104', '10.3.4.5', 'true'],
    ['::ffff:10.0.0.0/104', '11.3.4.5', 'false'],
    // Envoy's source.address form carries a port.
    ['10.0.0.0/8', '10.0.0.1:443', 'true'],
    ['2001:db8::/32', '[2001:db8::1]:8443', 'true'],
    ['2001:db8::/32', '[2001:db9::1]:8443', 'false'],
    ['10.0.0.0/33', '10.0.0.1', 'bad-cidr'],
    ['10.0.0.0/8', '10.0.0', 'bad-address'],
  ];
  it.each(cases)('%j contains %j: %s', async (cidr, address, expected) => {
    expect(await run('cidr-contains', cidr, address)).toBe(expected);
  });
});

describe('CidrSet', () => {
  it.each([
    ['10.0.0.0/8,192.168.0.0/16', '192.168.5.5', 'true'],
    ['10.0.0.0/8,192.168.0.0/16', '10.1.1.1', 'true'],
    ['10.0.0.0/8,192.168.0.0/16', '172.16.0.1', 'false'],
    ['10.0.0.0/8,2001:db8::/32', '[2001:db8::7]:80', 'true'],
    ['10.0.0.0/8,bogus', '10.0.0.1', 'bad-cidr'],
  ])('%j contains %j: %s', async (list, address, expected) => {
    expect(await run('cidrset-contains', list, address)).toBe(expected);
  });
});
