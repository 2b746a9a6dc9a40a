import { backends } from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawBackend, type RawBackend } from './support.js';

const state = `select indisvalid as valid, pg_get_indexdef(indexrelid) as def from pg_index
  where indexrelid = to_regclass('messages_search_idx')`;

describe.each(backends())('the search index on $name', (backend) => {
  let b: RawBackend;

  beforeAll(async () => {
    b = await openRawBackend(backend, 'UTC');
  });
  afterAll(async () => {
    await b?.close();
  });

  it('exists and is valid after migrating, and search uses the same expression', async () => {
    const [row] = await b.rows<{ valid: boolean; def: string }>(state);
    expect(row?.valid).toBe(true);
    // A small pending list: a search reads at most 256 kB of rows not yet merged.
    expect(row?.def).toMatch(/WITH \(gin_pending_list_limit='?256'?\)/);
    expect(row?.def).toMatch(
      /USING gin \(to_tsvector\('simple'::regconfig, messenger_search_fold\(\(message_content\)::text\)\)\)/,
    );
  });

  it('a missing index is built again by the next migration, and a repeat changes nothing', async () => {
    await b.sql('drop index messages_search_idx');
    expect(await b.rows(state)).toEqual([]);
    expect((await b.messenger.migrate()).applied).toEqual([]);
    expect((await b.rows<{ valid: boolean }>(state))[0]?.valid).toBe(true);
    await b.messenger.migrate();
    expect((await b.rows<{ valid: boolean }>(state))[0]?.valid).toBe(true);
  });
});

describe.each(backends().filter((x) => x.name === 'postgres'))(
  'building the search index concurrently on $name',
  (backend) => {
    let b: RawBackend;
    let schema: string;

    beforeAll(async () => {
      b = await openRawBackend(backend, 'UTC');
      schema = (await b.rows<{ s: string }>('select current_schema() as s'))[0]?.s ?? '';
      await b.messenger.send({ sender: 'a', recipient: 'b', message_content: 'hello there' });
    });
    afterAll(async () => {
      await b?.close();
    });

    it('an index left invalid by a failed concurrent build is dropped and built again', async () => {
      await b.sql('drop index messages_search_idx');
      // A concurrent build that fails half-way (here: on a row) leaves an INVALID index behind.
      await expect(
        b.sql(`create index concurrently messages_search_idx on messages
          using gin (to_tsvector('simple', (1 / (length(message_content) - length(message_content)))::text))`),
      ).rejects.toThrow(/division by zero/);
      expect((await b.rows<{ valid: boolean }>(state))[0]?.valid).toBe(false);
      await b.messenger.migrate();
      const [row] = await b.rows<{ valid: boolean; def: string }>(state);
      expect(row?.valid).toBe(true);
      expect(row?.def).toMatch(/messenger_search_fold/);
      expect((await b.messenger.list({ q: 'hello' })).messages).toHaveLength(1);
    });

    it('leaves the build to the process that holds the lock, without waiting for it', async () => {
      await b.sql('drop index messages_search_idx');
      const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await holder.connect();
      try {
        await holder.query(`select pg_advisory_lock(hashtext($1 || '.messages_search_idx'))`, [
          schema,
        ]);
        await b.messenger.migrate();
        expect(await b.rows(state)).toEqual([]);
        // Search works meanwhile, unindexed.
        expect((await b.messenger.list({ q: 'hello' })).messages).toHaveLength(1);
      } finally {
        await holder.end();
      }
      await b.messenger.migrate();
      expect((await b.rows<{ valid: boolean }>(state))[0]?.valid).toBe(true);
    });
  },
);
