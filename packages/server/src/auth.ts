import {
  ErrorCode,
  type Mailbox,
  type Messenger,
  type Principal,
  UNAUTHENTICATED_MESSAGE,
} from '@messenger/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, WWW_AUTHENTICATE } from './http-errors.js';

/**
 * What the routes do mail through: the caller's {@link Mailbox} in token mode, the whole
 * {@link Messenger} in open mode. Both enforce their rules in core; the routes never know
 * which one they hold.
 */
export type Mail = Pick<Mailbox, 'submit' | 'list' | 'markRead' | 'checkSubscribe' | 'subscribe'>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling (token mode, routes that are not public); `null` otherwise. */
    principal: Principal | null;
    /** The door to the mail for this request (routes that are not public); see {@link Mail}. */
    mail: Mail | null;
  }
}

/** Routes anyone may call in every mode: probes and the API's description. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/healthz',
  '/readyz',
  '/api/openapi.json',
  '/api/docs',
]);

/** The WebSocket subprotocol a browser offers, with its token, as `bearer, <token>`. */
export const BEARER_PROTOCOL = 'bearer';

/** The name of the OpenAPI security scheme (token mode). */
const SCHEME = 'bearer';

/** The OpenAPI `components` of a mode: the bearer scheme in token mode. */
export function securityComponents(mode: 'token' | 'open') {
  if (mode === 'open') return {};
  return {
    securitySchemes: {
      [SCHEME]: {
        type: 'http' as const,
        scheme: 'bearer',
        description:
          'A token of the caller (msg_ and 43 characters; `msg users add` or `msg tokens create` issues one): `Authorization: Bearer <token>`. Browsers opening the stream offer the WebSocket subprotocols `bearer, <token>` instead (answered with `bearer`). Never in the query string.',
      },
    },
  };
}

/**
 * The answer of a WebSocket handshake to the client's subprotocol offer: `bearer` when offered
 * (its token was read by authentication), else none.
 */
export function answerProtocol(protocols: ReadonlySet<string>): string | false {
  return protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false;
}

/** Credentials of a request: whether any were sent, and the bearer token if well-formed. */
function credentialsOf(request: FastifyRequest): { sent: boolean; token: string | undefined } {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    return { sent: true, token: /^Bearer +([^\s,]+) *$/i.exec(authorization)?.[1] };
  }
  // Browsers cannot set headers on a WebSocket: the token comes as the protocol after `bearer`.
  const offer = request.headers['sec-websocket-protocol'];
  if ((request.raw as { upgrade?: boolean }).upgrade === true && typeof offer === 'string') {
    const protocols = offer.split(',').map((p) => p.trim());
    const at = protocols.indexOf(BEARER_PROTOCOL);
    if (at >= 0) return { sent: true, token: protocols[at + 1] };
  }
  return { sent: false, token: undefined };
}

/** Settings of {@link installAuth}. */
export interface AuthSettings {
  readonly messenger: Messenger;
  readonly mode: 'token' | 'open';
}

/**
 * Decides, once per request, who is calling and which door to the mail the routes get
 * (`request.principal`, `request.mail`). Every route is protected but {@link PUBLIC_ROUTES}:
 * in token mode a request without a working bearer token gets `401 unauthenticated` with
 * `WWW-Authenticate`, one message whatever the reason, before its body is read; the token is
 * read from `Authorization: Bearer`, or for a WebSocket from the `bearer, <token>` protocol
 * offer, never from the query string. In open mode every request gets the whole messenger.
 * Also documents each protected route in token mode (security scheme, 401, 429).
 */
export function installAuth(
  app: FastifyInstance,
  { messenger, mode }: AuthSettings,
  documented: { rateLimited: boolean },
): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('mail', null);

  if (mode === 'token') {
    app.addHook('onRoute', (route) => {
      if (PUBLIC_ROUTES.has(route.url)) return;
      const schema = route.schema ?? {};
      route.schema = {
        ...schema,
        security: [{ [SCHEME]: [] }],
        response: {
          ...(schema.response as object | undefined),
          401: {
            description:
              'No working token: missing, malformed, unknown, revoked or expired, or its user is disabled — one answer whatever the reason (unauthenticated), with WWW-Authenticate: Bearer.',
            $ref: 'Error#',
          },
          ...(documented.rateLimited && {
            429: {
              description:
                'Too many requests from this user (rate_limited); retry after Retry-After seconds.',
              $ref: 'Error#',
            },
          }),
        },
      };
    });
  }

  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return;
    if (mode === 'open') {
      request.mail = messenger;
      return;
    }
    const { sent, token } = credentialsOf(request);
    if (!sent) {
      throw new HttpError(ErrorCode.unauthenticated, UNAUTHENTICATED_MESSAGE, {
        'www-authenticate': WWW_AUTHENTICATE.noToken,
      });
    }
    const principal = await messenger.authenticate(token);
    request.principal = principal;
    request.mail = messenger.mailbox(principal);
  });
}

/** The request's door to the mail, set by {@link installAuth} for every route that is not public. */
export function mailOf(request: FastifyRequest): Mail {
  if (request.mail === null) throw new Error(`no mail door for ${request.routeOptions.url}`);
  return request.mail;
}
