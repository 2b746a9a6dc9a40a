import type { DatabaseSettings } from '../config.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';

/** Options of `msg serve`. */
export interface ServeOptions {
  readonly port: string;
  readonly host: string;
  readonly logLevel: string;
}

/**
 * `msg serve`: runs the HTTP API on this machine's database (embedded by
 * default), with migrations applied, until SIGINT/SIGTERM.
 */
export async function serveCommand(
  database: DatabaseSettings,
  options: ServeOptions,
  out: Output,
): Promise<void> {
  const port = /^\d{1,5}$/.test(options.port) ? Number(options.port) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(
      `--port: must be a whole number from 0 to 65535; got ${JSON.stringify(options.port)}`,
    );
  }
  const { startServer } = await import('@messenger/server');
  const server = await startServer({
    databaseUrl: database.databaseUrl,
    port,
    host: options.host,
    migrate: true,
    // Today's behaviour until `msg serve --auth token|open` (issue 11, CLI part) chooses.
    auth: 'open',
    logger: { level: options.logLevel },
    purpose: `msg serve on http://${options.host}:${port}; use --api http://${options.host}:${port}`,
  });
  out.note(`messenger API on ${server.url} (docs: ${server.url}/api/docs); Ctrl-C stops it`);
  await server.closed;
}
