import { type Kysely, Migrator, sql } from 'kysely';
import { bundledMigrationProvider, migrations } from './migrations/index.js';
import { ensureSearchIndex, searchIndexState } from './search/search-index.js';

/** Outcome of running the migrations. */
export interface MigrationReport {
  /** Names of the migrations applied by this run, in order. */
  readonly applied: string[];
}

/**
 * Brings the schema up to date with the migrations shipped in core. Safe to run
 * concurrently from several processes: Kysely's Migrator takes a database lock. Then builds
 * the search index, outside any transaction and without blocking writes (see
 * search/search-index.ts).
 */
// biome-ignore lint/suspicious/noExplicitAny: the Migrator works on any schema.
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  if (await isUpToDate(db)) return { applied: [] };
  const report = await runMigrator(db);
  await ensureSearchIndex(db);
  return report;
}

// biome-ignore lint/suspicious/noExplicitAny: the Migrator works on any schema.
async function runMigrator(db: Kysely<any>): Promise<MigrationReport> {
  // Kysely looks for its migration tables in every schema unless told which one: a
  // `kysely_migration` table in any other schema would make it skip creating its own.
  const current = sql<{ schema: string | null }>`select current_schema() as schema`;
  const schema = (await current.execute(db)).rows[0]?.schema ?? undefined;
  const migrator = new Migrator({
    db,
    provider: bundledMigrationProvider,
    ...(schema !== undefined && { migrationTableSchema: schema }),
  });
  // Kysely's Migrator lists the tables of every schema in the database (getTables): a schema
  // another client drops meanwhile fails that listing with invalid_schema_name (3F000), though
  // nothing of ours changed. Trying again is safe: the Migrator applies only what is pending.
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined && isOtherSchemaDropped(error, schema) && attempt < 5) continue;
    if (error !== undefined) throw error;
    return {
      applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    };
  }
}

/** A "schema … does not exist" error about a schema that is not ours. */
function isOtherSchemaDropped(error: unknown, ours: string | undefined): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (e.code !== '3F000' || typeof e.message !== 'string') return false;
  return ours === undefined || !e.message.includes(`"${ours}"`);
}

/**
 * Whether every bundled migration is recorded as applied, asked in two small reads.
 * Kysely's Migrator takes its lock table and a transaction even when there is nothing
 * to do (about ten statements): the embedded database checks on every open, and each
 * `msg` command opens it. Anything unexpected answers "no", and the Migrator decides. The
 * search index counts too: one that is missing or invalid is (re)built.
 */
// biome-ignore lint/suspicious/noExplicitAny: the Migrator works on any schema.
async function isUpToDate(db: Kysely<any>): Promise<boolean> {
  const table = await sql<{
    present: boolean;
  }>`select to_regclass('kysely_migration') is not null as present`.execute(db);
  if (table.rows[0]?.present !== true) return false;
  const done = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
  const applied = new Set(done.rows.map((r) => r.name));
  if (!Object.keys(migrations).every((name) => applied.has(name))) return false;
  return (await searchIndexState(db)) === 'valid';
}
