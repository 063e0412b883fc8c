// The MaxMind DB reader behind the geo signal's `database`, on files written by
// test/support/mmdb.ts from the published format: every record size, IPv4 and IPv6 trees,
// typed values and pointers, and files that are not MaxMind DBs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, countryOf, decodeMmdbValue, factsOf, MemoryState, MmdbReader, parseConfig, RiskEngine, type CheckAttributes } from '../../../ext-authz/src/index.js';
import { encode, writeMmdb } from '../../support/mmdb.js';

const country = (iso: string) => ({ country: { iso_code: iso, names: { en: iso } } });
const NETWORKS = [
  { cidr: '81.2.69.0/24', record: country('GB') },
  { cidr: '175.16.199.0/24', record: country('CN') },
  { cidr: '2001:db8:1::/48', record: country('FR') },
  { cidr: '203.0.113.0/25', record: { registered_country: { iso_code: 'JP' } } },
];

describe('MmdbReader', () => {
  it.each([24, 28, 32] as const)('record size %i: finds IPv4 and IPv6 networks in an IPv6 tree', (recordSize) => {
    const db = new MmdbReader(writeMmdb(NETWORKS, { recordSize }));
    expect(db.metadata).toMatchObject({ record_size: recordSize, ip_version: 6, database_type: 'Meshward-Test-Country', binary_format_major_version: 2 });
    expect(countryOf(db.lookup('81.2.69.142'))).toBe('GB');
    expect(countryOf(db.lookup('175.16.199.1'))).toBe('CN');
    expect(countryOf(db.lookup('2001:db8:1:2::7'))).toBe('FR');
    // IPv4-mapped IPv6, as a dual-stack socket reports an IPv4 peer.
    expect(countryOf(db.lookup('::ffff:81.2.69.1'))).toBe('GB');
    // registered_country when there is no country.
    expect(countryOf(db.lookup('203.0.113.5'))).toBe('JP');
    expect(db.lookup('203.0.113.200')).toBeUndefined();
    expect(db.lookup('8.8.8.8')).toBeUndefined();
    expect(db.lookup('2001:db8:2::1')).toBeUndefined();
    expect(db.lookup('not an ip')).toBeUndefined();
  });

  it('an IPv4-only tree answers IPv4 and nothing for IPv6', () => {
    const db = new MmdbReader(writeMmdb(NETWORKS.filter((n) => !n.cidr.includes(':')), { ipVersion: 4 }));
    expect(countryOf(db.lookup('81.2.69.7'))).toBe('GB');
    expect(db.lookup('2001:db8:1::1')).toBeUndefined();
  });

  it('decodes every value type and follows pointers into the data section', () => {
    const value = { s: 'é', n: 70000, small: 7, list: ['a', true, false], nested: { k: 'v' } };
    expect(decodeMmdbValue(encode(value), 0, 0)).toEqual(value);
    // A map whose value is a pointer (type 1, size bits 0) to offset 0: a string stored once, used twice.
    const shared = encode('shared');
    const map = Buffer.concat([Buffer.from([0xe2]), encode('a'), Buffer.from([0x20, 0x00]), encode('b'), Buffer.from([0x20, 0x00])]);
    const buf = Buffer.concat([shared, map]);
    expect(decodeMmdbValue(buf, 0, shared.length)).toEqual({ a: 'shared', b: 'shared' });
    // A pointer to itself is refused, not followed forever.
    expect(() => decodeMmdbValue(Buffer.from([0x20, 0x00]), 0, 0)).toThrow(/nested too deeply/);
  });

  it('refuses files that are not MaxMind DBs', () => {
    expect(() => new MmdbReader(Buffer.from('hello'))).toThrow(/no metadata marker/);
    const bad = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), encode({ node_count: 1, record_size: 20, ip_version: 6, binary_format_major_version: 2 })]);
    expect(() => new MmdbReader(bad)).toThrow(/record_size/);
    const huge = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), encode({ node_count: 1000, record_size: 24, ip_version: 6, binary_format_major_version: 2 })]);
    expect(() => new MmdbReader(huge)).toThrow(/larger than the file/);
  });
});

describe('the geo signal with a database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshward-mmdb-'));
  writeFileSync(join(dir, 'country.mmdb'), writeMmdb(NETWORKS));
  writeFileSync(join(dir, 'not.mmdb'), 'plain text');

  const attrs = (ip: string, headers: Record<string, string> = {}): CheckAttributes => ({
    source: { address: { socket_address: { address: ip } } },
    request: { http: { method: 'GET', path: '/', headers } },
  });
  const assess = (e: RiskEngine, a: CheckAttributes) => e.assess({ attrs: a, identity: { kind: 'anonymous' }, facts: factsOf(a, { kind: 'anonymous' }), nowMs: 0 });

  it('looks the source address up when no trusted header names the country; the header wins when present', async () => {
    const config = parseConfig({ signals: { geo: { database: 'country.mmdb', denied_countries: ['CN'], weight: 100 } } }, { baseDir: dir });
    expect(config.files).toContain(join(dir, 'country.mmdb'));
    const e = new RiskEngine(config.signals.list, new MemoryState());
    const cn = await assess(e, attrs('175.16.199.20'));
    expect(cn).toMatchObject({ score: 100, reasons: ['geo:denied_country CN'] });
    expect(cn.data['geo']).toEqual({ score: 100, country: 'CN', from: 'database' });
    expect((await assess(e, attrs('81.2.69.1'))).data['geo']).toMatchObject({ country: 'GB', from: 'database' });
    expect((await assess(e, attrs('175.16.199.20', { 'x-meshward-geo-country': 'DE' }))).data['geo']).toMatchObject({ country: 'DE', from: 'header' });
    expect((await assess(e, attrs('8.8.8.8'))).data['geo']).toEqual({ score: 0, country: null });
  });

  it('a file that is not a MaxMind DB is a config error naming the field', () => {
    try {
      parseConfig({ signals: { geo: { database: 'not.mmdb', denied_countries: ['CN'] } } }, { baseDir: dir });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([`signals.geo.database: ${join(dir, 'not.mmdb')}: not a MaxMind DB file (no metadata marker)`]);
    }
  });
});
