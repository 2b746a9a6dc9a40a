import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** The `messages` table as stored. */
export interface MessageTable {
  /** bigint identity; pg returns int8 as a string. */
  id: Generated<string>;
  sender: string;
  recipient: string;
  message_content: string;
  sent_datetime: ColumnType<Date | string, never, never>;
  is_read: Generated<boolean>;
  read_at: ColumnType<Date | string | null, never, Date | string | null>;
  /** Inserting transaction (xid8, as text); see migration 0002. */
  txid: ColumnType<string, never, never>;
  conversation: ColumnType<string, never, never>;
}

/** The `idempotency_keys` table: one row per idempotent send. */
export interface IdempotencyKeyTable {
  key: string;
  request_hash: string;
  message_id: string;
  /** The message as first returned, replayed byte for byte. */
  response: ColumnType<unknown, string, never>;
  created_at: ColumnType<Date | string, never, never>;
}

/** Every table messenger owns, for Kysely. */
export interface Database {
  messages: MessageTable;
  idempotency_keys: IdempotencyKeyTable;
}

export type MessageRow = Selectable<MessageTable>;
export type NewMessageRow = Insertable<MessageTable>;
