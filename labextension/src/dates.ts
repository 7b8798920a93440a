/**
 * The one way the UI shows a moment: relative ("5 min ago", "in 2 h") with the
 * absolute local date and time on hover. Server times arrive as epoch
 * milliseconds or ISO 8601 strings (with an offset or `Z`); all go through here.
 */
import { h } from './elements';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ABSOLUTE = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit'
});

/** Epoch milliseconds of `value` (epoch ms, ISO string), or null when it is no time. */
export function toEpochMs(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

/** The absolute local date and time of `ms`, e.g. "Dec 6, 2026, 06:53:12 PM". */
export function formatAbsolute(ms: number): string {
  return ABSOLUTE.format(new Date(ms));
}

/** `ms` relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago", "in 10 min"; older than a month: the date. */
export function formatRelative(ms: number, now: number = Date.now()): string {
  const delta = ms - now;
  const span = Math.abs(delta);
  if (span < 45_000) {
    return 'just now';
  }
  let amount: string;
  if (span < HOUR) {
    amount = `${Math.round(span / MINUTE)} min`;
  } else if (span < DAY) {
    amount = `${Math.round(span / HOUR)} h`;
  } else if (span < 30 * DAY) {
    amount = `${Math.round(span / DAY)} d`;
  } else {
    return new Date(ms).toLocaleDateString(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric'
    });
  }
  return delta < 0 ? `${amount} ago` : `in ${amount}`;
}

/** A `<time>` showing `value` relative to now, absolute on hover; empty when no time. */
export function timeElement(
  value: number | string | null | undefined,
  now: number = Date.now()
): HTMLElement {
  const ms = toEpochMs(value);
  if (ms === null) {
    return h('time', { className: 'jp-mlops-time' });
  }
  return h(
    'time',
    {
      className: 'jp-mlops-time',
      title: formatAbsolute(ms),
      attrs: { datetime: new Date(ms).toISOString() }
    },
    formatRelative(ms, now)
  );
}
