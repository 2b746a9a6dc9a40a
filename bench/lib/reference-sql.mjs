// The SQL messenger's core sends for a send and for "newest 100 to recipient", as Kysely
// compiles packages/core/src/message.repository.ts (insertMessage, listMessages). The bare
// reference runs exactly this text, so the comparison measures everything around the SQL.
// Keep it in step with core: when core's query changes, change it here too.

const iso = (column) =>
  `to_char("${column}" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "${column}"`;
const COLUMNS = `"id", "sender", "recipient", "message_content", ${iso('sent_datetime')}, "is_read", ${iso('read_at')}`;

/** messenger's insert: $1 sender, $2 recipient, $3 message_content. */
export const INSERT_SQL = `insert into "messages" ("sender", "recipient", "message_content") values ($1, $2, $3) returning ${COLUMNS}`;

/** messenger's list by recipient: $1 recipient, $2 limit + 1 (it reads one more to know whether a next page exists). */
export const LIST_SQL = `select ${COLUMNS} from "messages" where lower(recipient) = lower($1) order by "messages"."sent_datetime" desc, "messages"."id" desc limit $2`;
