// Revocation across processes, for real: two messengers on one PostgreSQL schema stand for two
// server replicas. The second connects as a role of its own, so that the test can find (and
// kill) its LISTEN connection and keep it from coming back (`nologin`) without touching any
// other test's connections.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Messenger, openMessenger, UnauthenticatedError } from '../src/index.js';
import { authenticates, eventually, unique } from './support.js';

describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'access revocation across processes [postgres]',
  () => {
    let schema: PostgresSchema;
    let admin: pg.Client;
    const role = `r_${randomBytes(6).toString('hex')}`;
    /** The process that revokes. */
    let a: Messenger;
    /** The other process, connected as `role`. */
    let b: Messenger;
    const background: unknown[] = [];

    beforeAll(async () => {
      schema = await freshPostgresSchema();
      a = await openMessenger({ databaseUrl: schema.url, migrate: true });
      admin = new pg.Client({ connectionString: postgresUrl, application_name: 'test-admin' });
      await admin.connect();
      await admin.query(`create role ${role} login`);
      await admin.query(`grant usage on schema ${schema.schema} to ${role}`);
      await admin.query(`grant all on all tables in schema ${schema.schema} to ${role}`);
      await admin.query(`grant all on all sequences in schema ${schema.schema} to ${role}`);
      const url = new URL(schema.url);
      url.username = role;
      b = await openMessenger({
        databaseUrl: url.toString(),
        onBackgroundError: (err) => background.push(err),
      });
    }, 60_000);

    afterAll(async () => {
      await admin?.query(`alter role ${role} login`).catch(() => {});
      await b?.close();
      await a?.close();
      await schema?.drop();
      await admin?.query(`drop owned by ${role}`).catch(() => {});
      await admin?.query(`drop role if exists ${role}`).catch(() => {});
      await admin?.end();
    });

    const listenersOfB = async () =>
      (
        await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where usename = $1 and application_name = 'messenger-listen'`,
          [role],
        )
      ).rows;

    it('live delivery and accounts share one LISTEN connection', async () => {
      const name = unique('una');
      const { token } = await a.addUser(name);
      const sub = await b.mailbox(await b.authenticate(token.token)).subscribe({}, () => {});
      await b.subscribe({ recipient: 'anyone' }, () => {});
      expect(await listenersOfB()).toHaveLength(1);
      sub.close();
    });

    it('a revocation in one process ends the token at once in the other, and its watchers within seconds', async () => {
      const name = unique('vera');
      const { token } = await a.addUser(name);
      const principal = await b.authenticate(token.token);
      // Cached in b from now on: only the announcement can end it before 5 s.
      expect(await authenticates(b, token.token)).toBe(true);
      let fired = 0;
      b.watchAccess(principal, () => fired++);
      const revokedAt = Date.now();
      await a.revokeToken(token.id);
      const refused = await eventually(
        'b to refuse the token',
        async () => !(await authenticates(b, token.token)),
      );
      expect(refused).toBeLessThan(1_500);
      await eventually('the watcher in b', () => fired === 1, 5_000);
      expect(Date.now() - revokedAt).toBeLessThan(5_000);
      await sleep(2_500);
      expect(fired).toBe(1);
    });

    it('disabling a user in one process ends their mailbox at once in the other', async () => {
      const name = unique('walt');
      const { token } = await a.addUser(name);
      const mb = b.mailbox(await b.authenticate(token.token));
      await mb.list();
      let fired = 0;
      await mb.subscribe({}, () => {}, { onAccessRevoked: () => fired++ });
      await a.disableUser(name);
      await eventually(
        'b to refuse the mailbox',
        () =>
          mb.list().then(
            () => false,
            (err) => err instanceof UnauthenticatedError,
          ),
        1_500,
      );
      await eventually('the stream in b to end', () => fired === 1, 5_000);
    });

    it('with its LISTEN connection killed (and kept from coming back), a process still ends watchers within 5 s and caches nothing', async () => {
      const name = unique('xena');
      const { token } = await a.addUser(name);
      const principal = await b.authenticate(token.token);
      expect(await authenticates(b, token.token)).toBe(true);
      let fired = 0;
      b.watchAccess(principal, () => fired++);
      await admin.query(`alter role ${role} nologin`);
      const [listener] = await listenersOfB();
      expect(listener).toBeDefined();
      await admin.query('select pg_terminate_backend($1)', [listener?.pid]);
      await eventually('b to notice', () =>
        background.some((e) => String(e).includes('cannot listen for revoked tokens')),
      );
      expect(await listenersOfB()).toHaveLength(0);
      const revokedAt = Date.now();
      await a.revokeToken(token.id);
      // No announcement can reach b: its pooled connections still answer the periodic check.
      await eventually('the watcher in b', () => fired === 1, 6_000);
      expect(Date.now() - revokedAt).toBeLessThan(5_000);
      // Nor is anything answered from a cache that nothing keeps current.
      expect(await authenticates(b, token.token)).toBe(false);
      expect(await listenersOfB()).toHaveLength(0);

      await admin.query(`alter role ${role} login`);
      await eventually(
        'b to listen again',
        async () => (await listenersOfB()).length === 1,
        15_000,
      );
    }, 30_000);
  },
);
