import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Backend, freshPostgresSchema } from '@messenger/testing';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Connection } from '../src/database/connection.js';
import { listenPglite } from '../src/database/open-pglite.js';
import { type Message, Messenger, type MessengerOptions, openMessenger } from '../src/index.js';

/** A messenger open on one backend, and how to put it away. */
export interface OpenBackend {
  readonly messenger: Messenger;
  close(): Promise<void>;
}

/**
 * Opens a messenger the way users do: PGlite in memory (migrated on open), or
 * PostgreSQL in a schema of its own (migrated by `migrate: true`).
 */
export async function openBackend(
  backend: Backend,
  options: Pick<MessengerOptions, 'onBackgroundError'> = {},
): Promise<OpenBackend> {
  if (backend.name === 'pglite') {
    const messenger = await openMessenger(options);
    return { messenger, close: () => messenger.close() };
  }
  const schema = await freshPostgresSchema();
  try {
    const messenger = await openMessenger({ ...options, databaseUrl: schema.url, migrate: true });
    return {
      messenger,
      close: async () => {
        try {
          await messenger.close();
        } finally {
          await schema.drop();
        }
      },
    };
  } catch (err) {
    await schema.drop();
    throw err;
  }
}

/** An open backend plus raw SQL on the same database, to set up what core cannot (fixed times, read flags). */
export interface RawBackend extends OpenBackend {
  /** Runs one SQL statement with `$1…` parameters on the messenger's database. */
  sql(text: string, params?: unknown[]): Promise<void>;
  /** Runs one query and returns its rows (int8 as the driver gives it: cast counts to int). */
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
}

type CoreDatabase = Connection['db'] extends Kysely<infer D> ? D : never;

/**
 * Like {@link openBackend}, with raw SQL access and the session time zone set to
 * `timeZone` (a zone far from UTC shows any place where local time leaks in).
 * PGlite has one connection, so the test builds it and hands it to {@link Messenger}.
 */
export async function openRawBackend(
  backend: Backend,
  timeZone: string,
  options: Pick<MessengerOptions, 'onBackgroundError'> = {},
): Promise<RawBackend> {
  if (backend.name === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create();
    await pglite.exec(`set timezone to '${timeZone}'`);
    const db = new Kysely<CoreDatabase>({ dialect: new PGliteDialect(pglite) });
    const messenger = new Messenger(
      {
        db,
        engine: 'pglite',
        where: 'memory',
        listen: (channels, onNotification) => listenPglite(pglite, channels, onNotification),
        close: () => db.destroy(),
      },
      options.onBackgroundError,
    );
    await messenger.migrate();
    return {
      messenger,
      sql: async (text, params) => {
        await pglite.query(text, params);
      },
      rows: async <T>(text: string, params?: unknown[]) =>
        (await pglite.query<T>(text, params)).rows,
      close: () => messenger.close(),
    };
  }
  const schema = await freshPostgresSchema();
  const url = new URL(schema.url);
  url.searchParams.set(
    'options',
    `${url.searchParams.get('options') ?? ''} -c TimeZone=${timeZone}`,
  );
  let messenger: Messenger | undefined;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    messenger = await openMessenger({ ...options, databaseUrl: url.toString(), migrate: true });
    await client.connect();
  } catch (err) {
    await messenger?.close();
    await schema.drop();
    throw err;
  }
  const opened = messenger;
  return {
    messenger: opened,
    sql: async (text, params) => {
      await client.query(text, params);
    },
    rows: async <T>(text: string, params?: unknown[]) =>
      (await client.query(text, params)).rows as T[],
    close: async () => {
      try {
        await client.end();
        await opened.close();
      } finally {
        await schema.drop();
      }
    },
  };
}

/** A name no other test uses: `prefix-<8 hex digits>`. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Sends `count` messages concurrently; contents are `${label} 0` … `${label} count-1`. */
export function sendMany(
  messenger: Messenger,
  count: number,
  sender: string,
  recipient: string,
  label = 'message',
): Promise<Message[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      messenger.send({ sender, recipient, message_content: `${label} ${i}` }),
    ),
  );
}

/** Sends messages one after another, a few ms apart, so that each has a later `sent_datetime`. */
export async function sendSpaced(
  messenger: Messenger,
  sender: string,
  recipient: string,
  contents: string[],
): Promise<Message[]> {
  const sent: Message[] = [];
  for (const message_content of contents) {
    if (sent.length > 0) await sleep(3);
    sent.push(await messenger.send({ sender, recipient, message_content }));
  }
  return sent;
}

/** Compares messages in listing order: negative when `a` is newer than `b`. */
export function newerFirst(a: Message, b: Message): number {
  if (a.sent_datetime !== b.sent_datetime) return a.sent_datetime > b.sent_datetime ? -1 : 1;
  return b.id - a.id;
}

/** Every message of a listing, following `nextCursor` to the end; also the size of each page. */
export async function walk(
  messenger: Messenger,
  options: Parameters<Messenger['list']>[0],
): Promise<{ messages: Message[]; pageSizes: number[] }> {
  const messages: Message[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await messenger.list({ ...options, cursor });
    messages.push(...page.messages);
    pageSizes.push(page.messages.length);
    if (page.nextCursor === null) return { messages, pageSizes };
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

/** ISO-8601 UTC with microseconds, as core reports times. */
export const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The error `p` rejects with; fails the test when it resolves. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (err: unknown) => err as Error,
  );
}

/** Polls `check` every 10 ms until it holds; fails naming `what` after `timeoutMs`. Returns the ms it took. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - started;
}

/** Whether `token` authenticates now. */
export function authenticates(messenger: Messenger, token: string): Promise<boolean> {
  return messenger.authenticate(token).then(
    () => true,
    () => false,
  );
}
