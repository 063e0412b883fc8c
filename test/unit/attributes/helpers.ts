// Shared helpers for the attributes filter's unit tests (build/attributes.wasm in the Node host).
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigRejectedError, loadFilter, type HttpRequestInit } from '../../../sdk/src/host/index.js';
import { repoRoot } from '../host/wat.js';

export const wasmPath = join(repoRoot, 'build', 'attributes.wasm');

export const loadAttributes = (config: object | string) => loadFilter(wasmPath, { name: 'attributes', config, logLevel: 'trace' });

/** The rejection message of a configuration (fails the test when it loads). */
export async function rejection(config: object | string): Promise<string> {
  try {
    (await loadAttributes(config)).close();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigRejectedError);
    return (e as Error).message;
  }
  throw new Error(`config was accepted: ${JSON.stringify(config)}`);
}

/** A rules attribute that always yields `expr`, written to filter state only. */
export const valueAttr = (name: string, expr: string) => ({ name, rules: [{ value: expr }] });

/**
 * Evaluates each expression as its own attribute on one request and returns what each rendered
 * to (filter state `wasm.meshward.attr.<name>`), `undefined` when absent.
 */
export async function evaluateAll(exprs: readonly string[], req: HttpRequestInit): Promise<Array<string | undefined>> {
  const f = await loadAttributes({ attributes: exprs.map((e, i) => valueAttr(`e${i}`, e)) });
  try {
    const res = await f.http(req);
    expect(res.trap).toBeUndefined();
    expect(res.status).toBe(200);
    return exprs.map((_, i) => res.filterState[`wasm.meshward.attr.e${i}`]);
  } finally {
    f.close();
  }
}
