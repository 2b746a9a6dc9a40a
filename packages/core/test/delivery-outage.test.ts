// Live delivery while PostgreSQL is down or the LISTEN connection is lost, for real: a private
// cluster of this test's own (the machine's shared one is never touched), stopped, started,
// and closed to new connections while the hub's listener is terminated.
import { setTimeout as sleep } from 'node:timers/promises';
import { type PrivatePostgres, postgresBinDir, startPrivatePostgres } from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Message,
  type Messenger,
  openMessenger,
  type StreamEvent,
  UnavailableError,
} from '../src/index.js';
import { unique } from './support.js';

const pgBin = postgresBinDir();

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${String(v)}`);
    },
    (err: unknown) => err,
  );
}

/** Polls `check` every 50 ms until it is true; fails naming `what` after `timeoutMs`. */
async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const pingPasses = (m: Messenger) =>
  m.ping().then(
    () => true,
    () => false,
  );

function collector() {
  const events: StreamEvent[] = [];
  const messages = () => events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
  return { events, messages, push: (e: StreamEvent) => events.push(e) };
}

// Without PostgreSQL's server programs this cannot run: skipped on a developer's machine, a
// failure under CI, where they are part of the toolset.
describe.skipIf(pgBin === undefined && !process.env.CI)(
  'live delivery through outages [private PostgreSQL]',
  () => {
    let cluster: PrivatePostgres | undefined;
    let admin: pg.Client | undefined;
    let appUrl = '';

    beforeAll(async () => {
      if (pgBin === undefined)
        throw new Error('initdb/postgres/pg_ctl not found: CI must run this test');
      cluster = await startPrivatePostgres({ binDir: pgBin });
      admin = new pg.Client({ connectionString: cluster.url, application_name: 'test-admin' });
      await admin.connect();
      await admin.query('create database app');
      const url = new URL(cluster.url);
      url.pathname = '/app';
      appUrl = url.toString();
      const migrator = await openMessenger({ databaseUrl: appUrl, migrate: true });
      await migrator.close();
    }, 60_000);

    /** A messenger on `app` that keeps its background errors. */
    async function openApp(): Promise<{ messenger: Messenger; background: unknown[] }> {
      const background: unknown[] = [];
      const messenger = await openMessenger({
        databaseUrl: appUrl,
        postgres: { connectionTimeoutMs: 2000 },
        onBackgroundError: (err) => background.push(err),
      });
      return { messenger, background };
    }

    afterAll(async () => {
      await admin?.end().catch(() => {});
      await cluster?.destroy();
    });

    it('a subscribe while the database is down fails fast; once it is back, a subscribe gets each new message once', async () => {
      const pgc = cluster as PrivatePostgres;
      const { messenger: m, background } = await openApp();
      try {
        await admin?.end();
        admin = undefined;
        await pgc.stop('fast');
        const recipient = unique('outage');
        for (let i = 0; i < 2; i++) {
          const started = Date.now();
          const err = await failure(m.subscribe({ recipient }, () => {}));
          expect(err).toBeInstanceOf(UnavailableError);
          expect(Date.now() - started).toBeLessThan(3000);
        }
        expect(await failure(m.ping())).toBeInstanceOf(UnavailableError);
        expect(background.some((e) => e instanceof UnavailableError)).toBe(true);

        await pgc.start();
        const seen = collector();
        const sub = await m.subscribe({ recipient }, seen.push);
        const sent: Message[] = [];
        for (let i = 0; i < 3; i++) {
          sent.push(await m.send({ sender: 'back', recipient, message_content: `after ${i}` }));
        }
        await eventually('3 messages', () => seen.messages().length >= 3);
        await sleep(300);
        expect(seen.messages()).toEqual(sent);
        await expect(m.ping()).resolves.toBeUndefined();
        sub.close();
      } finally {
        await m.close();
        if (!admin) {
          admin = new pg.Client({ connectionString: pgc.url, application_name: 'test-admin' });
          await admin.connect();
        }
      }
    }, 60_000);

    it('ping fails while the LISTEN connection is lost and passes once it is back; nothing is missed meanwhile', async () => {
      const adminClient = admin as pg.Client;
      const { messenger: m, background } = await openApp();
      try {
        const recipient = unique('relisten');
        const seen = collector();
        const sub = await m.subscribe({ recipient }, seen.push);
        const before = await m.send({ sender: 's', recipient, message_content: 'before' });
        await eventually('the first message', () => seen.messages().length === 1);
        await expect(m.ping()).resolves.toBeUndefined();

        // New connections to `app` are refused from now on; the pool keeps the one it has, the
        // hub's listener is terminated and cannot come back.
        await adminClient.query('alter database app allow_connections false');
        const { rowCount } = await adminClient.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = 'app' and application_name = 'messenger-listen'`,
        );
        expect(rowCount).toBe(1);
        await eventually('ping to fail', async () => !(await pingPasses(m)));
        const err = await failure(m.ping());
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as Error).message).toContain('live delivery cannot listen');
        expect(background.some((e) => e instanceof UnavailableError)).toBe(true);
        // The database itself answers: it is the LISTEN connection that ping reports.
        const during = await m.send({ sender: 's', recipient, message_content: 'during' });
        await sleep(500);
        expect(await pingPasses(m)).toBe(false);

        await adminClient.query('alter database app allow_connections true');
        await eventually('ping to pass again', () => pingPasses(m));
        const after = await m.send({ sender: 's', recipient, message_content: 'after' });
        await eventually('all three messages', () => seen.messages().length >= 3);
        await sleep(300);
        expect(seen.messages()).toEqual([before, during, after]);
        sub.close();
      } finally {
        await adminClient.query('alter database app allow_connections true').catch(() => {});
        await m.close();
      }
    }, 60_000);
  },
);
