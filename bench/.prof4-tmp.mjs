import { exportJWK, generateKeyPair, SignJWT } from 'jose';
const ext = await import('../ext-authz/dist/index.js');
const ISS='https://bench.meshward.test';
const pair = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'b', alg: 'ES256' };
const def = ext.serviceDefinitions().authorization.Check;
const reqs = [];
for (let u = 0; u < 64; u++) {
  const token = await new SignJWT({ sub: `user-${u}`, role: 'viewer' }).setProtectedHeader({ alg: 'ES256', kid: 'b' }).setIssuer(ISS).setAudience('bench').setIssuedAt().setExpirationTime('1h').sign(pair.privateKey);
  reqs.push(def.requestSerialize({ attributes: { source: { address: { socket_address: { address: `10.0.${u}.7`, port_value: 40000 } } }, request: { http: { id: String(u), method: 'GET', path: `/api/orders/${u}?full=1`, host: 'api.example.com', headers: { authorization: `Bearer ${token}`, 'user-agent': `bench-agent/${u}`, 'x-tenant': 'acme', 'x-meshward-waf-score': '2', 'x-meshward-geo-country': 'FR', 'x-request-id': `r-${u}` } } } } }));
}
const sigs = {
  ip_reputation: { lists: [{ name: 'abuse', cidrs: ['203.0.113.0/24', '198.51.100.0/24'], score: 100 }] },
  geo: { denied_countries: ['KP'] }, new_device: {},
  velocity: { per_principal: { window_seconds: 60, max_requests: 1_000_000 }, per_ip: { window_seconds: 60, max_requests: 10_000_000 } },
  failed_auth: {}, waf: {}, route_sensitivity: {},
};
const pol = { policies: [
  { name: 'tenant', action: 'ALLOW', rules: [{ from: [{ source: { request_principals: [`${ISS}/*`] } }], when: [{ key: 'request.headers[x-tenant]', values: ['acme', 'globex'] }] }] } ] };
const cfgs = { jwt: { identity: { jwt: { issuers: [{ issuer: ISS, audiences: ['bench'], jwks: { keys: [jwk] } }] } }, policy: pol } };
cfgs.full = { ...cfgs.jwt, signals: sigs };
for (const name of (process.argv[2] ?? 'jwt,full').split(',')) {
  const a = await ext.Authorizer.create(ext.parseConfig(cfgs[name]), { logger: new ext.Logger('info', () => {}) });
  const one = async (i) => { const d = await a.check(ext.attributesFromCheckRequest(def.requestDeserialize(reqs[i % 64])), 'grpc'); return def.responseSerialize(ext.toCheckResponse(d)); };
  for (let i = 0; i < 3000; i++) await one(i);
  const n = 30000; const c = process.cpuUsage();
  for (let i = 0; i < n; i++) await one(i);
  const u = process.cpuUsage(c);
  console.log(name.padEnd(8), ((u.user + u.system) / n).toFixed(1), 'µs CPU');
}
