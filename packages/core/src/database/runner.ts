import type { Kysely } from 'kysely';
import type { Database } from '../message.table.js';

/**
 * How code outside the `Messenger` façade runs database work with the messenger's error
 * handling: driver errors mapped to {@link MessengerError}s, and a dead pooled connection
 * retried where repeating changes nothing.
 */
export interface Runner {
  /** Work that repeating changes nothing (reads, idempotent updates): retried on a dead connection. */
  retrySafe<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * A read that may be served by a read replica (see `readUrls`): one that has replayed at
   * least `position` when given, else the primary (on its listings' pool, with the list statement timeout). Retried like {@link Runner.retrySafe}.
   */
  read<T>(fn: (db: Kysely<Database>) => Promise<T>, position?: bigint): Promise<T>;
  /** Work that must run at most once (inserts): never retried. */
  once<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Reports an error of background work that no caller awaits (`onBackgroundError`). */
  backgroundError(err: unknown): void;
}
