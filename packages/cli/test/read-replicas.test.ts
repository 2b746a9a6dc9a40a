// `msg send …; msg list …` over a server whose reads go to a streaming standby that has stopped
// replaying: the list still shows the message just sent, because msg keeps the send's
// Messenger-Position (beside its credentials, 0600) and sends it with the list. `msg serve
// --read-db` is the server here, as users run it.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  type PrivatePostgres,
  postgresBinDir,
  type RunningProcess,
  startPrivatePostgres,
  startPrivateStandby,
  startProcess,
  waitFor,
  waitUntilAnswering,
} from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, msgEnv, runMsg } from './run-msg.js';

const pgBin = postgresBinDir();

describe.skipIf(pgBin === undefined && !process.env.CI && process.env.REQUIRE_POSTGRES !== '1')(
  'msg over a server reading from a replica',
  () => {
    let primary: PrivatePostgres;
    let standby: PrivatePostgres;
    let server: RunningProcess | undefined;
    let api = '';
    const config = mkdtempSync(join(tmpdir(), 'msg-replica-config-'));

    const onStandby = async (text: string) => {
      const client = new pg.Client({ connectionString: standby.url });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    };

    beforeAll(async () => {
      if (pgBin === undefined) throw new Error('initdb/postgres/pg_ctl not found (PG_BIN)');
      primary = await startPrivatePostgres({ binDir: pgBin });
      standby = await startPrivateStandby(primary, { binDir: pgBin });
      const port = await freePort();
      api = `http://127.0.0.1:${port}`;
      server = startProcess(
        'msg serve',
        process.execPath,
        [
          MSG_BIN,
          ...['--db', primary.url, 'serve', '--port', String(port), '--auth', 'open'],
          ...['--read-db', standby.url, '--log-level', 'warn'],
        ],
        { env: msgEnv() },
      );
      await waitUntilAnswering(server, `${api}/readyz`, { timeoutMs: 60_000 });
      await waitFor(
        'the replica to take reads',
        async () => {
          const res = await fetch(`${api}/readyz`);
          const body = (await res.json()) as { replicas?: { state: string }[] };
          return body.replicas?.[0]?.state === 'up';
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }, 120_000);

    afterAll(async () => {
      await server?.stop('SIGTERM', 10_000);
      await standby?.destroy();
      await primary?.destroy();
      rmSync(config, { recursive: true, force: true });
    });

    it('lists the message just sent while replay is paused, and remembers the position 0600', async () => {
      const env = { MSG_API_URL: api, XDG_CONFIG_HOME: config };
      await onStandby('select pg_wal_replay_pause()');
      try {
        const sent = await runMsg(['send', '-f', 'bob', '-t', 'alice', 'just sent'], { env });
        expect(sent.stderr).toBe('');
        expect(sent.code).toBe(0);
        const listed = await runMsg(['list', '--recipient', 'alice', '--json'], { env });
        expect(listed.code).toBe(0);
        const page = JSON.parse(listed.stdout) as { messages: { message_content: string }[] };
        expect(page.messages.map((m) => m.message_content)).toContain('just sent');

        const file = join(config, 'messenger', 'credentials.json');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const stored = JSON.parse(readFileSync(file, 'utf8')) as {
          positions: Record<string, string>;
        };
        expect(Object.values(stored.positions)[0]).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

        // The replica itself has not replayed it: the list above came from the primary.
        const onReplica = await onStandby(
          "select count(*)::int as n from messages where message_content = 'just sent'",
        );
        expect(onReplica[0]?.n).toBe(0);
      } finally {
        await onStandby('select pg_wal_replay_resume()');
      }
    });

    it('refuses --read-db on the embedded database, in one line', async () => {
      const r = await runMsg(['--db', 'memory://', 'serve', '--read-db', standby.url]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('--read-db');
    });
  },
);
