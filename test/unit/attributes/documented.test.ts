// The configurations the documentation shows are configurations the filter accepts and that do
// what the documentation says: the Istio WasmPlugin (envoy-configs/istio/attributes-wasmplugin.yaml)
// and the example at the top of docs/attributes.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadFilter } from '../../../sdk/src/host/index.js';
import { repoRoot } from '../host/wat.js';
import { loadAttributes, wasmPath } from './helpers.js';

describe('the documented Istio WasmPlugin (envoy-configs/istio/attributes-wasmplugin.yaml)', () => {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, 'envoy-configs', 'istio', 'attributes-wasmplugin.yaml'), 'utf8'))
    .map((d) => d.toJS() as Record<string, any>);

  it('is a WasmPlugin in the AUTHZ phase and a Telemetry reading the filter state it writes', () => {
    expect(docs.map((d) => d['kind'])).toEqual(['WasmPlugin', 'Telemetry']);
    expect(docs[0]!['spec'].phase).toBe('AUTHZ');
    expect(docs[0]!['spec'].pluginName).toBe('attributes');
    const tags = docs[1]!['spec'].metrics[0].overrides[0].tagOverrides as Record<string, { value: string }>;
    const names = (docs[0]!['spec'].pluginConfig.attributes as Array<{ name: string }>).map((a) => a.name);
    for (const t of Object.values(tags)) {
      const m = /^filter_state\['wasm\.meshward\.attr\.([a-z_]+)'\]$/.exec(t.value);
      expect(m, t.value).not.toBeNull();
      expect(names).toContain(m![1]);
    }
  });

  it('its pluginConfig loads (under the plugin name, and with no root id) and computes what it shows', async () => {
    const config = docs[0]!['spec'].pluginConfig;
    for (const name of ['attributes', '']) {
      const f = await loadFilter(wasmPath, { rootId: name, config });
      try {
        const res = await f.http({
          method: 'DELETE',
          path: '/orders/7',
          headers: { 'user-agent': 'curl/8.5.0', 'x-meshward-risk': 'low' },
          properties: { 'meshward.jwt.claims': JSON.stringify({ sub: 'a', tenant: 'acme' }) },
        });
        expect(res.upstreamRequest!.headers).toMatchObject({
          'x-meshward-op': 'DeleteOrder', 'x-meshward-client': 'cli', 'x-meshward-tenant': 'acme', 'x-meshward-risk': 'low',
        });
        expect(res.upstreamRequest!.headers['x-meshward-peer-ns']).toBeUndefined();
        const anon = await f.http({ method: 'DELETE', path: '/orders/7', headers: { 'user-agent': 'curl/8.5.0' } });
        expect(anon.upstreamRequest!.headers['x-meshward-risk']).toBe('medium');
        expect(anon.filterState['wasm.meshward.attr.op']).toBe('DeleteOrder');
      } finally {
        f.close();
      }
    }
  });
});

describe('the example configuration at the top of docs/attributes.md', () => {
  it('loads and computes', async () => {
    const md = readFileSync(join(repoRoot, 'docs', 'attributes.md'), 'utf8');
    const block = /## Configuration\s+```json\n([\s\S]*?)```/.exec(md);
    expect(block).not.toBeNull();
    const f = await loadAttributes(JSON.parse(block![1]!) as object);
    try {
      const res = await f.http({
        method: 'GET',
        path: '/users/3',
        headers: { 'x-partner': 'acme', 'user-agent': 'Mozilla/5.0 Firefox/128.0', 'accept-language': 'en', 'x-api-version': '2' },
      });
      expect(res.upstreamRequest!.headers['x-meshward-tier']).toBe('partner');
      expect(res.headers['x-tier']).toBe('partner');
      expect(res.filterState).toMatchObject({
        'wasm.meshward.attr.op': 'GetUser', 'wasm.meshward.attr.client': 'browser', 'wasm.meshward.attr.api_version': 'v2',
      });
    } finally {
      f.close();
    }
  });
});
