import type { Messenger, SendMessageInput } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { listSchema, sendSchema } from '../schemas.js';
import { queryOf } from '../url-encoded.js';

/** `POST /api/messages/send/` and `GET /api/messages/`. */
export async function messageRoutes(app: FastifyInstance, opts: { messenger: Messenger }) {
  const { messenger } = opts;

  // The body is typed as the schema documents it; core checks every value at run time (once).
  app.post<{ Body: SendMessageInput }>(
    '/api/messages/send/',
    { schema: sendSchema },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { message, replayed } = await messenger.submit(request.body, {
        idempotencyKey: typeof key === 'string' ? key : undefined,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(message);
    },
  );

  app.get('/api/messages/', { schema: listSchema }, async (request, reply) => {
    const query = queryOf(request);
    const page = await messenger.list(query);
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
