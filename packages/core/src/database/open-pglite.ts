import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PGliteInterface } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { UnavailableError } from '../errors.js';
import type { Database } from '../message.table.js';
import type { Connection, Listener } from './connection.js';
import { extractTarGz, findEmbeddedTemplate } from './embedded-template.js';
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
  /**
   * Called when the data directory holds no database yet, before one is created there
   * (about a second); the function it returns, if any, is called when that is over,
   * whether it worked or not. For a progress message: core prints nothing.
   */
  readonly onCreate?: ((dataDir: string) => (() => void) | undefined) | undefined;
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
 * PostgreSQL settings of the embedded database on top of PGlite's. `shared_buffers`:
 * PGlite's default of 128 MB is zeroed in the WebAssembly heap at every start, and each
 * `msg` command is a start (measured: −90 ms system time, −30 ms user time per open, and
 * ≈ 110 MB less memory). PGlite reads its files through the operating system's page
 * cache, so a smaller pool mostly costs system calls, not disk reads.
 */
const START_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * Opens the embedded database in `dataDir` (created on first use), or in memory when
 * `dataDir` is undefined. The PGlite cluster lives in `<dataDir>/pgdata`, guarded by
 * `<dataDir>/lock` so that two processes never open it at once.
 */
export async function openPglite(
  dataDir: string | undefined,
  options: EmbeddedOptions & {
    /** Make a new database from core's migrated template (default); `false`: an empty one from initdb. */
    readonly template?: boolean;
  } = {},
): Promise<Connection> {
  let lock: FileLock | undefined;
  let pgdata: string | undefined;
  let created: (() => void) | undefined;
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
    if (pgdata !== undefined && !existsSync(join(pgdata, 'PG_VERSION'))) {
      created = options.onCreate?.(resolve(pgdata, '..')) ?? (() => {});
      if (options.template !== false) restoreTemplate(pgdata);
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const startParams = [...PGlite.defaultStartParams, ...START_SETTINGS];
    const pglite =
      pgdata === undefined
        ? await PGlite.create({
            ...(options.template === false ? {} : inMemoryOptions()),
            startParams,
          })
        : await PGlite.create({ dataDir: pgdata, startParams });
    created?.();
    created = undefined;
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
    created?.();
    lock?.release();
    throw new UnavailableError(
      `cannot open the embedded database in ${pgdata ?? 'memory'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Fills a new `pgdata` from the template shipped with core (see embedded-template.ts),
 * unpacked beside it and renamed into place, so that an interrupted first run leaves
 * no half-made database. Without a template (or when `pgdata` already has files of an
 * interrupted initdb), PGlite runs initdb itself, as before.
 */
function restoreTemplate(pgdata: string): void {
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) return;
  const template = findEmbeddedTemplate();
  if (template === undefined) return;
  const staging = `${pgdata}.new`;
  rmSync(staging, { recursive: true, force: true });
  extractTarGz(readFileSync(template), staging);
  rmSync(pgdata, { recursive: true, force: true });
  renameSync(staging, pgdata);
}

/** In memory: the template too (≈ 3× faster than initdb), unpacked by PGlite itself. */
function inMemoryOptions(): { loadDataDir?: Blob } {
  const template = findEmbeddedTemplate();
  return template === undefined ? {} : { loadDataDir: new Blob([readFileSync(template)]) };
}
