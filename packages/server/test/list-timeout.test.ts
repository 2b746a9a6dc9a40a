import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/index.js';

// A listing that runs past the list statement timeout is cut off by PostgreSQL and answered
// with the API's 503 body, instead of holding a pooled connection (and the client) for the
// general statement timeout. PostgreSQL only: the embedded engine has no session timeouts.
// Registered only there, so that REQUIRE_POSTGRES runs count no skipped test.
if (postgresUrl !== undefined) {
  describe('list statement timeout on PostgreSQL', () => {
    let schema: PostgresSchema;
    let server: RunningServer;
    let locker: pg.Client;

    beforeAll(async () => {
      schema = await freshPostgresSchema();
      server = await startServer({
        databaseUrl: schema.url,
        migrate: true,
        port: 0,
        host: '127.0.0.1',
        auth: 'open',
        logger: false,
        listTimeoutMs: 500,
      });
      locker = new pg.Client({ connectionString: schema.url, application_name: 'test-locker' });
      await locker.connect();
    });
    afterAll(async () => {
      await locker?.end().catch(() => {});
      await server?.close();
      await schema?.drop();
    });

    it('answers a listing that outlasts the list timeout with 503 and the error body', async () => {
      // A listing that cannot finish: the table is locked by another session.
      await locker.query('begin');
      await locker.query('lock table messages in access exclusive mode');
      const started = Date.now();
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${server.url}/api/messages/?recipient=alice`);
      } finally {
        await locker.query('rollback');
      }
      const tookMs = Date.now() - started;
      const body = (await res.body.json()) as { error: { code: string; message: string } };
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(body.error.code).toBe('unavailable');
      expect(body.error.message).not.toMatch(/select|messages|lock/i);
      // Cut off by the 500 ms list timeout, far below the 30 s statement timeout of writes.
      expect(tookMs).toBeLessThan(10_000);
      // The pool is not left holding anything: the next listing answers.
      const again = await request(`${server.url}/api/messages/?recipient=alice`);
      expect(again.statusCode).toBe(200);
      await again.body.dump();
    });

    it('sends are not held to the list timeout', async () => {
      await locker.query('begin');
      await locker.query('lock table messages in access exclusive mode');
      const sending = request(`${server.url}/api/messages/send/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender: 'bob', recipient: 'alice', message_content: 'hi' }),
      });
      await new Promise((r) => setTimeout(r, 1500));
      await locker.query('rollback');
      const res = await sending;
      expect(res.statusCode).toBe(201);
      await res.body.dump();
    });
  });
}
