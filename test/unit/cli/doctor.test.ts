import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';

describe('meshward doctor', () => {
  it('reports each tool with its version and path, and exits 0 when all needed tools exist', () => {
    const r = runCli(['doctor']);
    expect(r.stdout).toMatch(/\[ok {2}\] envoy 1\.\d+\.\d+ at \/\S+/);
    expect(r.stdout).toMatch(/\[ok {2}\] opa v?1\.\d+\.\d+ at \/\S+/);
    expect(r.stdout).toMatch(/\[ok {2}\] node \d+/);
    expect(r.code).toBe(0);
  });

  it('says Envoy is missing and how to fix it, and exits non-zero, when ENVOY_BIN points nowhere', () => {
    const r = runCli(['doctor'], { ...process.env, ENVOY_BIN: '/nonexistent/envoy' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[FAIL] envoy');
    expect(r.stdout).toContain('ENVOY_BIN=/nonexistent/envoy is not an executable file');
    expect(r.stdout).toContain('npx meshward setup');
    expect(r.stdout).toMatch(/missing envoy/);
  });

  it('says Envoy is missing when there is no managed copy and none on PATH', () => {
    const emptyHome = mkdtempSync(join(tmpdir(), 'meshward-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, MESHWARD_HOME: emptyHome, PATH: '/usr/bin:/bin' };
    delete env['ENVOY_BIN'];
    delete env['OPA_BIN'];
    const r = runCli(['doctor'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`[FAIL] envoy: missing: no managed copy under ${emptyHome} and none on PATH`);
    expect(r.stdout).toContain('[FAIL] opa');
  });
});

describe('meshward envoy / setup', () => {
  it('`meshward envoy --version` runs the managed Envoy', () => {
    const r = runCli(['envoy', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/version: \w+\/1\.\d+\.\d+\//);
  });

  it('`meshward setup --if-missing` is a quiet no-op when the tools are present', () => {
    const started = Date.now();
    const r = runCli(['setup', '--if-missing']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('`meshward setup` refuses a broken ENVOY_BIN instead of installing over it', () => {
    const r = runCli(['setup', '--only', 'envoy'], { ...process.env, ENVOY_BIN: '/nonexistent/envoy' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ENVOY_BIN=/nonexistent/envoy');
  });

  it('unknown commands fail with usage', () => {
    const r = runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
