import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type { Agent, Dispatcher } from 'undici';

/** The part of undici the HTTP transport uses. */
export interface UndiciParts {
  readonly Agent: typeof Agent;
  /** `agent.request(options)`. */
  readonly request: (
    agent: Agent,
    options: Dispatcher.RequestOptions,
  ) => Promise<Dispatcher.ResponseData>;
  /** Which way it was loaded; a test asserts the fast way still works. */
  readonly entry: 'parts' | 'package';
}

type RequestFunction = (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/**
 * Loads undici's `Agent` and `request`. undici's main entry also loads fetch,
 * WebSocket, cookies, caches and mocks: ~50–80 ms of start-up on these machines that
 * `msg send` (a benchmark target) never uses. So the two modules are loaded by
 * path, ~25 ms; those paths are not undici's API, so when they move the whole
 * package is loaded instead, slower but correct.
 */
export async function loadUndici(preferParts = true): Promise<UndiciParts> {
  baselineWasmOnly();
  if (preferParts) {
    try {
      const require = createRequire(import.meta.url);
      const AgentClass = require('undici/lib/dispatcher/agent.js') as unknown;
      const apiRequest = require('undici/lib/api/api-request.js') as unknown;
      if (typeof AgentClass === 'function' && typeof apiRequest === 'function') {
        return {
          Agent: AgentClass as typeof Agent,
          request: (agent, options) => (apiRequest as RequestFunction).call(agent, options),
          entry: 'parts',
        };
      }
    } catch {
      // Fall through to the package's main entry.
    }
  }
  const undici = await import('undici');
  return {
    Agent: undici.Agent,
    request: (agent, options) => agent.request(options),
    entry: 'package',
  };
}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it with its
 * baseline compiler (Liftoff), then recompiles the hot parser with TurboFan on a
 * background thread, and a process cannot exit before that job ends: ~70 ms added to
 * every `msg --api …` run, to speed up a parser that reads one short answer. Baseline
 * code is plenty for that. The flag only affects WebAssembly compiled from now on, in
 * this process: the HTTP transport never loads the embedded database (also WebAssembly).
 * Should a Node version ignore it, `msg` is just slower, not wrong.
 */
function baselineWasmOnly(): void {
  try {
    setFlagsFromString('--liftoff-only');
  } catch {
    // Not essential.
  }
}
