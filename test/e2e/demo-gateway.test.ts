import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../sdk/src/envoy/index.js';
import { repoRoot, runCli } from '../support/cli.js';

const demoMain = join(repoRoot, 'examples', 'demo-gateway', 'dist', 'main.js');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

function waitFor(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`demo did not print ${pattern} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const on = (b: Buffer) => {
      out += b.toString();
      if (pattern.test(out)) {
        clearTimeout(t);
        resolve(out);
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`demo exited with ${code} before printing ${pattern}:\n${out}`));
    });
  });
}

describe('demo gateway (what `npm start` runs)', () => {
  it('serves the upstream echo through Envoy with the demo filters, and Ctrl-C stops every process', async () => {
    const ports = await freePorts(['listen', 'admin', 'upstream']);
    child = spawn(process.execPath, [demoMain], {
      env: {
        ...process.env,
        MESHWARD_LISTEN_PORT: String(ports.listen),
        MESHWARD_ADMIN_PORT: String(ports.admin),
        MESHWARD_UPSTREAM_PORT: String(ports.upstream),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const banner = await waitFor(child, /Press Ctrl-C to stop/, 30_000);
    expect(banner).toContain(`Envoy         http://127.0.0.1:${ports.listen}`);
    expect(banner).toContain(`curl -i http://127.0.0.1:${ports.listen}/anything`);
    expect(banner).toMatch(/envoy version: \w+\/1\.\d+\.\d+/);

    const res = await fetch(`http://127.0.0.1:${ports.listen}/anything`);
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBe('envoy');
    expect(res.headers.get('x-meshward-demo')).toBe('hello from add-header');
    const echoed = (await res.json()) as { method: string; path: string; headers: Record<string, string> };
    expect(echoed.method).toBe('GET');
    expect(echoed.path).toBe('/anything');
    expect(echoed.headers['x-envoy-expected-rq-timeout-ms']).toBeDefined();
    // The upstream answers directly too: it is the demo upstream on its own port.
    expect((await fetch(`http://127.0.0.1:${ports.upstream}/direct`)).status).toBe(200);

    // /api/* is guarded by the JWT filter; `meshward token` mints what it trusts (as the banner shows).
    expect(banner).toContain('jwt (/api/* only) -> attributes -> waf (core ruleset, PL1) -> ext_authz');
    // The WAF blocks attacks anywhere and tells the upstream the score of what it let through.
    const sqli = await fetch(`http://127.0.0.1:${ports.listen}/anything?id=1%27%20OR%20%271%27=%271`);
    expect(sqli.status).toBe(403);
    expect(await sqli.text()).not.toMatch(/942|score|rule/i);
    const benign = await fetch(`http://127.0.0.1:${ports.listen}/anything?q=O%27Brien%20bakery`);
    expect(benign.status).toBe(200);
    expect(((await benign.json()) as { headers: Record<string, string> }).headers['x-meshward-waf-score']).toBe('0');
    expect(banner).toContain('npx meshward token');
    const token = (args: string[]) => {
      const r = runCli(['token', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const api = (path: string, t?: string) =>
      fetch(`http://127.0.0.1:${ports.listen}/api/${path}`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
    const missing = await api('orders');
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe('Jwt is missing');
    expect(missing.headers.get('www-authenticate')).toBe(`Bearer realm="http://127.0.0.1:${ports.listen}/api/orders"`);
    const ok = await api('orders', token(['--sub', 'carol']));
    expect(ok.status).toBe(200);
    const seen = (await ok.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-jwt-sub']).toBe('carol');
    expect(seen.headers['authorization']).toBeUndefined();
    // The attributes filter runs after the JWT filter: operation, client class, tier from the claims.
    const attrs = await fetch(`http://127.0.0.1:${ports.listen}/api/orders/42`, {
      headers: { authorization: `Bearer ${token(['--claims', '{"role":"admin"}'])}`, 'x-meshward-tier': 'forged', 'user-agent': 'curl/8.5.0' },
    });
    expect(attrs.status).toBe(200);
    expect(attrs.headers.get('x-meshward-tier')).toBe('staff');
    const attrSeen = ((await attrs.json()) as { headers: Record<string, string> }).headers;
    expect([attrSeen['x-meshward-op'], attrSeen['x-meshward-client'], attrSeen['x-meshward-tier']]).toEqual(['GetOrder', 'cli', 'staff']);
    const expired = await api('orders', token(['--exp', '-5m']));
    expect([expired.status, await expired.text()]).toEqual([401, 'Jwt is expired']);
    const viewer = await api('admin/users', token(['--claims', '{"role":"viewer"}']));
    expect([viewer.status, await viewer.text()]).toEqual([403, 'Jwt claims are not allowed']);
    for (const alg of ['RS256', 'PS256', 'ES384', 'EdDSA', 'HS256']) {
      expect((await api('admin/users', token(['--alg', alg, '--claims', '{"role":"admin"}']))).status, alg).toBe(200);
    }
    // ext_authz on /secure/ trusts the same issuer.
    const secure = await fetch(`http://127.0.0.1:${ports.listen}/secure/hello`, { headers: { authorization: `Bearer ${token(['--sub', 'dave'])}` } });
    expect(secure.status).toBe(200);

    // The decisions of the demo's risk policy (examples/demo-gateway/authz/authz.yaml), as the banner shows them.
    const check = (t: string, init: { method?: string; headers?: Record<string, string> } = {}) =>
      fetch(`http://127.0.0.1:${ports.listen}/secure/hello`, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${t}`, ...init.headers } });
    const erin = token(['--sub', 'erin', '--claims', '{"role":"viewer"}']);
    const first = await check(erin);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { headers: Record<string, string> }).headers['x-meshward-risk-score']).toBe('0');
    const scraper = { 'user-agent': 'scrapy/2.11' };
    expect((await check(erin, { headers: scraper })).status).toBe(200); // read-only: GET passes
    const post = await check(erin, { method: 'POST', headers: scraper });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { code: string }).code).toBe('read_only');
    const newDevice = { 'accept-language': 'fr-FR' };
    const stepUp = await check(erin, { headers: newDevice });
    expect(stepUp.status).toBe(401);
    expect(stepUp.headers.get('www-authenticate')).toMatch(/error="insufficient_user_authentication".*acr_values="urn:meshward:mfa"/);
    const mfa = token(['--sub', 'erin', '--claims', JSON.stringify({ role: 'viewer', acr: 'urn:meshward:mfa', auth_time: Math.floor(Date.now() / 1000) })]);
    expect((await check(mfa, { headers: newDevice })).status).toBe(200);
    const denied = await check(erin, { headers: { ...scraper, 'accept-language': 'ja' } });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: string }).code).toBe('forbidden');
    const frank = token(['--sub', 'frank']);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 22; i++) {
      const r = await check(frank);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.arrayBuffer();
    }
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // Envoy and the upstream are gone with it.
    await expect(fetch(`http://127.0.0.1:${ports.listen}/anything`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${ports.admin}/ready`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${ports.upstream}/direct`)).rejects.toThrow();
  });

  it('refuses a bad port setting with a message naming the variable', async () => {
    child = spawn(process.execPath, [demoMain], { env: { ...process.env, MESHWARD_LISTEN_PORT: 'ten' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toContain('MESHWARD_LISTEN_PORT=ten: expected a TCP port number');
  });
});
