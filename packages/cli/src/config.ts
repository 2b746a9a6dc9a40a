import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.js';

/** Options every command accepts. */
export interface GlobalOptions {
  /** PostgreSQL URL or embedded data directory. */
  readonly db?: string | undefined;
}

/** Where the data lives, resolved once from flags and environment. */
export interface DatabaseSettings {
  /** PostgreSQL URL, or the embedded data directory. */
  readonly databaseUrl: string;
  readonly lockTimeoutMs: number;
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
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new ConfigError(
      `${name}: must be a whole number of milliseconds, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
