import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PGliteInterface } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { UnavailableError } from '../errors.js';
import type { Database } from '../message.table.js';
import type { Connection, Listener } from './connection.js';
import { acquireFileLock, type FileLock } from './file-lock.js';

/**
 * Settings of the embedded database (`databaseUrl` is a directory, a `file://` URL,
 * `memory://` or omitted).
 */
export interface EmbeddedOptions {
  /** How long to wait for another process holding the same directory, in ms (default 10000). */
  readonly lockTimeoutMs?: number | undefined;
  /** What this process is doing, shown to a process that finds the directory locked (default `pid <pid>`). */
  readonly purpose?: string | undefined;
}

/** LISTEN in the embedded database: in-process, never lost. */
export async function listenPglite(
  pglite: PGliteInterface,
  channels: readonly string[],
  onNotification: (channel: string, payload: string) => void,
): Promise<Listener> {
  const stops: (() => Promise<void>)[] = [];
  const add = async (more: readonly string[]) => {
    for (const ch of more) stops.push(await pglite.listen(ch, (p) => onNotification(ch, p)));
  };
  await add(channels);
  return { add, close: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}

/**
 * Opens the embedded database in `dataDir` (created on first use), or in memory when
 * `dataDir` is undefined. The PGlite cluster lives in `<dataDir>/pgdata`, guarded by
 * `<dataDir>/lock` so that two processes never open it at once.
 */
export async function openPglite(
  dataDir: string | undefined,
  options: EmbeddedOptions = {},
): Promise<Connection> {
  let lock: FileLock | undefined;
  let pgdata: string | undefined;
  if (dataDir !== undefined) {
    const dir = resolve(dataDir);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new UnavailableError(`cannot create data directory ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    lock = await acquireFileLock(join(dir, 'lock'), {
      timeoutMs: options.lockTimeoutMs ?? 10_000,
      purpose: options.purpose ?? `pid ${process.pid}`,
    });
    pgdata = join(dir, 'pgdata');
  }
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = pgdata === undefined ? await PGlite.create() : await PGlite.create(pgdata);
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      db,
      engine: 'pglite',
      where: pgdata ?? 'memory',
      listen: (channels, onNotification) => listenPglite(pglite, channels, onNotification),
      close: async () => {
        try {
          // Destroying the Kysely driver closes PGlite, which writes a checkpoint.
          await db.destroy();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (err) {
    lock?.release();
    throw new UnavailableError(
      `cannot open the embedded database in ${pgdata ?? 'memory'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
