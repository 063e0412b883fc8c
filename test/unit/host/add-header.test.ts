/**
 * The AssemblyScript add-header filter (build/add-header.wasm, built by scripts/build.mjs) in the
 * Node host. Skipped until that file exists.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError, loadFilter } from '../../../sdk/src/host/index.js';
import { repoRoot } from './wat.js';

const wasmPath = join(repoRoot, 'build', 'add-header.wasm');

describe('build/add-header.wasm', () => {
  it('adds the configured response headers', async () => {
    const f = await loadFilter(wasmPath, { name: 'add-header', config: { response_headers: { 'x-a': 'b' } } });
    try {
      const res = await f.http({ path: '/' });
      expect(res.status).toBe(200);
      expect(res.headers['x-a']).toBe('b');
      expect(res.trap).toBeUndefined();
      const local = await f.http({ headers: { 'x-echo-status': '404' } });
      expect(local.status).toBe(404);
      expect(local.headers['x-a']).toBe('b');
    } finally {
      f.close();
    }
  });

  it('rejects a header value that is not a string, logging why', async () => {
    let error: unknown;
    try {
      (await loadFilter(wasmPath, { name: 'add-header', config: { response_headers: { 'x-a': 5 } } })).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigRejectedError);
    const err = error as ConfigRejectedError;
    expect(err.logs.map((l) => l.message).join('\n')).toMatch(
      /add-header: invalid plugin configuration: response_headers\.x-a: /,
    );
    expect(err.message).toContain('add-header: invalid plugin configuration: response_headers.x-a: ');
  });
});
