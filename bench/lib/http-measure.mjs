// HTTP rows: targets measured under the same load, and the check that the reference runs
// messenger's very SQL.
import { compare } from './load.mjs';
import { lastStatements } from './postgres.mjs';

/** One line for the log: throughput, latency and any failures. */
export const describeResult = (r) =>
  `${Math.round(r.rps).toLocaleString('en-US')} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.ok ? '' : ` (errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx})`}`;

/**
 * Measures `targets` ({ key, url, pids, request }) taking turns, with the run's load settings;
 * each result is stamped with `tableRows` and logged under `label`.
 */
export function compareTargets(run, label, targets, tableRows) {
  const { settings, dbName } = run.options;
  return compare(targets, {
    connections: settings.connections,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    rounds: settings.rounds,
    database: dbName,
    onResult: (key, r) => {
      r.tableRows = tableRows;
      run.log(`${label} ${key}: ${describeResult(r)}`);
    },
  });
}

/**
 * The reference must run messenger's own SQL: compares the statement messenger-server's
 * sessions ran last (pg_stat_activity, application_name "messenger") with the reference's.
 */
export async function checkSameSql(run, dbUrl, verb, referenceSql, batched) {
  const ours = (await lastStatements(dbUrl, 'messenger')).filter((q) =>
    q.trimStart().toLowerCase().startsWith(verb),
  );
  if (ours.length === 0) {
    run.log(`same SQL (${verb}): no statement of messenger-server seen; not checked`);
    return;
  }
  if (batched !== undefined && ours.some((q) => batched.test(q))) {
    run.log(
      `same SQL (${verb}): messenger batched sends (group commit); the reference runs its one-row statement`,
    );
    return;
  }
  if (!ours.includes(referenceSql)) {
    throw new Error(
      `messenger now sends different SQL; update bench/lib/reference-sql.mjs to match:\n  messenger: ${ours[0]}\n  reference: ${referenceSql}`,
    );
  }
  run.log(`same SQL (${verb}): the reference runs messenger's statement`);
}
