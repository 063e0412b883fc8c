// The expression language, evaluated by build/attributes.wasm in the Node host: every operator
// and function, literals, attribute reads, absent values, with the value each expression must
// render to (filter state `meshward.attr.<name>`; undefined = absent).
import { describe, expect, it } from 'vitest';
import { property } from '../../../sdk/src/host/index.js';
import { evaluateAll } from './helpers.js';

const claims = {
  iss: 'https://issuer.test', sub: 'alice', aud: ['api', 'web'], scope: 'read write',
  org: { tenant: 'acme', tier: 'gold' }, admin: true, level: 3, ratio: 0.5,
};

const request = {
  method: 'POST',
  path: '/api/v2/users/42?debug=1&x=y',
  authority: 'shop.example.com',
  headers: {
    'user-agent': 'curl/8.5.0', 'x-tenant': 'Acme', 'x-num': '17', 'x-list': 'a,b,c', 'content-type': 'application/json',
    'x-pad': '  padded  ',
  },
  properties: {
    source: { address: '10.1.2.3:5555', port: 5555 },
    destination: { address: '192.168.0.10:8443', port: 8443 },
    connection: {
      mtls: true,
      uri_san_peer_certificate: 'spiffe://cluster.local/ns/shop/sa/frontend',
      requested_server_name: 'shop.example.com',
    },
    'meshward.jwt.principal': 'https://issuer.test/alice',
    'meshward.jwt.provider': 'main',
    'meshward.jwt.claims': JSON.stringify(claims),
    'meshward.waf.anomaly_score': '7',
    metadata: property.metadata({ filter_metadata: { 'envoy.lb': { canary: 'yes' } } }),
  },
};

// [expression, rendered value or undefined when absent]
const cases: Array<[string, string | undefined]> = [
  // literals
  ['1', '1'], ['-5', '-5'], ['0x1F', '31'], ['1.5', '1.5'], ['2e3', '2000'], ['.25', '0.25'],
  ["'single'", 'single'], ['"double"', 'double'], ["'esc\\t\\x41\\u00e9\\n'", 'esc\tAé\n'], ["r'\\d+'", '\\d+'],
  ['true', 'true'], ['false', 'false'], ['null', 'null'], ['[1, "a", true]', '[1,"a",true]'], ['[]', '[]'],
  ["{'a': 1, 'b': [2]}", '{"a":1,"b":[2]}'], ['{}', '{}'], ['-9223372036854775808', '-9223372036854775808'],
  // arithmetic
  ['1 + 2 * 3', '7'], ['(1 + 2) * 3', '9'], ['7 / 2', '3'], ['7 % 3', '1'], ['7.0 / 2', '3.5'], ['-(-3)', '3'],
  ['10 - 12', '-2'], ["'a' + 'b'", 'ab'], ['[1] + [2, 3]', '[1,2,3]'], ['1 + 0.5', '1.5'],
  ['1 / 0', undefined], ['9223372036854775807 + 1', undefined], ['5 % 0', undefined],
  // comparison and equality
  ['1 == 1', 'true'], ['1 == 1.0', 'true'], ['1 != 2', 'true'], ["'a' == 'a'", 'true'], ["'a' != 'a'", 'false'],
  ['2 < 3', 'true'], ['3 <= 3', 'true'], ['4 > 5', 'false'], ['5 >= 5.0', 'true'], ["'abc' < 'abd'", 'true'],
  ["'b' > 'a'", 'true'], ['[1, 2] == [1, 2]', 'true'], ["{'a': 1} == {'a': 1}", 'true'], ['null == null', 'true'],
  // logic, absorbing absent values as CEL does
  ['true && false', 'false'], ['true || false', 'true'], ['!true', 'false'], ['!(1 > 2)', 'true'],
  ["false && request.headers['x-missing'] == 'a'", 'false'], ["request.headers['x-missing'] == 'a' && false", 'false'],
  ["request.headers['x-missing'] == 'a' || true", 'true'], ["request.headers['x-missing'] == 'a' || false", undefined],
  ["!(request.headers['x-missing'] == 'a')", undefined],
  // in
  ["'GET' in ['GET', 'HEAD']", 'true'], ["request.method in ['GET', 'HEAD']", 'false'],
  ["'x-tenant' in request.headers", 'true'], ["'x-nope' in request.headers", 'false'], ["'b' in {'a': 1, 'b': 2}", 'true'],
  ['2 in [1, 2.0]', 'true'],
  // ternary
  ["request.method == 'POST' ? 'write' : 'read'", 'write'], ['1 > 2 ? 1 : 2 > 1 ? 20 : 30', '20'],
  ["request.headers['x-missing'] == 'a' ? 1 : 2", undefined],
  // request attributes
  ['request.path', '/api/v2/users/42?debug=1&x=y'], ['request.url_path', '/api/v2/users/42'], ['request.method', 'POST'],
  ['request.host', 'shop.example.com'], ['request.query', 'debug=1&x=y'], ["request.headers['x-tenant']", 'Acme'],
  ["request.headers['X-Tenant']", 'Acme'], ['request.headers["user-agent"]', 'curl/8.5.0'], ['request.useragent', 'curl/8.5.0'],
  ["request.headers['x-missing']", undefined], ['size(request.headers) > 3', 'true'], ['request.scheme', 'http'],
  // connection, source, destination
  ['source.address', '10.1.2.3:5555'], ['source.port', '5555'], ['destination.port', '8443'], ['destination.address', '192.168.0.10:8443'],
  ['connection.mtls', 'true'], ['connection.uri_san_peer_certificate', 'spiffe://cluster.local/ns/shop/sa/frontend'],
  ['connection.requested_server_name', 'shop.example.com'], ['connection.dns_san_peer_certificate', undefined],
  // metadata and filter state from earlier filters
  ["metadata.filter_metadata['envoy.lb'].canary", 'yes'], ["metadata.filter_metadata['envoy.lb']['nope']", undefined],
  ['jwt.principal', 'https://issuer.test/alice'], ['jwt.provider', 'main'], ['jwt.claims.sub', 'alice'],
  ["jwt.claims.org.tenant", 'acme'], ["jwt.claims['org']['tier']", 'gold'], ["'api' in jwt.claims.aud", 'true'],
  ['jwt.claims.admin', 'true'], ['jwt.claims.level + 1', '4'], ['jwt.claims.ratio * 2', '1'], ['jwt.claims.nope', undefined],
  ['jwt.claims.org.nope.deeper', undefined], ["jwt.claims.scope.split(' ')", '["read","write"]'], ['size(jwt.claims.aud)', '2'],
  ['jwt.claims.aud[1]', 'web'], ['jwt.claims.aud[5]', undefined], ['waf.anomaly_score', '7'], ['waf.anomaly_score >= 5', 'true'],
  ['waf.matched_rules', undefined], ["filter_state['wasm.meshward.attr.e0']", '1'],
  // attributes computed earlier in the same filter
  ['attr.e0 + 1', '2'], ["attr.e20 == 'ab'", 'false'],
  // string functions
  ["request.path.startsWith('/api/')", 'true'], ["startsWith(request.path, '/web/')", 'false'], ["request.url_path.endsWith('/42')", 'true'],
  ["request.host.contains('example')", 'true'], ["contains(request.host, 'nope')", 'false'], ["['a', 'b'].contains('b')", 'true'],
  ['size(request.method)', '4'], ["'héllo'.size()", '5'], ['size([1, 2, 3])', '3'], ["size({'a': 1})", '1'],
  ["request.headers['x-tenant'].lower()", 'acme'], ["upper('MiXeD-1')", 'MIXED-1'], ["lower('ÀB')", 'Àb'],
  ["request.headers['x-list'].split(',')", '["a","b","c"]'], ["request.url_path.split('/')[3]", 'users'],
  ["'a,b'.split(',').join('+')", 'a+b'], ["request.headers['x-pad'].trim()", 'padded'],
  // matches (linear-time regular expressions)
  ["request.url_path.matches('^/api/v[0-9]+/users/\\\\d+$')", 'true'], ["request.url_path.matches('users')", 'true'],
  ["matches(request.method, '^(GET|HEAD)$')", 'false'], ["request.host.matches('(?i)^SHOP\\\\.')", 'true'],
  ["'aaa'.matches('^a{2,3}$')", 'true'], ["'aaaa'.matches('^a{2,3}$')", 'false'], ["'ab12'.matches('^[a-z]+\\\\d*$')", 'true'],
  ["'x y'.matches('\\\\s')", 'true'], ["'abc'.matches('^a.c$')", 'true'], ["'a\\nc'.matches('^a.c$')", 'false'],
  ["'colour'.matches('colou?r')", 'true'], ["'tel: +1-555'.matches('[^0-9]+[0-9]')", 'true'], ["''.matches('^$')", 'true'],
  ["'abab'.matches('^(?:ab)+$')", 'true'], ["'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('^(a+)+$')", 'false'],
  ["request.headers['x-missing'].matches('a')", undefined], ["'xxabc'.matches('abc')", 'true'], ["'aXbab'.matches('ab$')", 'true'],
  ["'abxab'.matches('ab$')", 'true'], ["'abxa'.matches('ab$')", 'false'], ["'zzz'.matches('a|z')", 'true'], ["'q'.matches('a*')", 'true'],
  ["'/users/x/users/1'.matches('/users/[0-9]+$')", 'true'], ["'ab'.matches('abc')", 'false'], ["'xxabcabd'.matches('abd')", 'true'],
  ["'abab'.matches('^(ab){2}$')", 'true'], ["'aab'.matches('ab')", 'true'],
  // ip_in_cidr
  ["ip_in_cidr(source.address, '10.0.0.0/8')", 'true'], ["ip_in_cidr(source.address, '192.168.0.0/16')", 'false'],
  ["ip_in_cidr(source.address, ['172.16.0.0/12', '10.1.0.0/16'])", 'true'], ["ip_in_cidr('::ffff:10.9.9.9', '10.0.0.0/8')", 'true'],
  ["ip_in_cidr('2001:db8::1', '2001:db8::/32')", 'true'], ["ip_in_cidr('not an ip', '10.0.0.0/8')", 'false'],
  // has() and conversions
  ["has(request.headers['x-tenant'])", 'true'], ["has(request.headers['x-missing'])", 'false'], ['has(jwt.claims.org.tier)', 'true'],
  ['has(jwt.claims.nope)', 'false'], ["int(request.headers['x-num']) * 2", '34'], ["int('abc')", undefined], ['int(2.9)', '2'],
  ["double('2.5') + 1", '3.5'], ['string(42)', '42'], ["string(true) + '!'", 'true!'], ["int('-9223372036854775808')", '-9223372036854775808'],
  ["int('9223372036854775808')", undefined],
];

describe('expression language: values', () => {
  it(`evaluates ${cases.length} expressions to their expected values`, async () => {
    const got = await evaluateAll(cases.map((c) => c[0]), request);
    const mismatches = cases
      .map(([expr, want], i) => ({ expr, want, got: got[i] }))
      .filter((c) => c.got !== c.want);
    expect(mismatches).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it('missing properties are absent, not a trap (no mTLS, no JWT, no WAF)', async () => {
    const got = await evaluateAll(
      ['connection.uri_san_peer_certificate', 'jwt.claims.sub', 'jwt.principal', 'waf.anomaly_score', "has(jwt.claims.sub) ? 'user' : 'anonymous'", "filter_state['wasm.nope']", 'xds.route_name'],
      { path: '/' },
    );
    expect(got).toEqual([undefined, undefined, undefined, undefined, 'anonymous', undefined, undefined]);
  });

  it('malformed values from earlier filters read as absent (claims not JSON, score not a number)', async () => {
    const got = await evaluateAll(['jwt.claims.sub', 'waf.anomaly_score', 'has(jwt.claims)'], {
      path: '/',
      properties: { 'meshward.jwt.claims': '{not json', 'meshward.waf.anomaly_score': 'high' },
    });
    expect(got).toEqual([undefined, undefined, 'false']);
  });
});
