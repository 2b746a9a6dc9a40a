/**
 * `@messenger/cli` as a library: the client the `msg` commands use, for programs that
 * want the same interface on a messenger server (HTTP API) or on the database itself.
 * Errors are core's (`ValidationError`, `NotFoundError`, `UnavailableError`, …), plus
 * {@link RemoteError} for server errors core has no class for.
 */
export {
  type ApiClientOptions,
  type ClientOptions,
  createClient,
  type DatabaseClientOptions,
} from './client/create-client.js';
export type { MessengerClient, SendRequest } from './client/messenger-client.js';
export { RemoteError, UsageError } from './errors.js';
