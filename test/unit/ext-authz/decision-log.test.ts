// The decision log line is written as JSON text by hand (decision-log.ts): it must parse, and it
// must say what a fields object passed through JSON.stringify says, for any request and decision,
// including text that needs escaping.
import { describe, expect, it } from 'vitest';
import { decisionLogMembers, millisecondsText } from '../../../ext-authz/src/decision-log.js';
import { jsonString, jsonValue } from '../../../ext-authz/src/json-text.js';
import { Logger } from '../../../ext-authz/src/log.js';
import { pathOnly, type CheckAttributes, type Decision, type Identity } from '../../../ext-authz/src/index.js';

const protocolOf = (i: number) => (i % 2 ? 'grpc' : 'http');

/** What the line held when it was a fields object given to JSON.stringify. */
function expected(d: Decision, attrs: CheckAttributes, protocol: string, us: number): Record<string, unknown> {
  const http = attrs.request.http;
  const fields = {
    decision_id: d.id,
    request_id: http.headers['x-request-id'] ?? http.id,
    protocol,
    method: http.method,
    host: http.host,
    path: pathOnly(http.path),
    source_ip: attrs.source?.address?.socket_address?.address || undefined,
    identity: d.identity.kind,
    principal: d.identity.jwt?.principal ?? d.identity.apiKey?.principal ?? d.identity.workload?.principal,
    workload: d.identity.workload?.id,
    decision: d.result,
    status: d.status,
    reason: d.reason,
    policy: d.policy,
    risk_score: d.risk?.score,
    risk_reasons: d.risk?.reasons,
    latency_ms: us / 1000,
  };
  return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
}

const AWKWARD = ['plain', 'quote " inside', 'back\\slash', 'new\nline', 'tab\tand\u0001control', 'émoji 🚀', 'lone \ud800 surrogate', 'trail \udfff', '', '</script>', '\u2028line sep'];

function decision(i: number): { d: Decision; attrs: CheckAttributes } {
  const s = AWKWARD[i % AWKWARD.length]!;
  const t = AWKWARD[(i * 7 + 3) % AWKWARD.length]!;
  const identities: Identity[] = [
    { kind: 'anonymous' },
    { kind: 'jwt', jwt: { issuer: 'https://idp', subject: s, principal: `https://idp/${s}`, claims: {}, audiences: [] } } as unknown as Identity,
    { kind: 'workload', workload: { id: `spiffe://td/ns/${t}/sa/x`, principal: `td/ns/${t}/sa/x` } } as unknown as Identity,
  ];
  const attrs: CheckAttributes = {
    request: {
      http: {
        method: i % 5 === 0 ? 'POST' : 'GET',
        path: `/p/${s}?q=${t}`,
        headers: i % 2 ? { 'x-request-id': t } : {},
        ...(i % 3 ? { host: s } : {}),
        ...(i % 4 ? { id: String(i) } : {}),
      },
    },
    ...(i % 3 === 1 ? { source: { address: { socket_address: { address: `10.0.0.${i % 250}` } } } } : {}),
  };
  const d: Decision = {
    // The authorizer's ids are UUIDs (written without escaping).
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    result: i % 2 ? 'allow' : 'deny',
    status: i % 2 ? 200 : 403,
    reason: `reason ${s}`,
    ...(i % 4 === 1 ? { policy: `policy ${t}` } : {}),
    ...(i % 3 === 0 ? { risk: { score: i % 101, reasons: i % 2 ? [] : [`geo:${s}`, `velocity:${t}`] } } : {}),
    identity: identities[i % identities.length]!,
    upstreamHeaders: {},
    removeHeaders: [],
    responseHeaders: {},
  };
  return { d, attrs };
}

describe('decision log line', () => {
  it('says what JSON.stringify of the fields said, for awkward text too', () => {
    for (let i = 0; i < 400; i++) {
      const { d, attrs } = decision(i);
      const us = (i * 7919) % 2_000_000;
      const text = `{${decisionLogMembers(d, attrs, protocolOf(i), us)}}`;
      expect(JSON.parse(text), text).toEqual(expected(d, attrs, protocolOf(i), us));
    }
  });

  it('writes well-formed JSON for lone surrogates (escaped, as JSON.stringify does)', () => {
    expect(jsonString('a\ud800b')).toBe(JSON.stringify('a\ud800b'));
    expect(jsonString('ok \ud83d\ude80')).toBe(JSON.stringify('ok \ud83d\ude80'));
    for (const s of AWKWARD) expect(JSON.parse(jsonString(s))).toBe(s);
  });

  it('writes any value as JSON.stringify does', () => {
    const values: unknown[] = [...AWKWARD, 0, -0, 1.5, -7, 1e21, 1e-7, Number.NaN, Infinity, true, false, null, undefined, () => 1, Symbol('s'), [1, 'a'], { a: 1, b: undefined }, new Date(0)];
    for (const v of values) expect(jsonValue(v)).toBe(JSON.stringify(v));
  });

  it('writes latencies as the shortest text of the number of milliseconds', () => {
    for (let us = 0; us < 5_000; us++) expect(millisecondsText(us)).toBe(String(us / 1000));
    for (const us of [10_000, 123_450, 999_999, 1_000_001, 60_000_000, 86_400_000_123]) expect(millisecondsText(us)).toBe(String(us / 1000));
    expect(millisecondsText(Number.NaN)).toBe('null');
  });

  it('is one JSON line with time, level and msg first', () => {
    const lines: string[] = [];
    const { d, attrs } = decision(1);
    new Logger('info', (l) => lines.push(l)).logJson('info', 'decision', decisionLogMembers(d, attrs, 'http', 1500));
    new Logger('warn', (l) => lines.push(l)).logJson('info', 'decision', decisionLogMembers(d, attrs, 'http', 1500));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line).slice(0, 4)).toEqual(['time', 'level', 'msg', 'decision_id']);
    expect(line).toMatchObject({ level: 'info', msg: 'decision', latency_ms: 1.5 });
  });
});
