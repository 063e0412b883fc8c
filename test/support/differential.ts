/**
 * The differential harness: the same filter, config and requests run in real Envoy and in the
 * Node proxy-wasm host, reduced to what a user observes, so a test can compare the two.
 */
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  EnvoyStartError,
  httpProxyBootstrap,
  staticCluster,
  startEchoUpstream,
  startEnvoy,
  wasmHttpFilter,
  type EchoUpstream,
  type EnvoyInstance,
  type Json,
} from '../../sdk/src/envoy/index.js';
import { ConfigRejectedError, loadFilter, type HttpCallOutcome, type HttpCallRequest, type ProxyWasmHost } from '../../sdk/src/host/index.js';
import { buildDir } from './cli.js';

export interface DiffRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Expectations {
  /** Response headers to compare (always: status and body). */
  responseHeaders?: string[];
  /** Headers the upstream saw to compare (from the echo's JSON body). */
  upstreamHeaders?: string[];
  /** Metric names (as defined by the filter) to compare after the request. */
  metrics?: string[];
  /** Compare the filter's log lines for this request (level and message). */
  logs?: boolean;
}

export interface Observation {
  status: number;
  headers: Record<string, string | null>;
  /** The echo projected to method, path, body and the chosen headers; or the raw body. */
  body: unknown;
  metrics: Record<string, number | null>;
  logs: string[];
}

/** A side-service for `http_call`s: Envoy reaches it through a cluster, the host through fetch. */
export interface SideService {
  cluster: string;
  handler: (req: { method: string; path: string; headers: Record<string, string>; body: string }) => { status: number; headers?: Record<string, string>; body?: string };
}

export interface Setup {
  wasm: string | Uint8Array;
  name: string;
  config?: unknown;
  vmConfig?: unknown;
  sideServices?: SideService[];
}

function pick(src: Record<string, string | undefined>, names: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const n of names) out[n] = src[n] ?? null;
  return out;
}

function projectBody(text: string, upstreamHeaders: string[]): unknown {
  try {
    const j = JSON.parse(text) as { method?: string; path?: string; headers?: Record<string, string>; body?: string };
    if (j && typeof j === 'object' && typeof j.method === 'string' && j.headers) {
      return { echo: { method: j.method, path: j.path, body: j.body, headers: pick(j.headers, upstreamHeaders) } };
    }
  } catch {
    /* not the echo */
  }
  return { raw: text };
}

const LEVELS: Record<string, string> = { warning: 'warn' };
const WASM_LOG = /\]\[(trace|debug|info|warning|error|critical)\]\[wasm\] \[[^\]]*\] wasm log [^:]*: (.*)$/gm;

/** The filter's own log lines in a slice of Envoy's log, as `level: message`. */
export function envoyFilterLogs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WASM_LOG)) out.push(`${LEVELS[m[1]!] ?? m[1]}: ${m[2]}`);
  return out;
}

async function startSide(s: SideService): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const out = s.handler({ method: req.method ?? '', path: req.url ?? '', headers, body });
      res.writeHead(out.status, out.headers ?? {});
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

export function fixtureWasm(name: string): string {
  return join(buildDir, `${name}.wasm`);
}

export class DifferentialRun {
  envoy?: EnvoyInstance;
  host?: ProxyWasmHost;
  envoyStartError?: EnvoyStartError;
  hostStartError?: ConfigRejectedError | Error;
  private upstream?: EchoUpstream;
  private sides: Array<{ server: Server; port: number; spec: SideService }> = [];
  private counter = 0;

  constructor(readonly setup: Setup) {}

  async start(): Promise<void> {
    const s = this.setup;
    this.upstream = await startEchoUpstream();
    for (const spec of s.sideServices ?? []) this.sides.push({ ...(await startSide(spec)), spec });
    const wasmPath = typeof s.wasm === 'string' ? s.wasm : undefined;
    let envoyWasmPath = wasmPath;
    if (!envoyWasmPath) {
      // Bytes (e.g. WAT compiled in the test): Envoy needs a file.
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'meshward-diff-'));
      envoyWasmPath = join(dir, `${s.name}.wasm`);
      writeFileSync(envoyWasmPath, s.wasm as Uint8Array);
    }
    const filter = wasmHttpFilter({ name: s.name, wasmPath: envoyWasmPath, config: s.config ?? '' }) as { typed_config: { config: { vm_config: Record<string, Json> } } };
    if (s.vmConfig !== undefined) {
      filter.typed_config.config.vm_config['configuration'] = {
        '@type': 'type.googleapis.com/google.protobuf.StringValue',
        value: typeof s.vmConfig === 'string' ? s.vmConfig : JSON.stringify(s.vmConfig),
      };
    }
    const upstreamPort = this.upstream.port;
    try {
      this.envoy = await startEnvoy({
        config: (p) =>
          httpProxyBootstrap({
            listenerPort: p['listener']!,
            adminPort: p['admin']!,
            upstreamPort,
            httpFilters: [filter as unknown as Json],
            clusters: this.sides.map((x) => staticCluster(x.spec.cluster, x.port)),
            accessLogFormat: 'DIFF-DONE %REQ(X-DIFF-ID)%',
          }),
      });
    } catch (e) {
      if (!(e instanceof EnvoyStartError)) throw e;
      this.envoyStartError = e;
    }
    const bytes = typeof s.wasm === 'string' ? readFileSync(s.wasm) : s.wasm;
    const sides = this.sides;
    try {
      this.host = await loadFilter(bytes, {
        name: s.name,
        config: s.config === undefined ? '' : typeof s.config === 'string' ? s.config : JSON.stringify(s.config),
        vmConfig: s.vmConfig === undefined ? undefined : typeof s.vmConfig === 'string' ? s.vmConfig : JSON.stringify(s.vmConfig),
        clusters: sides.map((x) => x.spec.cluster),
        httpCallResponder: async (req: HttpCallRequest): Promise<HttpCallOutcome> => {
          const side = sides.find((x) => x.spec.cluster === req.cluster);
          if (!side) return 'reset';
          // node:http, not fetch: Envoy sends a body even with GET, and so must the bridge.
          return new Promise<HttpCallOutcome>((resolve) => {
            const out = httpRequest(
              { host: '127.0.0.1', port: side.port, path: req.path, method: req.method, headers: Object.fromEntries(req.headers.filter(([k]) => !k.startsWith(':'))) },
              (res) => {
                let body = '';
                res.on('data', (c: Buffer) => (body += c.toString()));
                res.on('end', () => {
                  const headers: Record<string, string> = {};
                  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
                  resolve({ status: res.statusCode ?? 0, headers, body });
                });
              },
            );
            out.on('error', () => resolve('reset'));
            out.end(req.body);
          });
        },
      });
    } catch (e) {
      this.hostStartError = e as Error;
    }
  }

  /** Filter log lines Envoy printed while loading (deduplicated: Envoy configures one VM per thread). */
  envoyStartupLogs(): string[] {
    const text = this.envoyStartError?.log ?? this.envoy?.log() ?? '';
    return [...new Set(envoyFilterLogs(text))];
  }

  hostStartupLogs(): string[] {
    const logs = this.hostStartError instanceof ConfigRejectedError ? this.hostStartError.logs : (this.host?.logs ?? []);
    return [...new Set(logs.filter((l) => l.source === 'proxy_log').map((l) => `${l.level}: ${l.message}`))];
  }

  async viaEnvoy(req: DiffRequest, ex: Expectations): Promise<Observation> {
    const envoy = this.envoy!;
    const id = `r${++this.counter}`;
    const before = envoy.log().length;
    const res = await fetch(envoy.url(req.path), {
      method: req.method ?? 'GET',
      headers: { ...(req.headers ?? {}), 'x-diff-id': id },
      body: req.body,
    });
    const text = await res.text();
    await envoy.waitForLog(`DIFF-DONE ${id}`, 5_000);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    const metrics: Record<string, number | null> = {};
    for (const m of ex.metrics ?? []) metrics[m] = (await envoy.stat(`wasmcustom.${m}`)) ?? null;
    return {
      status: res.status,
      headers: pick(headers, ex.responseHeaders ?? []),
      body: projectBody(text, ex.upstreamHeaders ?? []),
      metrics,
      logs: ex.logs ? envoyFilterLogs(envoy.log().slice(before)) : [],
    };
  }

  async viaHost(req: DiffRequest, ex: Expectations): Promise<Observation> {
    const host = this.host!;
    const id = `r${this.counter}`;
    const res = await host.http({ method: req.method ?? 'GET', path: req.path, headers: { ...(req.headers ?? {}), 'x-diff-id': id }, body: req.body });
    const metrics: Record<string, number | null> = {};
    for (const m of ex.metrics ?? []) metrics[m] = host.metrics.get(m) ?? null;
    return {
      status: res.status,
      headers: pick(res.headers as Record<string, string>, ex.responseHeaders ?? []),
      body: projectBody(res.body, ex.upstreamHeaders ?? []),
      metrics,
      logs: ex.logs ? res.logs.filter((l) => l.source === 'proxy_log').map((l) => `${l.level}: ${l.message}`) : [],
    };
  }

  /** The same request through Envoy, then through the host. */
  async both(req: DiffRequest, ex: Expectations = {}): Promise<{ envoy: Observation; host: Observation }> {
    const envoy = await this.viaEnvoy(req, ex);
    const host = await this.viaHost(req, ex);
    return { envoy, host };
  }

  async stop(): Promise<void> {
    await this.envoy?.stop();
    this.host?.close();
    await this.upstream?.close();
    for (const s of this.sides) await new Promise<void>((r) => s.server.close(() => r()));
  }
}
