/**
 * Hot reload: watches the config file and every file it names (policy files, Rego sources or
 * bundle, data files, IP lists). On a change the config is parsed again from scratch and, when it
 * is valid and its policy builds, swapped in atomically. A bad bundle is rejected: the old config
 * stays active, and the error goes to the log and to `meshward_authz_reload*` metrics.
 *
 * Applied on reload: signals (and their lists), risk thresholds, policies, Rego, response
 * headers. Listeners, identity and state need a restart (a warning says so when they change).
 */
import { statSync } from 'node:fs';
import type { Authorizer } from './authorizer.js';
import { loadConfigFile, parseConfig } from './config/parse.js';
import type { AuthzConfig } from './config/types.js';
import type { SignalPlugin } from './signals/api.js';

export interface ReloaderOptions {
  signals?: ReadonlyArray<SignalPlugin<unknown>>;
  /** Wait this long after the last change before reloading (editors write in several steps). */
  debounceMs?: number;
}

/** Parses the config again from what it was parsed from (re-reading every file). */
export function reparseConfig(config: AuthzConfig, signals?: ReadonlyArray<SignalPlugin<unknown>>): AuthzConfig {
  const opts = signals ? { signals } : {};
  if (config.origin.file) return loadConfigFile(config.origin.file, opts);
  return parseConfig(config.origin.raw, { ...opts, baseDir: config.baseDir });
}

/** What identifies a file's version: a change of any of these is a change of the file. */
function signature(file: string): string {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

export class Reloader {
  /** Watched file -> its signature when last seen. */
  private watched = new Map<string, string>();
  private poller: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly authorizer: Authorizer,
    private readonly options: ReloaderOptions = {},
  ) {}

  /**
   * Starts watching the current config's files: their state is taken now (synchronously), then
   * polled every `reload.interval_ms`, so a change made right after start is not missed.
   */
  start(): void {
    this.watch(this.filesOf(this.authorizer.config));
    this.poller = setInterval(() => this.poll(), this.authorizer.config.reload.intervalMs);
    this.poller.unref();
  }

  private poll(): void {
    let changed = false;
    for (const [file, seen] of this.watched) {
      const now = signature(file);
      if (now !== seen) {
        this.watched.set(file, now);
        changed = true;
      }
    }
    if (changed) this.schedule();
  }

  private filesOf(c: AuthzConfig): string[] {
    return [...new Set([...(c.origin.file ? [c.origin.file] : []), ...c.files])];
  }

  private watch(files: string[]): void {
    const next = new Map<string, string>();
    for (const f of files) next.set(f, this.watched.get(f) ?? signature(f));
    this.watched = next;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.options.debounceMs ?? 100);
    this.timer.unref();
  }

  /** Reloads now; resolves true when the new config was applied. Concurrent calls are queued. */
  async reload(): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.reloadOnce().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  private async reloadOnce(): Promise<boolean> {
    const { logger, metrics } = this.authorizer;
    const old = this.authorizer.config;
    let next: AuthzConfig;
    try {
      next = reparseConfig(old, this.options.signals);
      await this.authorizer.apply(next);
    } catch (e) {
      metrics.recordReload(false);
      logger.error('reload rejected; the previous config stays active', { error: (e as Error).message });
      // The same files stay watched: fixing the broken one (or the config file) triggers a reload.
      return false;
    }
    metrics.recordReload(true);
    this.watch(this.filesOf(next));
    // API keys are applied on reload (key rotation without a restart); the rest of identity is not.
    const sectionOf = (c: AuthzConfig, k: 'server' | 'identity' | 'state') => (k === 'identity' ? { ...c.identity, apiKeys: undefined } : c[k]);
    const restartOnly = (['server', 'identity', 'state'] as const).filter((k) => JSON.stringify(sectionOf(old, k)) !== JSON.stringify(sectionOf(next, k)));
    if (restartOnly.length) logger.warn('reload: changes to these sections apply only after a restart', { sections: restartOnly });
    logger.info('reloaded', { policies: this.authorizer.policy.summary, signals: this.authorizer.signalNames, files: this.watched.size });
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.watched.clear();
  }
}
