import { Agent, type Dispatcher } from 'undici';

/**
 * The two parts of undici the HTTP transport uses: a connection pool ({@link Agent}) and one
 * request on it. Through undici's public entry here, as the library runs it. The `msg`
 * command is a bundle, and its build (scripts/bundle.mjs) puts the same two parts, taken from
 * inside the one undici version package.json pins, in place of this module: a run then loads
 * neither fetch, WebSocket, caches and mocks nor HTTP/2, which undici's entry loads and
 * `msg send` never uses (~60 ms of every run). The swap happens at build time, against the
 * exact version that is installed and tested; nothing reaches into undici at run time.
 */
export { Agent };

/** `agent.request(options)`. */
export function request(
  agent: Agent,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return agent.request(options);
}
