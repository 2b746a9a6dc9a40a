import type { Kysely } from 'kysely';
import type { Database } from '../message.table.js';

/** An open database, whichever engine it runs on. */
export interface Connection {
  readonly db: Kysely<Database>;
  /** `postgres` (a server through pg) or `pglite` (embedded). */
  readonly engine: 'postgres' | 'pglite';
  /** Where it is, for messages: `host:port/db`, a directory, or `memory`. Never holds a password. */
  readonly where: string;
  close(): Promise<void>;
}
