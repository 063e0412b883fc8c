import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_JWT_ALGORITHMS, loadConfigFile, parseConfig, parseConfigText } from '../../../ext-authz/src/index.js';

const JWK = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' };

function issuesOf(raw: unknown, baseDir?: string): string[] {
  try {
    parseConfig(raw, baseDir ? { baseDir } : {});
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  return [];
}

describe('config validation names the field', () => {
  it.each<[string, unknown, string]>([
    ['log level', { log_level: 'loud' }, 'log_level: expected one of debug, info, warn, error, got "loud"'],
    ['unknown top-level field', { sever: {} }, 'sever: unknown field; expected one of log_level, server, identity, signals, risk, state, reload, policy, response'],
    ['misspelt field with a hint', { identity: { jwt: { clockSkewSeconds: 5 } } }, 'identity.jwt.clockSkewSeconds: unknown field (did you mean "clock_skew_seconds"?)'],
    ['port type', { server: { grpc: { port: '9191' } } }, 'server.grpc.port: expected an integer, got "9191"'],
    ['port range', { server: { http: { port: 70000 } } }, 'server.http.port: expected 0..65535, got 70000'],
    ['same port twice', { server: { grpc: { port: 9000 }, http: { port: 9000 } } }, 'server.http.port: port 9000 is already used by server.grpc.port'],
    ['no protocol', { server: { grpc: { enabled: false }, http: { enabled: false } } }, 'server: enable at least one of grpc and http'],
    ['path prefix', { server: { http: { path_prefix: 'authz/' } } }, 'server.http.path_prefix: expected a path like /authz'],
    ['jwks_uri not a URL', { identity: { jwt: { issuers: [{ issuer: 'a', jwks_uri: 'not a url' }] } } }, 'identity.jwt.issuers[0].jwks_uri: expected a URL (http or https), got "not a url"'],
    ['jwks_uri scheme', { identity: { jwt: { issuers: [{ issuer: 'a', jwks_uri: 'file:///etc/jwks' }] } } }, 'identity.jwt.issuers[0].jwks_uri: expected a URL'],
    ['no jwks source', { identity: { jwt: { issuers: [{ issuer: 'a' }] } } }, 'identity.jwt.issuers[0]: set one of jwks_uri, jwks_file, jwks'],
    ['two jwks sources', { identity: { jwt: { issuers: [{ issuer: 'a', jwks_uri: 'https://x/j', jwks: { keys: [JWK] } }] } } }, 'set only one of jwks_uri, jwks_file, jwks (got jwks_uri, jwks)'],
    ['issuer missing', { identity: { jwt: { issuers: [{ jwks: { keys: [JWK] } }] } } }, 'identity.jwt.issuers[0].issuer: required field missing'],
    ['alg none', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [JWK] }, algorithms: ['none'] }] } } }, 'identity.jwt.issuers[0].algorithms[0]: alg "none" is never accepted'],
    ['unknown alg', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [JWK] }, algorithms: ['RS256', 'XS1'] }] } } }, 'identity.jwt.issuers[0].algorithms[1]: unsupported algorithm "XS1"'],
    ['HS algorithms', { identity: { jwt: { issuers: [{ issuer: 'a', jwks_uri: 'https://x/j', algorithms: ['HS256'] }] } } }, 'identity.jwt.issuers[0].algorithms[0]: HS256: shared-secret algorithms are not supported'],
    ['symmetric key', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }] } } }, 'identity.jwt.issuers[0].jwks keys[0]: is a symmetric key'],
    ['empty key set', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [] } }] } } }, 'identity.jwt.issuers[0].jwks: the JWK set has no keys'],
    ['private key in JWKS', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [{ ...JWK, d: 'secret' }] } }] } } }, 'is a private key; give the public key only'],
    ['duplicate issuer', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [JWK] } }, { issuer: 'a', jwks: { keys: [JWK] } }] } } }, 'identity.jwt.issuers[1].issuer: issuer "a" is configured twice'],
    ['cache seconds without uri', { identity: { jwt: { issuers: [{ issuer: 'a', jwks: { keys: [JWK] }, jwks_cache_seconds: 5 }] } } }, 'identity.jwt.issuers[0].jwks_cache_seconds: only applies with jwks_uri'],
    ['required without issuers', { identity: { jwt: { required: true } } }, 'identity.jwt.issuers: identity.jwt.required is true but no issuer is configured'],
    ['clock skew type', { identity: { jwt: { clock_skew_seconds: -1 } } }, 'identity.jwt.clock_skew_seconds: expected 0..3600, got -1'],
    ['trust domain', { identity: { workload: { trust_domains: ['Cluster.Local'] } } }, 'identity.workload.trust_domains[0]: "Cluster.Local" is not a SPIFFE trust domain'],
    ['xfcc proxies', { identity: { workload: { xfcc: { trusted_proxies: ['10.0.0.0/33'] } } } }, 'identity.workload.xfcc.trusted_proxies[0]: "10.0.0.0/33": prefix length must be 0-32'],
    ['blocklist cidr', { signals: { ip_blocklist: { cidrs: ['10.0.0.0/8', 'bogus'] } } }, 'signals.ip_blocklist.cidrs[1]: "bogus" is not an IP address or CIDR block'],
    ['blocklist empty', { signals: { ip_blocklist: {} } }, 'signals.ip_blocklist: set file and/or cidrs'],
    ['upstream header name', { response: { upstream_headers: { principal: 'X Principal' } } }, 'response.upstream_headers.principal: "X Principal" is not a lowercase HTTP header name'],
    ['claim header', { response: { upstream_headers: { claims: { 'x-email': 5 } } } }, 'response.upstream_headers.claims.x-email: expected a claim name'],
    ['rego entrypoint', { policy: { rego: { bundle: '/nonexistent.tar.gz', entrypoint: 'meshward authz' } } }, 'policy.rego.entrypoint: expected a rule path like meshward/authz/allow, got "meshward authz"'],
    ['rego missing source', { policy: { rego: { entrypoint: 'a/b' } } }, 'policy.rego: set file, files or bundle'],
    ['rego file unreadable', { policy: { rego: { file: '/nonexistent/p.rego', entrypoint: 'a/b' } } }, 'policy.rego.file: cannot read /nonexistent/p.rego: ENOENT'],
    ['policy files unreadable', { policy: { files: ['/nonexistent/policy.yaml'] } }, 'policy.files[0]: cannot read /nonexistent/policy.yaml: ENOENT'],
  ])('%s', (_what, raw, expected) => {
    const issues = issuesOf(raw);
    expect(issues.some((i) => i.includes(expected)), `issues were:\n${issues.join('\n')}`).toBe(true);
  });

  it('reports every problem at once, and the message lists them by field', () => {
    let err: ConfigError | undefined;
    try {
      parseConfig({ log_level: 1, server: { grpc: { port: -1 } }, identity: { jwt: { issuers: [{ issuer: 'a', jwks_uri: 'x' }] } } }, { source: 'authz.yaml' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues.map((i) => i.path)).toEqual(['log_level', 'server.grpc.port', 'identity.jwt.issuers[0].jwks_uri']);
    expect(err?.message).toContain('authz.yaml: invalid configuration:\n  log_level: expected one of');
    expect(err?.message).toContain('\n  identity.jwt.issuers[0].jwks_uri: expected a URL (http or https), got "x"');
  });

  it('rejects YAML that does not parse, and a root that is not a mapping', () => {
    expect(() => parseConfigText('server: [unclosed')).toThrow(/not valid YAML/);
    expect(issuesOf(['a'])).toEqual(['expected a mapping, got a list']);
  });
});

describe('config defaults', () => {
  it('an empty config is valid: both protocols on the default ports, anonymous identity, no policy', () => {
    const c = parseConfig({});
    expect(c.logLevel).toBe('info');
    expect(c.server.grpc).toEqual({ enabled: true, host: '0.0.0.0', port: 9191, transport: 'lean' });
    expect(c.server.http).toEqual({ enabled: true, host: '0.0.0.0', port: 9192, pathPrefix: '' });
    expect(c.server.admin).toEqual({ enabled: true, host: '0.0.0.0', port: 9193 });
    expect(c.identity.jwt).toEqual({ required: false, challengeAnonymous: true, clockSkewSeconds: 60, requireExpiration: false, verifiedCacheSize: 10_000, verifiedCacheMs: 60_000, issuers: [] });
    expect(c.identity.workload).toEqual({ sourcePrincipal: true, trustDomains: [], xfccTrustedProxies: [] });
    expect(c.policy).toEqual({ policies: [] });
    expect(c.response).toEqual({
      upstreamHeaders: { principal: 'x-meshward-principal', workload: 'x-meshward-workload', decisionId: 'x-meshward-decision-id', riskScore: 'x-meshward-risk-score', riskReasons: 'x-meshward-risk-reasons', claims: {} },
      removeAuthorization: true,
    });
  });

  it('issuer defaults: asymmetric algorithms only, remote JWKS cached 10 minutes', () => {
    const c = parseConfig({ identity: { jwt: { issuers: [{ issuer: 'https://idp', jwks_uri: 'https://idp/jwks' }] } } });
    expect(c.identity.jwt.issuers[0]).toEqual({
      issuer: 'https://idp',
      audiences: [],
      algorithms: DEFAULT_JWT_ALGORITHMS,
      jwks: { kind: 'remote', uri: 'https://idp/jwks', cacheMaxAgeMs: 600_000, timeoutMs: 5000, cooldownMs: 30_000 },
      typ: ['jwt', 'at+jwt'],
      requireTyp: false,
    });
    expect(DEFAULT_JWT_ALGORITHMS.some((a) => a.startsWith('HS') || a === 'none')).toBe(false);
  });

  it('an upstream header set to "" is turned off', () => {
    const c = parseConfig({ response: { upstream_headers: { workload: '', claims: { 'x-email': 'email' } } } });
    expect(c.response.upstreamHeaders).toEqual({ principal: 'x-meshward-principal', decisionId: 'x-meshward-decision-id', riskScore: 'x-meshward-risk-score', riskReasons: 'x-meshward-risk-reasons', claims: { 'x-email': 'email' } });
  });

  it('accepts a JWKS written as a JSON string', () => {
    const c = parseConfig({ identity: { jwt: { issuers: [{ issuer: 'a', jwks: JSON.stringify({ keys: [JWK] }) }] } } });
    expect(c.identity.jwt.issuers[0]!.jwks).toEqual({ kind: 'local', jwks: { keys: [JWK] }, origin: 'inline' });
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshward-authz-config-'));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [JWK] }));
  writeFileSync(join(dir, 'blocked.txt'), '# scanners\n203.0.113.0/24\n\n198.51.100.7   # one host\n2001:db8::/32\n');
  writeFileSync(
    join(dir, 'policy.yaml'),
    'policies:\n  - name: api\n    action: ALLOW\n    rules:\n      - to:\n          - operation:\n              methods: [GET]\n              paths: ["/api/*"]\n',
  );
  writeFileSync(
    join(dir, 'authz.yaml'),
    [
      'log_level: debug',
      'server:',
      '  grpc: { port: 0 }',
      'identity:',
      '  jwt:',
      '    issuers:',
      '      - issuer: https://idp.example',
      '        jwks_file: jwks.json',
      'signals:',
      '  ip_blocklist: { file: blocked.txt, cidrs: ["192.0.2.1"] }',
      'policy:',
      '  files: [policy.yaml]',
      '',
    ].join('\n'),
  );

  it('resolves jwks_file, policy files and the block list relative to the config file', () => {
    const c = loadConfigFile(join(dir, 'authz.yaml'));
    expect(c.logLevel).toBe('debug');
    expect(c.baseDir).toBe(dir);
    expect(c.identity.jwt.issuers[0]!.jwks).toEqual({ kind: 'local', jwks: { keys: [JWK] }, origin: join(dir, 'jwks.json') });
    expect(c.signals.ipBlocklist?.cidrs.map((x) => x.text)).toEqual(['203.0.113.0/24', '198.51.100.7', '2001:db8::/32', '192.0.2.1']);
    expect(c.policy.policies).toMatchObject([{ name: 'api', action: 'ALLOW', origin: join(dir, 'policy.yaml') }]);
  });

  it('names the file and line of a bad block list entry, and the field inside a policy file', () => {
    writeFileSync(join(dir, 'bad-blocked.txt'), '10.0.0.0/8\n10.0.0.0/40\n');
    writeFileSync(join(dir, 'bad-policy.yaml'), 'policies:\n  - name: x\n    action: PERMIT\n');
    const issues = issuesOf({ signals: { ip_blocklist: { file: 'bad-blocked.txt' } }, policy: { files: ['bad-policy.yaml'] } }, dir);
    expect(issues).toContain(`signals.ip_blocklist.file: ${join(dir, 'bad-blocked.txt')}:2: "10.0.0.0/40": prefix length must be 0-32`);
    expect(issues).toContain(`policy.files[0] (${join(dir, 'bad-policy.yaml')}) policies[0].action: expected one of ALLOW, DENY, got "PERMIT"`);
  });

  it('a JWKS file that is not JSON, and a missing config file', () => {
    writeFileSync(join(dir, 'bad-jwks.json'), '{nope');
    expect(issuesOf({ identity: { jwt: { issuers: [{ issuer: 'a', jwks_file: 'bad-jwks.json' }] } } }, dir)[0]).toMatch(/^identity\.jwt\.issuers\[0\]\.jwks_file: .*bad-jwks\.json is not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: invalid configuration:\n {2}cannot read the config file \(ENOENT\)/);
  });
});
