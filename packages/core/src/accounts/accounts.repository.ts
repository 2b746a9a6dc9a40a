import { type Kysely, sql, type Transaction } from 'kysely';
import { isoUtc } from '../database/iso-utc.js';
import { ConflictError } from '../errors.js';
import type { Database } from '../message.table.js';
import type { Principal, TokenInfo, User } from './account.js';
import type { TokenOptions } from './accounts-input.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Channel of access changes: `{"user_id":…,"schema":…}` when a user is disabled,
 * `{"token_id":…,"schema":…}` when a token is revoked. Sent in the changing transaction (so
 * delivered at its commit) to every process, which drops what it cached about that user or
 * token at once. Channels are per database, not per schema: `schema` (the schema of the
 * tables, `current_schema()`) keeps a deployment in another schema of the same database from
 * dropping ours.
 */
export const AUTH_CHANNEL = 'messenger_auth';

/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505';

/** A token that authenticates now (not revoked, not expired, user not disabled). */
export interface VerifiedToken {
  readonly principal: Principal;
  /** Milliseconds until it expires, by the database's clock; `null` when it does not. */
  readonly msLeft: number | null;
}

/** A user found by name, enabled or not. */
export interface UserRef {
  readonly id: number;
  readonly name: string;
  readonly active: boolean;
}

const userColumns = [
  'users.id',
  'users.name',
  isoUtc('users.created_at').as('created_at'),
  isoUtc('users.disabled_at').as('disabled_at'),
] as const;

function toUser(row: {
  id: number | bigint;
  name: string;
  created_at: string;
  disabled_at: string | null;
}): User {
  return {
    id: Number(row.id),
    name: row.name,
    created_at: row.created_at,
    disabled_at: row.disabled_at,
  };
}

/** The condition under which a token authenticates, on `api_tokens` joined with `users`. */
const VALID = sql<boolean>`api_tokens.revoked_at is null
  and (api_tokens.expires_at is null or api_tokens.expires_at > now())
  and users.disabled_at is null`;

/** Tokens joined with their users, with the columns of a {@link TokenInfo}. */
function selectTokens(db: Db) {
  return db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id',
      'users.name as user',
      'api_tokens.label',
      isoUtc('api_tokens.created_at').as('created_at'),
      isoUtc('api_tokens.last_used_at').as('last_used_at'),
      isoUtc('api_tokens.expires_at').as('expires_at'),
      isoUtc('api_tokens.revoked_at').as('revoked_at'),
      VALID.as('active'),
    ]);
}

function toTokenInfo(row: {
  id: number | bigint;
  user: string;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  active: boolean;
}): TokenInfo {
  return {
    id: Number(row.id),
    user: row.user,
    label: row.label,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    active: row.active,
  };
}

/**
 * Registers a user. A name already taken in any case is a {@link ConflictError}: the unique
 * index on `lower(name)` decides, so two concurrent registrations cannot both succeed.
 */
export async function insertUser(db: Db, name: string): Promise<User> {
  try {
    const row = await db
      .insertInto('users')
      .values({ name })
      .returning(userColumns)
      .executeTakeFirstOrThrow();
    return toUser(row);
  } catch (err) {
    if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) {
      throw new ConflictError(
        `name: a user named ${JSON.stringify(name)} already exists (names are case-insensitive)`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Every user, in the order they were added. */
export async function listUsers(db: Db): Promise<User[]> {
  const rows = await db.selectFrom('users').select(userColumns).orderBy('users.id').execute();
  return rows.map(toUser);
}

/** The user named `name` (case-insensitively), enabled or not. */
export async function findUser(db: Db, name: string): Promise<UserRef | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'name', sql<boolean>`disabled_at is null`.as('active')])
    .where(sql<boolean>`lower(name) = lower(${name})`)
    .executeTakeFirst();
  return row === undefined ? undefined : { id: Number(row.id), name: row.name, active: row.active };
}

/**
 * Disables the user named `name` (once: a repeat keeps the first time) and announces it on
 * {@link AUTH_CHANNEL} in the same transaction. Undefined when there is no such user.
 */
export async function disableUser(db: Kysely<Database>, name: string): Promise<User | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('users')
      .set({ disabled_at: sql`coalesce(disabled_at, now())` })
      .where(sql<boolean>`lower(name) = lower(${name})`)
      .returning(userColumns)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const user = toUser(row);
    await announce(trx, { user_id: user.id });
    return user;
  });
}

/** Stores a new token of user `userId` by the hash of its secret. */
export async function insertToken(
  db: Db,
  userId: number,
  hash: Uint8Array,
  options: TokenOptions,
): Promise<TokenInfo> {
  const { id } = await db
    .insertInto('api_tokens')
    .values({
      user_id: userId,
      token_hash: hash,
      label: options.label,
      expires_at: options.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await getToken(db, String(id))) as TokenInfo;
}

/** Tokens (of one user, or all), oldest first. Never the secret, never the hash. */
export async function listTokens(db: Db, userId?: number): Promise<TokenInfo[]> {
  let q = selectTokens(db);
  if (userId !== undefined) q = q.where('api_tokens.user_id', '=', userId);
  const rows = await q.orderBy('api_tokens.id').execute();
  return rows.map(toTokenInfo);
}

/** The token with public id `id` (a decimal string), if any. */
export async function getToken(db: Db, id: string): Promise<TokenInfo | undefined> {
  const row = await selectTokens(db)
    .where(sql<boolean>`api_tokens.id = ${id}::bigint`)
    .executeTakeFirst();
  return row === undefined ? undefined : toTokenInfo(row);
}

/**
 * Revokes token `id` (once: a repeat keeps the first time) and announces it on
 * {@link AUTH_CHANNEL} in the same transaction. Undefined when there is no such token.
 */
export async function revokeToken(
  db: Kysely<Database>,
  id: string,
): Promise<TokenInfo | undefined> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('api_tokens')
      .set({ revoked_at: sql`coalesce(revoked_at, now())` })
      .where(sql<boolean>`id = ${id}::bigint`)
      .returning('id')
      .executeTakeFirst();
    if (updated === undefined) return undefined;
    await announce(trx, { token_id: Number(updated.id) });
    return getToken(trx, id);
  });
}

async function announce(
  trx: Transaction<Database>,
  change: { user_id: number } | { token_id: number },
): Promise<void> {
  const [key, id] = Object.entries(change)[0] as [string, number];
  await sql`select pg_notify(${AUTH_CHANNEL},
    json_build_object(${key}::text, ${id}::bigint, 'schema', current_schema())::text)`.execute(trx);
}

/** The schema of the tables, as {@link AUTH_CHANNEL} notifications name it. */
export async function currentSchema(db: Db): Promise<string | null> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  return rows[0]?.schema ?? null;
}

/** Who token `hash` authenticates, if it does now. */
export async function verifyTokenHash(
  db: Db,
  hash: Uint8Array,
): Promise<VerifiedToken | undefined> {
  return verified(db, sql<boolean>`api_tokens.token_hash = ${hash}`);
}

/** Who token `id` authenticates, if it does now. */
export async function verifyTokenId(db: Db, id: number): Promise<VerifiedToken | undefined> {
  return verified(db, sql<boolean>`api_tokens.id = ${id}::bigint`);
}

async function verified(
  db: Db,
  which: ReturnType<typeof sql<boolean>>,
): Promise<VerifiedToken | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id',
      'api_tokens.user_id',
      'users.name',
      sql<number | null>`(extract(epoch from api_tokens.expires_at - now()) * 1000)::float8`.as(
        'ms_left',
      ),
    ])
    .where(which)
    .where(VALID)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    principal: { userId: Number(row.user_id), name: row.name, tokenId: Number(row.id) },
    msLeft: row.ms_left,
  };
}

/**
 * Of the tokens `ids`, those that authenticate now, each with its user's id: one query for
 * every watched token of a process.
 */
export async function activeTokens(db: Db, ids: readonly number[]): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['api_tokens.id', 'api_tokens.user_id'])
    .where(sql<boolean>`api_tokens.id = any(${ids.map(String)}::bigint[])`)
    .where(VALID)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), Number(r.user_id)]));
}

/**
 * Records that tokens `ids` were used now. Rows already marked within the last minute are
 * left alone, so many processes using one token write it at most about once a minute.
 */
export async function touchTokens(db: Db, ids: readonly number[]): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: sql`now()` })
    .where(sql<boolean>`id = any(${ids.map(String)}::bigint[])`)
    .where(sql<boolean>`(last_used_at is null or last_used_at < now() - interval '1 minute')`)
    .execute();
}
