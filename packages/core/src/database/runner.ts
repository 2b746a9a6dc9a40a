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
  /** A listing: like `retrySafe`, on the listings' pool (its own statement timeout). */
  read<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Work that must run at most once (inserts): never retried. */
  once<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Reports an error of background work that no caller awaits (`onBackgroundError`). */
  backgroundError(err: unknown): void;
}
