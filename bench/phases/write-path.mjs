// Write path (issue 12): send on messenger-server against the minimal reference (bare Fastify +
// pg, one INSERT per request into a two-index table of its own) at 1, 8, 32 and 128
// connections, the group-commit batch sizes messenger formed at each, and list p99 for every
// filter combination the API accepts on the table the list phase grew (issue 14). wrk is the
// load generator where installed, autocannon otherwise; the report says which ran.
import { join } from 'node:path';
import { repoRoot } from '@messenger/testing';
import { compare } from '../lib/load.mjs';
import { withClient } from '../lib/postgres.mjs';
import { getLua, hasWrk, runWrk, SEND_LUA } from '../lib/wrk.mjs';
import { sendRequest } from './send.mjs';
import { startNodeServer } from './setup.mjs';

export const SEND_CONNECTIONS = [1, 8, 32, 128];

/** Every accepted filter combination, on the seeded names (lib/postgres.mjs). */
export const LIST_COMBINATIONS = {
  'newest overall': '',
  recipient: 'recipient=user-7',
  sender: 'sender=sender-7',
  'sender + recipient': 'sender=sender-7&recipient=user-7',
  conversation: 'recipient=user-7&with=sender-7',
  'is_read=true': 'is_read=true',
  'is_read=false': 'is_read=false',
  'recipient + read': 'recipient=user-7&is_read=true',
  'recipient + unread': 'recipient=user-7&is_read=false',
  'sender + read': 'sender=sender-7&is_read=true',
  'sender + unread': 'sender=sender-7&is_read=false',
  'recipient + since/until':
    'recipient=user-7&since=2025-01-02T00:00:00Z&until=2025-01-05T00:00:00Z',
};

/** One measurement of `connections` on `url`, with wrk or (fallback) autocannon. */
async function load(url, kind, connections, durationS, dbName) {
  if (hasWrk()) {
    const lua = kind.send ? SEND_LUA : getLua(kind.path);
    return runWrk({ url, lua, connections, durationS });
  }
  const request = kind.send ? sendRequest() : () => ({ method: 'GET', path: kind.path });
  const r = await compare([{ key: 'x', url, request }], {
    connections,
    durationS,
    warmupS: 0,
    rounds: 1,
    database: dbName,
  });
  return r.x;
}

/** Mean and p99 of the sizes of the batches (transactions) that wrote messages after `afterId`. */
async function batchSizes(dbUrl, afterId) {
  return withClient(dbUrl, async (c) => {
    const { rows } = await c.query(
      `select count(*)::int as n from messages where id > $1 group by txid order by 1`,
      [afterId],
    );
    const sizes = rows.map((r) => r.n);
    if (sizes.length === 0) return { batches: 0, mean: 0, p99: 0 };
    const rank = Math.max(1, Math.ceil(0.99 * sizes.length));
    return {
      batches: sizes.length,
      mean: sizes.reduce((a, b) => a + b, 0) / sizes.length,
      p99: sizes[rank - 1],
      max: sizes.at(-1),
    };
  });
}

const maxId = (dbUrl) =>
  withClient(dbUrl, async (c) =>
    Number((await c.query('select coalesce(max(id), 0) as m from messages')).rows[0].m),
  );

/** Returns { generator, send: { [connections]: { messenger, minimal, ratio, batches } }, list: { [combination]: result }, listRows }. */
export async function measureWritePath(run, { dbUrl, server }, cleanup) {
  const { settings, dbName } = run.options;
  const generator = hasWrk() ? 'wrk' : 'autocannon';
  run.log(`write path: load generator ${generator}`);
  const minimal = await startNodeServer(
    run,
    'minimal-reference',
    join(repoRoot, 'bench/minimal-reference-server.mjs'),
    { DATABASE_URL: dbUrl, DB_POOL_MAX: String(settings.poolMax) },
    '/api/messages/?recipient=nobody',
  );
  cleanup.add(() => minimal.process.stop());
  const out = { generator, send: {}, list: {}, listRows: 0 };
  try {
    const slice = Math.max(1, Math.round(settings.durationS / 2));
    for (const connections of SEND_CONNECTIONS) {
      await run.phase(`write path: send at ${connections}`, async () => {
        // Warm-up, then turns: messenger, minimal, minimal, messenger.
        await load(server.url, { send: true }, connections, 1, dbName);
        await load(minimal.url, { send: true }, connections, 1, dbName);
        const before = await maxId(dbUrl);
        const m1 = await load(server.url, { send: true }, connections, slice, dbName);
        const r1 = await load(minimal.url, { send: true }, connections, slice, dbName);
        const r2 = await load(minimal.url, { send: true }, connections, slice, dbName);
        const m2 = await load(server.url, { send: true }, connections, slice, dbName);
        const batches = await batchSizes(dbUrl, before);
        const both = (a, b) => ({
          rps: (a.rps + b.rps) / 2,
          p50: (a.p50 + b.p50) / 2,
          p99: Math.max(a.p99, b.p99),
          ok: a.ok && b.ok,
          non2xx: (a.non2xx ?? 0) + (b.non2xx ?? 0),
          errors: (a.errors ?? 0) + (b.errors ?? 0),
        });
        const row = { messenger: both(m1, m2), minimal: both(r1, r2), batches };
        row.ratio = row.messenger.rps / row.minimal.rps;
        out.send[connections] = row;
        run.log(
          `send c${connections}: messenger ${Math.round(row.messenger.rps)}/s p50 ${row.messenger.p50.toFixed(2)} ms p99 ${row.messenger.p99.toFixed(2)} ms; minimal ${Math.round(row.minimal.rps)}/s p50 ${row.minimal.p50.toFixed(2)} ms; ${row.ratio.toFixed(2)}×; batches mean ${batches.mean.toFixed(1)} p99 ${batches.p99}`,
        );
      });
    }
  } finally {
    await minimal.process.stop();
  }

  // Read state for the listing combinations: a third of the rows read, spread over the table.
  await run.phase('write path: mark a third read', () =>
    withClient(dbUrl, async (c) => {
      const started = performance.now();
      await c.query('set statement_timeout = 0');
      await c.query(
        `update messages set is_read = true, read_at = sent_datetime where id % 3 = 0 and not is_read`,
      );
      await c.query('vacuum (analyze) messages');
      out.listRows = Number((await c.query('select count(*) as n from messages')).rows[0].n);
      run.log(
        `marked a third of ${out.listRows} rows read in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }),
  );
  const listS = Math.max(2, Math.round(settings.durationS / 3));
  for (const [name, query] of Object.entries(LIST_COMBINATIONS)) {
    await run.phase(`write path: list ${name}`, async () => {
      const path = `/api/messages/?${query ? `${query}&` : ''}limit=100`;
      const r = await load(server.url, { path }, 8, listS, dbName);
      out.list[name] = { ...r, path };
      run.log(
        `list ${name}: ${Math.round(r.rps)}/s p99 ${r.p99.toFixed(2)} ms${r.ok ? '' : ' (FAILURES)'}`,
      );
    });
  }
  return out;
}
