// `meshward token`: tokens from the demo issuer, verifiable with its published JWKS; bad options
// are refused with a message naming the option.
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'meshward-token-'));
const env = { ...process.env, MESHWARD_HOME: home };
afterAll(() => rmSync(home, { recursive: true, force: true }));

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

describe('meshward token', () => {
  it('mints a token with the given sub, claims, alg and lifetime, verifiable with the issuer JWKS', () => {
    const r = runCli(['token', '--sub', 'bob', '--claims', '{"role":"admin","groups":["ops"]}', '--alg', 'ES384', '--exp', '30m'], env);
    expect(r.code, r.stderr).toBe(0);
    const [h, p, s] = r.stdout.trim().split('.') as [string, string, string];
    const header = decode(h);
    const payload = decode(p);
    expect(header).toMatchObject({ alg: 'ES384', typ: 'JWT', kid: 'demo-es384' });
    expect(payload).toMatchObject({ iss: 'https://demo.meshward.local', aud: 'demo-gateway', sub: 'bob', role: 'admin', groups: ['ops'] });
    expect((payload['exp'] as number) - (payload['iat'] as number)).toBe(1800);
    const jwks = JSON.parse(runCli(['token', '--jwks'], env).stdout) as { keys: Array<Record<string, string>> };
    expect(jwks.keys.every((k) => k['d'] === undefined)).toBe(true); // public parts only
    const jwk = jwks.keys.find((k) => k['kid'] === 'demo-es384')!;
    const ok = verify('sha384', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    expect(ok).toBe(true);
  });

  it('keeps one key set per home: a second token verifies with the same JWKS', () => {
    const a = JSON.parse(runCli(['token', '--jwks'], env).stdout) as unknown;
    runCli(['token'], env);
    expect(JSON.parse(runCli(['token', '--jwks'], env).stdout)).toEqual(a);
  });

  it('an expired token on request (--exp -5m)', () => {
    const p = decode(runCli(['token', '--exp', '-5m'], env).stdout.trim().split('.')[1]!);
    expect((p['exp'] as number) - (p['iat'] as number)).toBe(-300);
  });

  it.each([
    [['--claims', '[1,2]'], /--claims: expected a JSON object/],
    [['--claims', '{nope'], /--claims: not JSON/],
    [['--alg', 'none'], /--alg: expected one of RS256/],
    [['--exp', 'tomorrow'], /--exp: "tomorrow" is not a duration/],
    [['--sub'], /--sub needs a value/],
    [['--kid', 'x'], /unknown option --kid/],
  ])('refuses %j', (args, message) => {
    const r = runCli(['token', ...args], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
