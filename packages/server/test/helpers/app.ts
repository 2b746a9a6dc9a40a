// The app on one backend, as the HTTP tests use it: PGlite in memory, or PostgreSQL in a schema
// of its own; migrated either way.
import { type Messenger, openMessenger } from '@messenger/core';
import { type Backend, freshPostgresSchema } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { type AppOptions, buildApp } from '../../src/index.js';

/** An app and the messenger it serves; `close` ends both and drops the schema. */
export interface OpenApp {
  readonly app: FastifyInstance;
  readonly messenger: Messenger;
  close(): Promise<void>;
}

/** Opens a messenger on `backend` and builds the app on it with `options`. */
async function openApp(backend: Backend, options: Omit<AppOptions, 'messenger'>): Promise<OpenApp> {
  const schema = backend.name === 'postgres' ? await freshPostgresSchema() : undefined;
  let messenger: Messenger | undefined;
  try {
    messenger = await openMessenger({ databaseUrl: schema?.url, migrate: true });
    const app = await buildApp({ ...options, messenger });
    return {
      app,
      messenger,
      close: async () => {
        try {
          await app.close();
          if (options.closeMessenger === false) await messenger?.close();
        } finally {
          await schema?.drop();
        }
      },
    };
  } catch (err) {
    await messenger?.close();
    await schema?.drop();
    throw err;
  }
}

/**
 * Registers `beforeAll`/`afterAll` hooks that {@link openApp} on `backend` and close it again;
 * the returned object's `app` and `messenger` fail when read outside the suite's tests.
 */
export function useApp(
  backend: Backend,
  options: Omit<AppOptions, 'messenger'>,
): Omit<OpenApp, 'close'> {
  let open: OpenApp | undefined;
  beforeAll(async () => {
    open = await openApp(backend, options);
  });
  afterAll(async () => {
    await open?.close();
  });
  const opened = () => {
    if (!open) throw new Error('the app is not open');
    return open;
  };
  return {
    get app() {
      return opened().app;
    },
    get messenger() {
      return opened().messenger;
    },
  };
}
