// @meshward/sdk/assembly response.ts (local replies with headers and details) and leveled logging
// with the probe config's log_level, through the sdk-probe filter in the Node host.
import { describe, expect, it } from 'vitest';
import { loadProbe, probe, useProbe } from './probe.js';

const host = useProbe();

describe('sendLocalResponse', () => {
  const cases: Array<[status: string, body: string, headers: string, details: string, expected: Record<string, string>]> = [
    ['403', 'denied', 'x-reason=policy', 'meshward_denied', { 'x-reason': 'policy' }],
    ['401', 'login first', 'www-authenticate=Bearer realm="api";x-b=2', 'jwt_missing', { 'www-authenticate': 'Bearer realm="api"', 'x-b': '2' }],
    ['503', 'busy', 'retry-after=5', 'overloaded', { 'retry-after': '5' }],
    ['200', 'fine', '', 'ok_local', {}],
    ['429', 'slow down', 'x-ratelimit-remaining=0;x-ratelimit-limit=10', 'rate_limited', { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '10' }],
  ];
  it.each(cases)('%s %j with headers %j and details %j', async (status, body, headers, details, expected) => {
    const res = await probe(host(), 'local-response', [status, body, headers, details]);
    expect(res.status).toBe(Number(status));
    expect(res.body).toBe(body);
    for (const [k, v] of Object.entries(expected)) expect(res.headers[k]).toBe(v);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.localReply).toBeDefined();
    expect(res.responseDetails).toBe(details);
    expect(res.upstreamRequest).toBeUndefined();
  });

  it('keeps repeated headers and their order', async () => {
    const res = await probe(host(), 'local-response', ['403', 'no', 'set-cookie=a=1;x-one=1;set-cookie=b=2', 'd']);
    // "a=1" splits at the first '=' in the probe's pair syntax: name "set-cookie", value "a=1".
    const pairs = res.headerList.filter(([k]) => k === 'set-cookie' || k === 'x-one');
    expect(pairs).toEqual([['set-cookie', 'a=1'], ['x-one', '1'], ['set-cookie', 'b=2']]);
  });

  it('sends an empty body without content-type', async () => {
    const res = await probe(host(), 'local-response', ['204', '', 'x-a=1', 'empty']);
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['x-a']).toBe('1');
    expect(res.headers['content-type']).toBeUndefined();
  });
});

describe('sendLocalResponse to a gRPC request', () => {
  const grpc: Array<[string, string]> = [['content-type', 'application/grpc']];

  it('answers trailers-only with the given gRPC status and the body as grpc-message', async () => {
    const res = await probe(host(), 'local-response', ['403', 'denied', '', 'rbac_denied', '7'], { method: 'POST', headers: grpc });
    expect(res.status).toBe(200);
    expect(res.headers['grpc-status']).toBe('7');
    expect(res.headers['grpc-message']).toBe('denied');
    expect(res.responseDetails).toBe('rbac_denied');
  });

  it('with NO_GRPC_STATUS (the default) the HTTP status is mapped (403 -> 7, 503 -> 14), not sent as 0', async () => {
    const forbidden = await probe(host(), 'local-response', ['403', 'no', '', 'd'], { method: 'POST', headers: grpc });
    expect(forbidden.headers['grpc-status']).toBe('7');
    const busy = await probe(host(), 'local-response', ['503', 'busy', '', 'd'], { method: 'POST', headers: grpc });
    expect(busy.headers['grpc-status']).toBe('14');
  });
});

describe('logging with the configured level', () => {
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;

  it.each([
    ['trace', 0],
    ['info', 2],
    ['warn', 3],
    ['critical', 5],
  ] as Array<[string, number]>)('log_level %s lets through exactly the levels at or above it', async (configured, min) => {
    const h = await loadProbe({ config: { log_level: configured }, logLevel: 'trace' });
    for (const [i, level] of levels.entries()) {
      const message = `probe message at ${level}`;
      const res = await probe(h, 'log', [level, message]);
      expect(res.body).toBe(i >= min ? 'enabled' : 'disabled');
      const logged = res.logs.filter((l) => l.message === message);
      if (i >= min) {
        expect(logged).toHaveLength(1);
        expect(logged[0]!.level).toBe(level);
      } else {
        expect(logged).toHaveLength(0);
      }
    }
  });

  it('accepts "warning" as warn and rejects unknown level names', async () => {
    const res = await probe(host(), 'log', ['warning', 'w']);
    expect(res.body).toBe('enabled');
    expect(res.logs.find((l) => l.message === 'w')?.level).toBe('warn');
    expect((await probe(host(), 'log', ['loud', 'x'])).body).toBe('bad-level');
  });

  it('rejects an unknown log_level in the configuration', async () => {
    await expect(loadProbe({ config: { log_level: 'verbose' } })).rejects.toThrow(/log_level: expected one of trace, debug, info, warn, error, critical/);
  });
});
