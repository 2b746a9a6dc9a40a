import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorReplyLogged, rawErrorAnswer } from './http-errors.js';

/**
 * How long a connection that came in with `Upgrade` headers but got a plain answer may stay
 * half-closed, waiting for the client to close its side, before it is destroyed.
 */
const UPGRADE_LINGER_MS = 1_000;

/**
 * Care for raw connections, where Node's HTTP server leaves it to us:
 *
 * - Bytes that are not HTTP (Node's `clientError`) are answered in the API's error shape,
 *   but only after the answers to the requests before them on the same connection: with
 *   pipelining, a stored message's 201 must not be lost to the 400 of the garbage behind it
 *   (the client would retry into a duplicate).
 * - A request with `Upgrade: websocket` to a route that is not a WebSocket leaves Node's
 *   HTTP handling for good (the `upgrade` event): nobody would close that connection after
 *   its plain answer, and it would sit in CLOSE-WAIT and hold `close()` forever. It is
 *   answered with `Connection: close` and ended.
 */
export class ConnectionCare {
  /** Responses not yet fully written, by connection. */
  readonly #pending = new WeakMap<Socket, Set<ServerResponse>>();
  /** Connections whose malformed bytes are being answered (the parser repeats its error). */
  readonly #answering = new WeakSet<Socket>();
  #log: FastifyBaseLogger | undefined;

  /** Fastify's `clientErrorHandler`. */
  readonly onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed || this.#answering.has(socket)) return;
    this.#answering.add(socket);
    const requestId = randomUUID();
    const log = this.#log?.child({ reqId: requestId });
    log?.info({ code: err.code }, 'malformed HTTP request');
    const r = errorReplyLogged(err, requestId, log ?? silent);
    const pending = [...(this.#pending.get(socket) ?? [])];
    // A request received whole is being answered: wait for it. One cut short by the bad bytes
    // never completes; the error is its answer.
    const before = pending.filter((res) => res.req.complete).map(closed);
    void Promise.all(before).then(() => {
      if (socket.destroyed) return;
      const started = [...(this.#pending.get(socket) ?? [])].some((res) => res.headersSent);
      if (socket.writable && !started) socket.write(rawErrorAnswer(r));
      socket.destroySoon();
    });
  };

  /** Wires the app in: call once, right after creating it. */
  attach(app: FastifyInstance): void {
    this.#log = app.log;
    app.server.on('request', (request, response: ServerResponse) => {
      const socket = request.socket;
      let set = this.#pending.get(socket);
      if (set === undefined) {
        set = new Set();
        this.#pending.set(socket, set);
      }
      set.add(response);
      response.once('close', () => set.delete(response));
    });
    app.addHook('onRequest', (request, reply, done) => {
      closeUpgradedAfterAnswer(request, reply);
      done();
    });
  }
}

/**
 * For a request that came in with `Upgrade` headers: unless it is upgraded (the stream route
 * then owns the socket), its plain answer says `Connection: close`, and the connection ends
 * once the answer is written. Called for every request and every framework error.
 */
export function closeUpgradedAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  // Node's parser flag: it is what sent the request to the `upgrade` event instead of `request`.
  if ((request.raw as { upgrade?: boolean }).upgrade !== true) return;
  const socket = request.raw.socket;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => {
    if (socket.destroyed) return;
    socket.end();
    const linger = setTimeout(() => socket.destroy(), UPGRADE_LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
}

/** Resolves when `response` is written whole, or its connection is gone. */
function closed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => response.once('close', () => resolve()));
}

const silent = { error: () => {}, warn: () => {} };
