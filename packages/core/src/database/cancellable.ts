import { type Kysely, sql } from 'kysely';
import type { Database } from '../message.table.js';
import type { Connection } from './connection.js';

/**
 * Runs `fn` (meant to be one statement) so that aborting `signal` also stops it. On PostgreSQL
 * `fn` gets a pooled connection for its duration, and an abort cancels that connection's
 * statement with `pg_cancel_backend` (the statement then rejects); this costs one more short
 * query (`pg_backend_pid()`). Without a signal, or on the embedded database (one connection,
 * statements run to the end), `fn` simply runs on the shared handle; callers check the signal
 * between statements.
 */
export async function withCancellation<T>(
  conn: Connection,
  signal: AbortSignal | undefined,
  fn: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (signal === undefined || conn.engine !== 'postgres') return fn(conn.db);
  signal.throwIfAborted();
  return conn.db.connection().execute(async (db) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    const pid = rows[0]?.pid;
    let cancelling: Promise<unknown> | undefined;
    const onAbort = () => {
      // Through the pool, on another connection: this one is busy with the statement.
      cancelling = sql`select pg_cancel_backend(${pid}::int)`.execute(conn.db).catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      signal.throwIfAborted();
      return await fn(db);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (cancelling !== undefined) {
        await cancelling;
        // A cancel that reaches an idle connection is dropped by the server, but one that raced
        // the end of the last statement may still be pending: let it hit this statement, not
        // the next user's of the pooled connection.
        await sql`select 1`.execute(db).catch(() => {});
      }
    }
  });
}
