import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { CommandError } from './errors.js';

// Read on every `msg --api …` call that has no --token or MSG_TOKEN: node:fs only, nothing
// that would cost start-up time.

/** What `msg login` keeps for one server. */
export interface StoredLogin {
  /** The bearer token, `msg_…`. */
  readonly token: string;
  /** The user the server said the token belongs to, when it was stored. */
  readonly name: string;
}

/** The file's shape: one login per API base URL (as `parseApiUrl` writes it, ending in `/`). */
interface CredentialsFile {
  readonly version: 1;
  readonly servers: Record<string, StoredLogin>;
  /**
   * The `Messenger-Position` of the last write through each API base URL: sent with the next
   * read, so that it sees that write even when a read replica serves it.
   */
  readonly positions?: Record<string, string>;
}

/**
 * `$XDG_CONFIG_HOME/messenger/credentials.json`, else `~/.config/messenger/credentials.json`.
 * (XDG: a relative `XDG_CONFIG_HOME` is invalid and ignored.)
 */
export function credentialsPath(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'messenger', 'credentials.json');
}

/**
 * The login stored for `baseUrl`, or undefined when there is none (or no file). A file that
 * its group or others may read is refused, as ssh refuses such a key: the tokens in it
 * would be exposed.
 */
export function readLogin(path: string, baseUrl: string): StoredLogin | undefined {
  const file = readFile(path);
  return file === undefined
    ? undefined
    : Object.hasOwn(file.servers, baseUrl)
      ? file.servers[baseUrl]
      : undefined;
}

/**
 * Stores `login` for `baseUrl`, keeping the other servers' logins. The directory is made
 * 0700 when missing; the file is written whole to a new 0600 file beside it and renamed
 * over the old one, so that a reader sees the old file or the new one, never a part.
 */
export function saveLogin(path: string, baseUrl: string, login: StoredLogin): void {
  const file = readFile(path);
  const servers = {
    ...file?.servers,
    [baseUrl]: { token: login.token, name: login.name },
  };
  writeFile(path, { ...file, version: 1, servers });
}

/** Forgets the login of `baseUrl`. Returns whether there was one. */
export function removeLogin(path: string, baseUrl: string): boolean {
  const file = readFile(path);
  if (file === undefined || !Object.hasOwn(file.servers, baseUrl)) return false;
  const servers = { ...file.servers };
  delete servers[baseUrl];
  writeFile(path, { ...file, version: 1, servers });
  return true;
}

/**
 * The WAL position the last write through `baseUrl` answered with, or undefined. Only a hint
 * for read-your-writes: a file that cannot be read gives none (reading the login says why).
 */
export function readPosition(path: string, baseUrl: string): string | undefined {
  try {
    const positions = readFile(path)?.positions;
    return positions !== undefined && Object.hasOwn(positions, baseUrl)
      ? positions[baseUrl]
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers the `Messenger-Position` of a write through `baseUrl`, beside the logins (same
 * 0600 file, written the same way).
 */
export function savePosition(path: string, baseUrl: string, position: string): void {
  const file = readFile(path);
  writeFile(path, {
    ...file,
    version: 1,
    servers: file?.servers ?? {},
    positions: { ...file?.positions, [baseUrl]: position },
  });
}

function readFile(path: string): CredentialsFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let text: string;
  try {
    // The mode of what was opened, not of whatever the path names a moment later.
    const { mode } = fstatSync(fd);
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new CommandError(
        `${path} may be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}), and it holds tokens: run chmod 600 ${path}`,
      );
    }
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const file = parseFile(text);
  if (file === undefined) {
    throw new CommandError(
      `${path} is not a messenger credentials file: fix it, or remove it and log in again`,
    );
  }
  return file;
}

function parseFile(text: string): CredentialsFile | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || data.version !== 1 || !isRecord(data.servers)) return undefined;
  if (data.positions !== undefined) {
    if (!isRecord(data.positions)) return undefined;
    for (const p of Object.values(data.positions)) if (typeof p !== 'string') return undefined;
  }
  for (const login of Object.values(data.servers)) {
    if (!isRecord(login) || typeof login.token !== 'string' || typeof login.name !== 'string') {
      return undefined;
    }
  }
  return data as unknown as CredentialsFile;
}

function writeFile(path: string, file: CredentialsFile): void {
  const dir = dirname(path);
  // `mode` applies to the directories made here; an existing one is left as its owner set it.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.credentials.json.${process.pid}.${Date.now()}.tmp`);
  // 'wx': a new file, made 0600 from the start (never briefly readable by others).
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
