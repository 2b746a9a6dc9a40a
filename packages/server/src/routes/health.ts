import type { Messenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { healthSchema, readySchema } from '../schemas.js';

/** `GET /healthz` (the process is up) and `GET /readyz` (the database answers; 503 when not; with read replicas, each one's state and lag). */
export async function healthRoutes(app: FastifyInstance, opts: { messenger: Messenger }) {
  app.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readySchema }, async () => {
    await opts.messenger.ping();
    const replicas = opts.messenger.replicas();
    return replicas.length === 0 ? { status: 'ready' } : { status: 'ready', replicas };
  });
}
