import { type GlobalOptions, resolveTransport } from '../config.js';
import type { MessengerClient } from './messenger-client.js';

/** What a client needs to know about the invocation. */
export interface ClientContext {
  /** The command line, shown to a second process that finds the embedded database locked. */
  readonly purpose: string;
  /** Version of `msg`, sent in the HTTP transport's `User-Agent`. */
  readonly version: string;
}

/**
 * Picks the transport from flags and environment (see {@link resolveTransport}).
 * Each transport is loaded only when chosen: undici costs the direct transport
 * nothing, and the database driver costs `msg --api …` nothing.
 */
export async function createClient(
  flags: GlobalOptions,
  env: NodeJS.ProcessEnv,
  context: ClientContext,
): Promise<MessengerClient> {
  const transport = resolveTransport(flags, env);
  if (transport.kind === 'http') {
    const { HttpClient } = await import('./http-client.js');
    return new HttpClient({ ...transport.api, userAgent: `msg/${context.version}` });
  }
  const { DirectClient } = await import('./direct-client.js');
  return new DirectClient({ ...transport.database, purpose: context.purpose });
}
