/**
 * The OWASP CRS regression tests (go-ftw YAML, read from ../shared/vectors/crs-regression; never
 * copied into the repo) as requests for the Node host. Each stage becomes one case: an attack
 * when it expects rule ids, a negative case when it only lists ids that must not fire.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { HttpRequestInit } from '../../sdk/src/host/index.js';
import { repoRoot } from './waf.js';

export const crsDir = resolve(repoRoot, '..', 'shared', 'vectors', 'crs-regression', 'tests');

export interface CrsCase {
  id: string;
  /** The CRS rule-id block, e.g. 942 (the family). */
  block: number;
  attack: boolean;
  request: HttpRequestInit;
}

export interface CrsLoad {
  cases: CrsCase[];
  /** Stages that could not be turned into a request (raw encoded requests, response tests). */
  skipped: number;
}

interface Stage {
  input?: { method?: string; uri?: string; headers?: Record<string, unknown>; data?: unknown; version?: string; encoded_request?: string; protocol?: string };
  output?: { log?: { expect_ids?: number[]; no_expect_ids?: number[] }; expect_ids?: number[]; no_expect_ids?: number[]; status?: number | number[] };
}

export function loadCrsVectors(): CrsLoad {
  const out: CrsLoad = { cases: [], skipped: 0 };
  if (!existsSync(crsDir)) return out;
  for (const dir of readdirSync(crsDir).sort()) {
    const m = /^(REQUEST|RESPONSE)-(\d{3})-/.exec(dir);
    if (!m) continue;
    const block = Number(m[2]);
    for (const file of readdirSync(join(crsDir, dir)).filter((f) => f.endsWith('.yaml')).sort()) {
      const doc = parse(readFileSync(join(crsDir, dir, file), 'utf8')) as { tests?: Array<{ test_id?: number; stages?: Array<Stage | { stage: Stage }> }> };
      for (const t of doc?.tests ?? []) {
        (t.stages ?? []).forEach((raw, si) => {
          const st = ('stage' in raw ? raw.stage : raw) as Stage;
          const input = st.input ?? {};
          const log = st.output?.log ?? st.output ?? {};
          const expect = (log as { expect_ids?: number[] }).expect_ids ?? [];
          const noExpect = (log as { no_expect_ids?: number[] }).no_expect_ids ?? [];
          if (m[1] === 'RESPONSE' || input.encoded_request || (expect.length === 0 && noExpect.length === 0)) {
            out.skipped++;
            return;
          }
          const headers: Array<[string, string]> = [];
          for (const [k, v] of Object.entries(input.headers ?? {})) headers.push([k, String(v)]);
          let body: string | undefined;
          if (input.data !== undefined && input.data !== null) body = Array.isArray(input.data) ? input.data.join('\r\n') : String(input.data);
          // As go-ftw completes headers: a body without a Content-Type is sent as a form.
          if (body !== undefined && body.length > 0 && !headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
          out.cases.push({
            id: `${file.replace('.yaml', '')}-${t.test_id}-${si}`,
            block,
            attack: expect.length > 0,
            request: { method: input.method ?? 'GET', path: input.uri ?? '/', headers, body, protocol: input.version },
          });
        });
      }
    }
  }
  return out;
}
