import websocket, { type WebSocket } from '@fastify/websocket';
import type { MailboxStreamOptions, StreamEvent, Subscription } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { answerProtocol, mailOf } from '../auth.js';
import { type ErrorBody, errorReplyLogged, HttpError, HttpErrorCode } from '../http-errors.js';
import { DEFAULT_HEARTBEAT_MS } from '../limits.js';
import { streamSchema } from '../schemas.js';
import { DEFAULT_STREAM_LIMITS, StreamBudget, type StreamLimits } from '../stream-budget.js';
import { queryOf } from '../url-encoded.js';

/** Settings of the live stream. */
export interface StreamRouteOptions {
  /** Ping interval; a client that has not answered the previous ping is closed (default {@link DEFAULT_HEARTBEAT_MS}). */
  readonly heartbeatMs?: number | undefined;
  /** A client this far behind (bytes queued) is closed and must resume with `after` (default 1 MiB). */
  readonly maxBufferedBytes?: number | undefined;
  /** Caps on open streams and their lifetime (default {@link DEFAULT_STREAM_LIMITS}). */
  readonly limits?: StreamLimits | undefined;
}

/**
 * WebSocket close codes used by the stream. `reconnect` (application range): the stream
 * reached its lifetime; the `reconnect` frame before it says where to resume.
 */
const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  internalError: 1011,
  tryAgain: 1013,
  reconnect: 4000,
} as const;

/** While a stream is still catching up at the end of its lifetime, look again this soon. */
const LIFETIME_RECHECK_MS = 1000;

/** The close code after an error frame: the client's fault, try again later, or ours. */
function closeCodeOf(status: number): number {
  if (status < 500) return CLOSE.policy;
  return status === 503 ? CLOSE.tryAgain : CLOSE.internalError;
}

type Frame =
  | StreamEvent
  | { type: 'ready' }
  | { type: 'reconnect'; after: string }
  | ({ type: 'error' } & ErrorBody);

/**
 * `GET /api/messages/stream?recipient=…[&sender=…][&after=<id or cursor>]`: a
 * WebSocket that first sends every matching message after `after`, then each new
 * one as it is committed, plus `read` receipts. Events are JSON:
 * `{"type":"ready"}`, `{"type":"message","message":{…},"cursor":"…"}`,
 * `{"type":"read","sender","recipient","ids","read_at"}`. In token mode it is the caller's
 * own stream (`recipient` omitted or the caller; anyone else is refused before the
 * upgrade), closed with 1008 "access revoked" when the caller's token stops working.
 *
 * Budgets ({@link StreamLimits}): a stream past a cap is refused before the upgrade (429
 * `too_many_streams` per address or user, 503 when the process is full, with `Retry-After`);
 * a stream that reached its lifetime (less up to a tenth, so that streams opened together do
 * not all come back at once) gets `{"type":"reconnect","after":"<cursor>"}` and close code
 * 4000, and so does every stream when the server shuts down (then 1001): reconnecting with
 * that `after` misses and repeats nothing.
 */
export async function streamRoutes(app: FastifyInstance, opts: StreamRouteOptions) {
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const limits = opts.limits ?? DEFAULT_STREAM_LIMITS;
  const budget = new StreamBudget(limits);
  /** Open sockets, and how to end each with a resume point. */
  const sockets = new Map<WebSocket, (code: number, reason: string) => void>();

  await app.register(websocket, {
    options: { maxPayload: 4096, handleProtocols: (protocols) => answerProtocol(protocols) },
  });

  // Open streams would hold close() forever: say goodbye first, clients resume elsewhere.
  app.addHook('preClose', async () => {
    for (const end of sockets.values()) end(CLOSE.goingAway, 'server shutting down');
  });

  app.route({
    method: 'GET',
    url: '/api/messages/stream',
    schema: streamSchema,
    // Bad parameters (400) and another user's stream (403) get a plain answer before the upgrade.
    // The same checks with or without the upgrade headers: a client that cannot see why its
    // upgrade was refused (browsers, undici) asks again with a plain GET and learns it here.
    // Then the budget: an upgrade is counted from here until its connection closes; a plain GET
    // learns whether an upgrade would be refused.
    preValidation: async (request) => {
      await mailOf(request).checkSubscribe(queryOf(request));
      const owner = { address: request.ip, userId: request.principal?.userId };
      if ((request.raw as { upgrade?: boolean }).upgrade !== true) {
        budget.check(owner);
        return;
      }
      const release = budget.reserve(owner);
      const connection = request.raw.socket;
      if (connection.destroyed) release();
      else connection.once('close', release);
    },
    // Without the upgrade headers, and nothing wrong with the request: say what this endpoint is.
    handler: async () => {
      throw new HttpError(
        HttpErrorCode.upgradeRequired,
        'this is a WebSocket endpoint: connect with Upgrade: websocket, e.g. ws://host/api/messages/stream?recipient=alice',
        { upgrade: 'websocket' },
      );
    },
    wsHandler: (socket, request) => {
      // Closing the socket cancels the subscription at any point, also during a long catch-up.
      const closed = new AbortController();
      let subscription: Subscription | undefined;
      let alive = true;
      /** Ends the stream with where to resume (once subscribed; before, the client's own `after` holds). */
      const end = (code: number, reason: string) => {
        if (subscription !== undefined) send({ type: 'reconnect', after: subscription.cursor() });
        socket.close(code, reason);
      };
      sockets.set(socket, end);
      let lifetime: NodeJS.Timeout | undefined;
      const expire = () => {
        // Still catching up: its cursor is not final yet; look again shortly.
        if (subscription === undefined) lifetime = setTimeout(expire, LIFETIME_RECHECK_MS);
        else end(CLOSE.reconnect, 'stream lifetime reached; reconnect with after=<cursor>');
      };
      if (limits.maxLifetimeMs > 0) {
        lifetime = setTimeout(expire, limits.maxLifetimeMs * (0.9 + Math.random() * 0.1));
      }
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
        clearTimeout(lifetime);
        sockets.delete(socket);
        closed.abort();
        subscription?.close();
      });
      // Checked in preValidation (core checks it again): the decoded query is the stream's options.
      const options = queryOf(request) as MailboxStreamOptions;
      mailOf(request)
        .subscribe(options, send, {
          signal: closed.signal,
          onAccessRevoked: () => socket.close(CLOSE.policy, 'access revoked'),
        })
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
