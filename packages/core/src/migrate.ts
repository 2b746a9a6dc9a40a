import { type Kysely, Migrator, sql } from 'kysely';
import { bundledMigrationProvider } from './migrations/index.js';

/** Outcome of running the migrations. */
export interface MigrationReport {
  /** Names of the migrations applied by this run, in order. */
  readonly applied: string[];
}

/**
 * Brings the schema up to date with the migrations shipped in core. Safe to run
 * concurrently from several processes: Kysely's Migrator takes a database lock.
 */
// biome-ignore lint/suspicious/noExplicitAny: the Migrator works on any schema.
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  // Kysely looks for its migration tables in every schema unless told which one: a
  // `kysely_migration` table in any other schema would make it skip creating its own.
  const current = sql<{ schema: string | null }>`select current_schema() as schema`;
  const schema = (await current.execute(db)).rows[0]?.schema ?? undefined;
  const migrator = new Migrator({
    db,
    provider: bundledMigrationProvider,
    ...(schema !== undefined && { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
  };
}
