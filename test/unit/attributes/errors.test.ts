// Syntax and type errors: the configuration is refused at load with the field path, the
// attribute's name, the position in the expression and what was expected.
import { describe, expect, it } from 'vitest';
import { rejection } from './helpers.js';

const withValue = (expr: string) => ({ attributes: [{ name: 'tier', rules: [{ value: expr }] }] });
const withWhen = (expr: string) => ({ attributes: [{ name: 'tier', rules: [{ when: expr, value: "'x'" }] }] });
const VALUE = 'attributes\\[0\\]\\.rules\\[0\\]\\.value: attribute "tier": ';
const WHEN = 'attributes\\[0\\]\\.rules\\[0\\]\\.when: attribute "tier": ';

describe('expression errors name the attribute, the position and what was expected', () => {
  const syntax: Array<[string, string, string]> = [
    ['request.path ==', 'at 15: expected a value', 'missing operand'],
    ["(request.path == '/'", "at 20: expected '\\)', got end of expression", 'unclosed parenthesis'],
    ["request.path = '/'", "at 13: expected '==' \\(assignment", 'single ='],
    ["'abc", 'at 0: unterminated string', 'unterminated string'],
    ["request.headers['x'", "at 19: expected '\\]'", 'unclosed index'],
    ['1 2', 'at 2: expected an operator or end of expression, got integer', 'two values'],
    ["size('a',)", "at 9: expected a value", 'trailing comma in a call'],
    ['request.', "at 8: expected a field or function name after '\\.'", 'dangling dot'],
    ["'\\q'", "at 1: invalid escape '\\\\q'", 'bad escape'],
    ['9223372036854775808', 'at 0: integer out of range', 'int64 overflow'],
    ['1 ? 2', "at 5: expected ':' of the conditional", 'half a conditional'],
    ["{'a': 1, 'a': 2}", "at 9: duplicate map key 'a'", 'duplicate key'],
    ['a | b', "at 2: expected '\\|\\|'", 'single |'],
    ['#', "at 0: unexpected character '#'", 'stray character'],
  ];
  it.each(syntax)('%s → %s (%s)', async (expr, message) => {
    expect(await rejection(withValue(expr))).toMatch(new RegExp(VALUE + message));
  });

  const types: Array<[string, string, string]> = [
    ["request.path == 1", "at 13: '==' cannot combine string and int", 'string vs int'],
    ["request.port", 'at 8: unknown attribute request.port; expected one of request.path', 'unknown field'],
    ['foo', "at 0: unknown name 'foo'; expected one of request, source", 'unknown root'],
    ['request', "at 0: 'request' is not a value by itself; expected a field such as request.path", 'bare root'],
    ["request.path && true", "at 0: '&&' expects bool operands, got string", '&& on a string'],
    ["!request.path", "at 0: '!' expects bool, got string", '! on a string'],
    ["source.port < 'a'", "at 12: '<' cannot combine int and string; expected two numbers or two strings", 'ordering'],
    ["'a' in 'abc'", "at 7: 'in' expects a list or map on the right, got string", 'in on a string'],
    ["request.path.startsWith(1)", 'at 24: startsWith: expected a string, got int', 'argument type'],
    ["size(1)", 'at 5: size: expected a string, list or map, got int', 'size of int'],
    ["request.path.matches(request.host)", 'at 21: matches: the pattern must be a string literal', 'dynamic regex'],
    ["request.path.matches('(a')", 'at 21: matches: invalid regular expression: missing closing \\) at pattern position 0', 'bad regex'],
    ["request.path.matches('(a)\\\\1')", 'at 21: matches: invalid regular expression: backreference \\\\1 is not supported \\(RE2 semantics: no backreferences\\) at pattern position 3', 'backreference'],
    ["request.path.matches('a**')", 'at 21: matches: invalid regular expression: repetition of a repetition \\(\\*\\); possessive and stacked quantifiers are not supported at pattern position 2', 'double star'],
    ["request.path.matches('x{1001}')", 'at 21: matches: invalid regular expression: repetition count too large in \\{1001\\} \\(the limit is 1000\\)', 'huge count'],
    ["ip_in_cidr(source.address, '10.0.0.0/33')", "at 27: ip_in_cidr: invalid CIDR '10.0.0.0/33'", 'bad CIDR'],
    ["ip_in_cidr(source.address, request.host)", 'at 27: ip_in_cidr: the ranges must be a string literal', 'dynamic CIDR'],
    ["frobnicate(1)", "at 0: unknown function 'frobnicate'", 'unknown function'],
    ["lower()", 'at 0: lower: expected 1 argument\\(s\\)', 'arity'],
    ["'a'.split()", 'at 4: split: expected 1 argument\\(s\\): s.split\\(separator\\), got 0', 'receiver arity'],
    ["attr.later", 'at 5: attr.later is not an attribute defined before this one \\(none is\\)', 'forward reference'],
    ["request.path.x", "at 13: cannot select field 'x' of a value of type string", 'select on string'],
    ["source.port[0]", 'at 11: cannot index a value of type int', 'index an int'],
    ["[1][true]", 'at 4: a list index must be int, got bool', 'list index type'],
    ["-'a'", "at 0: '-' expects a number, got string", 'negate a string'],
    ["'a' - 'b'", "at 4: '-' cannot combine string and string; expected numbers", 'subtract strings'],
    ["filter_state[request.path]", 'at 13: expected a string literal key after filter_state', 'dynamic filter-state key'],
  ];
  it.each(types)('%s → %s (%s)', async (expr, message) => {
    expect(await rejection(withValue(expr))).toMatch(new RegExp(VALUE + message));
  });

  it('a condition must be bool', async () => {
    expect(await rejection(withWhen('request.path'))).toMatch(new RegExp(WHEN + 'at 0: expected a bool condition, got string'));
  });

  it('the default is checked like a rule value', async () => {
    expect(await rejection({ attributes: [{ name: 'x', spiffe: 'namespace', default: "'a' +" }] }))
      .toMatch(/attributes\[0\]\.default: attribute "x": at 5: expected a value/);
  });
});

describe('configuration errors name the field', () => {
  const cases: Array<[string, object | string, RegExp]> = [
    ['no attributes', {}, /attributes: required field missing/],
    ['empty attributes', { attributes: [] }, /attributes: expected at least one attribute/],
    ['no name', { attributes: [{ rules: [{ value: '1' }] }] }, /attributes\[0\]\.name: required field missing/],
    ['bad name', { attributes: [{ name: 'a b', rules: [{ value: '1' }] }] }, /attributes\[0\]\.name: invalid attribute name "a b"/],
    ['duplicate name', { attributes: [{ name: 'a', rules: [{ value: '1' }] }, { name: 'a', rules: [{ value: '2' }] }] }, /attributes\[1\]\.name: duplicate attribute name "a"/],
    ['two generators', { attributes: [{ name: 'a', spiffe: 'id', rules: [{ value: '1' }] }] }, /attributes\[0\]: attribute "a": expected exactly one of rules, operation, spiffe, client_class, api_version, got 2/],
    ['no generator', { attributes: [{ name: 'a' }] }, /attributes\[0\]: attribute "a": expected exactly one of/],
    ['empty rules', { attributes: [{ name: 'a', rules: [] }] }, /attributes\[0\]\.rules: expected at least one rule/],
    ['rule without value', { attributes: [{ name: 'a', rules: [{ when: 'true' }] }] }, /attributes\[0\]\.rules\[0\]\.value: required field missing/],
    ['unknown rule field', { attributes: [{ name: 'a', rules: [{ value: '1', then: '2' }] }] }, /attributes\[0\]\.rules\[0\]: unknown field "then"/],
    ['when not a string', { attributes: [{ name: 'a', rules: [{ when: true, value: '1' }] }] }, /attributes\[0\]\.rules\[0\]\.when: expected string, got boolean/],
    ['bad header', { attributes: [{ name: 'a', spiffe: 'id', outputs: { header: 'X Bad' } }] }, /attributes\[0\]\.outputs\.header: invalid header name "X Bad"/],
    ['reserved header', { attributes: [{ name: 'a', spiffe: 'id', outputs: { header: 'authorization' } }] }, /attributes\[0\]\.outputs\.header: header "authorization" is reserved/],
    ['header used twice', { attributes: [{ name: 'a', spiffe: 'id', outputs: { header: 'x-a' } }, { name: 'b', spiffe: 'namespace', outputs: { header: 'x-a' } }] }, /attributes\[1\]\.outputs\.header: header "x-a" is already written by another attribute/],
    ['filter_state not bool', { attributes: [{ name: 'a', spiffe: 'id', outputs: { filter_state: 'yes' } }] }, /attributes\[0\]\.outputs\.filter_state: expected boolean, got string/],
    ['unknown output', { attributes: [{ name: 'a', spiffe: 'id', outputs: { metric: 'x' } }] }, /attributes\[0\]\.outputs: unknown field "metric"/],
    ['bad spiffe part', { attributes: [{ name: 'a', spiffe: 'pod' }] }, /attributes\[0\]\.spiffe: expected one of id, trust_domain, namespace, service_account, path, got "pod"/],
    ['empty operation', { attributes: [{ name: 'a', operation: {} }] }, /attributes\[0\]\.operation: expected at least one template/],
    ['operation template without /', { attributes: [{ name: 'a', operation: { 'GET users': 'X' } }] }, /attributes\[0\]\.operation\["GET users"\]: invalid template: the path must start with '\/'/],
    ['operation bad segment', { attributes: [{ name: 'a', operation: { 'GET /u/{id': 'X' } }] }, /invalid template: invalid segment '\{id'/],
    ['operation bad method', { attributes: [{ name: 'a', operation: { 'get /u': 'X' } }] }, /invalid template: invalid method 'get'/],
    ['operation value not a string', { attributes: [{ name: 'a', operation: { '/u': 1 } }] }, /attributes\[0\]\.operation\["\/u"\]: expected string, got number/],
    ['client_class uppercase token', { attributes: [{ name: 'a', client_class: { bots: ['EvilBot'] } }] }, /attributes\[0\]\.client_class\.bots\[0\]: expected a non-empty lowercase substring/],
    ['client_class unknown field', { attributes: [{ name: 'a', client_class: { scanners: [] } }] }, /attributes\[0\]\.client_class: unknown field "scanners"/],
    ['api_version no source', { attributes: [{ name: 'a', api_version: { path: false, accept: false } }] }, /attributes\[0\]\.api_version: expected at least one source/],
    ['api_version bad header', { attributes: [{ name: 'a', api_version: { header: 'bad header' } }] }, /attributes\[0\]\.api_version\.header: invalid header name/],
    ['bad log level', { attributes: [{ name: 'a', spiffe: 'id' }], log_level: 'loud' }, /log_level: expected one of trace, debug/],
    ['unknown top-level field', { attributes: [{ name: 'a', spiffe: 'id' }], extra: 1 }, /unknown field "extra"/],
    ['not JSON', '{nope', /configuration is not valid JSON/],
  ];
  it.each(cases)('%s', async (_name, cfg, message) => {
    expect(await rejection(cfg)).toMatch(message);
  });
});
