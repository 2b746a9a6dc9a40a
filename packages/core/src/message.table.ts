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
}

/** Every table messenger owns, for Kysely. */
export interface Database {
  messages: MessageTable;
}

export type MessageRow = Selectable<MessageTable>;
export type NewMessageRow = Insertable<MessageTable>;
