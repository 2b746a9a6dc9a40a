import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { ConflictError, IdempotencyKeyReusedError } from './errors.js';
import type { Message } from './message.js';
import { insertMessage } from './message.repository.js';
import type { Database } from './message.table.js';
import type { SendInput } from './validation/send-input.js';

/** What a send did: stored a new message, or replayed the first answer to the same key. */
export interface SendOutcome {
  readonly message: Message;
  /** True when this is a replay of an earlier send with the same idempotency key. */
  readonly replayed: boolean;
}

/** Hash of a validated send: what "the same request" means for an idempotency key. */
export function requestHash(input: SendInput): string {
  return createHash('sha256')
    .update(JSON.stringify([input.sender, input.recipient, input.message_content]))
    .digest('hex');
}

/**
 * Stores a message under an idempotency key, exactly once across every process:
 * a transaction-scoped advisory lock on the key's hash makes a concurrent request
 * with the same key fail fast (ConflictError) instead of waiting, the key row is
 * written in the same transaction as the message, and a later request with the
 * same key replays the stored answer (or is refused if its body differs).
 */
export async function insertIdempotent(
  db: Kysely<Database>,
  input: SendInput,
  key: string,
): Promise<SendOutcome> {
  const hash = requestHash(input);
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtextextended(${`messenger:idempotency:${key}`}, 0)) as locked`.execute(
      trx,
    );
    if (!rows[0]?.locked) {
      throw new ConflictError(
        'a request with this Idempotency-Key is still in progress; retry shortly',
      );
    }
    const existing = await trx
      .selectFrom('idempotency_keys')
      .select(['request_hash', sql<string>`response::text`.as('response')])
      .where('key', '=', key)
      .executeTakeFirst();
    if (existing !== undefined) {
      if (existing.request_hash !== hash) {
        throw new IdempotencyKeyReusedError(
          'this Idempotency-Key was already used with a different request; use a new key for a new message',
        );
      }
      return { message: JSON.parse(existing.response) as Message, replayed: true };
    }
    const message = await insertMessage(trx, input);
    await trx
      .insertInto('idempotency_keys')
      .values({
        key,
        request_hash: hash,
        message_id: message.id,
        response: JSON.stringify(message),
      })
      .execute();
    return { message, replayed: false };
  });
}

/** How long idempotency keys are kept at least: 24 hours. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** Keys deleted per statement by {@link pruneIdempotencyKeys}. */
export const PRUNE_BATCH = 5000;

/** Options of {@link pruneIdempotencyKeys}. */
export interface PruneOptions {
  /** Delete keys older than this, in ms (never less than {@link IDEMPOTENCY_KEY_TTL_MS}). */
  readonly olderThanMs?: number | undefined;
  /** Keys per statement (default {@link PRUNE_BATCH}). */
  readonly batchSize?: number | undefined;
  /** Stop after this many statements (default: until none is left): bounded work for a CLI. */
  readonly maxBatches?: number | undefined;
  /** Stops between two batches when aborted (a server shutting down). */
  readonly signal?: AbortSignal | undefined;
}

/** The advisory lock that lets one process at a time prune (any value; ours by its name). */
const PRUNE_LOCK = 'messenger:idempotency:prune';

/**
 * Deletes idempotency keys older than the cutoff, `batchSize` at a time: each statement is
 * its own short transaction that deletes at most that many rows found through the
 * `created_at` index, so a large backlog never makes one long statement (nor hits a statement
 * timeout) and never holds many row locks. Returns how many were deleted.
 */
export async function pruneIdempotencyKeys(
  db: Kysely<Database>,
  options: PruneOptions = {},
): Promise<number> {
  const ms = Math.max(options.olderThanMs ?? IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_KEY_TTL_MS);
  const batch = Math.max(1, options.batchSize ?? PRUNE_BATCH);
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  // One cutoff for the whole run: keys written meanwhile are never in it.
  const { rows } = await sql<{ cutoff: string }>`
    select (now() - make_interval(secs => ${ms / 1000}))::text as cutoff`.execute(db);
  const cutoff = rows[0]?.cutoff as string;
  let deleted = 0;
  for (let i = 0; i < maxBatches && !options.signal?.aborted; i++) {
    const result = await sql`
      delete from idempotency_keys where ctid in (
        select ctid from idempotency_keys where created_at < ${cutoff}::timestamptz limit ${batch})`.execute(
      db,
    );
    const n = Number(result.numAffectedRows ?? 0n);
    deleted += n;
    if (n < batch) break;
  }
  return deleted;
}

/**
 * {@link pruneIdempotencyKeys} by one process at a time, on PostgreSQL: a session advisory
 * lock taken without waiting on one connection of the pool, which runs the batches and lets
 * go (a process that dies lets go with its connection). Another process already pruning makes
 * this return `undefined` at once.
 */
export async function pruneIdempotencyKeysExclusive(
  db: Kysely<Database>,
  options: PruneOptions = {},
): Promise<number | undefined> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(hashtextextended(${PRUNE_LOCK}, 0)) as locked`.execute(conn);
    if (!rows[0]?.locked) return undefined;
    try {
      return await pruneIdempotencyKeys(conn, options);
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${PRUNE_LOCK}, 0))`.execute(conn);
    }
  });
}
