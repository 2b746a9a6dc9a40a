import websocket, { type WebSocket } from '@fastify/websocket';
import {
  type Messenger,
  type StreamEvent,
  type StreamOptions,
  type Subscription,
  ValidationError,
  validateStreamOptions,
} from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { type ErrorBody, errorReplyLogged, HttpError, HttpErrorCode } from '../http-errors.js';
import { DEFAULT_HEARTBEAT_MS } from '../limits.js';
import { streamSchema } from '../schemas.js';
import { queryOf } from '../url-encoded.js';

/** Settings of the live stream. */
export interface StreamRouteOptions {
  readonly messenger: Messenger;
  /** Ping interval; a client that has not answered the previous ping is closed (default {@link DEFAULT_HEARTBEAT_MS}). */
  readonly heartbeatMs?: number | undefined;
  /** A client this far behind (bytes queued) is closed and must resume with `after` (default 1 MiB). */
  readonly maxBufferedBytes?: number | undefined;
}

/** WebSocket close codes used by the stream. */
const CLOSE = { goingAway: 1001, policy: 1008, internalError: 1011, tryAgain: 1013 } as const;

/** The close code after an error frame: the client's fault, try again later, or ours. */
function closeCodeOf(status: number): number {
  if (status < 500) return CLOSE.policy;
  return status === 503 ? CLOSE.tryAgain : CLOSE.internalError;
}

type Frame = StreamEvent | { type: 'ready' } | ({ type: 'error' } & ErrorBody);

/**
 * `GET /api/messages/stream?recipient=…[&sender=…][&after=<id or cursor>]`: a
 * WebSocket that first sends every matching message after `after`, then each new
 * one as it is committed, plus `read` receipts. Events are JSON:
 * `{"type":"ready"}`, `{"type":"message","message":{…},"cursor":"…"}`,
 * `{"type":"read","sender","recipient","ids","read_at"}`.
 */
export async function streamRoutes(app: FastifyInstance, opts: StreamRouteOptions) {
  const { messenger } = opts;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const sockets = new Set<WebSocket>();

  await app.register(websocket, { options: { maxPayload: 4096 } });

  // Open streams would hold close() forever: say goodbye first, clients resume elsewhere.
  app.addHook('preClose', async () => {
    for (const socket of sockets)
      socket.close(CLOSE.goingAway, 'server shutting down; reconnect with after=');
  });

  app.route({
    method: 'GET',
    url: '/api/messages/stream',
    schema: streamSchema,
    // Bad parameters get a plain 400 before the upgrade.
    preValidation: async (request) => {
      if (!request.ws) return;
      const r = validateStreamOptions(queryOf(request));
      if (!r.ok) throw new ValidationError(r.issues);
    },
    // Without the upgrade headers: say what this endpoint is.
    handler: async () => {
      throw new HttpError(
        HttpErrorCode.upgradeRequired,
        'this is a WebSocket endpoint: connect with Upgrade: websocket, e.g. ws://host/api/messages/stream?recipient=alice',
        { upgrade: 'websocket' },
      );
    },
    wsHandler: (socket, request) => {
      sockets.add(socket);
      // Closing the socket cancels the subscription at any point, also during a long catch-up.
      const closed = new AbortController();
      let subscription: Subscription | undefined;
      let alive = true;
      const send = (event: Frame) => {
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
        closed.abort();
        subscription?.close();
      });
      // Checked in preValidation (core checks it again): the decoded query is the stream's options.
      const options = queryOf(request) as unknown as StreamOptions;
      messenger
        .subscribe(options, send, { signal: closed.signal })
        .then((s) => {
          if (socket.readyState !== socket.OPEN) s.close();
          else {
            subscription = s;
            send({ type: 'ready' });
          }
        })
        .catch((err: unknown) => {
          // The client went away during catch-up: nobody to tell.
          if (closed.signal.aborted) return;
          // The same answer as over HTTP: code, public message, fields and request id.
          const r = errorReplyLogged(err, request.id, request.log);
          send({ type: 'error', ...r.body });
          socket.close(closeCodeOf(r.status), 'subscription failed');
        });
    },
  });
}
