import { backends, postgresUrl } from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Message, UnavailableError } from '../src/index.js';
import { openRawBackend, type RawBackend, unique } from './support.js';

/** Group commit of plain sends (core's write path), on every backend. */
describe.each(backends())('group commit on $name', (backend) => {
  let b: RawBackend;
  beforeAll(async () => {
    b = await openRawBackend(backend, 'UTC');
  });
  afterAll(async () => b?.close());

  it('answers 500 concurrent sends each with its own row, in fewer transactions', async () => {
    const alice = unique('alice');
    const sent = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        b.messenger.send({ sender: `s${i}`, recipient: alice, message_content: `m${i}` }),
      ),
    );
    // Each answer is its own message: sender and content match the request it answers.
    sent.forEach((m, i) => {
      expect(m).toMatchObject({ sender: `s${i}`, recipient: alice, message_content: `m${i}` });
    });
    expect(new Set(sent.map((m) => m.id)).size).toBe(500);
    const rows = await b.rows<{ id: number | string; sender: string; message_content: string }>(
      'select id, sender, message_content from messages where recipient = $1 order by id',
      [alice],
    );
    expect(rows.map((r) => [Number(r.id), r.sender, r.message_content])).toEqual(
      [...sent].sort((x, y) => x.id - y.id).map((m) => [m.id, m.sender, m.message_content]),
    );
    // Ids ascend in the order the sends were made, batched or not.
    expect(sent.map((m) => m.id)).toEqual([...sent.map((m) => m.id)].sort((x, y) => x - y));
    const [{ transactions }] = (await b.rows<{ transactions: number }>(
      'select count(distinct txid)::int as transactions from messages where recipient = $1',
      [alice],
    )) as [{ transactions: number }];
    expect(transactions).toBeLessThan(500);
  });

  it('fails a row the database refuses alone, and stores its neighbours', async () => {
    const alice = unique('alice');
    await b.sql(
      `alter table messages add constraint test_no_poison check (message_content <> 'poison')`,
    );
    try {
      const results = await Promise.allSettled(
        ['a', 'b', 'poison', 'c', 'd', 'e'].map((message_content) =>
          b.messenger.send({ sender: 'bob', recipient: alice, message_content }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
      const stored = await b.rows<{ message_content: string }>(
        'select message_content from messages where recipient = $1 order by id',
        [alice],
      );
      expect(stored.map((r) => r.message_content)).toEqual(['a', 'b', 'c', 'd', 'e']);
    } finally {
      await b.sql('alter table messages drop constraint test_no_poison');
    }
  });

  it('replays idempotent sends as before, beside a batch of plain ones', async () => {
    const alice = unique('alice');
    const key = unique('key');
    const input = { sender: 'bob', recipient: alice, message_content: 'once' };
    const [first, ...rest] = await Promise.all([
      b.messenger.submit(input, { idempotencyKey: key }),
      ...Array.from({ length: 20 }, (_, i) =>
        b.messenger.send({ sender: 'carol', recipient: alice, message_content: `p${i}` }),
      ),
    ]);
    expect(rest).toHaveLength(20);
    const again = await b.messenger.submit(input, { idempotencyKey: key });
    expect(again).toEqual({ message: first?.message, replayed: true });
    const [{ n }] = (await b.rows<{ n: number }>(
      `select count(*)::int as n from messages where recipient = $1 and message_content = 'once'`,
      [alice],
    )) as [{ n: number }];
    expect(n).toBe(1);
  });
});

describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'group commit when the connection dies mid-batch (PostgreSQL)',
  () => {
    let b: RawBackend;
    let admin: pg.Client;
    beforeAll(async () => {
      b = await openRawBackend({ name: 'postgres' }, 'UTC');
      admin = new pg.Client({ connectionString: postgresUrl, application_name: 'test-admin' });
      await admin.connect();
    });
    afterAll(async () => {
      await admin?.end();
      await b?.close();
    });

    it('answers every send of a killed batch with an error or a durable row', async () => {
      const alice = unique('alice');
      // Each insert statement takes 300 ms, so that the batch is surely running when killed.
      await b.sql(`create function test_slow() returns trigger language plpgsql as $$
        begin perform pg_sleep(0.3); return null; end $$`);
      await b.sql(`create trigger test_slow after insert on messages
        for each statement execute function test_slow()`);
      let results: PromiseSettledResult<Message>[];
      try {
        const settled = Promise.allSettled(
          Array.from({ length: 60 }, (_, i) =>
            b.messenger.send({ sender: 'bob', recipient: alice, message_content: `k${i}` }),
          ),
        );
        // The first send leaves alone; the others queue behind it and form the next batch.
        let killed = 0;
        for (let tries = 0; killed < 2 && tries < 200; tries++) {
          await new Promise((r) => setTimeout(r, 20));
          const { rows } = await admin.query<{ pid: number }>(
            `select pid from pg_stat_activity
             where application_name = 'messenger' and query like 'insert into messages%'
               and state = 'active'`,
          );
          for (const { pid } of rows) {
            await admin.query('select pg_terminate_backend($1)', [pid]);
            killed++;
          }
        }
        expect(killed).toBeGreaterThan(0);
        results = await settled;
      } finally {
        await b.sql('drop trigger test_slow on messages');
        await b.sql('drop function test_slow()');
      }
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      for (const r of failed) expect(r.reason).toBeInstanceOf(UnavailableError);
      // Checked over another connection: every 201 names a row that is there (a failed send's
      // row may or may not be: its error never claimed either).
      const stored = await b.rows<{ id: number | string }>(
        'select id from messages where recipient = $1',
        [alice],
      );
      const ids = new Set(stored.map((r) => Number(r.id)));
      for (const r of results) {
        if (r.status === 'fulfilled') expect(ids.has(r.value.id)).toBe(true);
      }
      // The messenger itself goes on, on fresh connections.
      await b.messenger.send({ sender: 'bob', recipient: alice, message_content: 'after' });
      const page = await b.messenger.list({ recipient: alice, limit: 1 });
      expect(page.messages[0]?.message_content).toBe('after');
    });
  },
);
