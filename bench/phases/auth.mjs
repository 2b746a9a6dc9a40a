// Token mode against open mode: send and list on two messenger-server processes on the same
// database and table, one in each mode, measured in the same run and interleaved, so that the
// cost of authentication (a cached token check per request) and of the caller's mailbox shows
// as the difference between two otherwise equal rows.
import { openMessenger } from '@messenger/core';
import { compareTargets } from '../lib/http-measure.mjs';
import { countRows, SEEDED_RECIPIENTS } from '../lib/postgres.mjs';
import { SERVER_BIN, startNodeServer } from './setup.mjs';

const SENDERS = 50;
const SINKS = 100;
const CONTENT = 'a benchmark message of a typical length, about sixty characters';

/**
 * Registers the users the workloads act as, each with a token: `bench-N` send to `sink-N`
 * (as the send phase does in open mode), and `user-N` (the seeded recipients) list their mail.
 */
async function registerUsers(dbUrl) {
  const messenger = await openMessenger({ databaseUrl: dbUrl });
  try {
    const tokens = new Map();
    const names = [
      ...Array.from({ length: SENDERS }, (_, i) => `bench-${i}`),
      ...Array.from({ length: SINKS }, (_, i) => `sink-${i}`),
      ...Array.from({ length: SEEDED_RECIPIENTS }, (_, i) => `user-${i}`),
    ];
    for (const name of names) tokens.set(name, (await messenger.addUser(name)).token.token);
    return tokens;
  } finally {
    await messenger.close();
  }
}

/** Request makers of each workload in each mode: the same messages, the same listings. */
function workloads(tokens) {
  const bearer = (name) => ({ authorization: `Bearer ${tokens.get(name)}` });
  const send = (mode) => {
    let n = 0;
    return () => {
      const sender = `bench-${n % SENDERS}`;
      const recipient = `sink-${n++ % SINKS}`;
      return {
        method: 'POST',
        path: '/api/messages/send/',
        headers: { 'content-type': 'application/json', ...(mode === 'token' && bearer(sender)) },
        body: JSON.stringify(
          mode === 'token'
            ? { recipient, message_content: CONTENT }
            : { sender, recipient, message_content: CONTENT },
        ),
      };
    };
  };
  // "Newest 100 to recipient": in token mode the recipient asks for their own mail.
  const list = (mode) => {
    let n = 0;
    return () => {
      const user = `user-${n++ % SEEDED_RECIPIENTS}`;
      return {
        method: 'GET',
        path: `/api/messages/?recipient=${user}&limit=100`,
        ...(mode === 'token' && { headers: bearer(user) }),
      };
    };
  };
  return { send, list };
}

/**
 * Starts two fresh messenger-server processes, one in open mode and one in token mode (no
 * rate limit: the bench measures the server, not its limit), so that both start equally cold,
 * and measures send and list on both in turns. Returns the rows keyed `auth-send/<mode>` and
 * `auth-list/<mode>`.
 */
export async function measureAuth(run, { dbUrl }) {
  const tokens = await run.phase('register users', () => registerUsers(dbUrl));
  if (!tokens) return {};
  const start = (mode) =>
    run.phase(`start messenger-server (${mode} mode)`, () =>
      startNodeServer(
        run,
        `messenger-server-${mode}`,
        SERVER_BIN,
        {
          DATABASE_URL: dbUrl,
          LOG_LEVEL: 'warn',
          DB_POOL_MAX: String(run.options.settings.poolMax),
          AUTH: mode,
          RATE_LIMIT: 'off',
        },
        '/readyz',
      ),
    );
  const servers = { open: await start('open'), token: await start('token') };
  const http = {};
  try {
    if (!servers.open || !servers.token) return http;
    const { send, list } = workloads(tokens);
    for (const [op, make] of [
      ['send', send],
      ['list', list],
    ]) {
      const rows = await countRows(dbUrl);
      const targets = ['open', 'token'].map((mode) => ({
        key: mode,
        url: servers[mode].url,
        pids: [servers[mode].process.pid],
        request: make(mode),
      }));
      const r = await run.phase(`${op}: token mode vs open mode`, () =>
        compareTargets(run, `${op} (auth)`, targets, rows),
      );
      for (const [k, v] of Object.entries(r ?? {})) http[`auth-${op}/${k}`] = v;
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s?.process.stop()));
  }
  return http;
}
