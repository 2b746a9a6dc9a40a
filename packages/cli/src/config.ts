import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, UsageError } from './errors.js';

/** Options every command accepts, as typed on the command line. */
export interface GlobalOptions {
  /** PostgreSQL URL or embedded data directory. */
  readonly db?: string | undefined;
  /** Base URL of a messenger HTTP API. */
  readonly api?: string | undefined;
  /** HTTP API: time limit of one call, retries included, in milliseconds. */
  readonly timeout?: string | undefined;
  /** HTTP API: the bearer token to send, instead of MSG_TOKEN or the stored one. */
  readonly token?: string | undefined;
  /** HTTP API: allow sending a token over plain http:// to another machine. */
  readonly insecure?: boolean | undefined;
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

/** Through a server's HTTP API. */
export interface HttpTransport {
  readonly kind: 'http';
  readonly api: ApiSettings;
}

/** The transport a command uses. */
export type Transport =
  | HttpTransport
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

/** Where the token of an HTTP call came from: it decides what to say when the server refuses it. */
export type TokenSource = 'flag' | 'env' | 'stored' | 'none';

/** The bearer token for one server, and where it came from. */
export interface TokenSettings {
  readonly token: string | undefined;
  readonly source: TokenSource;
}

/**
 * The token to send to a server: `--token`, else `MSG_TOKEN`, else what `msg login` stored
 * for that server (`stored()`, only called when needed), else none. A value that cannot be
 * a header (spaces, control characters) is refused naming its source, never echoing it.
 */
export function resolveToken(
  flags: GlobalOptions,
  env: NodeJS.ProcessEnv,
  stored: () => string | undefined,
): TokenSettings {
  const flag = nonEmpty(flags.token);
  if (flag !== undefined) return { token: checkToken('--token', flag, UsageError), source: 'flag' };
  const fromEnv = nonEmpty(env.MSG_TOKEN);
  if (fromEnv !== undefined) {
    return { token: checkToken('MSG_TOKEN', fromEnv, ConfigError), source: 'env' };
  }
  const saved = stored();
  return saved === undefined
    ? { token: undefined, source: 'none' }
    : { token: saved, source: 'stored' };
}

function checkToken(name: string, raw: string, Err: ErrorClass): string {
  const token = raw.trim();
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new Err(
      `${name}: must be a token (msg_ and 43 letters, digits, - or _), not text with spaces or other characters`,
    );
  }
  return token;
}

/**
 * Why sending a token to `baseUrl` would expose it to the network, or undefined when it
 * would not: plain `http://` to a host other than this machine (`localhost`, 127.0.0.0/8,
 * `::1`). Over https://, or on loopback, the token stays private.
 */
export function tokenExposure(baseUrl: string): string | undefined {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:' || isLoopback(url.hostname)) return undefined;
  return `refusing to send a token over plain http:// to ${url.host}, which is not this machine (anyone on the way could read it and act as you)`;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '[::1]' ||
    // ::ffff:127.x.y.z, as URL writes it.
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
  );
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

/**
 * How another terminal names the database `database` came from, for a command to print
 * (`msg --db <this> users add …`): undefined for the default database (no flag needed there),
 * `"$DATABASE_URL"` when it came from that variable (its password stays out of the output), the
 * absolute directory of an embedded database, or a PostgreSQL URL given with --db, its
 * password hidden. Quoted for a POSIX shell where needed.
 */
export function databaseHint(
  flags: GlobalOptions,
  env: NodeJS.ProcessEnv,
  database: DatabaseSettings,
): string | undefined {
  if (nonEmpty(flags.db) === undefined) {
    if (nonEmpty(env.DATABASE_URL) !== undefined) return '"$DATABASE_URL"';
    if (nonEmpty(env.MSG_DATA_DIR) === undefined) return undefined;
  }
  const url = database.databaseUrl;
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.password !== '') parsed.password = '****';
      return shellQuote(parsed.href);
    } catch {
      return shellQuote(url);
    }
  }
  return shellQuote(url.startsWith('file://') ? url : resolve(url));
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
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
