import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseLockedError } from '../errors.js';

/** An exclusive lock held through a file created with O_EXCL, holding our pid. */
export interface FileLock {
  release(): void;
}

interface LockOptions {
  /** How long to wait for another process to let go, in ms. */
  readonly timeoutMs: number;
  /** What the holder is doing, written into the lock for the next waiter's error message. */
  readonly purpose: string;
}

/**
 * Takes the lock at `path`, waiting up to `timeoutMs` for another live process to
 * release it. A lock whose pid is no longer alive (a killed process) is stale and
 * taken over. PGlite takes no lock of its own; two processes on one data
 * directory would corrupt it.
 */
export async function acquireFileLock(path: string, options: LockOptions): Promise<FileLock> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 20;
  for (;;) {
    const fd = tryCreate(path);
    if (fd !== undefined) {
      writeSync(fd, JSON.stringify({ pid: process.pid, purpose: options.purpose }));
      closeSync(fd);
      return makeLock(path);
    }
    const holder = readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'stale' || (holder !== 'writing' && !isAlive(holder.pid))) {
      removeIfUnchanged(path, holder);
      continue;
    }
    const pid = holder === 'writing' ? undefined : holder.pid;
    const purpose = holder === 'writing' ? undefined : holder.purpose;
    if (pid === process.pid) {
      throw new DatabaseLockedError(
        `embedded database is already open in this process (lock ${path})`,
        pid,
      );
    }
    if (Date.now() >= deadline) {
      throw new DatabaseLockedError(
        `embedded database is in use by process ${pid ?? '(starting)'}${purpose ? ` (${purpose})` : ''}; ` +
          `gave up after waiting ${options.timeoutMs} ms (lock file ${path})`,
        pid,
      );
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 200);
  }
}

type Holder = { pid: number; purpose?: string | undefined } | 'gone' | 'stale' | 'writing';

/** A lock file still empty this long after creation belongs to a process that died mid-write. */
const EMPTY_LOCK_GRACE_MS = 2000;

function tryCreate(path: string): number | undefined {
  try {
    return openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
}

function readHolder(path: string): Holder {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; purpose?: unknown };
    if (typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0) {
      return {
        pid: parsed.pid,
        purpose: typeof parsed.purpose === 'string' ? parsed.purpose : undefined,
      };
    }
  } catch {
    // Empty or partial: the holder may be between creating and writing it.
  }
  try {
    const age = Date.now() - statSync(path).mtimeMs;
    return age > EMPTY_LOCK_GRACE_MS ? 'stale' : 'writing';
  } catch {
    return 'gone';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfUnchanged(path: string, seen: Holder): void {
  // Re-read so that we never remove a lock that a third process has just taken.
  const now = readHolder(path);
  const same =
    (now === 'stale' && seen === 'stale') ||
    (typeof now === 'object' && typeof seen === 'object' && now.pid === seen.pid);
  if (!same) return;
  try {
    unlinkSync(path);
  } catch {
    // Removed by someone else first; the next round creates it again.
  }
}

function makeLock(path: string): FileLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      const holder = readHolder(path);
      if (typeof holder === 'object' && holder.pid === process.pid) unlinkSync(path);
    } catch {
      // Nothing left to release.
    }
  };
  process.on('exit', release);
  return { release };
}
