import websocket, { type WebSocket } from '@fastify/websocket';
import {
  type Messenger,
  MessengerError,
  type StreamEvent,
  type Subscription,
  ValidationError,
  validateStreamOptions,
} from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { streamSchema } from '../schemas.js';

/** Settings of the live stream. */
export interface StreamRouteOptions {
  readonly messenger: Messenger;
  /** Ping interval; a client that has not answered the previous ping is closed (default 30 s). */
  readonly heartbeatMs?: number | undefined;
  /** A client this far behind (bytes queued) is closed and must resume with `after` (default 1 MiB). */
  readonly maxBufferedBytes?: number | undefined;
}

/** WebSocket close codes used by the stream. */
const CLOSE = { goingAway: 1001, policy: 1008, tryAgain: 1013 } as const;

/**
 * `GET /api/messages/stream?recipient=…[&sender=…][&after=<id or cursor>]`: a
 * WebSocket that first sends every matching message after `after`, then each new
 * one as it is committed, plus `read` receipts. Events are JSON:
 * `{"type":"ready"}`, `{"type":"message","message":{…},"cursor":"…"}`,
 * `{"type":"read","sender","recipient","ids","read_at"}`.
 */
export async function streamRoutes(app: FastifyInstance, opts: StreamRouteOptions) {
  const { messenger } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const sockets = new Set<WebSocket>();

  await app.register(websocket, { options: { maxPayload: 4096 } });

  // Open streams would hold close() forever: say goodbye first, clients resume elsewhere.
  app.addHook('preClose', async () => {
    for (const socket of sockets)
      socket.close(CLOSE.goingAway, 'server shutting down; reconnect with after=');
  });

  app.get(
    '/api/messages/stream',
    {
      websocket: true,
      schema: streamSchema,
      // Bad parameters get a plain 400 before the upgrade.
      preValidation: async (request) => {
        const r = validateStreamOptions(request.query);
        if (!r.ok) throw new ValidationError(r.issues);
      },
    },
    (socket, request) => {
      sockets.add(socket);
      let subscription: Subscription | undefined;
      let alive = true;
      const send = (event: StreamEvent | { type: 'ready' } | { type: 'error'; error: object }) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > maxBuffered) {
          socket.close(CLOSE.tryAgain, 'client too slow; reconnect with after=<last cursor>');
          return;
        }
        socket.send(JSON.stringify(event));
      };
      const heartbeat = setInterval(() => {
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, heartbeatMs);
      socket.on('pong', () => {
        alive = true;
      });
      socket.on('message', () => {
        alive = true;
      });
      socket.on('close', () => {
        clearInterval(heartbeat);
        sockets.delete(socket);
        subscription?.close();
      });
      messenger
        .subscribe(request.query as Record<string, string> as never, send)
        .then((s) => {
          if (socket.readyState !== socket.OPEN) s.close();
          else {
            subscription = s;
            send({ type: 'ready' });
          }
        })
        .catch((err: unknown) => {
          const known = err instanceof MessengerError;
          if (!known) request.log.error({ err }, 'stream subscription failed');
          send({
            type: 'error',
            error: known
              ? { code: err.code, message: err.message }
              : { code: 'internal', message: 'internal server error' },
          });
          socket.close(
            known && err.code === 'validation_failed' ? CLOSE.policy : CLOSE.tryAgain,
            'subscription failed',
          );
        });
    },
  );
}
