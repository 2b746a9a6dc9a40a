// List as the table grows: seed up to each size, then measure "newest 100 to recipient" on
// messenger-server and the reference. At the first (smallest) size the query is cheapest, so
// the servers' own cost shows most: nginx is measured there too, and that row is the headline.

import { checkSameSql, compareTargets } from '../lib/http-measure.mjs';
import { explain, SEEDED_RECIPIENTS, seedMessages } from '../lib/postgres.mjs';
import { LIST_SQL } from '../lib/reference-sql.mjs';

const listRequest = () => {
  let n = 0;
  return () => ({
    method: 'GET',
    path: `/api/messages/?recipient=user-${n++ % SEEDED_RECIPIENTS}&limit=100`,
  });
};

/** Returns `{ growth, http }`: one growth row per size, and the HTTP list rows of the first. */
export async function measureListGrowth(run, { dbUrl, server, reference, nginx, nginxPids }) {
  const growth = [];
  const http = {};
  let rows = 0;
  for (const [i, size] of run.options.settings.sizes.entries()) {
    const seeded = await run.phase(`seed ${size} rows`, () => seedMessages(dbUrl, rows, size));
    if (!seeded) break;
    run.log(
      `seeded to ${seeded.rows.toLocaleString('en-US')} rows in ${(seeded.ms / 1000).toFixed(1)} s`,
    );
    rows = size;
    // The reference runs messenger's SQL, so this is messenger's plan: an index scan in
    // (sent_datetime, id) order stays flat as the table grows; sorting the recipient's rows does not.
    const plan = await run.phase('explain', () => explain(dbUrl, LIST_SQL, ['user-1', 101]));
    const targets = [
      { key: 'messenger', url: server.url, pids: [server.process.pid], request: listRequest() },
      {
        key: 'reference',
        url: reference.url,
        pids: [reference.process.pid],
        request: listRequest(),
      },
    ];
    if (i === 0 && nginx) {
      targets.push({ key: 'nginx', url: nginx.url, pids: nginxPids(), request: listRequest() });
    }
    const r = await run.phase(`list at ${size} rows`, () =>
      compareTargets(run, `list @${seeded.rows}`, targets, seeded.rows),
    );
    growth.push({
      rows: seeded.rows,
      seedMs: seeded.ms,
      plan,
      messenger: r?.messenger,
      reference: r?.reference,
    });
    if (i === 0 && r) for (const [k, v] of Object.entries(r)) http[`list/${k}`] = v;
    if (i === 0)
      await run.phase('same SQL (list)', () => checkSameSql(run, dbUrl, 'select', LIST_SQL));
  }
  return { growth, http };
}
