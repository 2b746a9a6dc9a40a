// Send: POST /api/messages/send/ on messenger-server, the reference and through nginx, on the
// table the list phase left.
import { checkSameSql, compareTargets } from '../lib/http-measure.mjs';
import { countRows } from '../lib/postgres.mjs';
import { INSERT_SQL } from '../lib/reference-sql.mjs';

/** messenger's group-commit statement (core's insertMessages): many rows from arrays. */
const BATCH_INSERT =
  /^insert into messages \(sender, recipient, message_content\)\s+select .* from unnest\(/s;

/** Request maker of the send workload: 50 senders to 100 recipients, a sixty-character text. */
export const sendRequest = () => {
  let n = 0;
  return () => ({
    method: 'POST',
    path: '/api/messages/send/',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sender: `bench-${n % 50}`,
      recipient: `sink-${n++ % 100}`,
      message_content: 'a benchmark message of a typical length, about sixty characters',
    }),
  });
};

/** Returns the HTTP send rows, keyed `send/<target>`. */
export async function measureSend(run, { dbUrl, server, reference, nginx, nginxPids }) {
  const tableRows = await countRows(dbUrl);
  const targets = [
    { key: 'messenger', url: server.url, pids: [server.process.pid], request: sendRequest() },
    { key: 'reference', url: reference.url, pids: [reference.process.pid], request: sendRequest() },
  ];
  if (nginx)
    targets.push({ key: 'nginx', url: nginx.url, pids: nginxPids(), request: sendRequest() });
  const sends = await run.phase('send', () => compareTargets(run, 'send', targets, tableRows));
  const http = {};
  for (const [k, v] of Object.entries(sends ?? {})) http[`send/${k}`] = v;
  await run.phase('same SQL (send)', () =>
    checkSameSql(run, dbUrl, 'insert', INSERT_SQL, BATCH_INSERT),
  );
  return http;
}
