import type { ColumnType } from 'kysely';

/** The `users` table as stored (see migration 0004). */
export interface UserTable {
  /** `bigint generated always as identity`: read as a number (see {@link MessageTable.id}). */
  id: ColumnType<number | bigint, never, never>;
  name: ColumnType<string, string, never>;
  created_at: ColumnType<Date | string, never, never>;
  disabled_at: ColumnType<Date | string | null, never, Date | string | null>;
}

/** The `api_tokens` table as stored: never the token itself, only its SHA-256. */
export interface ApiTokenTable {
  id: ColumnType<number | bigint, never, never>;
  user_id: ColumnType<number | bigint, number | bigint, never>;
  /** SHA-256 of the whole token string, 32 bytes. */
  token_hash: ColumnType<Uint8Array, Uint8Array, never>;
  label: ColumnType<string | null, string | null, never>;
  created_at: ColumnType<Date | string, never, never>;
  last_used_at: ColumnType<Date | string | null, never, Date | string | null>;
  expires_at: ColumnType<Date | string | null, Date | string | null, never>;
  revoked_at: ColumnType<Date | string | null, never, Date | string | null>;
}
