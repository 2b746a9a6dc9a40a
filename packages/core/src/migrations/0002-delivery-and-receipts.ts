import { type Kysely, sql } from 'kysely';

/**
 * Live delivery, read receipts and conversations.
 *
 * - `txid`: the inserting transaction's 64-bit id. Ids come from a sequence, so
 *   transactions can commit out of id order; a row whose `txid` is below the
 *   oldest running transaction (`pg_snapshot_xmin`) can no longer be joined by an
 *   earlier one, so streams deliver in `(txid, id)` order up to that horizon and
 *   never skip a late commit.
 * - A trigger notifies `messenger_message` with the new id (delivered at commit).
 * - `conversation`: both names, lower-cased and sorted, so a two-person
 *   conversation in both directions is one index range.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table messages
    add column txid xid8 not null default pg_current_xact_id(),
    add column conversation text generated always as (
      least(lower(sender), lower(recipient)) || E'\\n' || greatest(lower(sender), lower(recipient))
    ) stored`.execute(db);
  await sql`create index messages_delivery_idx on messages (txid, id)`.execute(db);
  await sql`create index messages_recipient_delivery_idx
    on messages (lower(recipient), txid, id)`.execute(db);
  await sql`create index messages_conversation_newest_idx
    on messages (conversation, sent_datetime desc, id desc)`.execute(db);
  await sql`create index messages_recipient_unread_idx
    on messages (lower(recipient), id) where not is_read`.execute(db);
  await sql`create or replace function messenger_notify_message() returns trigger
    language plpgsql as $$
    begin
      perform pg_notify('messenger_message', new.id::text);
      return null;
    end $$`.execute(db);
  await sql`create trigger messages_notify after insert on messages
    for each row execute function messenger_notify_message()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger messages_notify on messages`.execute(db);
  await sql`drop function messenger_notify_message()`.execute(db);
  await sql`alter table messages drop column conversation, drop column txid`.execute(db);
}
