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

/** Deletes idempotency keys older than `olderThanMs` (at least 24 hours). Returns how many. */
export async function pruneIdempotencyKeys(
  db: Kysely<Database>,
  olderThanMs: number,
): Promise<number> {
  const ms = Math.max(olderThanMs, 24 * 60 * 60 * 1000);
  const result = await db
    .deleteFrom('idempotency_keys')
    .where(sql<boolean>`created_at < now() - make_interval(secs => ${ms / 1000})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
