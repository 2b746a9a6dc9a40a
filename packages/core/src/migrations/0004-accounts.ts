import { type Kysely, sql } from 'kysely';

/**
 * Accounts: who may use the API, and with which tokens.
 *
 * - `users`: one row per person. Names are unique case-insensitively, by the same `lower()`
 *   every name match of messages uses (`lower(recipient) = lower($1)`), so "Alice" and "alice"
 *   are one user and her mail is one mailbox. Core checks the full strict name profile
 *   (accounts/name-profile.ts); the check constraint holds what SQL can check of it, so that a
 *   row written around core still cannot hide characters: trimmed, no double space, NFC, no
 *   control, bidi, zero-width, separator or non-ASCII space characters. Users are disabled,
 *   never deleted: messages keep naming them.
 * - `api_tokens`: bearer tokens of a user. Only the SHA-256 of the whole token string is
 *   stored (`token_hash`, unique: a lookup by hash is the authentication); the token itself is
 *   shown once, at creation. `id` is the public handle that lists show and revocation takes.
 *   A token is valid while `revoked_at` is null, `expires_at` is null or later than now, and
 *   its user is not disabled. `last_used_at` is written at most once a minute.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id bigint generated always as identity primary key,
      name varchar(50) not null check (
        name <> '' and name = btrim(name) and position('  ' in name) = 0
        and name is nfc normalized
        and name !~ '[\\u0001-\\u001f\\u007f-\\u00a0\\u00ad\\u061c\\u1680\\u180e\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u2064\\u2066-\\u206f\\u3000\\ufeff]'
      ),
      created_at timestamptz not null default now(),
      disabled_at timestamptz
    )`.execute(db);
  await sql`create unique index users_name_key on users (lower(name))`.execute(db);
  await sql`
    create table api_tokens (
      id bigint generated always as identity primary key,
      user_id bigint not null references users (id),
      token_hash bytea not null unique check (octet_length(token_hash) = 32),
      label text check (
        label is null or (char_length(label) between 1 and 100 and label !~ '[\\u0001-\\u001f\\u007f-\\u009f]')
      ),
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      expires_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index api_tokens_user_idx on api_tokens (user_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table api_tokens`.execute(db);
  await sql`drop table users`.execute(db);
}
