import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError, WasmLoadError, compileFilter, loadFilter } from '../../../sdk/src/host/index.js';
import { fixture, watToWasm } from './wat.js';

async function loadError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the load to fail');
}

describe('loading a module like Envoy', () => {
  it('rejects a module without a proxy_abi_version_* export', async () => {
    const e = await loadError(loadFilter(await fixture('no-abi.wat')));
    expect(e).toBeInstanceOf(WasmLoadError);
    expect(e.message).toBe('Missing or unknown Proxy-Wasm ABI version');
  });

  it('rejects a module importing a function Envoy does not provide', async () => {
    const e = await loadError(loadFilter(await fixture('unknown-import.wat')));
    expect(e).toBeInstanceOf(WasmLoadError);
    expect(e.message).toBe('Failed to load Wasm module due to a missing import: env.foo');
  });

  it('rejects an import with the wrong signature', async () => {
    const e = await loadError(loadFilter(await fixture('import-type-mismatch.wat')));
    expect(e.message).toBe(
      'Failed to load Wasm module due to an import type mismatch: env.proxy_log, want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32',
    );
  });

  it('offers proxy_get_log_level only to ABI 0.2.1 modules', async () => {
    const e = await loadError(loadFilter(await fixture('abi-0-2-0-log-level.wat')));
    expect(e.message).toBe('Failed to load Wasm module due to a missing import: env.proxy_get_log_level');
  });

  it('rejects bytes that are not a Wasm module', async () => {
    const e = await loadError(loadFilter(new TextEncoder().encode('not wasm at all')));
    expect(e.message).toBe('Failed to parse corrupted Wasm module');
  });

  it('rejects a module without malloc / proxy_on_memory_allocate', async () => {
    const wasm = await watToWasm('(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))');
    const e = await loadError(loadFilter(wasm));
    expect(e.message).toBe('Wasm module is missing malloc function.');
  });

  it('rejects an exported callback with the wrong signature', async () => {
    const wasm = await watToWasm(`(module
;;@prelude
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0)))`);
    const e = await loadError(loadFilter(wasm));
    expect(e.message).toBe(
      'Bad function signature for: proxy_on_request_headers, want: i32 i32 i32 -> i32, but the module exports: i32 i32 -> i32',
    );
  });

  it('traps hostcalls Envoy does not allow during _initialize and reports the load failure', async () => {
    const e = await loadError(loadFilter(await fixture('start-restricted.wat')));
    expect(e).toBeInstanceOf(WasmLoadError);
    expect(e.message).toMatch(/^Function: _initialize failed: Uncaught Error: restricted_callback/);
  });

  it('offers the smaller WASI set of Envoy 1.36-1.38 with importProfile envoy-1.36', async () => {
    const src = `(module
      (import "wasi_snapshot_preview1" "fd_tell" (func (param i32 i32) (result i32)))
;;@prelude
      (func (export "proxy_abi_version_0_2_1")))`;
    const wasm = await watToWasm(src);
    const f = await loadFilter(wasm);
    f.close();
    const e = await loadError(loadFilter(wasm, { importProfile: 'envoy-1.36' }));
    expect(e.message).toBe('Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.fd_tell');
  });

  it('loads from a file path and from a precompiled filter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshward-host-'));
    const path = join(dir, 'headers.wasm');
    writeFileSync(path, await fixture('headers.wat'));
    const f = await loadFilter(path);
    expect((await f.http()).status).toBe(200);
    f.close();
    const compiled = await compileFilter(await fixture('headers.wat'));
    const g = await loadFilter(compiled, { workers: 2 });
    expect(g.workers).toBe(2);
    g.close();
  });
});

describe('configuration', () => {
  it('passes the plugin and VM configuration to proxy_on_configure / proxy_on_vm_start', async () => {
    const f = await loadFilter(await fixture('config.wat'), { config: 'good config', vmConfig: 'vm settings' });
    expect(f.logs.map((l) => [l.level, l.message])).toEqual([
      ['info', 'vm settings'],
      ['info', 'good config'],
    ]);
    f.close();
  });

  it('JSON-encodes an object configuration', async () => {
    const f = await loadFilter(await fixture('config.wat'), { config: { response_headers: { 'x-a': 'b' } } });
    expect(f.logs.at(-1)?.message).toBe('{"response_headers":{"x-a":"b"}}');
    f.close();
  });

  it('throws when proxy_on_configure returns false, with what the filter logged', async () => {
    const e = await loadError(loadFilter(await fixture('config.wat'), { config: 'bad: missing field x' }));
    expect(e).toBeInstanceOf(ConfigRejectedError);
    const err = e as ConfigRejectedError;
    expect(err.phase).toBe('configure');
    expect(err.message).toContain('Failed to configure base Wasm plugin');
    expect(err.message).toContain('[error] bad: missing field x');
    expect(err.logs.map((l) => l.message)).toContain('bad: missing field x');
  });

  it('configures every worker VM', async () => {
    const f = await loadFilter(await fixture('config.wat'), { config: 'cfg', workers: 3 });
    expect(f.logs.filter((l) => l.message === 'cfg').map((l) => l.worker)).toEqual([0, 1, 2]);
    f.close();
  });
});

describe('ABI 0.1.0', () => {
  it('calls the two-argument proxy_on_request_headers and answers a missing header with OK and an empty value', async () => {
    const f = await loadFilter(await fixture('abi-0-1-0.wat'));
    const res = await f.http();
    expect(res.upstreamRequest?.headers['x-missing-result']).toBe('0');
    f.close();
  });
});
