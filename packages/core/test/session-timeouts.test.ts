import { setTimeout as sleep } from 'node:timers/promises';
import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/database/connection.js';
import { openPostgres } from '../src/database/open-postgres.js';

// The pool's sessions carry the timeouts given as options (core reads no environment).
// PostgreSQL only: registered only there, so that REQUIRE_POSTGRES runs count no skipped test.
if (postgresUrl !== undefined) {
  describe('PostgreSQL session timeouts', () => {
    let schema: PostgresSchema;
    let conn: Connection;
    beforeAll(async () => {
      schema = await freshPostgresSchema();
      conn = await openPostgres(schema.url, {
        statementTimeoutMs: 7000,
        listStatementTimeoutMs: 1500,
        idleInTransactionTimeoutMs: 300,
      });
    });
    afterAll(async () => {
      await conn?.close();
      await schema?.drop();
    });

    const show = async (db: Connection['db'], name: string) =>
      (await sql<{ v: string }>`select current_setting(${name}) as v`.execute(db)).rows[0]?.v;

    it('sets the statement timeout of writes and of listings, each on its own pool', async () => {
      expect(await show(conn.db, 'statement_timeout')).toBe('7s');
      expect(conn.reads).toBeDefined();
      if (conn.reads) expect(await show(conn.reads, 'statement_timeout')).toBe('1500ms');
      expect(await show(conn.db, 'idle_in_transaction_session_timeout')).toBe('300ms');
    });

    it('ends a session whose transaction sits idle past the timeout', async () => {
      const outcome = conn.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await sleep(1200);
        await sql`select 1`.execute(trx);
      });
      await expect(outcome).rejects.toThrow();
      // The pool goes on with a fresh session.
      expect(await show(conn.db, 'statement_timeout')).toBe('7s');
    });
  });
}
