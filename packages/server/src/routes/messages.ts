import type { MailboxSendInput } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { mailOf } from '../auth.js';
import { listSchema, sendSchema } from '../schemas.js';
import { queryOf } from '../url-encoded.js';

/** `POST /api/messages/send/` and `GET /api/messages/`, through the request's door to the mail. */
export async function messageRoutes(app: FastifyInstance) {
  // The body is typed as the schema documents it; core checks every value at run time (once).
  app.post<{ Body: MailboxSendInput }>(
    '/api/messages/send/',
    { schema: sendSchema },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { message, replayed } = await mailOf(request).submit(request.body, {
        idempotencyKey: typeof key === 'string' ? key : undefined,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(message);
    },
  );

  app.get('/api/messages/', { schema: listSchema }, async (request, reply) => {
    const query = queryOf(request);
    const page = await mailOf(request).list(query, { position: request.readPosition });
    if (page.nextCursor !== null) {
      const next = new URLSearchParams();
      for (const [k, v] of Object.entries(query))
        if (k !== 'cursor' && typeof v === 'string') next.set(k, v);
      next.set('cursor', page.nextCursor);
      reply.header('x-next-cursor', page.nextCursor);
      reply.header('link', `</api/messages/?${next.toString()}>; rel="next"`);
    }
    return page.messages;
  });
}
