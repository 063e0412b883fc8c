import { join } from '../config/reader.js';
import { defineSignal, type SignalOutcome } from './api.js';
import { scoreField } from './helpers.js';

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

export interface TimeWindow {
  days: Set<Day>;
  /** Minutes after midnight; `to` < `from` wraps past midnight (22:00-06:00). */
  from: number;
  to: number;
}

export interface TimeOfDayConfig {
  timezone: string;
  windows: TimeWindow[];
  outsideScore: number;
}

function minutes(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  return text === '24:00' ? 1440 : undefined;
}

/** Day of week and minutes after midnight of `ms` in `timezone`. */
export function localTime(ms: number, timezone: string): { day: Day; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return { day: get('weekday').toLowerCase().slice(0, 3) as Day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

export function inWindow(w: TimeWindow, day: Day, minute: number): boolean {
  if (w.from <= w.to) return w.days.has(day) && minute >= w.from && minute < w.to;
  // Past midnight: the late part belongs to the listed day, the early part to the day after it.
  const yesterday = DAYS[(DAYS.indexOf(day) + 6) % 7]!;
  return (w.days.has(day) && minute >= w.from) || (w.days.has(yesterday) && minute < w.to);
}

/**
 * Time of day: requests outside every configured window (days of the week, `HH:MM`-`HH:MM`, in an
 * IANA `timezone`) score `outside_score`.
 */
export const timeOfDay = defineSignal<TimeOfDayConfig>({
  name: 'time_of_day',
  defaultWeight: 30,
  parse(m, ctx) {
    const r = ctx.reader;
    r.mapping(m, ctx.path, ['timezone', 'windows', 'outside_score']);
    const timezone = r.string(m['timezone'], join(ctx.path, 'timezone')) ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      r.fail(join(ctx.path, 'timezone'), `unknown time zone "${timezone}" (use an IANA name like Europe/Paris)`);
    }
    const windows: TimeWindow[] = [];
    (r.list(m['windows'], join(ctx.path, 'windows'), { required: true, nonEmpty: true }) ?? []).forEach((raw, i) => {
      const p = join(join(ctx.path, 'windows'), i);
      const w = r.mapping(raw, p, ['days', 'from', 'to'], true);
      if (!w) return;
      const days = w['days'] === undefined ? [...DAYS] : r.strings(w['days'], join(p, 'days'), (d) => ((DAYS as readonly string[]).includes(d) ? undefined : `"${d}": expected one of ${DAYS.join(', ')}`), { nonEmpty: true });
      const at = (k: 'from' | 'to') => {
        const s = r.string(w[k], join(p, k), { required: true });
        const v = s === undefined ? undefined : minutes(s);
        if (s !== undefined && v === undefined) r.fail(join(p, k), `expected HH:MM (00:00-24:00), got "${s}"`);
        return v ?? 0;
      };
      windows.push({ days: new Set(days as Day[]), from: at('from'), to: at('to') });
    });
    return { timezone, windows, outsideScore: scoreField(ctx, m, 'outside_score', 100) };
  },
  create: (c) => ({
    name: 'time_of_day',
    evaluate(ctx): SignalOutcome {
      const { day, minute } = localTime(ctx.nowMs, c.timezone);
      const inside = c.windows.some((w) => inWindow(w, day, minute));
      const local = `${day} ${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
      return inside ? { score: 0, data: { inside: true, local } } : { score: c.outsideScore, reasons: [`outside_hours ${local}`], data: { inside: false, local } };
    },
  }),
});
