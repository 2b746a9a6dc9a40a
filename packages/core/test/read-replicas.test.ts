// Read routing without a standby at hand: what openMessenger refuses, and a "replica" that is
// not a standby (here the primary itself) or does not answer is never read from — lists stay
// on the primary and succeed. Real standbys: packages/server/test/read-replicas.test.ts.
import { freePort, freshPostgresSchema, postgresUrl, waitFor } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import { openMessenger, ValidationError } from '../src/index.js';

describe('read replicas, refused and unusable', () => {
  it('refuses readUrls on the embedded database and URLs that are not PostgreSQL', async () => {
    await expect(openMessenger({ readUrls: ['postgres://r/m'] })).rejects.toThrow(ValidationError);
    await expect(
      openMessenger({ databaseUrl: 'postgres://db/m', readUrls: ['./replica'] }),
    ).rejects.toThrow(/readUrls: each must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it('a position without replicas changes nothing, and a malformed one is refused', async () => {
    const m = await openMessenger();
    try {
      expect(await m.position()).toBeUndefined();
      expect(m.replicas()).toEqual([]);
      await m.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
      const page = await m.list({ recipient: 'alice' }, { position: 'FFFFFFFF/FFFFFFFF' });
      expect(page.messages).toHaveLength(1);
      await expect(m.list({}, { position: 'now' })).rejects.toThrow(/^position: must be a WAL/);
    } finally {
      await m.close();
    }
  });

  it.skipIf(postgresUrl === undefined)(
    'never reads from a server that is not a standby, nor from one that does not answer',
    async () => {
      const schema = await freshPostgresSchema();
      const closed = `postgres://postgres@127.0.0.1:${await freePort()}/none`;
      const m = await openMessenger({
        databaseUrl: schema.url,
        migrate: true,
        readUrls: [schema.url, closed],
        replication: { checkIntervalMs: 50 },
        postgres: { connectionTimeoutMs: 1000 },
      });
      try {
        const states = await waitFor('both checked', () => {
          const r = m.replicas();
          return r.every((s) => s.state === 'down') ? r : undefined;
        });
        expect(states.map((s) => s.reason)).toEqual([
          'not a standby (pg_is_in_recovery() is false)',
          'not answering',
        ]);
        await m.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
        const position = await m.position();
        expect(position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
        expect((await m.list({ recipient: 'alice' }, { position })).messages).toHaveLength(1);
        expect((await m.list({ recipient: 'alice' })).messages).toHaveLength(1);
        expect(m.replicas().map((s) => s.reads)).toEqual([0, 0]);
      } finally {
        await m.close();
        await schema.drop();
      }
    },
  );
});
