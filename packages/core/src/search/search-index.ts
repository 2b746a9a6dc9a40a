import { type Kysely, sql } from 'kysely';

/** The GIN index of full-text search (see migration 0007). */
export const SEARCH_INDEX = 'messages_search_idx';

/**
 * The indexed expression, spelled exactly as the index has it: a query uses the index only
 * when it writes the very same expression.
 */
export const SEARCH_VECTOR =
  "to_tsvector('simple'::regconfig, messenger_search_fold(message_content))";

/**
 * GIN's pending list, in kB: new rows are added to the index in batches (cheaper sends), but
 * every search reads the whole unmerged batch. PostgreSQL's default, 4 MB, cost a search of a
 * rare word ~9 ms here with 20k rows pending (0.5 ms merged); at 256 kB the batch stays under
 * ~1 ms to read, for bulk inserts ~10% slower.
 */
const PENDING_LIST_KB = 256;

/** Whether the search index exists and is usable (`invalid`: a concurrent build died half-way). */
// biome-ignore lint/suspicious/noExplicitAny: works on any schema that has `messages`.
export async function searchIndexState(db: Kysely<any>): Promise<'valid' | 'invalid' | 'missing'> {
  const { rows } = await sql<{ valid: boolean }>`
    select indisvalid as valid from pg_index where indexrelid = to_regclass(${SEARCH_INDEX})`.execute(
    db,
  );
  const row = rows[0];
  return row === undefined ? 'missing' : row.valid ? 'valid' : 'invalid';
}

/**
 * Builds the search index unless it is there, with `CREATE INDEX CONCURRENTLY`: sends and
 * reads go on while it is built (one pass over the table, then a second for rows written
 * meanwhile). That statement cannot run in a transaction, so this runs after the migrations,
 * on one connection of its own:
 * - one builder at a time: a session advisory lock per schema; a process that finds it taken
 *   leaves the build to its holder and returns at once (search works, unindexed, meanwhile);
 * - a build that died half-way (process killed, connection lost) leaves an INVALID index,
 *   which is dropped (concurrently) and built again;
 * - no statement timeout for the build itself: on a big table it takes minutes.
 * Returns whether this call built it.
 */
// biome-ignore lint/suspicious/noExplicitAny: works on any schema that has `messages`.
export async function ensureSearchIndex(db: Kysely<any>): Promise<boolean> {
  return db.connection().execute(async (conn) => {
    const key = sql`hashtext(current_schema() || '.' || ${SEARCH_INDEX})`;
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
    if (rows[0]?.locked !== true) return false;
    try {
      const state = await searchIndexState(conn);
      if (state === 'valid') return false;
      await sql`set statement_timeout = 0`.execute(conn);
      if (state === 'invalid') {
        await sql`drop index concurrently if exists ${sql.id(SEARCH_INDEX)}`.execute(conn);
      }
      await sql`create index concurrently if not exists ${sql.id(SEARCH_INDEX)}
        on messages using gin (${sql.raw(SEARCH_VECTOR)})
        with (gin_pending_list_limit = ${sql.raw(String(PENDING_LIST_KB))})`.execute(conn);
      return true;
    } finally {
      await sql`reset statement_timeout`.execute(conn);
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}
