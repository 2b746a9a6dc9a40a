import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMessenger } from '@messenger/core';
import { ConfigError, loadConfig } from './config.js';
import { startServer } from './start-server.js';

/**
 * `messenger-server`: the API server for containers, configured by environment
 * (PORT, HOST, DATABASE_URL, LOG_LEVEL, DB_POOL_MAX, DB_STATEMENT_TIMEOUT_MS, DB_LIST_TIMEOUT_MS,
 * DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, TRUST_PROXY, SHUTDOWN_TIMEOUT_MS, AUTH, RATE_LIMIT, RATE_BURST,
 * ALLOWED_ORIGINS, STREAM_MAX_PER_ADDRESS, STREAM_MAX_PER_USER, STREAM_MAX_TOTAL, STREAM_MAX_LIFETIME_S,
 * ROLE, DATABASE_READ_URLS, MAX_REPLICA_LAG_MS, READ_WAIT_MS).
 * `messenger-server migrate` applies the migrations and exits.
 */
async function main(argv: string[]): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`messenger-server: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const command = argv[0];
  if (command === 'migrate') {
    const messenger = await openMessenger({ databaseUrl: config.databaseUrl, migrate: false });
    try {
      const { applied } = await messenger.migrate();
      process.stdout.write(
        `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg: 'migrations applied', applied })}\n`,
      );
    } finally {
      await messenger.close();
    }
    return 0;
  }
  if (command !== undefined) {
    process.stderr.write(
      `messenger-server: unknown command ${JSON.stringify(command)}; expected "migrate" or nothing\n`,
    );
    return 2;
  }
  const server = await startServer({
    databaseUrl: config.databaseUrl,
    port: config.port,
    host: config.host,
    poolMax: config.poolMax,
    role: config.role,
    readUrls: config.readUrls,
    replication: config.replication,
    statementTimeoutMs: config.statementTimeoutMs,
    listTimeoutMs: config.listTimeoutMs,
    idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
    trustProxy: config.trustProxy,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger: { level: config.logLevel },
    auth: config.auth,
    rateLimit: config.rateLimit,
    allowedOrigins: config.allowedOrigins,
    streams: config.streams,
    controlSocket: controlSocketOf(config.databaseUrl),
  });
  await server.closed;
  return 0;
}

/**
 * On an embedded database directory, the operator's control channel is `<dir>/control.sock`
 * (this process holds the directory's lock: `msg users …` reaches the database through it).
 */
function controlSocketOf(databaseUrl: string): string | undefined {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl) || databaseUrl === 'memory://') return undefined;
  const dir = databaseUrl.startsWith('file://') ? fileURLToPath(databaseUrl) : databaseUrl;
  return join(dir, 'control.sock');
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const e = err as { code?: unknown; message?: unknown };
  process.stderr.write(
    `${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, msg: 'messenger-server failed to start', code: e.code, error: String(e.message ?? err) })}\n`,
  );
  process.exitCode = 1;
}
