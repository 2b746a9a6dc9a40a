import { type GlobalOptions, resolveDatabase } from '../config.js';
import { DirectClient } from './direct-client.js';
import type { MessengerClient } from './messenger-client.js';

/** Picks the transport from flags and environment. */
export function createClient(
  flags: GlobalOptions,
  env: NodeJS.ProcessEnv,
  purpose: string,
): MessengerClient {
  const settings = resolveDatabase(flags, env);
  return new DirectClient({ ...settings, purpose });
}
