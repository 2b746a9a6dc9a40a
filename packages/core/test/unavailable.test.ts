import { freshPostgresSchema, postgresUrl } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import {
  type Messenger,
  MessengerError,
  openMessenger,
  UnavailableError,
  ValidationError,
} from '../src/index.js';
import { migrations } from '../src/migrations/index.js';

/** Nothing listens on port 1. The password must never show up in an error. */
const downUrl = 'postgres://postgres:s3cret-pw@127.0.0.1:1/none';
const postgres = { connectionTimeoutMs: 2000 };

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${String(v)}`);
    },
    (err: unknown) => err,
  );
}

/** An UnavailableError with a short, single-line message naming `where` and nothing internal. */
function expectUnavailable(err: unknown, where: string): void {
  expect(err).toBeInstanceOf(UnavailableError);
  expect(err).toBeInstanceOf(MessengerError);
  const e = err as UnavailableError;
  expect(e.code).toBe('unavailable');
  expect(e.message).toContain(where);
  expect(e.message).not.toMatch(
    /\n|\bat \S+ \(|\.js:\d+|\bselect\b|\binsert\b|\bfrom\b|"messages"/i,
  );
  expect(e.message).not.toContain('s3cret-pw');
  expect(e.message.length).toBeLessThan(200);
}

describe('a PostgreSQL server that is down', () => {
  it('opens lazily, then list, send and ping fail with UnavailableError naming the server', async () => {
    const m: Messenger = await openMessenger({ databaseUrl: downUrl, postgres });
    try {
      expect(m.engine).toBe('postgres');
      expect(m.where).toBe('127.0.0.1:1/none');
      const started = Date.now();
      expectUnavailable(await failure(m.list()), '127.0.0.1:1');
      expectUnavailable(
        await failure(m.send({ sender: 'a', recipient: 'b', message_content: 'c' })),
        '127.0.0.1:1',
      );
      expectUnavailable(await failure(m.ping()), '127.0.0.1:1');
      expect(Date.now() - started).toBeLessThan(10_000);
      const err = (await failure(m.list({ recipient: 'x' }))) as UnavailableError;
      expect(err.message).toBe('database at 127.0.0.1:1/none is unavailable (ECONNREFUSED)');
      // The driver's error is kept as the cause for logs.
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      await m.close();
    }
  });

  it('still reports invalid input as a ValidationError, without trying the database', async () => {
    const m = await openMessenger({ databaseUrl: downUrl, postgres });
    try {
      expect(
        await failure(m.send({ sender: '', recipient: 'b', message_content: 'c' })),
      ).toBeInstanceOf(ValidationError);
      expect(await failure(m.list({ limit: 'lots' }))).toBeInstanceOf(ValidationError);
    } finally {
      await m.close();
    }
  });

  it('fails to open with migrate: true', async () => {
    const err = await failure(openMessenger({ databaseUrl: downUrl, postgres, migrate: true }));
    expectUnavailable(err, '127.0.0.1:1');
  });
});

describe.runIf(postgresUrl !== undefined)('a PostgreSQL schema without migrations', () => {
  it('answers with UnavailableError asking for the migrations, until migrated', async () => {
    const schema = await freshPostgresSchema();
    const m = await openMessenger({ databaseUrl: schema.url });
    try {
      for (const attempt of [
        () => m.list(),
        () => m.send({ sender: 'a', recipient: 'b', message_content: 'c' }),
      ]) {
        const err = await failure(attempt());
        expectUnavailable(err, m.where);
        expect((err as Error).message).toMatch(/has no messenger tables: run the migrations/);
      }
      expect(await m.migrate()).toEqual({
        // Every bundled migration, in order (0004-accounts and any later one).
        applied: Object.keys(migrations),
      });
      expect(await m.migrate()).toEqual({ applied: [] });
      const sent = await m.send({ sender: 'a', recipient: 'b', message_content: 'c' });
      expect((await m.list()).messages).toEqual([sent]);
    } finally {
      await m.close();
      await schema.drop();
    }
  });

  it('migrates a schema even when another schema of the database is already migrated', async () => {
    // Kysely's Migrator finds its tables in any schema unless told which one.
    const first = await freshPostgresSchema();
    const second = await freshPostgresSchema();
    try {
      const a = await openMessenger({ databaseUrl: first.url, migrate: true });
      await a.send({ sender: 'a', recipient: 'b', message_content: 'in first' });
      await a.close();
      const b = await openMessenger({ databaseUrl: second.url, migrate: true });
      try {
        expect((await b.list()).messages).toEqual([]);
        expect(await b.migrate()).toEqual({ applied: [] });
      } finally {
        await b.close();
      }
    } finally {
      await first.drop();
      await second.drop();
    }
  });
});
