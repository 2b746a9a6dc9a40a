import type { ColumnType, Generated } from 'kysely';
import type { ApiTokenTable, UserTable } from './accounts/accounts.table.js';

/** The `messages` table as stored. */
export interface MessageTable {
  /**
   * `bigint generated always as identity`: never written. Read as a number on PostgreSQL
   * (core parses int8 itself, exact up to 2^53); PGlite gives a number up to 2^53 and a
   * bigint past it. Compare it in SQL against a decimal string cast to bigint.
   */
  id: ColumnType<number | bigint, never, never>;
  sender: string;
  recipient: string;
  message_content: string;
  sent_datetime: ColumnType<Date | string, never, never>;
  is_read: Generated<boolean>;
  read_at: ColumnType<Date | string | null, never, Date | string | null>;
  /** Inserting transaction (xid8, as text); see migration 0002. */
  txid: ColumnType<string, never, never>;
}

/** The `idempotency_keys` table: one row per idempotent send. */
export interface IdempotencyKeyTable {
  key: string;
  request_hash: string;
  /** The message's id (bigint): written as a number, never read back (the response is). */
  message_id: ColumnType<number | bigint, number, never>;
  /** The message as first returned, replayed byte for byte. */
  response: ColumnType<unknown, string, never>;
  created_at: ColumnType<Date | string, never, never>;
}

/** Every table messenger owns, for Kysely. */
export interface Database {
  messages: MessageTable;
  idempotency_keys: IdempotencyKeyTable;
  users: UserTable;
  api_tokens: ApiTokenTable;
}
