import type { Messenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { meSchema } from '../schemas.js';

/**
 * `GET /api/me`: who the token belongs to (token mode), or that the server is open — so that a
 * client can check a token before storing it, and tell there is nothing to log in to.
 */
export async function meRoutes(app: FastifyInstance, opts: { messenger: Messenger }) {
  app.get('/api/me', { schema: meSchema }, async (request) => {
    const principal = request.principal;
    if (principal === null) return { name: null, auth: 'open' };
    const token = await opts.messenger.getToken(principal.tokenId);
    return {
      name: principal.name,
      auth: 'token',
      token: {
        id: token.id,
        label: token.label,
        created_at: token.created_at,
        expires_at: token.expires_at,
      },
    };
  });
}
