// The ext_authz benches' shared workload: 64 principals' requests (an ES256 token each, their own
// address, device and path, so per-principal risk history stays realistic), the full pipeline's
// configuration (JWT with cached keys, seven risk signals, YAML policies) and the Rego policy
// added to it. bench/authz-check.mjs serves them over gRPC; bench/authz-rego.mjs in process.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const BENCH_ISSUER = 'https://bench.meshward.test';

export const BENCH_REGO_ENTRYPOINT = 'bench/authz/allow';
export const BENCH_REGO = `package bench.authz

import rego.v1

default allow := false

allow if {
  input.identity.kind == "jwt"
  input.risk.score < 70
  input.attributes.request.http.method in {"GET", "POST"}
}
`;

/** A fresh signing key, its public JWK and the 64 requests' CheckRequest attributes. */
export async function benchRequests() {
  const pair = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'b', alg: 'ES256' };
  const attributes = [];
  for (let u = 0; u < 64; u++) {
    const token = await new SignJWT({ sub: `user-${u}`, role: 'viewer' }).setProtectedHeader({ alg: 'ES256', kid: 'b' }).setIssuer(BENCH_ISSUER).setAudience('bench').setIssuedAt().setExpirationTime('1h').sign(pair.privateKey);
    attributes.push({
      source: { address: { socket_address: { address: `10.0.${u}.7`, port_value: 40000 } } },
      destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8080 } } },
      request: {
        http: {
          id: String(u), method: 'GET', path: `/api/orders/${u}?full=1`, host: 'api.example.com', scheme: 'https', protocol: 'HTTP/1.1',
          headers: { ':path': `/api/orders/${u}?full=1`, ':method': 'GET', ':authority': 'api.example.com', authorization: `Bearer ${token}`, 'user-agent': `bench-agent/${u}`, 'x-tenant': 'acme', 'x-meshward-waf-score': '2', 'x-meshward-geo-country': 'FR', 'x-request-id': `r-${u}` },
        },
      },
    });
  }
  return { jwk, attributes };
}

/**
 * The full pipeline's configuration (no server section): `signals: false` leaves the risk
 * signals out (JWT + YAML only), `regoFile` adds the Rego policy (BENCH_REGO written there).
 */
export function fullPipelineConfig({ jwk, signals = true, regoFile }) {
  return {
    reload: { enabled: false },
    identity: { jwt: { issuers: [{ issuer: BENCH_ISSUER, audiences: ['bench'], jwks: { keys: [jwk] } }] } },
    signals: !signals ? {} : {
      ip_reputation: { lists: [{ name: 'abuse', cidrs: ['203.0.113.0/24', '198.51.100.0/24'], score: 100 }] },
      geo: { denied_countries: ['KP'] },
      new_device: {},
      velocity: { per_principal: { window_seconds: 60, max_requests: 1_000_000 }, per_ip: { window_seconds: 60, max_requests: 10_000_000 } },
      failed_auth: {},
      waf: {},
      route_sensitivity: {},
    },
    risk: { step_up: { acr_values: 'mfa' }, thresholds: [{ score: 90, decision: 'deny' }, { score: 70, decision: 'step_up' }] },
    policy: {
      policies: [
        { name: 'no-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }], when: [{ key: 'request.auth.claims[role]', not_values: ['admin'] }] }] },
        { name: 'no-deletes-when-risky', action: 'DENY', decision: 'read_only', rules: [{ when: [{ key: 'risk.score', values: ['>=50'] }] }] },
        { name: 'tenant', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: [`${BENCH_ISSUER}/*`] } }], when: [{ key: 'request.headers[x-tenant]', values: ['acme', 'globex'] }] }] },
      ],
      ...(regoFile ? { rego: { file: regoFile, entrypoint: BENCH_REGO_ENTRYPOINT } } : {}),
    },
  };
}
