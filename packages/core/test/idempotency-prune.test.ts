// Idempotency keys are pruned in short batches: expired keys only, bounded work on request, and
// on PostgreSQL one process at a time; a 1M-key backlog goes without any statement over 1 s.
import { setTimeout as sleep } from 'node:timers/promises';
import { backends, freshPostgresSchema, postgresUrl } from '@messenger/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openMessenger } from '../src/index.js';
import { openRawBackend } from './support.js';

const SEED = `insert into idempotency_keys (key, request_hash, message_id, response, created_at)
  select $1 || g, 'h', g, '{}'::jsonb, now() - make_interval(hours => $3::int)
  from generate_series(1, $2::int) g`;

describe.each(backends())('pruning idempotency keys on $name', (backend) => {
  it('deletes expired keys in batches, keeps fresh ones, and stops after maxBatches', async () => {
    const b = await openRawBackend(backend, 'UTC');
    try {
      await b.sql(SEED, ['old-', 12_000, 25]);
      await b.sql(SEED, ['fresh-', 5, 23]);
      const count = async (prefix: string) =>
        (
          await b.rows<{ n: number }>(
            'select count(*)::int as n from idempotency_keys where key like $1',
            [`${prefix}%`],
          )
        )[0]?.n;
      expect(await b.messenger.pruneIdempotencyKeys({ batchSize: 5000, maxBatches: 1 })).toBe(5000);
      expect(await count('old-')).toBe(7000);
      expect(await b.messenger.pruneIdempotencyKeys({ batchSize: 3000 })).toBe(7000);
      expect(await count('old-')).toBe(0);
      expect(await count('fresh-')).toBe(5);
      // Never younger than 24 hours, whatever is asked.
      expect(await b.messenger.pruneIdempotencyKeys({ olderThanMs: 0 })).toBe(0);
    } finally {
      await b.close();
    }
  }, 60_000);
});

describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'pruning a 1M-key backlog [postgres]',
  () => {
    it('deletes it with no statement over 1 s, one process at a time', async () => {
      const schema = await freshPostgresSchema();
      const a = await openMessenger({ databaseUrl: schema.url, migrate: true });
      const b = await openMessenger({ databaseUrl: schema.url });
      const raw = new pg.Client({ connectionString: schema.url });
      const watcher = new pg.Client({ connectionString: schema.url });
      await raw.connect();
      await watcher.connect();
      try {
        const backlog = 1_000_000;
        await raw.query(SEED, ['k', backlog, 48]);
        await raw.query('analyze idempotency_keys');

        // Watch every statement on the table from outside: the longest one seen running.
        let longestMs = 0;
        let watching = true;
        const watching$ = (async () => {
          while (watching) {
            const { rows } = await watcher.query<{ ms: number | null }>(
              `select max(extract(epoch from clock_timestamp() - query_start) * 1000)::float8 as ms
               from pg_stat_activity
               where state = 'active' and query ilike '%delete from idempotency_keys%'
                 and pid <> pg_backend_pid()`,
            );
            longestMs = Math.max(longestMs, rows[0]?.ms ?? 0);
            await sleep(25);
          }
        })();

        const started = performance.now();
        const first = a.pruneIdempotencyKeys();
        // While a prunes, b finds the lock taken and returns at once.
        await sleep(200);
        const other = performance.now();
        expect(await b.pruneIdempotencyKeys()).toBe(0);
        expect(performance.now() - other).toBeLessThan(1_000);
        expect(await first).toBe(backlog);
        const tookMs = performance.now() - started;
        watching = false;
        await watching$;

        const { rows } = await raw.query<{ n: number }>(
          'select count(*)::int as n from idempotency_keys',
        );
        expect(rows[0]?.n).toBe(0);
        console.log(
          `pruned ${backlog} keys in ${tookMs.toFixed(0)} ms; longest statement seen running: ${longestMs.toFixed(0)} ms`,
        );
        expect(longestMs).toBeGreaterThan(0);
        expect(longestMs).toBeLessThan(1_000);
        // Once a has finished, b may prune again (the lock was let go).
        await raw.query(SEED, ['again-', 10, 48]);
        expect(await b.pruneIdempotencyKeys()).toBe(10);
      } finally {
        await watcher.end();
        await raw.end();
        await b.close();
        await a.close();
        await schema.drop();
      }
    }, 300_000);
  },
);
