// Read replicas for real: a private primary and a streaming standby of it (pg_basebackup -R, own
// ports), a listening server with the standby as its read replica. Lag is made on demand with
// pg_wal_replay_pause(); the standby is stopped under a bounded list load.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Messenger, openMessenger, type ReplicaStatus } from '@messenger/core';
import {
  type PrivatePostgres,
  postgresBinDir,
  startPrivatePostgres,
  startPrivateStandby,
  waitFor,
} from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

const pgBin = postgresBinDir();

interface Served {
  readonly messenger: Messenger;
  readonly app: FastifyInstance;
  readonly base: string;
}

// Without PostgreSQL's server programs this cannot run: skipped on a developer's machine, a
// failure under CI or REQUIRE_POSTGRES=1, where they are part of the toolset.
describe.skipIf(pgBin === undefined && !process.env.CI && process.env.REQUIRE_POSTGRES !== '1')(
  'reads on a streaming replica',
  () => {
    let primary: PrivatePostgres;
    let standby: PrivatePostgres;
    const servers: Served[] = [];
    const agent = new Agent({ connections: 8 });

    async function serve(maxLagMs: number): Promise<Served> {
      const messenger = await openMessenger({
        databaseUrl: primary.url,
        readUrls: [standby.url],
        replication: { maxLagMs, checkIntervalMs: 100 },
        postgres: { maxConnections: 4, connectionTimeoutMs: 2000 },
      });
      const app = await buildApp({ messenger, auth: { mode: 'open' } });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const served = { messenger, app, base };
      servers.push(served);
      return served;
    }

    async function onStandby(text: string): Promise<void> {
      const client = new pg.Client({ connectionString: standby.url });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    }

    async function replicaOf(s: Served): Promise<ReplicaStatus> {
      const res = await request(`${s.base}/readyz`, { dispatcher: agent });
      const body = (await res.body.json()) as { replicas: ReplicaStatus[] };
      expect(res.statusCode).toBe(200);
      expect(body.replicas).toHaveLength(1);
      return body.replicas[0] as ReplicaStatus;
    }

    const waitState = (s: Served, state: ReplicaStatus['state']) =>
      waitFor(
        `the replica to be ${state}`,
        async () => {
          const r = await replicaOf(s);
          return r.state === state ? r : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );

    async function send(s: Served, content: string): Promise<string> {
      const res = await request(`${s.base}/api/messages/send/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender: 'bob', recipient: 'alice', message_content: content }),
        dispatcher: agent,
      });
      expect(res.statusCode).toBe(201);
      await res.body.dump();
      const position = res.headers['messenger-position'];
      expect(position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      return position as string;
    }

    async function list(
      s: Served,
      headers: Record<string, string> = {},
    ): Promise<{ status: number; contents: string[] }> {
      const res = await request(`${s.base}/api/messages/?recipient=alice&limit=100`, {
        headers,
        dispatcher: agent,
      });
      const body = (await res.body.json()) as { message_content: string }[];
      return {
        status: res.statusCode,
        contents: res.statusCode === 200 ? body.map((m) => m.message_content) : [],
      };
    }

    beforeAll(async () => {
      if (pgBin === undefined) throw new Error('initdb/postgres/pg_ctl not found (PG_BIN)');
      primary = await startPrivatePostgres({ binDir: pgBin, settings: { wal_level: 'replica' } });
      standby = await startPrivateStandby(primary, { binDir: pgBin });
      const m = await openMessenger({ databaseUrl: primary.url, migrate: true });
      await m.close();
    }, 90_000);

    afterAll(async () => {
      for (const s of servers) await s.app.close().catch(() => {});
      await agent.close();
      await standby?.destroy();
      await primary?.destroy();
    });

    it('reads your writes with the position header while replay is paused; without it, the replica', async () => {
      const s = await serve(60_000);
      const seen = await waitState(s, 'up');
      await onStandby('select pg_wal_replay_pause()');
      try {
        const position = await send(s, `paused-${seen.reads}`);
        const withPosition = await list(s, { 'messenger-position': position });
        expect(withPosition.status).toBe(200);
        expect(withPosition.contents).toContain(`paused-${seen.reads}`);

        // Without it: the replica (paused, but well within its lag limit) answers, as it was.
        const readsBefore = (await replicaOf(s)).reads;
        const without = await list(s);
        expect(without.status).toBe(200);
        expect(without.contents).not.toContain(`paused-${seen.reads}`);
        expect((await replicaOf(s)).reads).toBe(readsBefore + 1);
      } finally {
        await onStandby('select pg_wal_replay_resume()');
      }
      await waitFor(
        'the replica to replay the send',
        async () => (await list(s)).contents.includes(`paused-${seen.reads}`),
        { timeoutMs: 10_000 },
      );
    });

    it('takes a replica that lags more than the limit out, and back once it catches up', async () => {
      const s = await serve(300);
      await waitState(s, 'up');
      await onStandby('select pg_wal_replay_pause()');
      try {
        await send(s, 'lagging-1');
        const lagging = await waitState(s, 'lagging');
        expect(lagging.lagMs).toBeGreaterThan(300);
        // Reads go to the primary: the message is there though the replica has not replayed it.
        const r = await list(s);
        expect(r.status).toBe(200);
        expect(r.contents).toContain('lagging-1');
      } finally {
        await onStandby('select pg_wal_replay_resume()');
      }
      const back = await waitState(s, 'up');
      expect(back.lagMs).toBeLessThanOrEqual(300);
    });

    it('gives a watcher resuming while the replica lags every message exactly once', async () => {
      const s = await serve(60_000);
      await waitState(s, 'up');
      const first = await s.messenger.send({
        sender: 'carol',
        recipient: 'dave',
        message_content: 'before',
      });
      await onStandby('select pg_wal_replay_pause()');
      const got: string[] = [];
      let sub: { close(): void } | undefined;
      try {
        for (let i = 0; i < 5; i++)
          await s.messenger.send({ sender: 'carol', recipient: 'dave', message_content: `c${i}` });
        // Catch-up (everything after `first`) reads the primary: the paused replica has none of it.
        sub = await s.messenger.subscribe({ recipient: 'dave', after: first.id }, (e) => {
          if (e.type === 'message') got.push(e.message.message_content);
        });
        for (let i = 5; i < 10; i++)
          await s.messenger.send({ sender: 'carol', recipient: 'dave', message_content: `c${i}` });
        await waitFor('ten messages', () => got.length >= 10, { timeoutMs: 10_000 });
        await sleep(300);
      } finally {
        sub?.close();
        await onStandby('select pg_wal_replay_resume()');
      }
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
    });

    it('refuses a malformed Messenger-Position, naming the header', async () => {
      const s = servers[0] ?? (await serve(60_000));
      const res = await request(`${s.base}/api/messages/?recipient=alice`, {
        headers: { 'messenger-position': 'yesterday' },
        dispatcher: agent,
      });
      expect(res.statusCode).toBe(400);
      const body = (await res.body.json()) as { error: { code: string; fields: object } };
      expect(body.error.code).toBe('validation_failed');
      expect(Object.keys(body.error.fields)).toEqual(['Messenger-Position']);
    });

    it('keeps answering reads from the primary while the standby is down, then uses it again', async () => {
      const s = await serve(60_000);
      await waitState(s, 'up');
      const failures: string[] = [];
      let reads = 0;
      let stop = false;
      const lister = async () => {
        while (!stop) {
          const r = await list(s).catch((err: Error) => ({ status: 0, contents: [err.message] }));
          reads++;
          if (r.status !== 200) failures.push(`${r.status} ${r.contents.join(' ')}`);
          await sleep(5);
        }
      };
      const load = [lister(), lister()];
      try {
        await sleep(500);
        await standby.stop('fast');
        await waitState(s, 'down');
        const readsWhileDown = reads;
        await sleep(1000);
        expect(reads).toBeGreaterThan(readsWhileDown);
        await standby.start();
        const back = await waitState(s, 'up');
        await waitFor(
          'reads on the replica again',
          async () => (await replicaOf(s)).reads > back.reads,
          { timeoutMs: 10_000 },
        );
      } finally {
        stop = true;
        await Promise.all(load);
      }
      expect(failures).toEqual([]);
      expect(reads).toBeGreaterThan(10);
    });
  },
);
