// Deterministic fuzzing in the Node host: random token soup as expressions must be accepted or
// refused with a positioned message, never trap; accepted expressions evaluate on hostile
// requests without a trap.
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError } from '../../../sdk/src/host/index.js';
import { loadAttributes } from './helpers.js';

/** xorshift32: the same sequence on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const PIECES = [
  'request.path', 'request.headers', "request.headers['x-a']", 'request.method', 'source.address', 'source.port',
  'connection.mtls', 'jwt.claims', 'jwt.claims.a', 'waf.anomaly_score', 'metadata', "filter_state['k']", 'attr.e0',
  '1', '0', '-1', '2.5', "'a'", "'/'", '"x"', "r'\\d+'", 'true', 'false', 'null', '[', ']', '{', '}', '(', ')', ',', ':', '?', '.',
  '==', '!=', '<', '<=', '>', '>=', '&&', '||', '!', 'in', '+', '-', '*', '/', '%',
  'size(', 'startsWith(', '.startsWith(', '.matches(', "matches('(a|b)*c', ", 'lower(', '.split(', 'ip_in_cidr(', "'10.0.0.0/8'",
  'has(', 'int(', 'string(', '.contains(', '.join(', "'\\u00e9'", '\\', "'", '#', '$', 'undefined_name',
];

function soup(next: () => number): string {
  const n = 1 + Math.floor(next() * (next() < 0.7 ? 4 : 14));
  let out = '';
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(next() * PIECES.length)]! + (next() < 0.5 ? ' ' : '');
  return out;
}

describe('fuzzed expressions', () => {
  it('500 random expressions: each loads or is refused with a positioned message; none traps', async () => {
    const next = rng(0x5eed);
    let accepted = 0;
    const acceptedExprs: string[] = [];
    for (let i = 0; i < 500; i++) {
      const expr = soup(next);
      const config = { attributes: [{ name: 'e0', rules: [{ value: '1' }] }, { name: 'e1', rules: [{ value: expr }] }] };
      try {
        const f = await loadAttributes(config);
        f.close();
        accepted++;
        acceptedExprs.push(expr);
      } catch (e) {
        expect(e, expr).toBeInstanceOf(ConfigRejectedError);
        const err = e as ConfigRejectedError;
        expect(err.trap, expr).toBeUndefined();
        expect(err.message, expr).toMatch(/attributes\[1\]\.rules\[0\]\.value: attribute "e1": at \d+: |expression (longer|too large|nested)/);
      }
    }
    // The soup is mostly invalid, but some of it must parse for the next test to mean anything.
    expect(accepted).toBeGreaterThan(25);
    expect(accepted).toBeLessThan(500);

    const f = await loadAttributes({
      attributes: [{ name: 'e0', rules: [{ value: '1' }] }, ...acceptedExprs.map((e, k) => ({ name: `f${k}`, rules: [{ value: e }] }))],
    });
    try {
      const hostile = ['', 'a'.repeat(10000), '\u00ff\u0000', '10.0.0.1', '{"a":', '-9223372036854775808', '(((((', '%00%0d%0a'];
      for (const h of hostile) {
        const res = await f.http({
          method: h.length < 50 ? 'GET' : 'POST',
          path: `/${encodeURIComponent(h).slice(0, 2000)}`,
          headers: { 'x-a': h.replace(/[\r\n\0]/g, ' ') },
          properties: { 'meshward.jwt.claims': h, 'meshward.waf.anomaly_score': h, 'source': { address: h, port: 1 } },
        });
        expect(res.trap, h.slice(0, 40)).toBeUndefined();
        expect(res.status).toBe(200);
      }
    } finally {
      f.close();
    }
  });
});
