// The app on one backend, as the HTTP tests use it: PGlite in memory, or PostgreSQL in a schema
// of its own; migrated either way.
import { type Messenger, openMessenger } from '@messenger/core';
import { type Backend, freshPostgresSchema } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../../src/index.js';

/** An app and the messenger it serves; `close` ends both and drops the schema. */
export interface OpenApp {
  readonly app: FastifyInstance;
  readonly messenger: Messenger;
  close(): Promise<void>;
}

/** Opens a messenger on `backend` and builds the app on it with `options`. */
export async function openApp(
  backend: Backend,
  options: Omit<AppOptions, 'messenger'> = {},
): Promise<OpenApp> {
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
