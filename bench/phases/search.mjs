// Search: GET /api/messages/?q=… newest first at the largest table size of the run, for a word
// in 0.1% of the rows and one in 30%, and what the search index costs a send (send req/s
// without it and with it, same run, same server, same table).
//
// A database of its own (`<BENCH_DB>_search`): the list phase's seeded text is one sentence
// repeated, which says nothing about search. Here each row has four words drawn from a
// vocabulary of 5000 with a natural (log-uniform) spread, plus `common` in 30% of rows and one
// of 1000 rare words `r<k>x` (each in 0.1%). Seeding runs without the search index; the index
// is then built as `migrate` builds it (CREATE INDEX CONCURRENTLY), and that build is timed.
// Then the searches, then sends with the index, then (index dropped) without it.
import { openMessenger } from '@messenger/core';
import pg from 'pg';
import { compareTargets } from '../lib/http-measure.mjs';
import {
  adminUrl,
  databaseUrl,
  dropDatabase,
  explain,
  recreateDatabase,
} from '../lib/postgres.mjs';
import { sendRequest } from './send.mjs';
import { SERVER_BIN, startNodeServer } from './setup.mjs';

const RARE_WORDS = 1000;
const WORD = "'w' || floor(exp(random() * ln(5000)))::int";

async function query(url, text, params = []) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Seeds `rows` messages (no notify trigger, no search index), then VACUUM ANALYZE. */
async function seed(url, rows) {
  const started = performance.now();
  await query(url, 'drop index if exists messages_search_idx');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into messages (sender, recipient, message_content, sent_datetime)
       select 'sender-' || (g % 997), 'user-' || (g % 100),
              ${WORD} || ' ' || ${WORD} || ' ' || ${WORD} || ' ' || ${WORD}
              || ' r' || (g % ${RARE_WORDS}) || 'x'
              || case when g % 10 < 3 then ' common' else '' end,
              timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
       from generate_series(1, $1::bigint) as g`,
      [rows],
    );
    await client.query('vacuum (analyze) messages');
  } finally {
    await client.end();
  }
  return performance.now() - started;
}

const searchRequest = (word) => {
  let n = 0;
  return () => ({
    method: 'GET',
    path: `/api/messages/?q=${word(n++)}&limit=100`,
  });
};

/**
 * Returns `{ rows, seedMs, indexBuildMs, plans, http }`; `http` holds the rows
 * `search-rare/messenger`, `search-common/messenger`, `send-index/without` and `send-index/with`.
 */
export async function measureSearch(run, cleanup) {
  const { settings, dbName } = run.options;
  const rows = Math.max(...settings.sizes);
  const admin = adminUrl();
  const name = `${dbName}_search`;
  await recreateDatabase(admin, name);
  cleanup.add(() => dropDatabase(admin, name));
  const url = databaseUrl(admin, name);
  const m = await openMessenger({ databaseUrl: url, migrate: true });
  await m.close();
  const seedMs = await run.phase(`seed ${rows} rows of text`, () => seed(url, rows));
  if (seedMs === undefined) return undefined;
  run.log(`search: seeded ${rows.toLocaleString('en-US')} rows in ${(seedMs / 1000).toFixed(1)} s`);

  const server = await run.phase('start messenger-server (search)', () =>
    startNodeServer(
      run,
      'messenger-server-search',
      SERVER_BIN,
      { DATABASE_URL: url, LOG_LEVEL: 'warn', DB_POOL_MAX: String(settings.poolMax), AUTH: 'open' },
      '/readyz',
    ),
  );
  if (!server) return undefined;
  const http = {};
  // CPU of this database's PostgreSQL backends, not of the main bench database's.
  const searchRun = { options: { ...run.options, dbName: name }, log: run.log };
  const target = (key, request) => [{ key, url: server.url, pids: [server.process.pid], request }];
  const count = async () => Number((await query(url, 'select count(*) as n from messages'))[0].n);
  try {
    const started = performance.now();
    await run.phase('build the search index (concurrently)', async () => {
      const built = await openMessenger({ databaseUrl: url });
      try {
        await built.migrate();
      } finally {
        await built.close();
      }
      await query(url, 'analyze messages');
    });
    const indexBuildMs = performance.now() - started;
    run.log(`search: index built in ${(indexBuildMs / 1000).toFixed(1)} s`);

    // Searches first: the sends below add rows without these words at the newest end, which a
    // newest-first search of a common word would have to step over.
    const words = {
      rare: (n) => `r${(n * 7) % RARE_WORDS}x`,
      common: () => 'common',
    };
    const plans = {};
    for (const [kind, word] of Object.entries(words)) {
      const tableRows = await count();
      plans[kind] = await run.phase(`explain search (${kind})`, () =>
        explain(
          url,
          `select id from messages
           where to_tsvector('simple'::regconfig, messenger_search_fold(message_content))
                 @@ regexp_replace(websearch_to_tsquery('simple'::regconfig, messenger_search_fold($1))::text, '''$', ''':*')::tsquery
           order by sent_datetime desc, id desc limit 101`,
          [word(1)],
        ),
      );
      const r = await run.phase(`search (${kind} word)`, () =>
        compareTargets(
          searchRun,
          `search (${kind} word)`,
          target('messenger', searchRequest(word)),
          tableRows,
        ),
      );
      if (r) http[`search-${kind}/messenger`] = r.messenger;
    }

    // The index's cost on sends: the same server and table, with the index, then without it.
    const withIndex = await run.phase('send with the search index', async () =>
      compareTargets(
        searchRun,
        'send (search index)',
        target('with', sendRequest()),
        await count(),
      ),
    );
    if (withIndex) http['send-index/with'] = withIndex.with;

    await run.phase('drop the search index', () =>
      query(url, 'drop index concurrently messages_search_idx'),
    );
    const without = await run.phase('send without the search index', async () =>
      compareTargets(
        searchRun,
        'send (no search index)',
        target('without', sendRequest()),
        await count(),
      ),
    );
    if (without) http['send-index/without'] = without.without;

    return { rows, seedMs, indexBuildMs, plans, http };
  } finally {
    await server.process.stop();
  }
}
