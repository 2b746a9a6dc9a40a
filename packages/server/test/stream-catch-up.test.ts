import { setTimeout as sleep } from 'node:timers/promises';
import { type Messenger, openMessenger } from '@messenger/core';
import { freshPostgresSchema, type PostgresSchema, postgresUrl, waitFor } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

// A watcher that connects with an old `after` and goes away at once must not make the server
// page through the whole history: closing the socket cancels the catch-up, also a page query
// PostgreSQL is running. PostgreSQL only (the embedded engine runs each statement to its end);
// registered only there, so that REQUIRE_POSTGRES runs count no skipped test.
const HISTORY = 20_000;

if (postgresUrl !== undefined) {
  describe('stream catch-up on PostgreSQL', () => {
    let schema: PostgresSchema;
    let messenger: Messenger;
    let app: FastifyInstance;
    let base: string;
    let admin: pg.Client;
    let first: number;

    beforeAll(async () => {
      schema = await freshPostgresSchema();
      messenger = await openMessenger({ databaseUrl: schema.url, migrate: true });
      app = await buildApp({ messenger, auth: { mode: 'open' } });
      base = await app.listen({ port: 0, host: '127.0.0.1' });
      admin = new pg.Client({ connectionString: schema.url, application_name: 'test-admin' });
      await admin.connect();
      await admin.query(
        `insert into messages (sender, recipient, message_content)
         select 'old', 'hist', 'm' || g from generate_series(1, ${HISTORY}) g`,
      );
      first = (await admin.query<{ id: string }>('select min(id) as id from messages')).rows[0]
        ?.id as unknown as number;
    });
    afterAll(async () => {
      await admin?.end();
      await app?.close();
      await schema?.drop();
    });

    /** The server's catch-up page queries that PostgreSQL is running now, and what they wait for. */
    const runningCatchUps = async () =>
      (
        await admin.query<{ wait: string | null }>(
          `select wait_event_type as wait from pg_stat_activity
            where application_name = 'messenger' and state = 'active'
              and query like '%pg_snapshot_xmin%' and query like '%lower(recipient) = lower(%'`,
        )
      ).rows;

    it('closing the socket during catch-up cancels the page query and reads no further', async () => {
      const locker = new pg.Client({
        connectionString: schema.url,
        application_name: 'test-locker',
      });
      await locker.connect();
      // The transaction is open beforehand, so that the lock is one round trip after the first
      // message: the whole history must not slip through before it (a CI run once saw that).
      await locker.query('begin');
      let received = 0;
      let locked: Promise<unknown> | undefined;
      const ws = new WebSocket(
        `${base.replace(/^http/, 'ws')}/api/messages/stream?recipient=hist&after=${first}`,
      );
      try {
        ws.addEventListener('message', () => {
          received++;
          // After the first page arrived, hold the table: the next page query has to wait.
          locked ??= locker.query('lock table messages in access exclusive mode');
        });
        await waitFor(
          'a catch-up page query waiting for the lock',
          async () => (await runningCatchUps()).some((q) => q.wait === 'Lock'),
          { timeoutMs: 15_000, intervalMs: 20 },
        );
        await locked;
        const closedAt = Date.now();
        ws.close();
        // Cancelled while the lock is still held: not waited for until the statement timeout.
        await waitFor('the catch-up query to be cancelled', async () => {
          const running = await runningCatchUps();
          return running.length === 0;
        });
        expect(Date.now() - closedAt).toBeLessThan(2_000);
        const seen = received;
        expect(seen).toBeLessThan(HISTORY);
        await locker.query('rollback');
        // Nothing more is read for the departed watcher once the table is free again.
        await sleep(500);
        expect(await runningCatchUps()).toEqual([]);
        expect(received).toBe(seen);
      } finally {
        ws.close();
        await locker.query('rollback').catch(() => {});
        await locker.end();
      }
    }, 60_000);
  });
}
