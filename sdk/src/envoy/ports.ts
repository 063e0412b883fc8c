import { createServer } from 'node:net';

/** One free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** Distinct free ports, one per name. */
export async function freePorts<N extends string>(names: readonly N[]): Promise<Record<N, number>> {
  const out = {} as Record<N, number>;
  const used = new Set<number>();
  for (const name of names) {
    let port = await freePort();
    // The kernel may hand the same port out twice in a row once it was released.
    while (used.has(port)) port = await freePort();
    used.add(port);
    out[name] = port;
  }
  return out;
}
