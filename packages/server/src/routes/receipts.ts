import type { MarkReadOptions } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { mailOf } from '../auth.js';
import { markReadSchema } from '../schemas.js';

/** `POST /api/messages/read/`: mark messages read by ids, or all to a recipient up to an id. */
export async function receiptRoutes(app: FastifyInstance) {
  // The body is typed as the schema documents it; core checks every value at run time.
  app.post<{ Body: MarkReadOptions }>(
    '/api/messages/read/',
    { schema: markReadSchema },
    async (request) => mailOf(request).markRead(request.body),
  );
}
