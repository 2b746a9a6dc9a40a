import { randomBytes } from 'node:crypto';
import {
  linkSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseLockedError } from '../errors.js';

/** An exclusive lock held through a lock file that names its holder. */
export interface FileLock {
  release(): void;
}

interface LockOptions {
  /** How long to wait for another process to let go, in ms. */
  readonly timeoutMs: number;
  /** What the holder is doing, written into the lock for the next waiter's error message. */
  readonly purpose: string;
}

/** What a lock file holds. */
interface Holder {
  readonly pid: number;
  readonly purpose?: string | undefined;
  /** `os.hostname()` of the holder; absent in locks written before it was recorded. */
  readonly host?: string | undefined;
  /** The holder's PID namespace (Linux): containers on one host have their own. */
  readonly pidns?: string | undefined;
  /** Unique per acquisition: tells our own lock from another one with the same pid. */
  readonly token?: string | undefined;
}

/** The holder refreshes its lock file's mtime this often... */
const HEARTBEAT_MS = 2_000;
/** ...and a lock from another host (or PID namespace) not refreshed for this long is stale. */
const FOREIGN_STALE_MS = 30_000;
/** A takeover marker older than this belongs to a process that died during a takeover. */
const TAKEOVER_STALE_MS = 5_000;

/**
 * Takes the lock at `path`, waiting up to `timeoutMs` for another live process to release it.
 * PGlite takes no lock of its own; two processes on one data directory would corrupt it.
 *
 * - A lock file appears whole and at once: it is written beside and hard-linked into place
 *   (`link` fails when the name exists), so no waiter ever sees a half-written lock.
 * - It names its holder: host, PID namespace, pid, and a token of this acquisition; the
 *   holder refreshes its mtime every {@link HEARTBEAT_MS}.
 * - A lock is stale when its holder is on this host and PID namespace and its pid is gone
 *   (`kill(pid, 0)`), or, from another host or container (where a pid says nothing), when
 *   its mtime is older than {@link FOREIGN_STALE_MS}.
 * - Taking over a stale lock is one waiter's job at a time: it first creates
 *   `<path>.takeover` (exclusively, as above), checks that the lock is still the stale one
 *   it saw (same inode), and replaces it with its own by `rename` (atomic). Two waiters on one
 *   dead holder cannot both win, nor can one delete the other's fresh lock.
 */
export async function acquireFileLock(path: string, options: LockOptions): Promise<FileLock> {
  const deadline = Date.now() + options.timeoutMs;
  const me: Holder = {
    pid: process.pid,
    purpose: options.purpose,
    host: hostname(),
    pidns: pidNamespace(),
    token: randomBytes(8).toString('hex'),
  };
  let delay = 20;
  for (;;) {
    if (tryPlace(path, me)) return makeLock(path, me);
    const seen = readLock(path);
    if (seen !== 'gone') {
      if (seen.holder !== undefined && seen.holder.pid === process.pid && isLocal(seen.holder)) {
        throw new DatabaseLockedError(
          `embedded database is already open in this process (lock ${path})`,
          process.pid,
        );
      }
      if (isStale(seen) && takeOver(path, seen, me)) return makeLock(path, me);
      if (Date.now() >= deadline) {
        const h = seen.holder;
        const where = h?.host !== undefined && !isLocal(h) ? ` on ${h.host}` : '';
        throw new DatabaseLockedError(
          `embedded database is in use by process ${h?.pid ?? '(unknown)'}${where}${h?.purpose ? ` (${h.purpose})` : ''}; ` +
            `gave up after waiting ${options.timeoutMs} ms (lock file ${path})`,
          h?.pid,
        );
      }
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 200);
  }
}

/** A lock file as read: its holder (undefined when unreadable: empty or garbled), inode and age. */
interface Seen {
  readonly holder: Holder | undefined;
  readonly ino: number;
  readonly ageMs: number;
}

/** Writes `holder` beside `path` and links it into place; false when `path` exists. */
function tryPlace(path: string, holder: Holder): boolean {
  const temp = writeTemp(path, holder);
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuietly(temp);
  }
}

function writeTemp(path: string, holder: Holder): string {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, JSON.stringify(holder), { mode: 0o644, flag: 'wx' });
  return temp;
}

function readLock(path: string): Seen | 'gone' {
  let text: string;
  let ino: number;
  let mtimeMs: number;
  try {
    ({ ino, mtimeMs } = statSync(path));
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  return { holder: parseHolder(text), ino, ageMs: Date.now() - mtimeMs };
}

function parseHolder(text: string): Holder | undefined {
  try {
    const p = JSON.parse(text) as Record<string, unknown>;
    if (typeof p.pid !== 'number' || !Number.isInteger(p.pid) || p.pid <= 0) return undefined;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      pid: p.pid,
      purpose: str(p.purpose),
      host: str(p.host),
      pidns: str(p.pidns),
      token: str(p.token),
    };
  } catch {
    return undefined;
  }
}

/** Whether `kill(pid, 0)` says anything about the holder: same host and PID namespace. */
function isLocal(h: Holder): boolean {
  // Locks written before hosts were recorded came from this machine's `msg`.
  if (h.host === undefined) return true;
  return h.host === hostname() && (h.pidns === undefined || h.pidns === pidNamespace());
}

function isStale(seen: Seen): boolean {
  const h = seen.holder;
  // Unreadable: nobody writes a lock in place (they are linked whole), so only a lock from
  // before that, or a damaged file, is; give a writer of the old kind a moment.
  if (h === undefined) return seen.ageMs > 2_000;
  if (isLocal(h)) return !isAlive(h.pid);
  return seen.ageMs > FOREIGN_STALE_MS;
}

/**
 * Replaces the stale lock `seen` with ours, holding `<path>.takeover` meanwhile so that no
 * other waiter does the same. False when another waiter is taking over, or the lock changed.
 */
function takeOver(path: string, seen: Seen, me: Holder): boolean {
  const marker = `${path}.takeover`;
  if (!tryPlace(marker, me)) {
    clearDeadTakeover(marker);
    return false;
  }
  try {
    const now = readLock(path);
    if (now === 'gone') return tryPlace(path, me);
    if (now.ino !== seen.ino) return false;
    const temp = writeTemp(path, me);
    try {
      renameSync(temp, path);
    } catch (err) {
      unlinkQuietly(temp);
      throw err;
    }
    return true;
  } finally {
    removeIfOurs(marker, me);
  }
}

/** A takeover marker left by a process that died in the middle of one is moved aside. */
function clearDeadTakeover(marker: string): void {
  const seen = readLock(marker);
  if (seen === 'gone' || seen.ageMs <= TAKEOVER_STALE_MS) return;
  const aside = `${marker}.${process.pid}.${randomBytes(4).toString('hex')}.dead`;
  try {
    renameSync(marker, aside);
  } catch {
    return;
  }
  // Moved aside what we saw, or (rarely) a marker just made by a live waiter: put that back.
  const moved = readLock(aside);
  if (moved !== 'gone' && moved.ino !== seen.ino) {
    try {
      linkSync(aside, marker);
    } catch {
      // Another marker is there already: that waiter goes ahead, the other one retries.
    }
  }
  unlinkQuietly(aside);
}

function removeIfOurs(path: string, me: Holder): void {
  const seen = readLock(path);
  if (seen !== 'gone' && seen.holder?.token === me.token) unlinkQuietly(path);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
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

let namespace: string | undefined | null = null;

/** This process's PID namespace (`pid:[4026531836]`), or undefined where there is none to read. */
function pidNamespace(): string | undefined {
  if (namespace === null) {
    try {
      namespace = readlinkSync('/proc/self/ns/pid');
    } catch {
      namespace = undefined;
    }
  }
  return namespace;
}

function makeLock(path: string, me: Holder): FileLock {
  let held = true;
  // The heartbeat tells waiters on other hosts that the holder lives.
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Gone: nothing to keep fresh.
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = () => {
    if (!held) return;
    held = false;
    clearInterval(heartbeat);
    process.off('exit', release);
    removeIfOurs(path, me);
  };
  process.on('exit', release);
  return { release };
}
