// The Kubernetes manifests in envoy-configs/ stay consistent with the server: the embedded
// authz.yaml passes the server's own validation, and the provider, ports and header names agree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../ext-authz/src/index.js';
import { repoRoot } from '../../support/cli.js';

type Doc = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown>; data?: Record<string, string> };
const docs = (file: string) => parseAllDocuments(readFileSync(join(repoRoot, 'envoy-configs', file), 'utf8')).map((d) => d.toJSON() as Doc);

describe('envoy-configs/istio/meshward-authz.yaml', () => {
  const all = docs('istio/meshward-authz.yaml');
  const byKind = (k: string) => all.filter((d) => d.kind === k);

  it('the ConfigMap holds a valid server config using Redis state, signals and thresholds', () => {
    const config = parseConfigText(byKind('ConfigMap')[0]!.data!['authz.yaml']!);
    expect(config.state).toMatchObject({ kind: 'redis', url: 'redis://redis.meshward.svc.cluster.local:6379' });
    expect(config.signals.list.map((s) => s.plugin.name)).toEqual(['velocity', 'new_device', 'failed_auth', 'waf', 'route_sensitivity', 'workload_posture']);
    expect(config.risk.thresholds.map((t) => t.decision)).toEqual(['deny', 'step_up', 'read_only']);
    expect([config.server.grpc.port, config.server.http.port, config.server.admin.port]).toEqual([9191, 9192, 9193]);
  });

  it('the extension provider, the CUSTOM policy and the Service agree on names and ports', () => {
    const mesh = (byKind('IstioOperator')[0]!.spec!['meshConfig'] as { extensionProviders: Array<Record<string, Record<string, unknown> | string>> }).extensionProviders;
    const grpc = mesh.find((p) => p['name'] === 'meshward-authz')!['envoyExtAuthzGrpc'] as Record<string, unknown>;
    expect(grpc).toMatchObject({ service: 'meshward-authz.meshward.svc.cluster.local', port: 9191, failOpen: false });
    const http = mesh.find((p) => p['name'] === 'meshward-authz-http')!['envoyExtAuthzHttp'] as Record<string, string[]>;
    expect(http['headersToUpstreamOnAllow']).toEqual(expect.arrayContaining(['x-meshward-principal', 'x-meshward-risk-score', 'x-meshward-risk-reasons']));
    expect(http['headersToDownstreamOnDeny']).toEqual(expect.arrayContaining(['www-authenticate', 'retry-after']));
    const policy = byKind('AuthorizationPolicy')[0]!;
    expect(policy.spec).toMatchObject({ action: 'CUSTOM', provider: { name: 'meshward-authz' } });
    const svc = byKind('Service')[0]!;
    expect(`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`).toBe(grpc['service']);
  });
});

describe('envoy-configs/envoy-gateway/meshward-authz.yaml', () => {
  it('SecurityPolicies point extAuth at the server in gRPC and HTTP mode, with a ReferenceGrant', () => {
    const all = docs('envoy-gateway/meshward-authz.yaml');
    const [grpc, http] = all.filter((d) => d.kind === 'SecurityPolicy').map((d) => d.spec!['extAuth'] as Record<string, Record<string, unknown>>);
    expect(grpc!['grpc']!['backendRefs']).toEqual([{ name: 'meshward-authz', namespace: 'meshward', port: 9191 }]);
    expect(http!['http']!['backendRefs']).toEqual([{ name: 'meshward-authz', namespace: 'meshward', port: 9192 }]);
    expect(http!['http']!['headersToBackend']).toContain('x-meshward-risk-score');
    expect(all.find((d) => d.kind === 'ReferenceGrant')!.spec).toMatchObject({ to: [{ kind: 'Service', name: 'meshward-authz' }] });
  });
});
