import { type Kysely, sql } from 'kysely';

/**
 * The messages table and the indexes that serve "newest to X", "newest from Y",
 * "newest from Y to X" and "newest overall" as index scans. Name filters are
 * case-insensitive exact matches, so the indexes are on `lower(...)`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table messages (
      id bigint generated always as identity primary key,
      sender varchar(50) not null check (btrim(sender) <> ''),
      recipient varchar(50) not null check (btrim(recipient) <> ''),
      message_content varchar(160) not null check (btrim(message_content) <> ''),
      sent_datetime timestamptz not null default now(),
      is_read boolean not null default false,
      read_at timestamptz
    )`.execute(db);
  await sql`create index messages_newest_idx on messages (sent_datetime desc, id desc)`.execute(db);
  await sql`create index messages_recipient_newest_idx
    on messages (lower(recipient), sent_datetime desc, id desc)`.execute(db);
  await sql`create index messages_sender_newest_idx
    on messages (lower(sender), sent_datetime desc, id desc)`.execute(db);
  await sql`create index messages_sender_recipient_newest_idx
    on messages (lower(sender), lower(recipient), sent_datetime desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table messages`.execute(db);
}
