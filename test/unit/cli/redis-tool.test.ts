// redis-server as a managed tool: found through REDIS_BIN, <home>/bin or PATH, its version read,
// reported by doctor, and `setup --only redis` leaves a working copy alone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isResolved, resolveTool, setup, toolVersion } from '../../../sdk/src/tools/index.js';
import { runCli } from '../../support/cli.js';

describe('redis-server as a managed tool', () => {
  it('resolves from PATH and reads its version', () => {
    const t = resolveTool('redis', { PATH: process.env['PATH'] ?? '', MESHWARD_HOME: mkdtempSync(join(tmpdir(), 'meshward-home-')) });
    expect(isResolved(t)).toBe(true);
    if (!isResolved(t)) return;
    expect(t.path).toMatch(/redis-server$/);
    expect(toolVersion(t)?.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('REDIS_BIN pointing nowhere is an error, not a fallback', () => {
    const t = resolveTool('redis', { ...process.env, REDIS_BIN: '/nonexistent/redis-server' });
    expect(isResolved(t)).toBe(false);
    expect('reason' in t && t.reason).toContain('REDIS_BIN=/nonexistent/redis-server is not an executable file');
  });

  it('doctor lists it; setup --if-missing keeps the working copy', async () => {
    const r = runCli(['doctor']);
    expect(r.stdout).toMatch(/\[ok {2}\] redis \d+\.\d+\.\d+ at \S+redis-server/);
    const lines: string[] = [];
    const results = await setup({ ifMissing: true, tools: ['redis'], log: (l) => lines.push(l) });
    expect(results).toEqual([expect.objectContaining({ tool: 'redis', ok: true })]);
    expect(results[0]!.message).toMatch(/^redis: using \S+redis-server \((path|env|managed)\)$/);
  });

  it('doctor says how to get it when it is missing', () => {
    const r = runCli(['doctor'], { ...process.env, REDIS_BIN: '/nonexistent/redis-server' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[FAIL] redis');
    expect(r.stdout).toContain('npx meshward setup --only redis');
  });
});
