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
  const amount = AMOUNT.exec(text);
  if (amount) {
    const unit = amount[2] as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(amount[1]) * UNIT_MS[unit]).toISOString();
  }
  if (text === 'today') return startOfLocalDay(now, 0).toISOString();
  if (text === 'yesterday') return startOfLocalDay(now, -1).toISOString();
  return value;
}

/**
 * The first instant of the local calendar day `offset` days from `now`'s. `Date` takes
 * a local time that a clock change skips forward to the first one that exists.
 */
function startOfLocalDay(now: Date, offset: number): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset, 0, 0, 0, 0);
}
