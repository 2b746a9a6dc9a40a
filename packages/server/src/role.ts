import type { FastifyInstance } from 'fastify';
import { HttpError, HttpErrorCode } from './http-errors.js';

/**
 * What a server process serves: `write` (sending, marking read), `read` (listing, the stream)
 * or `all`. Split roles let a load balancer send writes and reads to separate pools, each
 * sized for its load; probes, docs and `/api/me` are served by every role.
 */
export type ServerRole = 'write' | 'read' | 'all';

/** The role each mail route belongs to, by method and registered path. */
const ROLE_OF_ROUTE: Readonly<Record<string, 'write' | 'read'>> = {
  'POST /api/messages/send/': 'write',
  'POST /api/messages/read/': 'write',
  'GET /api/messages/': 'read',
  'GET /api/messages/stream': 'read',
};

/**
 * Refuses the other role's routes with `421` `wrong_role` (the request reached a process that
 * does not serve it: a misrouted load balancer), before authentication and before any work.
 */
export function installRole(app: FastifyInstance, role: ServerRole): void {
  if (role === 'all') return;
  app.addHook('onRequest', async (request) => {
    const routeRole = ROLE_OF_ROUTE[`${request.method} ${request.routeOptions.url}`];
    if (routeRole === undefined || routeRole === role) return;
    throw new HttpError(
      HttpErrorCode.wrongRole,
      `this server process serves ${role === 'read' ? 'reads (listing, the stream)' : 'writes (sending, marking read)'} only (ROLE=${role}): ${request.method} ${request.routeOptions.url} belongs to a ${routeRole} process`,
    );
  });
}
