// @meshward/sdk must be publishable on its own: what `npm pack` would ship resolves every export.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/cli.js';

const sdkDir = join(repoRoot, 'sdk');

describe('@meshward/sdk package', () => {
  const pkg = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')) as {
    name: string;
    bin: Record<string, string>;
    exports: Record<string, string | { types: string; import: string }>;
  };
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: sdkDir, encoding: 'utf8' });
  const files = new Set((JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));

  it('is named @meshward/sdk with a `meshward` bin that is shipped', () => {
    expect(pkg.name).toBe('@meshward/sdk');
    expect(pkg.bin['meshward']).toBe('dist/cli/main.js');
    expect(files.has('dist/cli/main.js')).toBe(true);
    expect(readFileSync(join(sdkDir, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('ships the JavaScript and type declarations of every export, and the AssemblyScript library', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath.includes('*') || subpath === './package.json') continue;
      const targets = typeof target === 'string' ? [target] : [target.import, target.types];
      for (const t of targets) expect(files, `${subpath} -> ${t}`).toContain(t.replace(/^\.\//, ''));
    }
    expect(files).toContain('assembly/compat/rt/index-full.ts');
    expect(files).toContain('assembly/compat/bindings/wasi_unstable.ts');
    expect([...files].some((f) => f.endsWith('.tsbuildinfo'))).toBe(false);
  });

  it('its exports load in Node', async () => {
    const envoy = await import('@meshward/sdk/envoy');
    const tools = await import('@meshward/sdk/tools');
    const host = await import('@meshward/sdk/host');
    const authz = await import('@meshward/sdk/authz');
    expect(typeof host.loadFilter).toBe('function');
    const plugin = { name: 'p', defaultWeight: 1, parse: () => ({}), create: () => ({ name: 'p', evaluate: () => ({ score: 0 }) }) };
    expect(authz.defineSignal(plugin)).toBe(plugin);
    expect(typeof envoy.startEnvoy).toBe('function');
    expect(typeof tools.doctor).toBe('function');
  });
});
