import { Authorizer, type AuthorizerOptions } from './authorizer.js';
import { parseConfig } from './config/parse.js';
import type { AuthzConfig } from './config/types.js';
import { Logger, type LogSink } from './log.js';
import { Metrics } from './metrics.js';
import { startAdmin } from './protocol/admin.js';
import { startGrpc, type GrpcHandle } from './protocol/grpc.js';
import { startLeanGrpc } from './protocol/grpc-lean.js';
import { startHttp, type HttpHandle } from './protocol/http.js';
import { Reloader } from './reload.js';
import { openState } from './state/index.js';

export interface StartOptions extends Omit<AuthorizerOptions, 'logger' | 'metrics' | 'state'> {
  /** Where log lines go (default: stdout, one JSON object a line). */
  logSink?: LogSink;
  /** How long close() waits for in-flight checks before cutting connections (default 5 s). */
  shutdownGraceMs?: number;
}

export interface AuthzServer {
  /** The ports actually bound (useful with port 0); absent for a disabled listener. */
  ports: { grpc?: number; http?: number; admin?: number };
  config: AuthzConfig;
  authorizer: Authorizer;
  metrics: Metrics;
  logger: Logger;
  /** Re-reads the config and its files now (the same as a file change); true when applied. */
  reload(): Promise<boolean>;
  /** Stops every listener; idempotent. */
  close(): Promise<void>;
}

function isParsed(c: unknown): c is AuthzConfig {
  const o = c as Partial<AuthzConfig> | null;
  return !!o && typeof o === 'object' && typeof o.logLevel === 'string' && typeof o.baseDir === 'string' && typeof o.server?.grpc?.enabled === 'boolean';
}

/**
 * Starts the ext_authz server: gRPC (`envoy.service.auth.v3.Authorization` + health), the HTTP
 * check protocol and the admin endpoints, each on its configured port (0 = any free port).
 * Accepts a config from `parseConfig`/`loadConfigFile`, or a raw config tree to validate.
 */
export async function startAuthzServer(config: AuthzConfig | Record<string, unknown>, options: StartOptions = {}): Promise<AuthzServer> {
  const cfg = isParsed(config) ? config : parseConfig(config, options.signals ? { signals: options.signals } : {});
  const logger = new Logger(cfg.logLevel, options.logSink);
  const metrics = new Metrics();
  const state = await openState(cfg.state, (up, reason) => {
    metrics.setStateUp('redis', up);
    // Never log the URL: it may hold a password.
    if (up) logger.info('risk state: redis connected; risk history is shared');
    else logger.warn('risk state: redis unavailable; deciding from this replica\'s local history and reconnecting', { reason });
  });
  let authorizer: Authorizer;
  try {
    authorizer = await Authorizer.create(cfg, { ...options, logger, metrics, state });
  } catch (e) {
    await state.close();
    throw e;
  }
  const reloader = new Reloader(authorizer, options.signals ? { signals: options.signals } : {});

  let ready = false;
  let grpc: GrpcHandle | undefined;
  let http: HttpHandle | undefined;
  let admin: HttpHandle | undefined;
  const closeAll = async (): Promise<void> => {
    ready = false;
    reloader.stop();
    grpc?.setServing(false);
    const grace = options.shutdownGraceMs ?? 5_000;
    await Promise.all([grpc?.close(grace), http?.close(grace), admin?.close(grace)]);
    await state.close();
  };
  try {
    if (cfg.server.grpc.enabled) {
      const g = cfg.server.grpc;
      grpc = g.transport === 'grpc-js' ? await startGrpc(authorizer, g.host, g.port) : await startLeanGrpc(authorizer, g.host, g.port);
    }
    if (cfg.server.http.enabled) http = await startHttp(authorizer, cfg.server.http);
    if (cfg.server.admin.enabled) admin = await startAdmin(metrics, () => ready, cfg.server.admin.host, cfg.server.admin.port);
  } catch (e) {
    await closeAll();
    const err = e as NodeJS.ErrnoException;
    throw new Error(`ext_authz server cannot listen: ${err.code === 'EADDRINUSE' ? `${err.message} (the port is in use; change server.*.port)` : err.message}`);
  }
  if (cfg.reload.enabled) reloader.start();
  ready = true;
  const ports: AuthzServer['ports'] = {};
  if (grpc) ports.grpc = grpc.port;
  if (http) ports.http = http.port;
  if (admin) ports.admin = admin.port;
  const summary = authorizer.policy.summary;
  logger.info('started', {
    grpc: grpc ? `${cfg.server.grpc.host}:${grpc.port}` : undefined,
    http: http ? `${cfg.server.http.host}:${http.port}` : undefined,
    admin: admin ? `${cfg.server.admin.host}:${admin.port}` : undefined,
    jwt_issuers: cfg.identity.jwt.issuers.map((i) => i.issuer),
    policies: summary,
    signals: authorizer.signalNames,
    risk_thresholds: cfg.risk.thresholds.map((t) => `${t.score}:${t.decision}`),
    state: cfg.state.kind,
  });
  // Intentions with a default deny are an allow list of their own.
  const intentionsDeny = cfg.policy.intentions?.defaultAction === 'deny';
  if (summary.allow === 0 && !summary.rego && !intentionsDeny) {
    logger.warn('no ALLOW policy and no Rego policy: every request that passes identity, signals and DENY policies is allowed');
  }
  let closing: Promise<void> | undefined;
  return {
    ports,
    config: cfg,
    authorizer,
    metrics,
    logger,
    reload: () => reloader.reload(),
    close: () => {
      closing ??= closeAll().then(() => logger.info('stopped'));
      return closing;
    },
  };
}
