import type { Kysely } from 'kysely';
import type { Database } from '../message.table.js';

/** An open database, whichever engine it runs on. */
export interface Connection {
  readonly db: Kysely<Database>;
  /**
   * Where listings run (default `db`): on PostgreSQL a pool of its own whose sessions carry
   * the listing statement timeout.
   */
  readonly reads?: Kysely<Database> | undefined;
  /** `postgres` (a server through pg) or `pglite` (embedded). */
  readonly engine: 'postgres' | 'pglite';
  /** Where it is, for messages: `host:port/db`, a directory, or `memory`. Never holds a password. */
  readonly where: string;
  /**
   * Listens on notification channels over a connection of its own (PostgreSQL) or the
   * embedded database. When the listening connection is lost, `onLost` runs once and the
   * listener is finished: notifications sent meanwhile are gone, so the caller listens
   * again and catches up by query. The embedded database never loses it. Core opens one per
   * messenger, through its notification bus, whatever the number of channels.
   */
  listen(
    channels: readonly string[],
    onNotification: (channel: string, payload: string) => void,
    onLost: (err: unknown) => void,
  ): Promise<Listener>;
  close(): Promise<void>;
}

/** A running LISTEN. */
export interface Listener {
  /** Listens on more channels over the same connection; resolves once they are listened to. */
  add(channels: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
