import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../message.table.js';
import type { Connection } from './connection.js';

/** Pool settings for PostgreSQL. */
export interface PostgresPoolOptions {
  /** Largest number of pooled connections (default 10). */
  readonly max?: number;
  /** How long to wait for a connection before failing, in ms (default 5000; pg's own default waits forever). */
  readonly connectionTimeoutMillis?: number;
  /** Server-side statement timeout, in ms (default 30000). */
  readonly statementTimeoutMillis?: number;
  /** How long an idle connection is kept, in ms (default 30000). */
  readonly idleTimeoutMillis?: number;
}

/** Opens a pool to a PostgreSQL server. No connection is made until the first query. */
export async function openPostgres(
  url: string,
  options: PostgresPoolOptions = {},
): Promise<Connection> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    statement_timeout: options.statementTimeoutMillis ?? 30_000,
    application_name: 'messenger',
  });
  // An idle pooled client that loses its server emits here; without a listener the process dies.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    engine: 'postgres',
    where: describePostgresUrl(url),
    close: () => db.destroy(),
  };
}

/** `host:port/database` of a connection URL, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'postgres (unparseable URL)';
  }
}
