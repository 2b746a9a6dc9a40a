import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, UsageError } from './errors.js';

/** Options every command accepts, as typed on the command line. */
export interface GlobalOptions {
  /** PostgreSQL URL or embedded data directory. */
  readonly db?: string | undefined;
  /** Base URL of a messenger HTTP API. */
  readonly api?: string | undefined;
  /** HTTP API: time limit of one call, retries included, in milliseconds. */
  readonly timeout?: string | undefined;
}

/** Where the data lives, resolved once from flags and environment. */
export interface DatabaseSettings {
  /** PostgreSQL URL, or the embedded data directory. */
  readonly databaseUrl: string;
  readonly lockTimeoutMs: number;
}

/** How to reach a messenger HTTP API, resolved once from flags and environment. */
export interface ApiSettings {
  /** Base URL, ending in `/`, e.g. `http://127.0.0.1:8000/`. */
  readonly baseUrl: string;
  /** Limit on opening a connection, in ms; 0 = none. */
  readonly connectTimeoutMs: number;
  /** Limit on a whole call (every attempt and wait), in ms; 0 = none. */
  readonly requestTimeoutMs: number;
  /** Extra attempts after the first, where retrying is safe. */
  readonly retries: number;
}

/** The transport a command uses. */
export type Transport =
  | { readonly kind: 'http'; readonly api: ApiSettings }
  | { readonly kind: 'direct'; readonly database: DatabaseSettings };

/**
 * Picks the transport. Flags beat the environment: `--api` → HTTP API, `--db` →
 * database, else `MSG_API_URL` → HTTP API, else the database of {@link resolveDatabase}.
 */
export function resolveTransport(flags: GlobalOptions, env: NodeJS.ProcessEnv): Transport {
  const apiFlag = nonEmpty(flags.api);
  if (apiFlag !== undefined && nonEmpty(flags.db) !== undefined) {
    throw new UsageError('--api and --db cannot be used together');
  }
  const timeoutFlag =
    flags.timeout === undefined ? undefined : parseMillis('--timeout', flags.timeout, UsageError);
  let baseUrl: string | undefined;
  if (apiFlag !== undefined) baseUrl = parseApiUrl('--api', apiFlag, UsageError);
  else if (nonEmpty(flags.db) === undefined && nonEmpty(env.MSG_API_URL) !== undefined) {
    baseUrl = parseApiUrl('MSG_API_URL', env.MSG_API_URL ?? '', ConfigError);
  }
  if (baseUrl === undefined) return { kind: 'direct', database: resolveDatabase(flags, env) };
  return {
    kind: 'http',
    api: {
      baseUrl,
      connectTimeoutMs: readMillis(env, 'MSG_CONNECT_TIMEOUT_MS', 5_000),
      requestTimeoutMs: timeoutFlag ?? readMillis(env, 'MSG_REQUEST_TIMEOUT_MS', 30_000),
      retries: readCount(env, 'MSG_RETRIES', 2, 10),
    },
  };
}

/**
 * `--db`, else `DATABASE_URL`, else the embedded database in `MSG_DATA_DIR`, else
 * `$XDG_DATA_HOME/messenger`, else `~/.local/share/messenger`.
 */
export function resolveDatabase(flags: GlobalOptions, env: NodeJS.ProcessEnv): DatabaseSettings {
  const databaseUrl =
    nonEmpty(flags.db) ??
    nonEmpty(env.DATABASE_URL) ??
    nonEmpty(env.MSG_DATA_DIR) ??
    join(nonEmpty(env.XDG_DATA_HOME) ?? join(homedir(), '.local', 'share'), 'messenger');
  return { databaseUrl, lockTimeoutMs: readMillis(env, 'MSG_LOCK_TIMEOUT_MS', 10_000) };
}

/** Reads a non-negative whole number of milliseconds from `env[name]`, or `fallback` when unset. */
export function readMillis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  return raw === undefined ? fallback : parseMillis(name, raw, ConfigError);
}

type ErrorClass = new (message: string) => Error;

function parseMillis(name: string, raw: string, Err: ErrorClass): number {
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new Err(`${name}: must be a whole number of milliseconds, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d{1,2}$/.test(raw.trim()) || Number(raw) > max) {
    throw new ConfigError(
      `${name}: must be a whole number from 0 to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

/** An http(s) URL without query, fragment or credentials, its path ending in `/`. */
export function parseApiUrl(name: string, raw: string, Err: ErrorClass = TypeError): string {
  const bad = (why: string) => new Err(`${name}: ${why}, got ${JSON.stringify(raw)}`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw bad('must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad('must be an http:// or https:// URL');
  }
  if (url.username !== '' || url.password !== '') throw bad('must not contain a user or password');
  if (url.search !== '' || url.hash !== '') throw bad('must not have a query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
