/**
 * A real redis-server on a free loopback port, for the ext_authz shared-state tests. The binary
 * comes from `meshward setup` / PATH / REDIS_BIN; a missing one is an error, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../sdk/src/envoy/ports.js';
import { requireTool } from '../../sdk/src/tools/resolve.js';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL); the port is kept for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  const bin = requireTool('redis').path;
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const auth = options.password ? ['--requirepass', options.password] : [];
    // DEBUG SLEEP lets tests make the server slow (Redis 7 disables DEBUG by default).
    const debug = ['--enable-debug-command', 'yes'];
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...debug, ...auth], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  await launch();
  return { port, url: `redis://127.0.0.1:${port}`, stop, restart: launch };
}
