/** Lengths of the units of `90s`, `15m`, `2h`, `3d`, `1w`, in ms (a day is 24 hours here). */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const AMOUNT = /^(\d{1,9})\s*([smhdw])$/;

/**
 * Resolves the relative forms `--since`/`--until` accept to an ISO-8601 instant:
 * `90s`, `15m`, `2h`, `3d`, `1w` (that long before `now`; `d` is 24 hours, `w` 7 × 24
 * hours), `today` and `yesterday` (the start of this or the previous calendar day in
 * the local time zone: midnight, or the first moment of the day where a clock change
 * skips midnight; such a day may have 23 or 25 hours). Anything else is returned as
 * given, for core to validate as an ISO-8601 date-time.
 */
export function resolveTime(value: string, now: Date = new Date()): string {
  const text = value.trim().toLowerCase();
  const amount = amountMs(text);
  if (amount !== undefined) return new Date(now.getTime() - amount).toISOString();
  if (text === 'today') return startOfLocalDay(now, 0).toISOString();
  if (text === 'yesterday') return startOfLocalDay(now, -1).toISOString();
  return value;
}

/**
 * Resolves an amount of time from now (`90m`, `12h`, `30d`, `1w`; `d` is 24 hours, `w` 7 × 24
 * hours) to the ISO-8601 instant that long after `now`, as `--expires` takes it. Anything else
 * is returned as given, for core to validate as an ISO-8601 date-time.
 */
export function resolveLater(value: string, now: Date = new Date()): string {
  const amount = amountMs(value.trim().toLowerCase());
  return amount === undefined ? value : new Date(now.getTime() + amount).toISOString();
}

/**
 * Whether `value` starts like an ISO-8601 date (`2026-01…`), so that core's check of the
 * rest says what is wrong with it; anything else is not a date at all.
 */
export function looksLikeDate(value: string): boolean {
  return /^\s*\d{4}-\d\d/.test(value);
}

function amountMs(text: string): number | undefined {
  const amount = AMOUNT.exec(text);
  if (!amount) return undefined;
  return Number(amount[1]) * UNIT_MS[amount[2] as keyof typeof UNIT_MS];
}

/**
 * The first instant of the local calendar day `offset` days from `now`'s. `Date` takes
 * a local time that a clock change skips forward to the first one that exists.
 */
function startOfLocalDay(now: Date, offset: number): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset, 0, 0, 0, 0);
}
