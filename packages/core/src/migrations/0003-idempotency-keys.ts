import { type Kysely, sql } from 'kysely';

/**
 * Idempotency keys of sends: the key, a hash of the request and the response
 * first given, stored in the same transaction as the message. Kept at least 24
 * hours, then pruned by `created_at`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table idempotency_keys (
      key text primary key,
      request_hash text not null,
      message_id bigint not null,
      response jsonb not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index idempotency_keys_created_idx on idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table idempotency_keys`.execute(db);
}
