import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../../support/cli.js';

describe('meshward authz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshward-authz-cli-'));

  it('--check validates the demo config', () => {
    const r = runCli(['authz', '--config', join(repoRoot, 'examples', 'demo-gateway', 'authz', 'authz.yaml'), '--check']);
    // The demo injects the issuer's key at start; on its own the file lacks a JWKS source.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('identity.jwt.issuers[0]: set one of jwks_uri, jwks_file, jwks');
  });

  it('--check accepts a valid file and names the field of an invalid one', () => {
    writeFileSync(join(dir, 'ok.yaml'), 'server:\n  grpc: { port: 0 }\npolicy:\n  policies:\n    - name: all\n      action: ALLOW\n      rules: [{}]\n');
    const ok = runCli(['authz', '--config', join(dir, 'ok.yaml'), '--check']);
    expect(ok.stdout).toContain('is valid (1 native policy, 0 JWT issuer(s))');
    expect(ok.code).toBe(0);
    writeFileSync(join(dir, 'bad.yaml'), 'identity:\n  jwt:\n    issuers:\n      - issuer: https://idp\n        jwks_uri: idp/jwks\n');
    const bad = runCli(['authz', '--config', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('identity.jwt.issuers[0].jwks_uri: expected a URL (http or https), got "idp/jwks"');
  });

  it('without --config prints usage and exits 2', () => {
    const r = runCli(['authz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give the config file: --config <file.yaml>');
  });
});
