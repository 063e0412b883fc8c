// Hot reload from disk: a changed policy file or IP list is applied without a restart; a bad
// bundle is rejected, the previous config keeps deciding, and the log and metrics say so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, startAuthzServer, type AuthzServer, type CheckAttributes } from '../../../ext-authz/src/index.js';

const servers: AuthzServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const attrs = (path: string, ip = '198.51.100.7'): CheckAttributes => ({
  source: { address: { socket_address: { address: ip } } },
  request: { http: { method: 'GET', path, headers: {} } },
});

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'meshward-reload-'));
  writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: public\n    action: ALLOW\n    rules: [{ to: [{ operation: { paths: ["/public/*"] } }] }]\n');
  writeFileSync(join(dir, 'blocked.txt'), '192.0.2.0/24\n');
  writeFileSync(
    join(dir, 'authz.yaml'),
    [
      'server: { grpc: { host: 127.0.0.1, port: 0 }, http: { enabled: false }, admin: { host: 127.0.0.1, port: 0 } }',
      'reload: { interval_ms: 50 }',
      'signals:',
      '  ip_blocklist: { file: blocked.txt }',
      'policy:',
      '  files: [policies.yaml]',
    ].join('\n'),
  );
  return dir;
}

async function start(dir: string, lines: string[]): Promise<AuthzServer> {
  const s = await startAuthzServer(loadConfigFile(join(dir, 'authz.yaml')), { logSink: (l) => lines.push(l), shutdownGraceMs: 100 });
  servers.push(s);
  return s;
}

const metricsOf = async (s: AuthzServer) => (await fetch(`http://127.0.0.1:${s.ports.admin}/metrics`)).text();

describe('hot reload', () => {
  it('a changed policy file is applied on its own; a broken one is rejected and the old policy stays', async () => {
    const dir = setup();
    const lines: string[] = [];
    const s = await start(dir, lines);
    const a = s.authorizer;
    expect((await a.check(attrs('/public/x'), 'grpc')).result).toBe('allow');
    expect((await a.check(attrs('/docs/x'), 'grpc')).result).toBe('deny');

    writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: docs\n    action: ALLOW\n    rules: [{ to: [{ operation: { paths: ["/docs/*"] } }] }]\n');
    await until(async () => (await a.check(attrs('/docs/x'), 'grpc')).result === 'allow');
    expect((await a.check(attrs('/public/x'), 'grpc')).result).toBe('deny');
    expect(await metricsOf(s)).toContain('meshward_authz_reloads_total{result="success"} 1');

    // A bad bundle: the error names the field and file; the docs policy keeps deciding.
    writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: broken\n    action: MAYBE\n    rules: []\n');
    await until(() => lines.some((l) => l.includes('reload rejected')));
    const err = JSON.parse(lines.find((l) => l.includes('reload rejected'))!) as { level: string; error: string };
    expect(err.level).toBe('error');
    expect(err.error).toContain(`policy.files[0] (${join(dir, 'policies.yaml')}) policies[0].action: expected one of ALLOW, DENY, got "MAYBE"`);
    expect((await a.check(attrs('/docs/x'), 'grpc')).result).toBe('allow');
    const m = await metricsOf(s);
    expect(m).toContain('meshward_authz_reloads_total{result="failure"} 1');
    expect(m).toContain('meshward_authz_reload_last_success 0');

    // Fixed again: applied, and the status metric recovers.
    writeFileSync(join(dir, 'policies.yaml'), 'policies:\n  - name: everything\n    action: ALLOW\n    rules: [{}]\n');
    await until(async () => (await a.check(attrs('/anything'), 'grpc')).result === 'allow');
    expect(await metricsOf(s)).toContain('meshward_authz_reload_last_success 1');
  });

  it('an IP list file is reloaded when it changes; an invalid line keeps the old list', async () => {
    const dir = setup();
    const lines: string[] = [];
    const s = await start(dir, lines);
    const a = s.authorizer;
    expect((await a.check(attrs('/public/x', '192.0.2.9'), 'grpc')).result).toBe('deny');
    expect((await a.check(attrs('/public/x', '203.0.113.9'), 'grpc')).result).toBe('allow');
    writeFileSync(join(dir, 'blocked.txt'), '203.0.113.0/24\n');
    await until(async () => (await a.check(attrs('/public/x', '203.0.113.9'), 'grpc')).result === 'deny');
    expect((await a.check(attrs('/public/x', '192.0.2.9'), 'grpc')).result).toBe('allow');
    writeFileSync(join(dir, 'blocked.txt'), '203.0.113.0/24\n10.0.0.0/33\n');
    await until(() => lines.some((l) => l.includes('reload rejected')));
    expect((await a.check(attrs('/public/x', '203.0.113.9'), 'grpc')).result).toBe('deny');
  });

  it('changes to the config file itself apply; listener and identity changes are named as needing a restart', async () => {
    const dir = setup();
    const lines: string[] = [];
    const s = await start(dir, lines);
    const port = s.ports.grpc;
    writeFileSync(
      join(dir, 'authz.yaml'),
      [
        'server: { grpc: { host: 127.0.0.1, port: 0 }, http: { enabled: false }, admin: { host: 127.0.0.1, port: 1 } }',
        'reload: { interval_ms: 50 }',
        'identity: { jwt: { required: false, clock_skew_seconds: 5 } }',
        'signals:',
        '  ip_blocklist: { file: blocked.txt }',
        '  waf: { weight: 100, max_anomaly: 10 }',
        'risk: { thresholds: [{ score: 50, decision: deny }] }',
        'policy:',
        '  files: [policies.yaml]',
      ].join('\n'),
    );
    await until(() => lines.some((l) => l.includes('"msg":"reloaded"')));
    const warn = JSON.parse(lines.find((l) => l.includes('apply only after a restart'))!) as { sections: string[] };
    expect(warn.sections).toEqual(['server', 'identity']);
    // The new signal and threshold decide; the listener did not move.
    expect((await s.authorizer.check({ ...attrs('/public/x'), request: { http: { method: 'GET', path: '/public/x', headers: { 'x-meshward-waf-score': '6' } } } }, 'grpc')).result).toBe('deny');
    expect(s.ports.grpc).toBe(port);
  });

  it('reload() re-reads on demand; a Rego file that does not compile is rejected', async () => {
    const dir = setup();
    writeFileSync(join(dir, 'authz.rego'), 'package meshward.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.parsed_path[0] == "public"\n');
    writeFileSync(join(dir, 'authz.yaml'), 'server: { grpc: { host: 127.0.0.1, port: 0 }, http: { enabled: false }, admin: { enabled: false } }\nreload: { enabled: false }\npolicy:\n  rego: { file: authz.rego, entrypoint: meshward/authz/allow }\n');
    const lines: string[] = [];
    const s = await start(dir, lines);
    expect((await s.authorizer.check(attrs('/public/a'), 'grpc')).result).toBe('allow');
    writeFileSync(join(dir, 'authz.rego'), 'package meshward.authz\n\nallow if {{{\n');
    expect(await s.reload()).toBe(false);
    expect(lines.find((l) => l.includes('reload rejected'))).toContain('opa build failed');
    expect((await s.authorizer.check(attrs('/public/a'), 'grpc')).result).toBe('allow');
    writeFileSync(join(dir, 'authz.rego'), 'package meshward.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.parsed_path[0] == "open"\n');
    expect(await s.reload()).toBe(true);
    expect((await s.authorizer.check(attrs('/public/a'), 'grpc')).result).toBe('deny');
    expect((await s.authorizer.check(attrs('/open/a'), 'grpc')).result).toBe('allow');
  });
});
