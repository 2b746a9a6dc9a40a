import { CompiledQuery, type Kysely, sql, type Transaction } from 'kysely';
import { encodeCursor } from './cursor.js';
import type { Message, MessagePage } from './message.js';
import type { Database } from './message.table.js';
import type { ListQuery } from './validation/list-query.js';
import type { SendInput } from './validation/send-input.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Text of a timestamptz column as ISO-8601 UTC with microseconds: exact, and the same on every engine. */
const isoUtc = (column: 'sent_datetime' | 'read_at') =>
  sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The columns of a {@link Message}, with times as exact text. */
export const messageColumns = [
  'id',
  'sender',
  'recipient',
  'message_content',
  isoUtc('sent_datetime').as('sent_datetime'),
  'is_read',
  isoUtc('read_at').as('read_at'),
] as const;

/** A row selected with {@link messageColumns}. */
export interface MessageSelection {
  id: number | bigint;
  sender: string;
  recipient: string;
  message_content: string;
  sent_datetime: string;
  is_read: boolean;
  read_at: string | null;
}

/** Maps a selected row to the public {@link Message} shape; the only place rows become messages. */
export function toMessage(row: MessageSelection): Message {
  return {
    id: Number(row.id),
    sender: row.sender,
    recipient: row.recipient,
    message_content: row.message_content,
    sent_datetime: row.sent_datetime,
    is_read: row.is_read,
    read_at: row.read_at,
  };
}

/** `select <message columns> from "messages"`, compiled once. */
let selectMessages: string | undefined;

/** Stores a validated message; the database sets `id`, `sent_datetime` and `is_read`. */
export async function insertMessage(db: Db, input: SendInput): Promise<Message> {
  const row = await db
    .insertInto('messages')
    .values({
      sender: input.sender,
      recipient: input.recipient,
      message_content: input.message_content,
    })
    .returning(messageColumns)
    .executeTakeFirstOrThrow();
  return toMessage(row);
}

/**
 * One page of messages, newest first in the total order `(sent_datetime, id)`
 * descending, after the query's cursor position. Each filter combination is
 * served by an index scan (see migration 0001).
 */
export async function listMessages(db: Db, query: ListQuery): Promise<MessagePage> {
  // The hot read path: the select list comes from Kysely (compiled once), the filters are
  // appended by hand. Building the whole query with Kysely's builder on every request
  // cost ~30-40 µs of CPU (bench/, list vs. a bare handler).
  selectMessages ??= db.selectFrom('messages').select(messageColumns).compile().sql;
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.sender !== undefined) where.push(`lower(sender) = lower(${p(query.sender)})`);
  if (query.recipient !== undefined) where.push(`lower(recipient) = lower(${p(query.recipient)})`);
  if (query.conversation !== undefined) {
    const [a, b] = query.conversation.map(p) as [string, string];
    where.push(
      `conversation = least(lower(${a}), lower(${b})) || E'\\n' || greatest(lower(${a}), lower(${b}))`,
    );
  }
  if (query.isRead !== undefined) where.push(`is_read = ${p(query.isRead)}`);
  if (query.since !== undefined) where.push(`sent_datetime >= ${p(query.since)}::timestamptz`);
  if (query.until !== undefined) where.push(`sent_datetime < ${p(query.until)}::timestamptz`);
  if (query.after !== undefined) {
    const { sentDatetime, id } = query.after;
    where.push(`(sent_datetime, id) < (${p(sentDatetime)}::timestamptz, ${p(id)}::bigint)`);
  }
  // Qualified: a bare sent_datetime here would be the select list's text column of that name,
  // which sorts the same but cannot use the (…, sent_datetime desc, id desc) indexes.
  const text =
    `${selectMessages}${where.length > 0 ? ` where ${where.join(' and ')}` : ''}` +
    ` order by "messages"."sent_datetime" desc, "messages"."id" desc limit ${p(query.limit + 1)}`;
  const { rows } = await db.executeQuery<MessageSelection>(CompiledQuery.raw(text, params));
  // From PostgreSQL (int8 parsed to a number) each row selected here already has exactly the
  // public shape: no mapping on the hot path.
  const page = rows.length > query.limit ? rows.slice(0, query.limit) : rows;
  const messages = page.map((row) =>
    typeof row.id === 'number' ? (row as Message) : toMessage(row),
  );
  const last = messages.at(-1);
  const nextCursor =
    rows.length > query.limit && last !== undefined
      ? encodeCursor({ sentDatetime: last.sent_datetime, id: String(last.id) })
      : null;
  return { messages, nextCursor };
}
