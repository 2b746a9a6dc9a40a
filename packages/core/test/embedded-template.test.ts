import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { type Kysely, Kysely as KyselyClass, Migrator, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTarGz, findEmbeddedTemplate } from '../src/database/embedded-template.js';
import { openMessenger } from '../src/index.js';
import { migrateToLatest } from '../src/migrate.js';
import { migrations } from '../src/migrations/index.js';

// biome-ignore lint/suspicious/noExplicitAny: catalog queries on any schema.
type AnyDb = Kysely<any>;

/** The schema as the catalog describes it: tables, columns, indexes, triggers, functions. */
async function describeSchema(db: AnyDb): Promise<unknown> {
  const rows = async (q: ReturnType<typeof sql>) => (await q.execute(db)).rows;
  return {
    columns: await rows(sql`select table_name, column_name, data_type, is_nullable, column_default
      from information_schema.columns where table_schema = 'public' order by 1, 2`),
    indexes: await rows(sql`select tablename, indexname, indexdef from pg_indexes
      where schemaname = 'public' order by 1, 2`),
    triggers:
      await rows(sql`select event_object_table, trigger_name, action_timing, event_manipulation, action_statement
      from information_schema.triggers where trigger_schema = 'public' order by 1, 2, 4`),
    functions: await rows(sql`select p.proname, pg_get_functiondef(p.oid) as def from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' order by 1`),
    constraints:
      await rows(sql`select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def
      from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`),
    migrations: await rows(sql`select name from kysely_migration order by name`),
  };
}

describe('the embedded database template', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'msg-template-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is built for the installed PGlite', () => {
    expect(findEmbeddedTemplate()).toMatch(/embedded-template-pglite-\d+\.\d+\.\d+\.tar\.gz$/);
  });

  it('holds the same schema as initdb followed by every migration', async () => {
    // A database made the slow way: PGlite's initdb in memory, then the migrations.
    const fresh = await PGlite.create();
    const freshDb: AnyDb = new KyselyClass({ dialect: new PGliteDialect(fresh) });
    const viaTemplate = await openMessenger({ databaseUrl: join(dir, 'compare') });
    await viaTemplate.close();
    const restored = await PGlite.create(join(dir, 'compare', 'pgdata'));
    const restoredDb: AnyDb = new KyselyClass({ dialect: new PGliteDialect(restored) });
    try {
      expect((await migrateToLatest(freshDb)).applied).toEqual(Object.keys(migrations));
      expect(await describeSchema(restoredDb)).toEqual(await describeSchema(freshDb));
    } finally {
      await freshDb.destroy();
      await restoredDb.destroy();
    }
  });

  it('makes a new database that works, says so once, and leaves nothing half-made', async () => {
    const where = join(dir, 'first');
    // What an interrupted first run would have left.
    mkdirSync(join(where, 'pgdata.new'), { recursive: true });
    writeFileSync(join(where, 'pgdata.new', 'junk'), 'x');
    const events: string[] = [];
    const onCreate = (d: string) => {
      events.push(`create ${d}`);
      return () => events.push('done');
    };
    const first = await openMessenger({ databaseUrl: where, embedded: { onCreate } });
    const sent = await first.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
    expect(sent.id).toBe(1);
    expect((await first.migrate()).applied).toEqual([]);
    await first.close();
    expect(events).toEqual([`create ${where}`, 'done']);
    expect(readdirSync(where).sort()).toEqual(['pgdata']);
    expect(existsSync(join(where, 'pgdata', 'PG_VERSION'))).toBe(true);

    const again = await openMessenger({ databaseUrl: where, embedded: { onCreate } });
    expect((await again.list({ recipient: 'alice' })).messages.map((m) => m.id)).toEqual([1]);
    await again.close();
    expect(events).toEqual([`create ${where}`, 'done']);
  });

  it('is upgraded by migrations written after it, like any database', async () => {
    const where = join(dir, 'upgrade');
    const m = await openMessenger({ databaseUrl: where });
    await m.close();
    const pglite = await PGlite.create(join(where, 'pgdata'));
    const db: AnyDb = new KyselyClass({ dialect: new PGliteDialect(pglite) });
    try {
      const later = {
        ...migrations,
        '9999-later': {
          up: async (k: AnyDb) => {
            await k.schema.alterTable('messages').addColumn('later', 'text').execute();
          },
        },
      };
      const migrator = new Migrator({ db, provider: { getMigrations: async () => later } });
      const { error, results } = await migrator.migrateToLatest();
      expect(error).toBeUndefined();
      expect(results?.map((r) => `${r.migrationName} ${r.status}`)).toEqual(['9999-later Success']);
      await sql`insert into messages (sender, recipient, message_content, later) values ('a', 'b', 'c', 'd')`.execute(
        db,
      );
    } finally {
      await db.destroy();
    }
  });

  it('unpacks only plain files and directories inside the target', () => {
    const entry = (name: string, body: string, type = '0') => {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write('0000600\0', 100);
      h.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124);
      h.write(type, 156);
      h.write('ustar\0', 257);
      const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
      data.write(body);
      return Buffer.concat([h, data]);
    };
    const archive = (...entries: Buffer[]) =>
      gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
    const ok = join(dir, 'tar-ok');
    extractTarGz(archive(entry('a/', '', '5'), entry('a/b.txt', 'hello')), ok);
    expect(readdirSync(join(ok, 'a'))).toEqual(['b.txt']);
    expect(() => extractTarGz(archive(entry('../escape.txt', 'x')), join(dir, 'tar-bad'))).toThrow(
      /bad entry/,
    );
    expect(existsSync(join(dir, 'escape.txt'))).toBe(false);
    expect(() => extractTarGz(archive(entry('link', '', '2')), join(dir, 'tar-link'))).toThrow(
      /unsupported entry type/,
    );
  });
});
