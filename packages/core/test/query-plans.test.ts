import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMessenger } from '../src/index.js';
import { listMessages } from '../src/message.repository.js';
import type { Database } from '../src/message.table.js';
import { validateListOptions } from '../src/validation/list-query.js';

/**
 * The listing queries must stay index scans as the table grows (no Sort over every
 * message of a recipient): the plan is checked on 30k rows, as PostgreSQL plans it.
 */
describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'listing query plans [postgres]',
  () => {
    let schema: PostgresSchema;
    let pool: pg.Pool;
    let db: Kysely<Database>;
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];

    beforeAll(async () => {
      schema = await freshPostgresSchema();
      const m = await openMessenger({ databaseUrl: schema.url, migrate: true });
      await m.close();
      pool = new pg.Pool({ connectionString: schema.url, max: 2 });
      await pool.query(`insert into messages (sender, recipient, message_content, sent_datetime)
        select 'sender' || (i % 50), 'recipient' || (i % 100), 'message ' || i,
               now() - make_interval(secs => i)
        from generate_series(1, 30000) as i`);
      await pool.query('analyze messages');
      db = new Kysely<Database>({
        dialect: new PostgresDialect({ pool }),
        log: (event) => {
          if (event.level === 'query') captured.push(event.query);
        },
      });
    }, 60_000);

    afterAll(async () => {
      await db?.destroy();
      await schema?.drop();
    });

    const planOf = async (options: Record<string, unknown>) => {
      const r = validateListOptions(options);
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      captured.length = 0;
      await listMessages(db, r.value);
      const query = captured.at(-1);
      if (!query) throw new Error('no query captured');
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain ${query.sql}`, [
        ...query.parameters,
      ]);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    };

    it.each([
      ['newest to a recipient', { recipient: 'recipient7' }, 'messages_recipient_newest_idx'],
      ['newest from a sender', { sender: 'sender3' }, 'messages_sender_newest_idx'],
      ['newest overall', {}, 'messages_newest_idx'],
      [
        'a conversation',
        { recipient: 'recipient7', with: 'sender7' },
        'messages_conversation_newest_idx',
      ],
    ])('%s is an index scan without a sort', async (_name, options, index) => {
      const plan = await planOf({ ...options, limit: 100 });
      expect(plan).toMatch(new RegExp(`Index Scan.* using ${index}`));
      expect(plan).not.toMatch(/Sort/);
    });

    it('newest from a sender to a recipient uses their index', async () => {
      // Few rows match a pair here, so PostgreSQL may sort them after a bitmap scan: cheap at
      // any table size, since only that pair's rows are read.
      const plan = await planOf({ sender: 'sender3', recipient: 'recipient3', limit: 100 });
      expect(plan).toMatch(/messages_sender_recipient_newest_idx/);
    });
  },
);
