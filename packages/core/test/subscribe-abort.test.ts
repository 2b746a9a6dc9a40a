// Cancelling a subscription during catch-up: a watcher that resumes from an old `after` and
// goes away at once must not make the process page through the whole history.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Backend, backends, freshPostgresSchema } from '@messenger/testing';
import { type Kysely, type KyselyPlugin, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/database/connection.js';
import { openPglite } from '../src/database/open-pglite.js';
import { openPostgres } from '../src/database/open-postgres.js';
import { Messenger, type StreamEvent } from '../src/index.js';
import type { Database } from '../src/message.table.js';
import { unique } from './support.js';

/**
 * A messenger whose database handle counts the catch-up pages it reads for `recipient`: each
 * page is one query whose rows carry the folded recipient name.
 */
interface Counted {
  readonly messenger: Messenger;
  readonly db: Kysely<Database>;
  /** Catch-up pages read so far for the recipient set with {@link Counted.watch}. */
  pages(): number;
  watch(recipient: string): void;
  /** A URL into the same schema (PostgreSQL only). */
  readonly url: string | undefined;
  close(): Promise<void>;
}

async function openCounted(backend: Backend): Promise<Counted> {
  let key: string | undefined;
  let pages = 0;
  const counter: KyselyPlugin = {
    transformQuery: ({ node }) => node,
    transformResult: async ({ result }) => {
      const first = result.rows[0] as { recipient_key?: unknown } | undefined;
      if (key !== undefined && first?.recipient_key === key) pages++;
      return result;
    },
  };
  const schema = backend.name === 'postgres' ? await freshPostgresSchema() : undefined;
  const raw = schema ? await openPostgres(schema.url) : await openPglite(undefined);
  const conn: Connection = { ...raw, db: raw.db.withPlugin(counter) };
  const messenger = new Messenger(conn);
  await messenger.migrate();
  return {
    messenger,
    db: raw.db,
    pages: () => pages,
    watch: (recipient) => {
      key = recipient.toLowerCase();
    },
    url: schema?.url,
    close: async () => {
      try {
        await messenger.close();
      } finally {
        await schema?.drop();
      }
    },
  };
}

/** One statement: `count` messages to `recipient`, without a notification per row. */
async function insertHistory(db: Kysely<Database>, recipient: string, count: number) {
  await sql`alter table messages disable trigger messages_notify`.execute(db);
  await sql`insert into messages (sender, recipient, message_content)
    select 'history', ${recipient}, 'm ' || g from generate_series(1, ${count}::int) g`.execute(db);
  await sql`alter table messages enable trigger messages_notify`.execute(db);
  const { rows } = await sql<{ first: string }>`
    select min(id)::text as first from messages where recipient = ${recipient}`.execute(db);
  return rows[0]?.first as string;
}

/** Catch-up queries of this messenger that PostgreSQL is running now (by application_name and text). */
async function runningCatchUps(
  db: Kysely<Database>,
): Promise<{ state: string; wait: string | null }[]> {
  const { rows } = await sql<{ state: string; wait: string | null }>`
    select state, wait_event_type as wait from pg_stat_activity
     where application_name = 'messenger' and pid <> pg_backend_pid() and state = 'active'
       and query like '%lower(recipient) = lower(%' and query like '%pg_snapshot_xmin%'`.execute(
    db,
  );
  return rows;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected subscribe to reject');
    },
    (err: unknown) => err,
  );
}

describe.each(backends())('subscribe cancelled during catch-up on $name', (backend) => {
  /** Messages in the history (fewer on the slower embedded engine); catch-up reads 500 per page. */
  const HISTORY = backend.name === 'postgres' ? 50_000 : 20_000;
  const PAGES = HISTORY / 500;
  let c: Counted;
  let recipient: string;
  let first: string;

  beforeAll(async () => {
    c = await openCounted(backend);
    recipient = unique('history');
    first = await insertHistory(c.db, recipient, HISTORY);
    c.watch(recipient);
  }, 120_000);
  afterAll(async () => c?.close());

  it.each([
    ['without a signal', undefined],
    ['with a signal that never aborts', new AbortController().signal],
  ])(
    'catches up in full %s (the baseline the cancellations are measured against)',
    async (_name, signal) => {
      const before = c.pages();
      let events = 0;
      const sub = await c.messenger.subscribe(
        { recipient, after: first },
        () => {
          events++;
        },
        { signal },
      );
      sub.close();
      expect(events).toBe(HISTORY - 1);
      expect(c.pages() - before).toBe(PAGES);
    },
  );

  it('an abort at the first event stops paging, removes the subscriber and rejects with an AbortError', async () => {
    const before = c.pages();
    const stop = new AbortController();
    const events: StreamEvent[] = [];
    const err = await rejection(
      c.messenger.subscribe(
        { recipient, after: first },
        (e) => {
          events.push(e);
          if (events.length === 1) stop.abort();
        },
        { signal: stop.signal },
      ),
    );
    expect(err).toBe(stop.signal.reason);
    expect((err as Error).name).toBe('AbortError');
    expect(events).toHaveLength(1);
    const read = c.pages() - before;
    expect(read).toBe(1);
    await sleep(300);
    // No page was read after the abort, and none runs on.
    expect(c.pages() - before).toBe(read);
    if (backend.name === 'postgres') expect(await runningCatchUps(c.db)).toEqual([]);
    // The subscriber is gone: a new message for the recipient reaches nobody.
    await c.messenger.send({ sender: 'late', recipient, message_content: 'after the abort' });
    await sleep(300);
    expect(events).toHaveLength(1);
  });

  it('an abort before catch-up starts reads nothing', async () => {
    const before = c.pages();
    const stop = new AbortController();
    const pending = c.messenger.subscribe({ recipient, after: first }, () => {}, {
      signal: stop.signal,
    });
    stop.abort(new Error('client went away'));
    const err = await rejection(pending);
    expect((err as Error).message).toBe('client went away');
    await sleep(200);
    expect(c.pages() - before).toBe(0);
    const already = rejection(
      c.messenger.subscribe({ recipient }, () => {}, { signal: AbortSignal.abort() }),
    );
    expect(((await already) as Error).name).toBe('AbortError');
  });

  it('an abort after catch-up closes the live subscription', async () => {
    const stop = new AbortController();
    const live = unique('live');
    const events: StreamEvent[] = [];
    await c.messenger.subscribe({ recipient: live }, (e) => events.push(e), {
      signal: stop.signal,
    });
    await c.messenger.send({ sender: 's', recipient: live, message_content: 'one' });
    const deadline = Date.now() + 10_000;
    while (events.length === 0 && Date.now() < deadline) await sleep(10);
    expect(events).toHaveLength(1);
    stop.abort();
    await c.messenger.send({ sender: 's', recipient: live, message_content: 'two' });
    await sleep(300);
    expect(events).toHaveLength(1);
  });

  // PostgreSQL only (the embedded engine runs each statement to its end); registered only
  // there, so that REQUIRE_POSTGRES runs count no skipped test.
  if (backend.name !== 'postgres') return;
  it('an abort cancels the page query PostgreSQL is running (here: waiting for a lock)', async () => {
    const locker = new pg.Client({ connectionString: c.url, application_name: 'test-locker' });
    await locker.connect();
    try {
      const before = c.pages();
      const stop = new AbortController();
      let locked: Promise<unknown> | undefined;
      let events = 0;
      const pending = rejection(
        c.messenger.subscribe(
          { recipient, after: first },
          () => {
            events++;
            // After the first page, hold the table: the next page query has to wait.
            locked ??= locker
              .query('begin')
              .then(() => locker.query('lock table messages in access exclusive mode'));
          },
          { signal: stop.signal },
        ),
      );
      const deadline = Date.now() + 10_000;
      while (!(await runningCatchUps(c.db)).some((q) => q.wait === 'Lock')) {
        if (Date.now() > deadline) throw new Error('no catch-up query ever waited for the lock');
        await sleep(20);
      }
      await locked;
      const readBeforeAbort = c.pages() - before;
      expect(readBeforeAbort).toBeLessThan(PAGES);
      const aborted = Date.now();
      stop.abort();
      const err = await pending;
      expect((err as Error).name).toBe('AbortError');
      // Rejected while the lock is still held: the waiting query was cancelled, not waited for.
      expect(Date.now() - aborted).toBeLessThan(2000);
      expect(await runningCatchUps(c.db)).toEqual([]);
      expect(c.pages() - before).toBe(readBeforeAbort);
      expect(events).toBeLessThan(HISTORY - 1);
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
    // The pooled connection that was cancelled serves the next queries normally.
    for (let i = 0; i < 12; i++) await c.messenger.list({ recipient, limit: 1 });
  });
});
