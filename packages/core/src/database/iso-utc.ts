import { type RawBuilder, sql } from 'kysely';

/**
 * Text of a timestamptz column as ISO-8601 UTC with microseconds
 * (`2026-11-25T13:38:21.123456Z`): exact, and the same on every engine and in every session
 * time zone. Every time core hands out is made here.
 */
export function isoUtc(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
