/**
 * Corpora for the detector measurements: the OWASP CRS regression tests (outside the repository,
 * read in place) and the project's own lists under test/fixtures/waf-match/.
 *
 * From a CRS test stage we take the values a WAF would inspect: the URI path, query argument
 * names and values, form/JSON/XML body values, cookies and the non-default request headers,
 * URL-decoded as the body and query parsers do, then (as the CRS detector rules' transformations
 * do) URL-decoded once more with NUL bytes removed; XSS candidates are also HTML-entity decoded.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { crsTestsDir, repoRoot } from './probe.js';

export interface CrsCase {
  /** rule_id-test_id */
  id: string;
  rule: number;
  /** The stage expects its rule to fire (a positive test) rather than not to. */
  positive: boolean;
  /** Values to inspect. */
  values: string[];
}

/** Percent-decoding as a query/form parser does ("+" is a space); malformed escapes stay as they are. */
export function urlDecode(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b) {
      bytes.push(0x20);
    } else {
      for (const b of Buffer.from(s.charAt(i), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&', nbsp: '\u00a0', colon: ':', tab: '\t', newline: '\n', lpar: '(', rpar: ')', sol: '/' };

/** HTML character references decoded once (&#NN; &#xHH; and the common names). */
export function htmlDecode(s: string): string {
  return s.replace(/&(#[xX][0-9a-fA-F]+|#\d+|[a-zA-Z]+);?/g, (m, body: string) => {
    if (body[0] === '#') {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return NAMED[body.toLowerCase()] ?? m;
  });
}

function formPairs(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) out.push(urlDecode(part));
    else out.push(urlDecode(part.slice(0, eq)), urlDecode(part.slice(eq + 1)));
  }
  return out;
}

function jsonStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      jsonStrings(x, out);
    }
  }
}

const DEFAULT_HEADERS = new Set(['host', 'accept', 'content-type', 'content-length', 'connection', 'accept-encoding', 'accept-language', 'proxy-connection', 'cache-control', 'transfer-encoding', 'keep-alive']);

function stageValues(input: Record<string, unknown>): string[] {
  const out: string[] = [];
  const uri = String(input.uri ?? '');
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  out.push(urlDecode(path.replace(/\+/g, '%2B')));
  if (q >= 0) out.push(...formPairs(uri.slice(q + 1)));
  const headers = (input.headers ?? {}) as Record<string, unknown>;
  const ctype = String(Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '');
  let data = input.data as unknown;
  if (Array.isArray(data)) data = data.join('\r\n');
  if (typeof data === 'string' && data.length > 0) {
    const body = data;
    if (/json/i.test(ctype)) {
      try {
        jsonStrings(JSON.parse(body), out);
      } catch {
        out.push(body);
      }
    } else if (/xml/i.test(ctype) || body.startsWith('<?xml')) {
      for (const m of body.matchAll(/="([^"]*)"|>([^<]+)</g)) out.push(htmlDecode(m[1] ?? m[2] ?? ''));
    } else if (/multipart/i.test(ctype)) {
      out.push(body);
    } else {
      out.push(...formPairs(body));
    }
  }
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    const value = String(v);
    if (DEFAULT_HEADERS.has(name)) continue;
    if (name === 'user-agent' && value === 'OWASP CRS test agent') continue;
    if (name === 'cookie') {
      for (const part of value.split(/;\s*/)) {
        const eq = part.indexOf('=');
        if (eq < 0) out.push(urlDecode(part));
        else out.push(urlDecode(part.slice(0, eq)), urlDecode(part.slice(eq + 1)));
      }
      continue;
    }
    out.push(value);
  }
  // The detector rules' own transformations: a second URL decoding (t:urlDecodeUni), NULs removed.
  const all = new Set<string>();
  for (const v of out) {
    if (v.trim() === '') continue;
    all.add(v.replace(/\0/g, ''));
    all.add(urlDecode(v.replace(/\+/g, '%2B')).replace(/\0/g, ''));
  }
  return [...all];
}

/** Every stage of the CRS regression tests of one family folder (e.g. REQUEST-942-APPLICATION-ATTACK-SQLI). */
export function crsCases(family: string): CrsCase[] {
  const dir = join(crsTestsDir, family);
  if (!existsSync(dir)) throw new Error(`CRS regression tests not found at ${dir} (expected next to the repository)`);
  const cases: CrsCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc = parseYaml(readFileSync(join(dir, file), 'utf8')) as { rule_id: number; tests: { test_id: number; stages: { input: Record<string, unknown>; output: { log?: { expect_ids?: number[]; no_expect_ids?: number[] } } }[] }[] };
    for (const t of doc.tests ?? []) {
      for (const stage of t.stages ?? []) {
        const log = stage.output?.log ?? {};
        const positive = Array.isArray(log.expect_ids) && log.expect_ids.length > 0;
        const negative = Array.isArray(log.no_expect_ids) && log.no_expect_ids.length > 0;
        if (!positive && !negative) continue;
        cases.push({ id: `${doc.rule_id}-${t.test_id}`, rule: doc.rule_id, positive, values: stageValues(stage.input) });
      }
    }
  }
  return cases;
}

/** A corpus file under test/fixtures/waf-match/: one value per line, "# " lines are comments. */
export function corpusLines(file: string): string[] {
  return readFileSync(join(repoRoot, 'test', 'fixtures', 'waf-match', file), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('# '));
}
