import { createHash } from 'node:crypto';
import { join } from '../config/reader.js';
import { header } from '../attributes.js';
import { defineSignal, type SignalContext, type SignalOutcome } from './api.js';
import { positive, scoreField, stateKeys } from './helpers.js';
import type { MemberCheck } from '../state/types.js';

export interface NewDeviceConfig {
  headers: string[];
  score: number;
  /** The principal's very first device (no history yet). */
  firstDeviceScore: number;
  rememberMs: number;
}

/** Default fingerprint inputs: the user agent and the low-entropy client hints browsers send. */
export const DEFAULT_DEVICE_HEADERS = ['user-agent', 'sec-ch-ua', 'sec-ch-ua-platform', 'sec-ch-ua-mobile', 'accept-language'];

/**
 * Recent fingerprint texts keep their digest (user agents and client hints repeat across
 * requests); bounded in count and in text length (headers are client-controlled).
 */
const DIGEST_CACHE_SIZE = 4096;
const DIGEST_CACHE_MAX_TEXT = 1024;
const digests = new Map<string, string>();

/**
 * Digests of requests that carry only one of a header list's headers (API clients send a user
 * agent and no client hints): per list (a config's), per header position, by that header's value;
 * found without building and hashing the whole text.
 */
const singleHeaderDigests = new WeakMap<readonly string[], Array<Map<string, string>>>();

function remember(cache: Map<string, string>, key: string, fp: string): void {
  if (key.length > DIGEST_CACHE_MAX_TEXT) return;
  if (cache.size >= DIGEST_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, fp);
}

export function deviceFingerprint(ctx: Pick<SignalContext, 'attrs'>, headers: readonly string[]): string {
  let single = -1;
  let singleValue = '';
  let present = 0;
  for (let i = 0; i < headers.length; i++) {
    const value = header(ctx.attrs, headers[i]!);
    if (value === undefined || value === '') continue;
    if (++present > 1) break;
    single = i;
    singleValue = value;
  }
  let byValue: Map<string, string> | undefined;
  if (present === 1) {
    let perHeader = singleHeaderDigests.get(headers);
    if (perHeader === undefined) singleHeaderDigests.set(headers, (perHeader = headers.map(() => new Map<string, string>())));
    byValue = perHeader[single]!;
    const fp = byValue.get(singleValue);
    if (fp !== undefined) return fp;
  }
  let text = '';
  for (const name of headers) text += `${name}\n${header(ctx.attrs, name) ?? ''}\n`;
  let fp = digests.get(text);
  if (fp === undefined) {
    // The digest of the whole text: the same as hashing header by header.
    fp = createHash('sha256').update(text).digest('hex').slice(0, 24);
    remember(digests, text, fp);
  }
  if (byValue !== undefined) remember(byValue, singleValue, fp);
  return fp;
}

const key = stateKeys('devices:');

/**
 * New device: a fingerprint of the user agent and client hints, per principal. A device the
 * principal has not used in an allowed request before scores `score`; the principal's very first
 * device scores `first_device_score` (default 0: nothing to compare with). Devices are
 * remembered after an allow, for `remember_days`.
 */
export const newDevice = defineSignal<NewDeviceConfig>({
  name: 'new_device',
  defaultWeight: 30,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['headers', 'score', 'first_device_score', 'remember_days']);
    const headers = m['headers'] === undefined ? DEFAULT_DEVICE_HEADERS : r.strings(m['headers'], join(ctx.path, 'headers'), (s) => (/^[a-z0-9-]+$/.test(s) ? undefined : `"${s}" is not a lowercase header name`), { nonEmpty: true });
    return {
      headers,
      score: scoreField(ctx, m, 'score', 100),
      firstDeviceScore: scoreField(ctx, m, 'first_device_score', 0),
      rememberMs: positive(ctx, m, 'remember_days', 90) * 86_400_000,
    };
  },
  create: (c) => {
    // evaluate and learn see the same request, one after the other: hash it once. Only the
    // last request's is kept (a WeakMap entry per request cost more than the hash lookup it
    // saves); requests interleaved by an asynchronous state just compute theirs again.
    let lastAttrs: object | undefined;
    let lastFingerprint = '';
    const fingerprintOf = (ctx: SignalContext): string => {
      if (ctx.attrs !== lastAttrs) {
        lastFingerprint = deviceFingerprint(ctx, c.headers);
        lastAttrs = ctx.attrs;
      }
      return lastFingerprint;
    };
    return {
      name: 'new_device',
      evaluate(ctx): SignalOutcome | Promise<SignalOutcome> {
        if (!ctx.principal) return { score: 0, data: {} };
        const fp = fingerprintOf(ctx);
        const sync = ctx.state.sync;
        if (sync) return deviceOutcome(c, fp, sync.isMember(key(ctx.principal), fp, ctx.nowMs));
        return ctx.state.isMember(key(ctx.principal), fp, ctx.nowMs).then((m) => deviceOutcome(c, fp, m));
      },
      learn(ctx) {
        if (!ctx.principal) return;
        const sync = ctx.state.sync;
        if (sync) sync.addMember(key(ctx.principal), fingerprintOf(ctx), c.rememberMs, ctx.nowMs);
        else return ctx.state.addMember(key(ctx.principal), fingerprintOf(ctx), c.rememberMs, ctx.nowMs);
      },
    };
  },
});

function deviceOutcome(c: NewDeviceConfig, fp: string, { known, size }: MemberCheck): SignalOutcome {
  if (known) return { score: 0, data: { fingerprint: fp, known: true, devices: size } };
  if (size === 0) return { score: c.firstDeviceScore, reasons: c.firstDeviceScore ? ['first_device'] : [], data: { fingerprint: fp, known: false, devices: 0 } };
  return { score: c.score, reasons: ['unknown_device'], data: { fingerprint: fp, known: false, devices: size } };
}
