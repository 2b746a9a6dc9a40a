import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMailbox } from '../src/accounts/mailbox.repository.js';
import { encodeCursor } from '../src/cursor.js';
import { openMessenger } from '../src/index.js';
import { listMessages } from '../src/message.repository.js';
import type { Database } from '../src/message.table.js';
import { validateListOptions } from '../src/validation/list-query.js';

/** A fresh schema, migrated, with a pool on it; its insert notification off (seeding would flood listeners). */
async function migratedSchema(): Promise<{ schema: PostgresSchema; pool: pg.Pool }> {
  const schema = await freshPostgresSchema();
  const m = await openMessenger({ databaseUrl: schema.url, migrate: true });
  await m.close();
  const pool = new pg.Pool({ connectionString: schema.url, max: 2 });
  await pool.query('alter table messages disable trigger messages_notify');
  return { schema, pool };
}

type Captured = { sql: string; parameters: readonly unknown[] }[];

/** A Kysely on `pool` that records each query it runs in `captured`. */
function capturingKysely(pool: pg.Pool, captured: Captured): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
}

/** The plan PostgreSQL picks for the listing (or a mailbox's listing) of `options`. */
async function explainListing(
  pool: pg.Pool,
  db: Kysely<Database>,
  captured: Captured,
  options: Record<string, unknown>,
  mailboxOf?: string,
): Promise<string> {
  const r = validateListOptions(options);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  captured.length = 0;
  if (mailboxOf === undefined) await listMessages(db, r.value);
  else await listMailbox(db, mailboxOf, r.value);
  const query = captured.at(-1);
  if (!query) throw new Error('no query captured');
  const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain ${query.sql}`, [
    ...query.parameters,
  ]);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/**
 * The listing queries must stay index scans as the table grows (no Sort over every
 * message of a recipient): the plan is checked on 60k rows, as PostgreSQL plans it.
 */
describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'listing query plans [postgres]',
  () => {
    let schema: PostgresSchema;
    let pool: pg.Pool;
    let db: Kysely<Database>;
    const captured: Captured = [];

    beforeAll(async () => {
      ({ schema, pool } = await migratedSchema());
      await pool.query(`insert into messages (sender, recipient, message_content, sent_datetime)
        select 'sender' || (i % 50), 'recipient' || (i % 100), 'message ' || i,
               now() - make_interval(secs => i)
        from generate_series(1, 30000) as i`);
      // Mailboxes: 100 people who write to each other (each sends ~300 and receives ~300).
      await pool.query(`insert into messages (sender, recipient, message_content, sent_datetime)
        select 'user' || (i % 100), 'user' || ((i * 7 + i / 100) % 100), 'message ' || i,
               now() - make_interval(secs => i)
        from generate_series(1, 30000) as i`);
      // A third read, spread over the table, as a mailbox in use looks.
      await pool.query('update messages set is_read = true, read_at = now() where id % 3 = 0');
      await pool.query('analyze messages');
      db = capturingKysely(pool, captured);
    }, 60_000);

    afterAll(async () => {
      await db?.destroy();
      await schema?.drop();
    });

    const planOf = (options: Record<string, unknown>, mailboxOf?: string) =>
      explainListing(pool, db, captured, options, mailboxOf);

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

    // Every filter combination the list accepts, and the index that serves it (migration 0005).
    // Time range and cursor narrow the same index range, so they add no combination.
    const serving: [string, Record<string, unknown>, string][] = [
      ['read overall', { is_read: true }, 'messages_read_newest_idx'],
      [
        'read from a sender',
        { sender: 'sender3', is_read: true },
        'messages_sender_read_newest_idx',
      ],
      [
        'read to a recipient',
        { recipient: 'recipient7', is_read: true },
        'messages_recipient_read_newest_idx',
      ],
      [
        'unread to a recipient',
        { recipient: 'recipient7', is_read: false },
        'messages_recipient_unread_newest_idx',
      ],
      // Unbounded in principle (they filter an index range): new rows are unread, so the
      // newest rows match first, and the list's statement timeout bounds the rest. A partial
      // index `where not is_read` would cost every insert an entry.
      ['unread overall', { is_read: false }, 'messages_newest_idx'],
      ['unread from a sender', { sender: 'sender3', is_read: false }, 'messages_sender_newest_idx'],
      [
        'a conversation, since a date',
        { conversation: 'sender7,recipient7', since: '2020-01-01' },
        'messages_conversation_newest_idx',
      ],
      [
        'newest to a recipient after a cursor, until a date',
        {
          recipient: 'recipient7',
          until: '2100-01-01',
          cursor: encodeCursor({ sentDatetime: '2100-01-01T00:00:00.000000Z', id: '1' }),
        },
        'messages_recipient_newest_idx',
      ],
    ];
    it.each(serving)('%s uses its index', async (_name, options, index) => {
      for (const limit of [100, 10]) {
        const plan = await planOf({ ...options, limit });
        expect(plan).toMatch(new RegExp(`Index Scan.* using ${index}`));
        expect(plan).not.toMatch(/Seq Scan/);
      }
    });

    // A pair's or a conversation's rows are few: PostgreSQL may read them all and sort them.
    it('a pair or a conversation, read or not, reads only its own rows', async () => {
      for (const is_read of [true, false]) {
        const between = await planOf({ conversation: 'sender7,recipient7', is_read, limit: 100 });
        expect(between).toMatch(/messages_conversation_newest_idx/);
        expect(between).not.toMatch(/Seq Scan/);
        const plan = await planOf({
          sender: 'sender3',
          recipient: 'recipient3',
          is_read,
          limit: 100,
        });
        expect(plan).toMatch(/messages_sender_recipient_newest_idx/);
      }
    });

    it("mark-read by recipient reads only that recipient's unread rows", async () => {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
        `explain update messages set is_read = true, read_at = now()
         where not is_read and lower(recipient) = lower($1) and id <= $2`,
        ['recipient7', 50_000],
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
        /messages_recipient_unread_newest_idx/,
      );
    });

    it('every index of messages is one a query above uses', async () => {
      const { rows } = await pool.query<{ indexname: string }>(
        `select indexname from pg_indexes where tablename = 'messages' and schemaname = current_schema()
         order by indexname`,
      );
      expect(rows.map((r) => r.indexname)).toEqual([
        'messages_conversation_newest_idx',
        'messages_delivery_idx',
        'messages_newest_idx',
        'messages_pkey',
        'messages_read_newest_idx',
        'messages_recipient_delivery_idx',
        'messages_recipient_newest_idx',
        'messages_recipient_read_newest_idx',
        'messages_recipient_unread_newest_idx',
        // Built after the migrations (search/search-index.ts); its plans are the search describe's.
        'messages_search_idx',
        'messages_sender_newest_idx',
        'messages_sender_read_newest_idx',
        'messages_sender_recipient_newest_idx',
      ]);
    });

    /** The plan PostgreSQL uses once it caches a generic plan of a prepared statement. */
    const genericPlanOf = async (options: Record<string, unknown>, me: string) => {
      const r = validateListOptions(options);
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      captured.length = 0;
      await listMailbox(db, me, r.value);
      const query = captured.at(-1);
      if (!query) throw new Error('no query captured');
      const client = await pool.connect();
      try {
        await client.query('set plan_cache_mode = force_generic_plan');
        await client.query(`prepare mailbox_plan as ${query.sql}`);
        const args = query.parameters.map((v) => client.escapeLiteral(String(v))).join(', ');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `explain execute mailbox_plan(${args})`,
        );
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        await client.query('deallocate all; reset plan_cache_mode').catch(() => {});
        client.release();
      }
    };

    /**
     * Reads only the first page of each index range: every scan is an index scan, and a sort
     * appears only over a branch PostgreSQL has ruled out before reading (`One-Time Filter`).
     */
    const expectIndexScans = (plan: string, indexes: string[]) => {
      for (const index of indexes) expect(plan).toMatch(new RegExp(`Index Scan.* using ${index}`));
      expect(plan).not.toMatch(/Seq Scan|Bitmap/);
      const sorts = plan.match(/-> {2}Sort {2}|^ *Sort {2}/gm)?.length ?? 0;
      const ruledOut = plan.match(/One-Time Filter: false/g)?.length ?? 0;
      expect(sorts, plan).toBeLessThanOrEqual(ruledOut);
    };

    // user7 sends ~300 and receives ~300 messages among 60k. Asked naively ("sender or
    // recipient is me, newest first"), PostgreSQL either walks every message newest first,
    // filtering (for someone with little mail: the whole table), or reads all of the
    // mailbox and sorts it. The mailbox must read one page per index range instead.
    it('control: the naive "sent or received by me" query does not read one page', async () => {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
        `explain select * from messages
         where lower(sender) = lower($1) or lower(recipient) = lower($1)
         order by sent_datetime desc, id desc limit 101`,
        ['user7'],
      );
      expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(
        /Sort|messages_newest_idx[^\n]*\n\s+Filter/,
      );
    });

    it.each([
      ['everything of mine', {}, ['messages_recipient_newest_idx', 'messages_sender_newest_idx']],
      ['what I sent to another', { recipient: 'user8' }, ['messages_sender_recipient_newest_idx']],
      ['what another sent me', { sender: 'user8' }, ['messages_sender_recipient_newest_idx']],
      ['all I received', { recipient: 'USER7' }, ['messages_recipient_newest_idx']],
      ['all I sent', { sender: 'user7' }, ['messages_sender_newest_idx']],
      [
        'a pair including me',
        { sender: 'user7', recipient: 'user8' },
        ['messages_sender_recipient_newest_idx'],
      ],
      [
        'my conversation with another',
        { recipient: 'user7', with: 'user8' },
        ['messages_conversation_newest_idx'],
      ],
      [
        'unread since a date, after a cursor',
        {
          is_read: false,
          since: '2020-01-01',
          cursor: encodeCursor({ sentDatetime: '2100-01-01T00:00:00.000000Z', id: '1' }),
        },
        ['messages_recipient_unread_newest_idx', 'messages_sender_newest_idx'],
      ],
    ])('mailbox: %s reads one page per index range', async (_name, options, indexes) => {
      for (const limit of [100, 10]) {
        expectIndexScans(await planOf({ ...options, limit }, 'user7'), indexes);
      }
      expectIndexScans(await genericPlanOf({ ...options, limit: 100 }, 'user7'), indexes);
    });

    it('mailbox: a conversation without me reads nothing', async () => {
      const plan = await planOf({ conversation: 'user8,user9', limit: 100 }, 'user7');
      expect(plan).toMatch(/One-Time Filter: false/);
      expect(plan).not.toMatch(/Scan/);
    });

    it('newest from a sender to a recipient uses their index', async () => {
      // Few rows match a pair here, so PostgreSQL may sort them after a bitmap scan: cheap at
      // any table size, since only that pair's rows are read.
      const plan = await planOf({ sender: 'sender3', recipient: 'recipient3', limit: 100 });
      expect(plan).toMatch(/messages_sender_recipient_newest_idx/);
    });
  },
);

/**
 * Search plans, on text with a natural spread of words (a vocabulary of 5000, a few very
 * common, most rare — PostgreSQL estimates a prefix from its most common words, and needs
 * at least 100 of them), 100k rows: a word in 30% of them must be found newest first by
 * walking the newest-first index (a page costs ~340 rows, whatever the table's size), never
 * by sorting every match; a word in 0.1% through the search index, sorting only its matches.
 */
describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'search query plans [postgres]',
  () => {
    let schema: PostgresSchema;
    let pool: pg.Pool;
    let db: Kysely<Database>;
    const captured: Captured = [];

    beforeAll(async () => {
      ({ schema, pool } = await migratedSchema());
      await pool.query(`insert into messages (sender, recipient, message_content, sent_datetime)
        select 'user' || (i % 100), 'user' || ((i * 7 + i / 100) % 100),
               'w' || floor(exp(random() * ln(5000)))::int || ' w' || floor(exp(random() * ln(5000)))::int
               || ' w' || floor(exp(random() * ln(5000)))::int
               || case when i % 10 < 3 then ' common' else '' end
               || case when i % 1000 = 7 then ' rareword' else '' end,
               now() - make_interval(secs => i)
        from generate_series(1, 100000) as i`);
      await pool.query('analyze messages');
      db = capturingKysely(pool, captured);
    }, 120_000);

    afterAll(async () => {
      await db?.destroy();
      await schema?.drop();
    });

    const planOf = (options: Record<string, unknown>, mailboxOf?: string) =>
      explainListing(pool, db, captured, options, mailboxOf);

    it.each([
      ['a common word', { q: 'common' }, 'messages_newest_idx'],
      ['a common word, as a prefix', { q: 'comm' }, 'messages_newest_idx'],
      [
        'a common word, after a cursor',
        {
          q: 'common',
          cursor: encodeCursor({ sentDatetime: '2100-01-01T00:00:00.000000Z', id: '1' }),
        },
        'messages_newest_idx',
      ],
    ])(
      'newest first, %s: walks an index in order, no sort of the matches',
      async (_n, options, index) => {
        const plan = await planOf({ ...options, limit: 100 });
        expect(plan).toMatch(new RegExp(`Index Scan.* using ${index}`));
        expect(plan).not.toMatch(/Sort|Bitmap/);
      },
    );

    // With one recipient's ~1000 messages either plan is bounded by that recipient, and the
    // planner picks between them from sampled statistics (a CI run saw the second): an in-order
    // walk of the recipient's index, or the recipient's index ANDed with the search index and only
    // those rows sorted. Never a sort of every match of the word.
    it("newest first, a common word to a recipient: reads only that recipient's messages", async () => {
      const plan = await planOf({ q: 'common', recipient: 'user7', limit: 100 });
      const walks =
        /Index Scan.* using messages_recipient_newest_idx/.test(plan) && !/Sort/.test(plan);
      const narrowed =
        /BitmapAnd/.test(plan) && /Bitmap Index Scan on messages_recipient_/.test(plan);
      expect(walks || narrowed, plan).toBe(true);
    });

    it.each([
      ['a rare word', { q: 'rareword' }],
      ['a rare word, as a prefix', { q: 'rarew' }],
      ['a rare word, by relevance', { q: 'rareword', order: 'relevance' }],
      ['a rare word and a common one', { q: 'common rareword' }],
    ])('%s: found through the search index', async (_n, options) => {
      const plan = await planOf({ ...options, limit: 100 });
      expect(plan).toMatch(/Bitmap Index Scan on messages_search_idx/);
      expect(plan).not.toMatch(/Seq Scan|messages_newest_idx/);
    });

    it('mailbox: a common word reads one page per index range', async () => {
      const plan = await planOf({ q: 'common', limit: 100 }, 'user7');
      expect(plan).toMatch(/Index Scan.* using messages_recipient_newest_idx/);
      expect(plan).toMatch(/Index Scan.* using messages_sender_newest_idx/);
      expect(plan).not.toMatch(/Seq Scan|Bitmap|Sort {2}/);
    });

    it('mailbox: a rare word reads only its matches', async () => {
      const plan = await planOf({ q: 'rareword', limit: 100 }, 'user7');
      expect(plan).toMatch(/messages_search_idx/);
      expect(plan).not.toMatch(/Seq Scan|messages_newest_idx/);
    });
  },
);
