import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseLockedError,
  type Messenger,
  MessengerError,
  openMessenger,
  UnavailableError,
} from '../src/index.js';
import { migrations } from '../src/migrations/index.js';

/** What a failed promise failed with; fails the test if it did not fail. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${String(v)}`);
    },
    (err: unknown) => err,
  );
}

describe('embedded database in a directory', () => {
  let root: string;
  /** A directory migrated once in beforeAll (creating one takes ~3 s; reopening it ~0.3 s). */
  let dir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'messenger-embedded-'));
    dir = join(root, 'shared');
    const m = await openMessenger({ databaseUrl: dir });
    await m.close();
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Opens `dir`, runs `fn`, and always closes again. */
  async function withOpen<T>(fn: (m: Messenger) => Promise<T>, databaseUrl = dir): Promise<T> {
    const m = await openMessenger({ databaseUrl });
    try {
      return await fn(m);
    } finally {
      await m.close();
    }
  }

  it('keeps messages across close and reopen, and releases its lock on close', async () => {
    const sender = `keeper-${process.hrtime.bigint()}`;
    const sent = await withOpen(async (m) => {
      expect(m.engine).toBe('pglite');
      expect(m.where).toBe(join(dir, 'pgdata'));
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({
        pid: process.pid,
      });
      return [
        await m.send({ sender, recipient: 'future me', message_content: 'still here? 😀' }),
        await m.send({ sender, recipient: 'future me', message_content: 'second' }),
      ];
    });
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    const listed = await withOpen(async (m) => (await m.list({ sender })).messages);
    expect(listed).toEqual([...sent].reverse());
    // A file:// URL names the same directory.
    const viaUrl = await withOpen(
      async (m) => (await m.list({ sender })).messages,
      `file://${dir}`,
    );
    expect(viaUrl).toEqual(listed);
  });

  it('fails fast when the directory is already open in this process', async () => {
    await withOpen(async (first) => {
      const started = Date.now();
      const err = await failure(openMessenger({ databaseUrl: dir }));
      // The default lock timeout is 10 s: not waiting for ourselves.
      expect(Date.now() - started).toBeLessThan(2000);
      expect(err).toBeInstanceOf(DatabaseLockedError);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err).toBeInstanceOf(MessengerError);
      const locked = err as DatabaseLockedError;
      expect(locked.code).toBe('database_locked');
      expect(locked.holderPid).toBe(process.pid);
      expect(locked.message).toContain('already open in this process');
      expect(locked.message).toContain(join(dir, 'lock'));
      // The first one is unharmed and still holds the lock.
      await expect(first.ping()).resolves.toBeUndefined();
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({
        pid: process.pid,
      });
    });
  });

  it('takes over a stale lock left by a process that is gone', async () => {
    const deadPid = 999_999;
    expect(() => process.kill(deadPid, 0)).toThrow();
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: deadPid, purpose: 'crashed' }));
    const sender = `stale-${process.hrtime.bigint()}`;
    await withOpen(async (m) => {
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({
        pid: process.pid,
      });
      await m.send({ sender, recipient: 'r', message_content: 'after a crash' });
      expect((await m.list({ sender })).messages).toHaveLength(1);
    });
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('takes over an empty lock file once it is old (a holder that died while writing it)', async () => {
    const lock = join(dir, 'lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await withOpen(async (m) => {
      await expect(m.ping()).resolves.toBeUndefined();
    });
    expect(existsSync(lock)).toBe(false);
  });

  describe('held by another live process', () => {
    let child: ChildProcess;
    let lockedDir: string;

    beforeAll(() => {
      child = spawn('sleep', ['30'], { stdio: 'ignore' });
      lockedDir = join(root, 'held');
      mkdirSync(lockedDir);
    });
    afterAll(() => {
      child?.kill('SIGKILL');
    });

    it('waits lockTimeoutMs, then fails naming the holder and leaves its lock alone', async () => {
      const pid = child.pid;
      expect(pid).toEqual(expect.any(Number));
      const lock = join(lockedDir, 'lock');
      const content = JSON.stringify({ pid, purpose: 'msg serve' });
      writeFileSync(lock, content);

      const started = Date.now();
      const err = await failure(
        openMessenger({ databaseUrl: lockedDir, embedded: { lockTimeoutMs: 300 } }),
      );
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(280);
      expect(waited).toBeLessThan(3000);
      expect(err).toBeInstanceOf(DatabaseLockedError);
      const locked = err as DatabaseLockedError;
      expect(locked.code).toBe('database_locked');
      expect(locked.holderPid).toBe(pid);
      expect(locked.message).toBe(
        `embedded database is in use by process ${pid} (msg serve); gave up after waiting 300 ms (lock file ${lock})`,
      );
      expect(readFileSync(lock, 'utf8')).toBe(content);
      // Nothing was started in the directory.
      expect(existsSync(join(lockedDir, 'pgdata'))).toBe(false);
    });
  });

  it('reports missing tables when opened without migrations', async () => {
    const fresh = join(root, 'unmigrated');
    const m = await openMessenger({ databaseUrl: fresh, migrate: false });
    try {
      for (const attempt of [
        () => m.list(),
        () => m.send({ sender: 'a', recipient: 'b', message_content: 'c' }),
        () => m.ping(),
      ]) {
        const err = await failure(attempt());
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as UnavailableError).code).toBe('unavailable');
        expect((err as Error).message).toBe(
          `database at ${join(fresh, 'pgdata')} has no messenger tables: run the migrations (msg db migrate)`,
        );
      }
      expect(await m.migrate()).toEqual({
        // Every bundled migration, in order (0004-accounts and any later one).
        applied: Object.keys(migrations),
      });
      expect((await m.list()).messages).toEqual([]);
    } finally {
      await m.close();
    }
  });
});
