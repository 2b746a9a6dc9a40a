import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { Database } from '../message.table.js';
import type { Connection, Listener } from './connection.js';

/**
 * Settings of a PostgreSQL server connection (`databaseUrl` is `postgres://…`). Every field
 * is optional; the defaults suit a server process.
 */
export interface PostgresOptions {
  /**
   * Largest number of pooled connections (default 10), shared out between listings (half,
   * rounded down) and everything else; at least one each. Live delivery adds one LISTEN
   * connection.
   */
  readonly maxConnections?: number | undefined;
  /** How long to wait for a connection before failing, in ms (default 5000; pg's own default waits forever). */
  readonly connectionTimeoutMs?: number | undefined;
  /** Server-side statement timeout, in ms (default 30000). */
  readonly statementTimeoutMs?: number | undefined;
  /**
   * Statement timeout of listings, in ms (default 5000). A listing that runs longer is
   * cancelled by the server and fails with `unavailable` (HTTP 503), so that a few slow
   * queries cannot hold the pool. Listings run on a share of `maxConnections` of their own
   * whose sessions carry this timeout: no extra round trip per query, and slow listings
   * cannot take the connections sends need.
   */
  readonly listStatementTimeoutMs?: number | undefined;
  /**
   * The server ends a session whose transaction sits idle this long, in ms (default 10000;
   * `idle_in_transaction_session_timeout`): a stalled client cannot hold locks and the oldest
   * running transaction (which live delivery waits for) indefinitely.
   */
  readonly idleInTransactionTimeoutMs?: number | undefined;
  /** How long an idle pooled connection is kept, in ms (default 30000). */
  readonly idleTimeoutMs?: number | undefined;
}

/** Opens a pool to a PostgreSQL server. No connection is made until the first query. */
export async function openPostgres(
  url: string,
  options: PostgresOptions = {},
): Promise<Connection> {
  const { default: pg } = await import('pg');
  const max = options.maxConnections ?? 10;
  const readMax = Math.max(1, Math.floor(max / 2));
  const poolOf = (size: number, statementTimeoutMs: number) => {
    const pool = new pg.Pool({
      connectionString: url,
      max: size,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
      idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
      application_name: 'messenger',
      // int8 (message ids) as numbers: rows then already have the public shape and need no
      // mapping on the hot read path. Ids stay exact up to 2^53.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID && format !== 'binary'
            ? (value: string) => Number(value)
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle pooled client that loses its server emits here; without a listener the process dies.
    pool.on('error', () => {});
    // A checked-out client has no pool listener: its socket ending (a restarted server) would
    // be an unhandled 'error' event. The failed query rejects anyway, and pg-pool drops the client.
    pool.on('connect', (client) => client.on('error', () => {}));
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: callbackQueryPool(pool) }),
    });
  };
  const db = poolOf(Math.max(1, max - readMax), options.statementTimeoutMs ?? 30_000);
  const reads = poolOf(readMax, options.listStatementTimeoutMs ?? 5000);
  return {
    db,
    reads,
    engine: 'postgres',
    where: describePostgresUrl(url),
    listen: (channels, onNotification, onLost) =>
      listenPostgres(pg.Client, url, channels, onNotification, onLost, options),
    close: async () => void (await Promise.all([db.destroy(), reads.destroy()])),
  };
}

/** PostgreSQL's type oid of int8 (bigint). */
const INT8_OID = 20;

type ClientClass = typeof import('pg').Client;
type PgPool = InstanceType<typeof import('pg').Pool>;
type PgPoolClient = import('pg').PoolClient;

const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
const statementNames = new Map<string, string>();

/** A stable name per statement text (pg caches named statements per connection). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `messenger_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size < 1000) statementNames.set(text, name);
  }
  return name;
}

/**
 * The pool as Kysely sees it, running queries through pg's callback form. Kysely calls
 * `client.query()` as a promise; measured here that costs ~85 µs of CPU and several times
 * the garbage per query against the callback form (bench/, `--profile`), which is most of
 * the gap to a bare handler. Cursors pass through unchanged.
 */
function callbackQueryPool(pool: PgPool): PostgresPool {
  const wrappers = new WeakMap<PgPoolClient, PostgresPoolClient>();
  const wrap = (client: PgPoolClient): PostgresPoolClient => ({
    query: ((sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) => {
      if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as never);
      // Data statements run as named (prepared) statements: parsed and planned once per
      // connection. DDL and anything else run as they are.
      const name = PREPARABLE.test(sqlOrCursor) ? statementName(sqlOrCursor) : undefined;
      return new Promise<unknown>((resolve, reject) => {
        client.query(
          {
            text: sqlOrCursor,
            values: parameters as unknown[],
            ...(name !== undefined && { name }),
          },
          (err: Error | undefined, result: unknown) => {
            if (err) reject(err);
            else resolve(result);
          },
        );
      });
    }) as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy),
  });
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/**
 * LISTEN on a dedicated connection (never a pooled one). When that connection is lost,
 * `onLost` runs once and this listener is finished: the caller reconnects (see DeliveryHub).
 */
async function listenPostgres(
  Client: ClientClass,
  url: string,
  channels: readonly string[],
  onNotification: (channel: string, payload: string) => void,
  onLost: (err: unknown) => void,
  options: PostgresOptions,
): Promise<Listener> {
  // Connection errors while connecting reject `connect()`; only a listening connection is "lost".
  let state: 'connecting' | 'listening' | 'closed' = 'connecting';
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    application_name: 'messenger-listen',
    keepAlive: true,
  });
  const lost = (err: unknown) => {
    if (state !== 'listening') return;
    state = 'closed';
    client.end().catch(() => {});
    onLost(err);
  };
  client.on('notification', (n) => onNotification(n.channel, n.payload ?? ''));
  client.on('error', lost);
  client.on('end', () => lost(new Error('Connection terminated: the LISTEN connection ended')));
  try {
    await client.connect();
    for (const ch of channels) await client.query(`listen ${quoteIdent(ch)}`);
  } catch (err) {
    state = 'closed';
    await client.end().catch(() => {});
    throw err;
  }
  state = 'listening';
  return {
    add: async (more) => {
      for (const ch of more) await client.query(`listen ${quoteIdent(ch)}`);
    },
    close: async () => {
      if (state === 'closed') return;
      state = 'closed';
      await client.end().catch(() => {});
    },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `host:port/database` of a connection URL, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'postgres (unparseable URL)';
  }
}
