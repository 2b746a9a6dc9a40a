// The `msg` bundle's stand-in for src/client/undici-http.ts (see there, and bundle.mjs): the
// same exports, with undici's Agent and its `request` taken from the modules that define them
// instead of undici's entry, which also loads fetch, WebSocket, caches, mocks and HTTP/2.
// esbuild inlines them from the exact undici version package.json pins; bundle.mjs fails the
// build if that version is not the one installed, or if these modules are not where they were.

import apiRequest from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';

export { Agent };

/** `agent.request(options)`: undici's entry attaches `request` to every dispatcher; here it is called. */
export function request(agent, options) {
  return apiRequest.call(agent, options);
}
