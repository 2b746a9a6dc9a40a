// The bench's own PostgreSQL database: created fresh for each run, seeded fast, dropped at the end.
import pg from 'pg';

/** Where the admin connection goes; only a loopback server is accepted. */
export function adminUrl(env = process.env) {
  const url = new URL(env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(
      `BENCH_ADMIN_URL must point at 127.0.0.1 (the bench only runs locally), got ${url.hostname}`,
    );
  }
  return url;
}

/** The URL of database `name` on the same server as the admin URL. */
export function databaseUrl(admin, name) {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.href;
}

export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name) => `"${name.replace(/"/g, '""')}"`;

/** Drops (ending its sessions) and creates database `name`. */
export async function recreateDatabase(admin, name) {
  await withClient(admin.href, async (c) => {
    await c.query(`drop database if exists ${ident(name)} with (force)`);
    await c.query(`create database ${ident(name)}`);
  });
}

/** Drops database `name`, ending its sessions. */
export async function dropDatabase(admin, name) {
  await withClient(admin.href, (c) =>
    c.query(`drop database if exists ${ident(name)} with (force)`),
  );
}

/** `SHOW server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
export async function serverVersion(url) {
  return withClient(
    url,
    async (c) => (await c.query('show server_version')).rows[0].server_version,
  );
}

/** Recipients the seeded rows go to: every one has at least 100 messages at every table size. */
export const SEEDED_RECIPIENTS = 100;

/**
 * Adds seeded messages numbered `from + 1 … to` in one `INSERT … SELECT generate_series`
 * (then VACUUM ANALYZE and CHECKPOINT). Message g goes to `user-(g mod 100)`, so at 10k rows each
 * recipient has 100 messages and at 1M 10,000: every "newest 100" page is full, and what grows is
 * the table, its indexes and each recipient's history. Times rise with g, one second apart.
 * The per-row NOTIFY trigger is skipped for this session (session_replication_role = replica):
 * nobody watches seeded rows, and a million notifications would only slow the seeding.
 */
export async function seedMessages(url, from, to) {
  return withClient(url, async (c) => {
    const started = performance.now();
    await c.query('set session_replication_role = replica');
    await c.query(
      `insert into messages (sender, recipient, message_content, sent_datetime)
       select 'sender-' || (g % 997),
              'user-' || (g % ${SEEDED_RECIPIENTS}),
              'seeded message ' || g || ': the quick brown fox jumps over the lazy dog',
              timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
       from generate_series($1::bigint, $2::bigint) as g`,
      [from + 1, to],
    );
    // As autovacuum would, and a checkpoint, so that neither starts in the middle of a measurement.
    await c.query('vacuum (analyze) messages');
    await c.query('checkpoint');
    const { rows } = await c.query('select count(*)::bigint as n from messages');
    return { rows: Number(rows[0].n), ms: performance.now() - started };
  });
}

/** Rows in the messages table. */
export async function countRows(url) {
  return withClient(url, async (c) =>
    Number((await c.query('select count(*) as n from messages')).rows[0].n),
  );
}

/**
 * The plan PostgreSQL picks for `sql` with `params`, as a one-line summary of its nodes, e.g.
 * `Limit > Index Scan (messages_recipient_newest_idx)`, or
 * `Limit > Sort > Bitmap Heap Scan > Bitmap Index Scan (messages_recipient_delivery_idx)`.
 */
export async function explain(url, sql, params) {
  return withClient(url, async (c) => {
    const { rows } = await c.query(`explain (format json) ${sql}`, params);
    const parts = [];
    for (let node = rows[0]['QUERY PLAN'][0].Plan; node; node = node.Plans?.[0]) {
      parts.push(
        node['Index Name'] ? `${node['Node Type']} (${node['Index Name']})` : node['Node Type'],
      );
    }
    return parts.join(' > ');
  });
}

/** The last statement text of each session of `applicationName` (pg_stat_activity), deduplicated. */
export async function lastStatements(url, applicationName) {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `select distinct query from pg_stat_activity
       where datname = current_database() and application_name = $1 and query <> ''`,
      [applicationName],
    );
    return rows.map((r) => r.query);
  });
}
