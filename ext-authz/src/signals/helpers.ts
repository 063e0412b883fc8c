/** Small pieces the built-in signals share: config readers and the principal's history keys. */
import { parseCidr, type Cidr } from '../cidr.js';
import { join } from '../config/reader.js';
import type { SignalConfigContext } from './api.js';

/** A 0-100 score field. */
export function scoreField(ctx: SignalConfigContext, m: Record<string, unknown>, key: string, fallback: number): number {
  return ctx.reader.integer(m[key], join(ctx.path, key), fallback, { min: 0, max: 100 });
}

/** A positive integer field. */
export function positive(ctx: SignalConfigContext, m: Record<string, unknown>, key: string, fallback: number, path = ctx.path): number {
  return ctx.reader.integer(m[key], join(path, key), fallback, { min: 1 });
}

/** A lowercase header name field. */
export function headerField(ctx: SignalConfigContext, m: Record<string, unknown>, key: string, fallback: string | undefined): string | undefined {
  const v = ctx.reader.string(m[key], join(ctx.path, key));
  if (v === undefined) return fallback;
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(v)) return ctx.reader.fail(join(ctx.path, key), `"${v}" is not a lowercase HTTP header name`);
  return v;
}

/** One CIDR or address per line; `#` starts a comment. */
export function parseCidrText(text: string, file: string): { cidrs: Cidr[]; problems: string[] } {
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (!t) return;
    try {
      cidrs.push(parseCidr(t));
    } catch (e) {
      problems.push(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { cidrs, problems };
}

/** CIDR blocks from `file` and/or `cidrs` in mapping `m` at `path`. */
export function cidrSource(ctx: SignalConfigContext, m: Record<string, unknown>, path: string): Cidr[] {
  const out: Cidr[] = [];
  if (m['file'] !== undefined) {
    const read = ctx.readFile(m['file'], join(path, 'file'));
    if (read) {
      const parsed = parseCidrText(read.text, read.file);
      for (const p of parsed.problems) ctx.reader.fail(join(path, 'file'), p);
      out.push(...parsed.cidrs);
    }
  }
  if (m['cidrs'] !== undefined) {
    ctx.reader.strings(m['cidrs'], join(path, 'cidrs'), (s) => {
      try {
        out.push(parseCidr(s));
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    });
  }
  if (m['file'] === undefined && m['cidrs'] === undefined) ctx.reader.fail(path, 'set file and/or cidrs');
  return out;
}

/** A value from `metadata_context.filter_metadata[namespace][key]` (or route metadata). */
export function metadataValue(meta: unknown, namespace: string, key: string): unknown {
  const fm = (meta as { filter_metadata?: Record<string, unknown> } | undefined)?.filter_metadata;
  const ns = fm?.[namespace] as Record<string, unknown> | undefined;
  return ns && typeof ns === 'object' ? ns[key] : undefined;
}

export function clampScore(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 100;
}

/** Ids whose keys are kept per prefix before the memo starts over (bounds its memory). */
const STATE_KEYS_KEPT = 10_000;

/**
 * History keys `<prefix><id>`, kept per id: the same id gives back the same key string. A
 * principal from the token cache is the same string on every Check, so its key is found without
 * making, flattening and hashing a new string for each lookup in the state's map (several per
 * Check). Bounded: cleared when it holds STATE_KEYS_KEPT ids.
 */
export function stateKeys(prefix: string): (id: string) => string {
  const keys = new Map<string, string>();
  return (id) => {
    let k = keys.get(id);
    if (k === undefined) {
      if (keys.size >= STATE_KEYS_KEPT) keys.clear();
      k = prefix + id;
      keys.set(id, k);
    }
    return k;
  };
}
