import { readFileSync } from 'node:fs';
import { parseOrigin } from './origin-check.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import type { ServerRole } from './role.js';
import { parseStreamLimits, STREAM_SETTINGS, type StreamLimits } from './stream-budget.js';

/** Settings of `messenger-server`, read from the environment once at start. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly poolMax: number;
  /** `DB_STATEMENT_TIMEOUT_MS` (default 30000), `DB_LIST_TIMEOUT_MS` (default 5000) and
   * `DB_IDLE_IN_TRANSACTION_TIMEOUT_MS` (default 10000): PostgreSQL session timeouts. */
  readonly statementTimeoutMs: number;
  readonly listTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
  readonly trustProxy: boolean;
  readonly shutdownTimeoutMs: number;
  /** `AUTH`: `token` (default) or `open`. */
  readonly auth: 'token' | 'open';
  /** `RATE_LIMIT` and `RATE_BURST`: per user, token mode only. */
  readonly rateLimit: RateLimit | 'off';
  /** `ALLOWED_ORIGINS`: browser origins allowed besides the server's own. */
  readonly allowedOrigins: string[];
  /** `STREAM_MAX_PER_ADDRESS`, `STREAM_MAX_PER_USER`, `STREAM_MAX_TOTAL`, `STREAM_MAX_LIFETIME_S`. */
  readonly streams: StreamLimits;
  /** `ROLE`: `write`, `read` or `all` (default). */
  readonly role: ServerRole;
  /** `DATABASE_READ_URLS`: streaming standbys of `DATABASE_URL` that take reads (comma-separated). */
  readonly readUrls: string[];
  /** `MAX_REPLICA_LAG_MS` (default 5000) and `READ_WAIT_MS` (default 50). */
  readonly replication: { readonly maxLagMs: number; readonly readWaitMs: number };
}

/** A variable is missing or malformed; the message names it. */
export class ConfigError extends Error {}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and checks the environment; throws {@link ConfigError} naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const databaseUrl = secret(env, 'DATABASE_URL');
  if (!databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL (or DATABASE_URL_FILE) is required: postgres://user@host:5432/db, or a directory for the embedded database',
    );
  }
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LEVELS.includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL: must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}`,
    );
  }
  return {
    port: int(env, 'PORT', 8000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    logLevel,
    poolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 1, 3_600_000),
    listTimeoutMs: int(env, 'DB_LIST_TIMEOUT_MS', 5000, 1, 3_600_000),
    idleInTransactionTimeoutMs: int(env, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 10_000, 1, 3_600_000),
    trustProxy: bool(env, 'TRUST_PROXY', true),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    auth: authMode(env),
    rateLimit: rateLimit(env),
    allowedOrigins: origins(env),
    streams: streamLimits(env),
    role: serverRole(env),
    readUrls: readUrls(env, databaseUrl),
    replication: {
      maxLagMs: int(env, 'MAX_REPLICA_LAG_MS', 5000, 1, 3_600_000),
      readWaitMs: int(env, 'READ_WAIT_MS', 50, 0, 60_000),
    },
  };
}

function streamLimits(env: NodeJS.ProcessEnv): StreamLimits {
  const r = parseStreamLimits(
    {
      maxPerAddress: env[STREAM_SETTINGS.maxPerAddress.env],
      maxPerUser: env[STREAM_SETTINGS.maxPerUser.env],
      maxTotal: env[STREAM_SETTINGS.maxTotal.env],
      maxLifetimeMs: env[STREAM_SETTINGS.maxLifetimeMs.env],
    },
    'env',
  );
  if (!r.ok) throw new ConfigError(`${r.issues[0]?.field}: ${r.issues[0]?.message}`);
  return r.value;
}

function serverRole(env: NodeJS.ProcessEnv): ServerRole {
  const raw = env.ROLE?.trim().toLowerCase();
  if (!raw || raw === 'all') return 'all';
  if (raw === 'write' || raw === 'read') return raw;
  throw new ConfigError(
    `ROLE: must be write (sending, marking read), read (listing, the stream) or all; got ${JSON.stringify(env.ROLE)}`,
  );
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * `NAME`, or the contents of the file `NAME_FILE` names (Docker and Kubernetes secrets), trimmed;
 * both set is an error, as is a file that cannot be read.
 */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`]?.trim();
  const direct = env[name]?.trim();
  if (!file) return direct || undefined;
  if (direct) throw new ConfigError(`${name} and ${name}_FILE are both set: set one`);
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    throw new ConfigError(
      `${name}_FILE: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

function readUrls(env: NodeJS.ProcessEnv, databaseUrl: string): string[] {
  const list = (secret(env, 'DATABASE_READ_URLS') ?? '')
    .split(/[,\n]/)
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (list.length === 0) return list;
  if (!POSTGRES_URL.test(databaseUrl)) {
    throw new ConfigError(
      'DATABASE_READ_URLS: read replicas need DATABASE_URL to be PostgreSQL (postgres://…), not the embedded database',
    );
  }
  for (const u of list) {
    if (!POSTGRES_URL.test(u)) {
      throw new ConfigError(
        'DATABASE_READ_URLS: each must be a postgres:// URL of a streaming standby of DATABASE_URL',
      );
    }
  }
  return list;
}

function authMode(env: NodeJS.ProcessEnv): 'token' | 'open' {
  const raw = env.AUTH?.trim().toLowerCase();
  if (!raw || raw === 'token') return 'token';
  if (raw === 'open') return 'open';
  throw new ConfigError(
    `AUTH: must be token (each user sees only their own mail) or open (anyone reads everything); got ${JSON.stringify(env.AUTH)}`,
  );
}

/** `RATE_LIMIT` (`20/s`, `1200/m` or `off`; default 20/s) and `RATE_BURST` (default 2 s worth). */
function rateLimit(env: NodeJS.ProcessEnv): RateLimit | 'off' {
  const r = parseRateLimit(env.RATE_LIMIT?.trim() || '20/s');
  if (!r.ok) throw new ConfigError(`RATE_LIMIT: ${r.issues[0]?.message}`);
  if (r.value === 'off') return 'off';
  return {
    perSecond: r.value.perSecond,
    burst: int(env, 'RATE_BURST', r.value.burst, 1, 1_000_000),
  };
}

function origins(env: NodeJS.ProcessEnv): string[] {
  const list = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  return list.map((o) => {
    const r = parseOrigin(o);
    if (!r.ok) throw new ConfigError(`ALLOWED_ORIGINS: ${r.issues[0]?.message}`);
    return r.value;
  });
}

function int(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name}: must be a whole number from ${min} to ${max}; got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name}: must be true or false; got ${JSON.stringify(raw)}`);
}
