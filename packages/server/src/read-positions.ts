import { type Messenger, parseWalPosition, ValidationError } from '@messenger/core';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's `Messenger-Position` (read-your-writes), checked; `undefined` without one. */
    readPosition: string | undefined;
  }
}

/** The header a write answers with and a read may send back (read-your-writes). */
export const POSITION_HEADER = 'messenger-position';

/**
 * Read-your-writes over read replicas: a successful write (POST) answers with the primary's
 * WAL position after its commit in `Messenger-Position`; a request that sends one back is read
 * only from a source that has replayed that far (see core's `ReadOptions`). A malformed header
 * is a 400 naming it. Without read replicas no header is sent and one received changes nothing.
 */
export function installReadPositions(app: FastifyInstance, messenger: Messenger): void {
  app.decorateRequest('readPosition', undefined);
  app.addHook('preValidation', async (request) => {
    const raw = request.headers[POSITION_HEADER];
    if (raw === undefined) return;
    const r = parseWalPosition(raw, 'Messenger-Position');
    if (!r.ok) throw new ValidationError(r.issues);
    request.readPosition = (raw as string).trim();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST' || reply.statusCode >= 300) return payload;
    try {
      const position = await messenger.position();
      if (position !== undefined) reply.header(POSITION_HEADER, position);
    } catch (err) {
      // The write is done; without a position the client only loses read-your-writes.
      request.log.warn({ err }, 'no Messenger-Position for this write');
    }
    return payload;
  });
}
