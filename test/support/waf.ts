/**
 * Drives the WAF filter (build/waf.wasm) in the Node proxy-wasm host: load it with SecLang rules
 * or the bundled ruleset, send requests, read what matched (filter state, audit lines).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigRejectedError, compileFilter, loadFilter, type CompiledFilter, type HttpRequestInit, type HttpResult, type ProxyWasmHost } from '../../sdk/src/host/index.js';

export const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const wafWasm = join(repoRoot, 'build', 'waf.wasm');

let compiled: Promise<CompiledFilter> | undefined;

export async function loadWaf(config: string | object, options: { workers?: number } = {}): Promise<ProxyWasmHost> {
  compiled ??= compileFilter(readFileSync(wafWasm));
  return loadFilter(await compiled, { name: 'waf', config, ...options });
}

/** The configuration error message, or throws when the config was accepted. */
export async function wafRejection(config: string | object): Promise<string> {
  try {
    (await loadWaf(config)).close();
  } catch (e) {
    if (!(e instanceof ConfigRejectedError)) throw e;
    return (e as Error).message;
  }
  throw new Error('the configuration was accepted');
}

export interface AuditLine {
  waf: string;
  rule_id: number;
  phase: number;
  family: string;
  action: string;
  mode: string;
  severity: string;
  msg: string;
  data: string;
  matched_var: string;
  method: string;
  uri: string;
  client: string;
  tags: string[];
}

export function auditLines(res: HttpResult): AuditLine[] {
  return res.logs.filter((l) => l.message.startsWith('{"waf":"match"')).map((l) => JSON.parse(l.message) as AuditLine);
}

export function matchedRules(res: HttpResult): number[] {
  const v = res.filterState['wasm.meshward.waf.matched_rules'];
  return v ? v.split(',').map(Number) : [];
}

export function anomalyScore(res: HttpResult): number {
  return Number(res.filterState['wasm.meshward.waf.anomaly_score'] ?? 'NaN');
}

/** A host with `rules` loaded; `send` returns the matched rule ids of one request. */
export async function withRules(rules: string, extra: Record<string, unknown> = {}) {
  const host = await loadWaf({ rules, ...extra });
  return {
    host,
    async send(init: HttpRequestInit): Promise<HttpResult> {
      const res = await host.http(init);
      if (res.trap) throw new Error(`the WAF trapped: ${res.trap.message}`);
      return res;
    },
    async matches(init: HttpRequestInit): Promise<number[]> {
      return matchedRules(await this.send(init));
    },
    close: () => host.close(),
  };
}
