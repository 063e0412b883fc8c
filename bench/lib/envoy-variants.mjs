// Shared by the benches that compare Envoys differing only in their HTTP filters, requests
// interleaved variant by variant, with Envoy's own per-request duration from the access log
// (attributes-envoy.mjs, envoy-hostcalls.mjs).
import http from 'node:http';

/** Access-log line of one request: the variant's index (x-bench-variant) and Envoy's own µs. */
export const ACCESS_LOG_FORMAT = 'BENCH %REQ(x-bench-variant)% %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%';

/**
 * Starts one Envoy per variant (its `filters`) in front of `upstream`, each with a keep-alive
 * agent of one socket; sets `v.envoy`, `v.agent`, `v.port`. Returns the agents (destroy them).
 */
export async function startVariantEnvoys(envoyApi, variants, upstream) {
  const { startEnvoy, httpProxyBootstrap } = envoyApi;
  const agents = [];
  for (const v of variants) {
    v.envoy = await startEnvoy({
      config: (p) => httpProxyBootstrap({ listenerPort: p['listener'], adminPort: p['admin'], upstreamPort: upstream.port, httpFilters: v.filters, accessLogFormat: ACCESS_LOG_FORMAT }),
      logLevel: 'warn',
    });
    v.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(v.agent);
    v.port = Number(new URL(v.envoy.url('/')).port);
  }
  return agents;
}

/** Each variant's log length now: what `collectInEnvoy` skips (warm-up requests). */
export function logMarks(variants) {
  return variants.map((v) => v.envoy.log().length);
}

/** Sets `v.inEnvoy`: Envoy's µs per request logged since `marks`, after the once-a-second log flush. */
export async function collectInEnvoy(variants, marks) {
  await new Promise((r) => setTimeout(r, 1500)); // access logs are flushed every second
  for (const [k, v] of variants.entries()) {
    const lines = v.envoy.log().slice(marks[k]).split('\n').filter((l) => l.startsWith(`BENCH ${k} `));
    v.inEnvoy = lines.map((l) => Number(l.split(' ')[2])).filter((n) => Number.isFinite(n));
  }
}

export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Requests per round: consecutive requests of each variant sent interleaved. */
export const ROUND = 50;

function roundMedians(xs) {
  const out = [];
  for (let r = 0; r + ROUND <= xs.length; r += ROUND) out.push(pct(xs.slice(r, r + ROUND), 50));
  return out;
}

/**
 * Added p50: the median over rounds of the variant's round median minus the baseline's in the
 * same round, so load that comes and goes on a shared machine cancels round by round.
 */
export function addedP50(xs, base) {
  const a = roundMedians(xs), b = roundMedians(base);
  const n = Math.min(a.length, b.length);
  return n === 0 ? NaN : pct(a.slice(0, n).map((m, r) => m - b[r]), 50);
}
