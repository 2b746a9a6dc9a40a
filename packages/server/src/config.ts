/** Settings of `messenger-server`, read from the environment once at start. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly poolMax: number;
  readonly trustProxy: boolean;
  readonly shutdownTimeoutMs: number;
}

/** A variable is missing or malformed; the message names it. */
export class ConfigError extends Error {}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and checks the environment; throws {@link ConfigError} naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const databaseUrl = env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL is required: postgres://user@host:5432/db, or a directory for the embedded database',
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
    trustProxy: bool(env, 'TRUST_PROXY', true),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
  };
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
