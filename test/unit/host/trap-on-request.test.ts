/**
 * The AssemblyScript trap-on-request fixture filter (build/trap-on-request.wasm) in the Node host:
 * the same fail-closed behaviour the real-Envoy tests check. Skipped until the file exists.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFilter } from '../../../sdk/src/host/index.js';
import { repoRoot } from './wat.js';

const wasmPath = join(repoRoot, 'build', 'trap-on-request.wasm');

describe('build/trap-on-request.wasm', () => {
  it('fails the request closed with a 503 and reports the abort message; the VM stays failed', async () => {
    const f = await loadFilter(wasmPath, { name: 'trap-on-request' });
    try {
      expect((await f.http({ path: '/ok' })).status).toBe(200);
      const res = await f.http({ path: '/trap/x' });
      expect(res.status).toBe(503);
      expect(res.localReply?.details).toBe('wasm_fail_stream');
      expect(res.trap?.message).toMatch(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
      expect(res.trap?.abortMessage).toContain('trap-on-request: deliberate trap for /trap/x');
      expect((await f.http({ path: '/ok' })).status).toBe(503);
    } finally {
      f.close();
    }
  });
});
