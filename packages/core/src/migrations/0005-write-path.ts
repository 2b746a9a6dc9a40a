import { type Kysely, sql } from 'kysely';

/**
 * The write path: one notification per insert statement, and only the indexes a query uses.
 *
 * - `messages_notify` becomes a statement-level trigger. Plain sends are group-committed (many
 *   rows per INSERT, see core's `GroupCommit`), and a NOTIFY takes a global lock while its
 *   transaction commits: one per batch instead of one per row. The payload is the inserting
 *   transaction's id, a wake-up only; the delivery hub reads the new rows itself.
 * - `conversation` is no longer a stored column: the conversation index is on the same
 *   expression, so a row no longer carries both names a second time. Queries write the
 *   expression out (`conversationKey` in message.repository.ts).
 * - Read state: `is_read = true` is served by partial indexes `where is_read`, which cost an
 *   insert nothing (new rows are unread; they gain an entry when marked read, an update that
 *   already touches indexes). `recipient + unread` (and mark-read by recipient) is served by
 *   the unread index, now in listing order, which replaces the one in id order.
 *
 * Every index and the query that uses it (checked by EXPLAIN in test/query-plans.test.ts):
 * - primary key `id`: mark-read by ids, `after` ids of streams;
 * - `messages_newest_idx`: newest overall (no filter), and unread overall (filtered);
 * - `messages_recipient_newest_idx`, `messages_sender_newest_idx`,
 *   `messages_sender_recipient_newest_idx`, `messages_conversation_newest_idx`: newest to,
 *   from, from-to and between, and a mailbox's branches;
 * - `messages_recipient_unread_newest_idx`: unread to a recipient; mark-read by recipient;
 * - `messages_read_newest_idx`, `messages_sender_read_newest_idx`,
 *   `messages_recipient_read_newest_idx`: read overall, from, to;
 * - `messages_delivery_idx`, `messages_recipient_delivery_idx`: live delivery and a stream's
 *   catch-up, in delivery order `(txid, id)`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger messages_notify on messages`.execute(db);
  await sql`drop function messenger_notify_message()`.execute(db);
  await sql`create function messenger_notify_messages() returns trigger
    language plpgsql as $$
    begin
      perform pg_notify('messenger_message', pg_current_xact_id()::text);
      return null;
    end $$`.execute(db);
  await sql`create trigger messages_notify after insert on messages
    for each statement execute function messenger_notify_messages()`.execute(db);

  await sql`drop index messages_conversation_newest_idx`.execute(db);
  await sql`alter table messages drop column conversation`.execute(db);
  await sql`create index messages_conversation_newest_idx on messages (
      (least(lower(sender), lower(recipient)) || E'\\n' || greatest(lower(sender), lower(recipient))),
      sent_datetime desc, id desc
    )`.execute(db);

  await sql`drop index messages_recipient_unread_idx`.execute(db);
  await sql`create index messages_recipient_unread_newest_idx
    on messages (lower(recipient), sent_datetime desc, id desc) where not is_read`.execute(db);
  await sql`create index messages_read_newest_idx
    on messages (sent_datetime desc, id desc) where is_read`.execute(db);
  await sql`create index messages_sender_read_newest_idx
    on messages (lower(sender), sent_datetime desc, id desc) where is_read`.execute(db);
  await sql`create index messages_recipient_read_newest_idx
    on messages (lower(recipient), sent_datetime desc, id desc) where is_read`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index messages_recipient_read_newest_idx`.execute(db);
  await sql`drop index messages_sender_read_newest_idx`.execute(db);
  await sql`drop index messages_read_newest_idx`.execute(db);
  await sql`drop index messages_recipient_unread_newest_idx`.execute(db);
  await sql`create index messages_recipient_unread_idx
    on messages (lower(recipient), id) where not is_read`.execute(db);
  await sql`drop index messages_conversation_newest_idx`.execute(db);
  await sql`alter table messages add column conversation text generated always as (
      least(lower(sender), lower(recipient)) || E'\\n' || greatest(lower(sender), lower(recipient))
    ) stored`.execute(db);
  await sql`create index messages_conversation_newest_idx
    on messages (conversation, sent_datetime desc, id desc)`.execute(db);
  await sql`drop trigger messages_notify on messages`.execute(db);
  await sql`drop function messenger_notify_messages()`.execute(db);
  await sql`create function messenger_notify_message() returns trigger
    language plpgsql as $$
    begin
      perform pg_notify('messenger_message', new.id::text);
      return null;
    end $$`.execute(db);
  await sql`create trigger messages_notify after insert on messages
    for each row execute function messenger_notify_message()`.execute(db);
}
