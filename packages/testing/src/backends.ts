import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database the tests run against. */
export interface Backend {
  readonly name: 'pglite' | 'postgres';
}

/** `DATABASE_URL`, when the PostgreSQL suite is to run. */
export const postgresUrl: string | undefined = process.env.DATABASE_URL || undefined;

/**
 * The backends every database test runs on: PGlite always, PostgreSQL when
 * `DATABASE_URL` is set. With `REQUIRE_POSTGRES=1` and no `DATABASE_URL`, fails
 * instead of silently running only half of the suite.
 */
export function backends(): Backend[] {
  if (process.env.REQUIRE_POSTGRES === '1' && postgresUrl === undefined) {
    throw new Error(
      'REQUIRE_POSTGRES=1 but DATABASE_URL is not set: the PostgreSQL suite cannot run',
    );
  }
  const list: Backend[] = [{ name: 'pglite' }];
  if (postgresUrl !== undefined) list.push({ name: 'postgres' });
  return list;
}

/** A schema of its own in the `DATABASE_URL` database, so that test files can run in parallel. */
export interface PostgresSchema {
  /** Connection URL whose `search_path` is the new schema. */
  readonly url: string;
  readonly schema: string;
  drop(): Promise<void>;
}

/** Creates an empty schema and returns a URL that works inside it. */
export async function freshPostgresSchema(): Promise<PostgresSchema> {
  if (postgresUrl === undefined) throw new Error('DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create schema ${schema}`);
  const url = new URL(postgresUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () => adminQuery(`drop schema if exists ${schema} cascade`),
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
