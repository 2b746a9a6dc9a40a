import type { Messenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { markReadSchema } from '../schemas.js';

/** `POST /api/messages/read/`: mark messages read by ids, or all to a recipient up to an id. */
export async function receiptRoutes(app: FastifyInstance, opts: { messenger: Messenger }) {
  app.post('/api/messages/read/', { schema: markReadSchema }, async (request) =>
    opts.messenger.markRead(request.body as Record<string, unknown>),
  );
}
