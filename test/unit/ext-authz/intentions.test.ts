// Consul-style intentions: precedence (the most specific intention decides), where the source and
// destination services come from, and how intentions combine with the native policies.
import { describe, expect, it } from 'vitest';
import {
  Authorizer,
  ConfigError,
  Logger,
  evaluateIntentions,
  factsOf,
  parseConfig,
  type CheckAttributes,
  type IntentionsConfig,
} from '../../../ext-authz/src/index.js';

function intentions(raw: unknown): IntentionsConfig {
  return parseConfig({ policy: { intentions: raw } }).policy.intentions!;
}

function req(o: { principal?: string; host?: string; ext?: Record<string, string>; path?: string; method?: string } = {}): CheckAttributes {
  return {
    source: { address: { socket_address: { address: '10.0.0.9' } }, ...(o.principal ? { principal: o.principal } : {}) },
    request: { http: { method: o.method ?? 'GET', path: o.path ?? '/', host: o.host ?? 'orders.shop.svc.cluster.local', headers: {} } },
    ...(o.ext ? { context_extensions: o.ext } : {}),
  };
}

const sa = (name: string, ns = 'shop') => `spiffe://cluster.local/ns/${ns}/sa/${name}`;

function decide(config: IntentionsConfig, a: CheckAttributes) {
  return evaluateIntentions(config, factsOf(a, { kind: 'workload', workload: { id: a.source!.principal!, principal: a.source!.principal!.replace('spiffe://', ''), from: 'peer' } }));
}

describe('intention precedence (Consul)', () => {
  // Written least specific first: the order in the file does not matter.
  const all = intentions([
    { source: '*', destination: '*', action: 'deny' },
    { source: 'web', destination: '*', action: 'allow' },
    { source: '*', destination: 'orders', action: 'deny' },
    { source: 'web', destination: 'orders', action: 'allow' },
    { source: 'cart', destination: 'payments', action: 'deny' },
  ]);

  it('is sorted most specific first: exact/exact, */exact, exact/*, */*', () => {
    expect(all.rules.map((r) => `${r.source}->${r.destination}`)).toEqual(['web->orders', 'cart->payments', '*->orders', 'web->*', '*->*']);
  });

  it.each([
    ['web', 'orders', true, 'intention web -> orders'], // exact/exact beats */orders deny
    ['cart', 'orders', false, 'intention * -> orders'], // */exact beats */*
    ['web', 'payments', true, 'intention web -> *'], // exact source, any destination
    ['cart', 'payments', false, 'intention cart -> payments'],
    ['cart', 'inventory', false, 'intention * -> *'],
  ])('%s -> %s: allowed %s by %s', (src, dst, allowed, name) => {
    expect(decide(all, req({ principal: sa(src), host: `${dst}.shop.svc.cluster.local:8080` }))).toMatchObject({ allowed, name });
  });

  it('destination specificity outranks source specificity (exact destination with any source beats exact source with any destination)', () => {
    const c = intentions([
      { source: 'web', destination: '*', action: 'allow' },
      { source: '*', destination: 'orders', action: 'deny' },
    ]);
    expect(decide(c, req({ principal: sa('web'), host: 'orders' }))).toMatchObject({ allowed: false, name: 'intention * -> orders' });
  });

  it('no match, or an unknown source, takes default_action (deny unless set)', () => {
    const c = intentions([{ source: 'web', destination: 'orders', action: 'allow' }]);
    expect(decide(c, req({ principal: sa('cart'), host: 'orders' }))).toMatchObject({ allowed: false, name: 'intentions default' });
    const open = intentions({ rules: [{ source: 'web', destination: 'orders', action: 'deny' }], default_action: 'allow' });
    expect(decide(open, req({ principal: sa('cart'), host: 'orders' }))).toMatchObject({ allowed: true });
    // A request without a workload identity matches no intention, not even * -> *.
    const star = intentions([{ source: '*', destination: '*', action: 'allow' }]);
    expect(evaluateIntentions(star, factsOf(req(), { kind: 'anonymous' }))).toMatchObject({ allowed: false, reason: 'no intention matched (unknown) -> orders; default deny' });
  });
});

describe('source and destination services', () => {
  it('source: a configured mapping first, then Consul\'s /svc/<name>, then Istio\'s service account', () => {
    const c = intentions({
      rules: [
        { source: 'legacy', destination: '*', action: 'allow' },
        { source: 'web', destination: '*', action: 'allow' },
        { source: 'billing', destination: '*', action: 'allow' },
      ],
      source_services: [{ principal: 'cluster.local/ns/old/*', service: 'legacy' }],
    });
    expect(decide(c, req({ principal: sa('anything', 'old') })).name).toBe('intention legacy -> *');
    expect(decide(c, req({ principal: 'spiffe://7f2c.consul/ns/default/dc/dc1/svc/web' })).name).toBe('intention web -> *');
    expect(decide(c, req({ principal: sa('billing') })).name).toBe('intention billing -> *');
  });

  it('destination: the context extension, then a host mapping, then the first label of the host (port removed)', () => {
    const c = intentions({
      rules: [
        { source: 'web', destination: 'orders', action: 'allow' },
        { source: 'web', destination: 'api', action: 'allow' },
        { source: 'web', destination: 'shipping', action: 'allow' },
      ],
      destination_hosts: { 'api.example.com': 'api' },
    });
    const web = sa('web');
    expect(decide(c, req({ principal: web, host: 'gateway.local', ext: { destination_service: 'shipping' } })).name).toBe('intention web -> shipping');
    expect(decide(c, req({ principal: web, host: 'API.example.com:443' })).name).toBe('intention web -> api');
    expect(decide(c, req({ principal: web, host: 'orders:8080' })).name).toBe('intention web -> orders');
    // An IP address is no service name.
    expect(decide(c, req({ principal: web, host: '10.1.2.3:8080' }))).toMatchObject({ allowed: false, reason: 'no intention matched web -> (unknown); default deny' });
    const noHost = intentions({ rules: [{ source: 'web', destination: 'orders', action: 'allow' }], destination_from_host: false, destination_context_extension: 'svc' });
    expect(decide(noHost, req({ principal: web, host: 'orders' })).allowed).toBe(false);
    expect(decide(noHost, req({ principal: web, host: 'x', ext: { svc: 'orders' } })).allowed).toBe(true);
  });
});

describe('intentions with the native policies', () => {
  async function authorizer(policies: unknown[]) {
    return Authorizer.create(
      parseConfig({
        policy: {
          intentions: [
            { source: 'web', destination: 'orders', action: 'allow' },
            { source: '*', destination: 'orders', action: 'deny' },
          ],
          policies,
        },
      }),
      { logger: new Logger('error', () => {}) },
    );
  }

  it('order: DENY policies, then intentions, then ALLOW policies', async () => {
    const a = await authorizer([
      { name: 'no-delete', action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] },
      { name: 'reads', action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
    ]);
    const web = sa('web');
    // The intention allows web -> orders, the ALLOW policy still has to.
    expect(await a.check(req({ principal: web, host: 'orders' }), 'grpc')).toMatchObject({ result: 'allow', policy: 'reads' });
    expect(await a.check(req({ principal: web, host: 'orders', method: 'POST' }), 'grpc')).toMatchObject({ result: 'deny', status: 403, reason: expect.stringContaining('intention web -> orders (allow) matched') });
    // A DENY policy wins over an allowing intention.
    expect(await a.check(req({ principal: web, host: 'orders', method: 'DELETE' }), 'grpc')).toMatchObject({ result: 'deny', policy: 'no-delete' });
    // A denying intention wins over an ALLOW policy, and is a 403 (no challenge).
    const cart = await a.check(req({ principal: sa('cart'), host: 'orders' }), 'grpc');
    expect(cart).toMatchObject({ result: 'deny', status: 403, policy: 'intention * -> orders', reason: 'intention * -> orders (deny) matched cart -> orders' });
  });

  it('without ALLOW policies an allowing intention is the deciding policy', async () => {
    const a = await authorizer([]);
    expect(await a.check(req({ principal: sa('web'), host: 'orders' }), 'grpc')).toMatchObject({ result: 'allow', policy: 'intention web -> orders' });
  });
});

describe('intentions config', () => {
  function issues(raw: unknown): string[] {
    try {
      parseConfig({ policy: { intentions: raw } });
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  }

  it('names the field of each problem', () => {
    expect(
      issues({
        rules: [
          { source: 'web', destination: 'orders', action: 'permit' },
          { source: 'web', destination: 'orders', action: 'allow' },
          { source: 'we b', destination: '*' },
        ],
        default_action: 'maybe',
        source_services: [{ principal: 'a*b', service: '*' }],
      }),
    ).toEqual([
      'policy.intentions.rules[0].action: expected one of allow, deny, got "permit"',
      'policy.intentions.rules[1]: a second intention for web -> orders (the first is policy.intentions.rules[0])',
      'policy.intentions.rules[2].source: expected a service name or * (letters, digits, . _ -), got "we b"',
      'policy.intentions.rules[2].action: required field missing (allow or deny)',
      'policy.intentions.source_services[0].principal: "a*b": "*" may appear once, at the start or the end',
      'policy.intentions.source_services[0].service: expected a service name (letters, digits, . _ -), got "*"',
      'policy.intentions.default_action: expected one of allow, deny, got "maybe"',
    ]);
    expect(issues([{ source: 'a', destination: 'b', action: 'allow', when: 'x' }])).toEqual([
      'policy.intentions[0].when: unknown field; expected one of source, destination, action, description',
    ]);
  });
});
