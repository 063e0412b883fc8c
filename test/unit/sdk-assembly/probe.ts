/**
 * Drives test/fixtures/filters/sdk-probe (build/sdk-probe.wasm) in the Node host: `x-probe: <op>`
 * names the operation, `x-arg-1..5` carry its arguments, and most operations answer with a 200
 * local reply whose body is the result (see test/fixtures/filters/sdk-probe/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { compileFilter, loadFilter, type CompiledFilter, type HostOptions, type HttpRequestInit, type HttpResult, type ProxyWasmHost } from '../../../sdk/src/host/index.js';
import { buildDir } from '../../support/cli.js';

export const probeWasm = readFileSync(join(buildDir, 'sdk-probe.wasm'));

const open: ProxyWasmHost[] = [];
let compiled: Promise<CompiledFilter> | undefined;

/** A host running the probe (compiled once per file); closed after the current test. */
export async function loadProbe(options: HostOptions = {}): Promise<ProxyWasmHost> {
  compiled ??= compileFilter(probeWasm);
  const host = await loadFilter(await compiled, { name: 'sdk-probe', config: {}, ...options });
  open.push(host);
  return host;
}

afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

/** One probe host for a whole file (or describe block): returns a getter valid inside tests. */
export function useProbe(options: HostOptions = {}): () => ProxyWasmHost {
  let host: ProxyWasmHost | undefined;
  beforeAll(async () => {
    compiled ??= compileFilter(probeWasm);
    host = await loadFilter(await compiled, { name: 'sdk-probe', config: {}, ...options });
  });
  afterAll(() => host?.close());
  return () => {
    if (!host) throw new Error('useProbe(): the host is only available inside tests');
    return host;
  };
}

/** The request headers for an operation; empty arguments are left out (the probe reads them as ""). */
export function probeHeaders(op: string, args: readonly string[] = []): Array<[string, string]> {
  const headers: Array<[string, string]> = [['x-probe', op]];
  args.forEach((a, i) => {
    if (a !== '') headers.push([`x-arg-${i + 1}`, a]);
  });
  return headers;
}

export type ProbeInit = Omit<HttpRequestInit, 'headers'> & { headers?: Array<[string, string]> };

export function probe(host: ProxyWasmHost, op: string, args: readonly string[] = [], init: ProbeInit = {}): Promise<HttpResult> {
  return host.http({ ...init, headers: [...(init.headers ?? []), ...probeHeaders(op, args)] });
}

/** Runs an operation that answers with a 200 probe reply and returns its body. */
export async function probeBody(host: ProxyWasmHost, op: string, args: readonly string[] = [], init: ProbeInit = {}): Promise<string> {
  const res = await probe(host, op, args, init);
  if (res.trap) throw new Error(`the probe trapped on ${op}: ${res.trap.message}`);
  if (res.status !== 200 || res.headers['x-probe-op'] !== op) {
    throw new Error(`${op}: expected a 200 probe reply, got ${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
  }
  return res.body;
}

export const hex = (s: string | Uint8Array): string => Buffer.from(s).toString('hex');

/** Deterministic pseudo-random bytes (xorshift32), for round-trip tables. */
export function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Resolves once `cond()` holds (polling the event loop), or throws after `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise<void>((r) => setImmediate(r));
  }
}
