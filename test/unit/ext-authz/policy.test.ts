import { describe, expect, it } from 'vitest';
import { ConfigError, evaluateNative, parseConfig, type Facts, type NativePolicy } from '../../../ext-authz/src/index.js';

function policies(list: unknown[]): NativePolicy[] {
  return parseConfig({ policy: { policies: list } }).policy.policies;
}

const base: Facts = {
  sourceIp: '10.1.2.3',
  sourcePrincipal: 'cluster.local/ns/shop/sa/cart',
  sourceNamespace: 'shop',
  requestPrincipal: 'https://idp.example/alice',
  audiences: ['api', 'web'],
  presenter: 'spa-client',
  claims: { role: 'admin', groups: ['dev', 'ops'], org: { tier: 'gold' }, level: 3, verified: true },
  destinationIp: '10.9.9.9',
  destinationPort: '8080',
  host: 'api.example.com:8443',
  method: 'GET',
  path: '/api/v1/items',
  headers: { 'x-tenant': 'acme', 'user-agent': 'curl/8.0' },
  sni: 'api.example.com',
};

const anonymous: Facts = { audiences: [], headers: {}, method: 'GET', path: '/api/v1/items', host: 'api.example.com' };

const allow = (rule: unknown) => [{ name: 'p', action: 'ALLOW', rules: [rule] }];

describe('native policy: one ALLOW rule, does it match?', () => {
  it.each<[string, unknown, Facts, boolean]>([
    // from: source fields
    ['principal exact', { from: [{ source: { principals: ['cluster.local/ns/shop/sa/cart'] } }] }, base, true],
    ['principal other', { from: [{ source: { principals: ['cluster.local/ns/shop/sa/web'] } }] }, base, false],
    ['principal prefix', { from: [{ source: { principals: ['cluster.local/ns/shop/*'] } }] }, base, true],
    ['principal suffix', { from: [{ source: { principals: ['*/sa/cart'] } }] }, base, true],
    ['principal * needs one', { from: [{ source: { principals: ['*'] } }] }, anonymous, false],
    ['principal * matches any', { from: [{ source: { principals: ['*'] } }] }, base, true],
    ['not_principals excludes', { from: [{ source: { not_principals: ['cluster.local/ns/shop/sa/cart'] } }] }, base, false],
    ['not_principals * matches the anonymous', { from: [{ source: { not_principals: ['*'] } }] }, anonymous, true],
    ['request principal', { from: [{ source: { request_principals: ['https://idp.example/alice'] } }] }, base, true],
    ['request principal issuer prefix', { from: [{ source: { request_principals: ['https://idp.example/*'] } }] }, base, true],
    ['request principal other issuer', { from: [{ source: { request_principals: ['https://other/*'] } }] }, base, false],
    ['request principal * anonymous', { from: [{ source: { request_principals: ['*'] } }] }, anonymous, false],
    ['not_request_principals', { from: [{ source: { not_request_principals: ['*/alice'] } }] }, base, false],
    ['namespace', { from: [{ source: { namespaces: ['shop'] } }] }, base, true],
    ['namespace other', { from: [{ source: { namespaces: ['billing'] } }] }, base, false],
    ['not_namespaces', { from: [{ source: { not_namespaces: ['billing'] } }] }, base, true],
    ['ip block', { from: [{ source: { ip_blocks: ['10.0.0.0/8'] } }] }, base, true],
    ['ip block other', { from: [{ source: { ip_blocks: ['192.168.0.0/16'] } }] }, base, false],
    ['ip block single address', { from: [{ source: { ip_blocks: ['10.1.2.3'] } }] }, base, true],
    ['ip block unknown source', { from: [{ source: { ip_blocks: ['0.0.0.0/0'] } }] }, anonymous, false],
    ['not_ip_blocks', { from: [{ source: { not_ip_blocks: ['10.1.0.0/16'] } }] }, base, false],
    ['ipv4-mapped source in an ipv4 block', { from: [{ source: { ip_blocks: ['10.0.0.0/8'] } }] }, { ...base, sourceIp: '::ffff:10.1.2.3' }, true],
    ['ipv6 block', { from: [{ source: { ip_blocks: ['2001:db8::/32'] } }] }, { ...base, sourceIp: '2001:db8:1::5' }, true],
    ['fields in one source are ANDed', { from: [{ source: { namespaces: ['shop'], ip_blocks: ['192.168.0.0/16'] } }] }, base, false],
    ['sources are ORed', { from: [{ source: { namespaces: ['billing'] } }, { source: { ip_blocks: ['10.0.0.0/8'] } }] }, base, true],
    ['values in a field are ORed', { from: [{ source: { namespaces: ['billing', 'shop'] } }] }, base, true],
    ['positive and not_ together', { from: [{ source: { principals: ['cluster.local/*'], not_principals: ['*/sa/cart'] } }] }, base, false],
    ['camelCase (Istio spelling)', { from: [{ source: { notRequestPrincipals: ['*'] } }] }, anonymous, true],
    // to: operation fields
    ['method', { to: [{ operation: { methods: ['GET', 'HEAD'] } }] }, base, true],
    ['method other', { to: [{ operation: { methods: ['POST'] } }] }, base, false],
    ['not_methods', { to: [{ operation: { not_methods: ['GET'] } }] }, base, false],
    ['path exact', { to: [{ operation: { paths: ['/api/v1/items'] } }] }, base, true],
    ['path prefix', { to: [{ operation: { paths: ['/api/*'] } }] }, base, true],
    ['path suffix', { to: [{ operation: { paths: ['*/items'] } }] }, base, true],
    ['path prefix other', { to: [{ operation: { paths: ['/admin/*'] } }] }, base, false],
    ['not_paths', { to: [{ operation: { not_paths: ['/api/*'] } }] }, base, false],
    ['host with port in the request matches the bare host', { to: [{ operation: { hosts: ['api.example.com'] } }] }, base, true],
    ['host exact with port', { to: [{ operation: { hosts: ['api.example.com:8443'] } }] }, base, true],
    ['host case-insensitive', { to: [{ operation: { hosts: ['API.Example.COM'] } }] }, base, true],
    ['host suffix', { to: [{ operation: { hosts: ['*.example.com'] } }] }, base, true],
    ['not_hosts', { to: [{ operation: { not_hosts: ['*.example.com'] } }] }, base, false],
    ['port', { to: [{ operation: { ports: ['8080'] } }] }, base, true],
    ['port as a number', { to: [{ operation: { ports: [8080] } }] }, base, true],
    ['port other', { to: [{ operation: { ports: ['443'] } }] }, base, false],
    ['not_ports', { to: [{ operation: { not_ports: ['8080'] } }] }, base, false],
    ['operation fields ANDed', { to: [{ operation: { methods: ['GET'], paths: ['/admin/*'] } }] }, base, false],
    ['operations ORed', { to: [{ operation: { methods: ['POST'] } }, { operation: { paths: ['/api/*'] } }] }, base, true],
    // when: conditions
    ['claim', { when: [{ key: 'request.auth.claims[role]', values: ['admin'] }] }, base, true],
    ['claim other', { when: [{ key: 'request.auth.claims[role]', values: ['viewer'] }] }, base, false],
    ['claim list: any element', { when: [{ key: 'request.auth.claims[groups]', values: ['ops'] }] }, base, true],
    ['claim nested', { when: [{ key: 'request.auth.claims[org][tier]', values: ['gold'] }] }, base, true],
    ['claim number', { when: [{ key: 'request.auth.claims[level]', values: ['3'] }] }, base, true],
    ['claim boolean', { when: [{ key: 'request.auth.claims[verified]', values: ['true'] }] }, base, true],
    ['claim absent', { when: [{ key: 'request.auth.claims[missing]', values: ['*'] }] }, base, false],
    ['claim not_values', { when: [{ key: 'request.auth.claims[role]', not_values: ['viewer'] }] }, base, true],
    ['claim not_values absent claim', { when: [{ key: 'request.auth.claims[role]', not_values: ['admin'] }] }, anonymous, true],
    ['header', { when: [{ key: 'request.headers[X-Tenant]', values: ['acme'] }] }, base, true],
    ['header prefix', { when: [{ key: 'request.headers[user-agent]', values: ['curl/*'] }] }, base, true],
    ['header not_values', { when: [{ key: 'request.headers[user-agent]', not_values: ['curl/*'] }] }, base, false],
    ['source.ip', { when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }, base, true],
    ['source.ip not_values', { when: [{ key: 'source.ip', not_values: ['10.0.0.0/8'] }] }, base, false],
    ['destination.ip', { when: [{ key: 'destination.ip', values: ['10.9.9.0/24'] }] }, base, true],
    ['destination.port', { when: [{ key: 'destination.port', values: ['8080'] }] }, base, true],
    ['source.namespace', { when: [{ key: 'source.namespace', values: ['shop'] }] }, base, true],
    ['source.principal', { when: [{ key: 'source.principal', values: ['*/sa/cart'] }] }, base, true],
    ['request.auth.principal', { when: [{ key: 'request.auth.principal', values: ['https://idp.example/alice'] }] }, base, true],
    ['request.auth.audiences', { when: [{ key: 'request.auth.audiences', values: ['web'] }] }, base, true],
    ['request.auth.presenter', { when: [{ key: 'request.auth.presenter', values: ['spa-*'] }] }, base, true],
    ['connection.sni', { when: [{ key: 'connection.sni', values: ['*.example.com'] }] }, base, true],
    ['conditions ANDed', { when: [{ key: 'request.auth.claims[role]', values: ['admin'] }, { key: 'source.namespace', values: ['billing'] }] }, base, false],
    ['values and not_values together', { when: [{ key: 'request.auth.claims[groups]', values: ['dev'], not_values: ['ops'] }] }, base, false],
    // whole rules
    ['empty rule matches everything', {}, anonymous, true],
    ['from, to and when all needed', { from: [{ source: { namespaces: ['shop'] } }], to: [{ operation: { methods: ['GET'] } }], when: [{ key: 'request.headers[x-tenant]', values: ['other'] }] }, base, false],
  ])('%s', (_what, rule, facts, expected) => {
    const r = evaluateNative(policies(allow(rule)), facts);
    expect(r.effect).toBe(expected ? 'allow' : 'deny');
  });
});

describe('native policy: combining policies (Istio order)', () => {
  const denyAdmin = { name: 'deny-admin', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] };
  const allowGet = { name: 'allow-get', action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] };
  const allowOps = { name: 'allow-ops', action: 'ALLOW', rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['ops'] }] }] };

  it.each<[string, unknown[], Facts, { effect: string; policy?: string; rule?: number; why?: string }]>([
    ['no policies: allow', [], base, { effect: 'allow', why: 'no ALLOW policy' }],
    ['only DENY policies, none matching: allow', [denyAdmin], base, { effect: 'allow', why: 'no ALLOW policy' }],
    ['DENY matching: deny', [denyAdmin], { ...base, path: '/admin/x' }, { effect: 'deny', policy: 'deny-admin', rule: 0 }],
    ['DENY wins over a matching ALLOW', [allowGet, denyAdmin], { ...base, path: '/admin/x' }, { effect: 'deny', policy: 'deny-admin' }],
    ['ALLOW matching: allow, first matching policy named', [allowGet, allowOps], base, { effect: 'allow', policy: 'allow-get', rule: 0 }],
    ['second ALLOW matching', [allowGet, allowOps], { ...base, method: 'POST' }, { effect: 'allow', policy: 'allow-ops' }],
    ['ALLOW exists, none matching: deny', [allowGet], { ...base, method: 'POST' }, { effect: 'deny', why: 'no ALLOW policy matched' }],
    ['ALLOW without rules allows nothing', [{ name: 'nothing', action: 'ALLOW' }], base, { effect: 'deny', why: 'no ALLOW policy matched' }],
    ['DENY without rules denies nothing', [{ name: 'nothing', action: 'DENY', rules: [] }], base, { effect: 'allow' }],
    ['DENY with an empty rule denies everything', [{ name: 'all', action: 'DENY', rules: [{}] }], base, { effect: 'deny', policy: 'all' }],
    ['rule index reported', [{ name: 'two', action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['PUT'] } }] }, { to: [{ operation: { methods: ['GET'] } }] }] }], base, { effect: 'allow', policy: 'two', rule: 1 }],
    [
      'DENY unauthenticated with not_request_principals: *',
      [{ name: 'require-jwt', action: 'DENY', rules: [{ from: [{ source: { not_request_principals: ['*'] } }] }] }],
      anonymous,
      { effect: 'deny', policy: 'require-jwt' },
    ],
    [
      'DENY unauthenticated lets a JWT through',
      [{ name: 'require-jwt', action: 'DENY', rules: [{ from: [{ source: { not_request_principals: ['*'] } }] }] }],
      base,
      { effect: 'allow' },
    ],
  ])('%s', (_what, list, facts, expected) => {
    expect(evaluateNative(policies(list), facts)).toMatchObject(expected);
  });
});

describe('native policy validation', () => {
  function issues(list: unknown[]): string[] {
    try {
      policies(list);
      return [];
    } catch (e) {
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
  }

  it.each<[string, unknown[], string]>([
    ['action missing', [{ name: 'a', rules: [] }], 'policy.policies[0].action: required field missing (ALLOW or DENY)'],
    ['action invalid', [{ name: 'a', action: 'CUSTOM' }], 'policy.policies[0].action: expected one of ALLOW, DENY, got "CUSTOM"'],
    ['name missing', [{ action: 'ALLOW' }], 'policy.policies[0].name: required field missing'],
    ['duplicate name', [{ name: 'a', action: 'ALLOW' }, { name: 'a', action: 'DENY' }], 'policy.policies[1].name: duplicate policy name "a"'],
    ['unknown rule field', [{ name: 'a', action: 'ALLOW', rules: [{ form: [] }] }], 'policy.policies[0].rules[0].form: unknown field; expected one of from, to, when'],
    ['source wrapper missing', [{ name: 'a', action: 'ALLOW', rules: [{ from: [{ principals: ['x'] }] }] }], 'policy.policies[0].rules[0].from[0].principals: unknown field; expected one of source'],
    ['unknown source field', [{ name: 'a', action: 'ALLOW', rules: [{ from: [{ source: { remote_ip_blocks: ['1.2.3.4'] } }] }] }], 'policy.policies[0].rules[0].from[0].source.remote_ip_blocks: unknown field'],
    ['empty source', [{ name: 'a', action: 'ALLOW', rules: [{ from: [{ source: {} }] }] }], 'policy.policies[0].rules[0].from[0].source: set at least one of'],
    ['bad pattern', [{ name: 'a', action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/a/*/b'] } }] }] }], 'policy.policies[0].rules[0].to[0].operation.paths[0]: "/a/*/b": "*" may appear once, at the start or the end'],
    ['path without slash', [{ name: 'a', action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['api'] } }] }] }], 'policy.policies[0].rules[0].to[0].operation.paths[0]: a path starts with "/", got "api"'],
    ['bad port', [{ name: 'a', action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['http'] } }] }] }], 'policy.policies[0].rules[0].to[0].operation.ports[0]: expected a port number, got "http"'],
    ['empty list', [{ name: 'a', action: 'ALLOW', rules: [{ to: [{ operation: { methods: [] } }] }] }], 'policy.policies[0].rules[0].to[0].operation.methods: expected at least one entry'],
    ['bad ip block', [{ name: 'a', action: 'ALLOW', rules: [{ from: [{ source: { ip_blocks: ['10.0.0.0/8', '300.1.1.1'] } }] }] }], 'policy.policies[0].rules[0].from[0].source.ip_blocks[1]: "300.1.1.1" is not an IP address or CIDR block'],
    ['unknown condition key', [{ name: 'a', action: 'ALLOW', rules: [{ when: [{ key: 'request.time', values: ['x'] }] }] }], 'policy.policies[0].rules[0].when[0].key: unknown key "request.time"; expected one of request.headers[<name>]'],
    ['malformed claim key', [{ name: 'a', action: 'ALLOW', rules: [{ when: [{ key: 'request.auth.claims[a', values: ['x'] }] }] }], 'policy.policies[0].rules[0].when[0].key: malformed claim key'],
    ['condition without values', [{ name: 'a', action: 'ALLOW', rules: [{ when: [{ key: 'source.ip' }] }] }], 'policy.policies[0].rules[0].when[0]: set values or not_values'],
    ['condition ip value', [{ name: 'a', action: 'ALLOW', rules: [{ when: [{ key: 'source.ip', values: ['nope'] }] }] }], 'policy.policies[0].rules[0].when[0].values[0]: "nope" is not an IP address or CIDR block'],
    ['camelCase and snake_case both given', [{ name: 'a', action: 'ALLOW', rules: [{ from: [{ source: { not_principals: ['a'], notPrincipals: ['b'] } }] }] }], 'policy.policies[0].rules[0].from[0].source.notPrincipals: given twice (as not_principals and notPrincipals)'],
  ])('%s', (_what, list, expected) => {
    const got = issues(list);
    expect(got.some((i) => i.includes(expected)), `issues were:\n${got.join('\n')}`).toBe(true);
  });
});
