import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-create-messages.js';
import * as m0002 from './0002-delivery-and-receipts.js';
import * as m0003 from './0003-idempotency-keys.js';
import * as m0004 from './0004-accounts.js';
import * as m0005 from './0005-write-path.js';
import * as m0007 from './0007-search.js';

/** Every migration shipped with core, by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '0001-create-messages': m0001,
  '0002-delivery-and-receipts': m0002,
  '0003-idempotency-keys': m0003,
  '0004-accounts': m0004,
  '0005-write-path': m0005,
  '0007-search': m0007,
};

/** Hands Kysely's Migrator the migrations bundled in this package (no file-system scan). */
export const bundledMigrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
