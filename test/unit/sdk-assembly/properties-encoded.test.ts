// @meshward/sdk/assembly getPropertyEncoded: a property read through a path encoded once, with the
// host's buffer adopted instead of copied, answers exactly like getProperty (bytes, empty, missing),
// through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { probeBody, useProbe } from './probe.js';

const host = useProbe();

describe('getPropertyEncoded', () => {
  it('returns the same bytes as getProperty for present, empty, binary and missing properties', async () => {
    const init = {
      path: '/p?q=1',
      properties: { source: { address: '10.1.2.3:5555', port: 5555 }, custom: { empty: '', big: 'x'.repeat(70000) } },
    };
    for (const path of ['request.path', 'source.address', 'source.port', 'connection.mtls', 'custom.empty', 'custom.big', 'missing.thing']) {
      const viaPath = await probeBody(host(), 'property', [path, 'bytes'], init);
      const viaEncoded = await probeBody(host(), 'property', [path, 'encoded'], init);
      expect(viaEncoded, path).toBe(viaPath);
    }
    expect(await probeBody(host(), 'property', ['source.address', 'encoded'], init)).toBe(Buffer.from('10.1.2.3:5555').toString('hex'));
    expect(await probeBody(host(), 'property', ['custom.empty', 'encoded'], init)).toBe('');
    expect(await probeBody(host(), 'property', ['missing.thing', 'encoded'], init)).toBe('null');
  });

  it('many reads in a row keep answering correctly (adopted buffers are ordinary garbage afterwards)', async () => {
    for (let i = 0; i < 300; i++) {
      const v = `v${i}-${'y'.repeat(i * 10)}`;
      const res = await probeBody(host(), 'property', ['custom.v', 'encoded'], { properties: { custom: { v } } });
      expect(res).toBe(Buffer.from(v).toString('hex'));
    }
  });
});
