import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import { ErrorCode, type Messenger } from '@messenger/core';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { installAuth, securityComponents } from './auth.js';
import { registerBodyParsers } from './body-parsers.js';
import { ConnectionCare, closeUpgradedAfterAnswer } from './connections.js';
import { renderDocsPage } from './docs-page.js';
import { errorReplyLogged, HttpError, HttpErrorCode } from './http-errors.js';
import { BODY_LIMIT, REQUEST_TIMEOUT_MS } from './limits.js';
import { installOriginCheck } from './origin-check.js';
import { DEFAULT_RATE_LIMIT, installRateLimit, type RateLimit } from './rate-limit.js';
import { installReadPositions } from './read-positions.js';
import { installRole, type ServerRole } from './role.js';
import { healthRoutes } from './routes/health.js';
import { meRoutes } from './routes/me.js';
import { messageRoutes } from './routes/messages.js';
import { receiptRoutes } from './routes/receipts.js';
import { streamRoutes } from './routes/stream.js';
import { errorSchema, messageSchema } from './schemas.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-budget.js';
import { parseQueryString } from './url-encoded.js';

/**
 * Who may use the mail, chosen by whoever starts the server — there is no default that opens it.
 * - `token`: every route but the probes and the docs needs `Authorization: Bearer <token>`;
 *   each caller sees only their own mail (core's mailbox). Each user is limited to
 *   `rateLimit` (default 20/s, bursts of 40; `'off'` for none).
 * - `open`: no authentication; names are free text; anyone who reaches the server reads and
 *   writes every mailbox (the original service's behaviour, for a trusted network).
 * Both refuse cross-site browser requests whose Origin is not the server's own nor in
 * `allowedOrigins` (exact origins such as `https://app.example`).
 */
export type AuthOptions =
  | {
      readonly mode: 'token';
      readonly rateLimit?: RateLimit | 'off' | undefined;
      readonly allowedOrigins?: readonly string[] | undefined;
    }
  | { readonly mode: 'open'; readonly allowedOrigins?: readonly string[] | undefined };

/** What {@link buildApp} needs. */
export interface AppOptions {
  /** The open messenger the routes use; closed when the app closes if `closeMessenger` is true. */
  readonly messenger: Messenger;
  /** Token mode or open mode, and the browser origins allowed: required. */
  readonly auth: AuthOptions;
  /** Close the messenger in the app's `onClose` hook (default true). */
  readonly closeMessenger?: boolean;
  /** Fastify logger options, or false (default) for none. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Trust `X-Forwarded-*` from a proxy such as nginx (default false). */
  readonly trustProxy?: FastifyServerOptions['trustProxy'];
  /** Live stream ping interval in ms (default 30 s, `DEFAULT_HEARTBEAT_MS`). */
  readonly heartbeatMs?: number | undefined;
  /**
   * Caps on open live streams (per address, per user, per process) and their lifetime;
   * each setting left out keeps its default ({@link DEFAULT_STREAM_LIMITS}); 0 turns one off.
   */
  readonly streams?: Partial<StreamLimits> | undefined;
  /** `write`, `read` or `all` (default): which mail routes this process serves (see {@link ServerRole}). */
  readonly role?: ServerRole | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the HTTP API over an open messenger. It does not listen: call
 * `app.listen()` (see `startServer`) or use `app.inject()` in tests.
 *
 * @example
 * const app = await buildApp({ messenger: await openMessenger(), auth: { mode: 'token' } });
 * await app.listen({ port: 8000, host: '127.0.0.1' });
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const auth = options.auth as AuthOptions | undefined;
  if (auth?.mode !== 'token' && auth?.mode !== 'open') {
    throw new TypeError(
      "buildApp: auth is required: { mode: 'token' } (each user sees only their own mail) or { mode: 'open' } (anyone reads everything)",
    );
  }
  const rateLimit =
    auth.mode === 'token' && auth.rateLimit !== 'off'
      ? (auth.rateLimit ?? DEFAULT_RATE_LIMIT)
      : undefined;
  const connections = new ConnectionCare();
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
    // Query strings are decoded as strictly as form bodies, by the same function.
    routerOptions: { ignoreTrailingSlash: true, querystringParser: parseQueryString },
    keepAliveTimeout: 72_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Requests that arrive while closing get our own 503 (onRequest below), not Fastify's shape.
    return503OnClosing: false,
    // Honour an incoming X-Request-Id when it is a sane token; otherwise make one.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false } },
    clientErrorHandler: connections.onClientError,
    // A path that is not valid URL encoding (`/%zz`) and other router failures.
    frameworkErrors: (err, request, reply) => {
      closeUpgradedAfterAnswer(request, reply);
      void sendError(err, request, reply);
    },
  });
  connections.attach(app);

  // Core validates every input; route schemas document the API and serialize responses.
  app.setValidatorCompiler(() => (value) => ({ value }));

  app.setErrorHandler(sendError);

  registerBodyParsers(app);

  app.addSchema(messageSchema);
  app.addSchema(errorSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'messenger API',
        version: '1',
        description:
          'Send and list short messages. Compatible with the original messenger_api service; errors are {"error": {"code", "message", "fields"}}.',
      },
      tags: [
        { name: 'messages', description: 'Send and list messages' },
        { name: 'auth', description: 'Who the caller is' },
        { name: 'health', description: 'Probes for load balancers and orchestrators' },
      ],
      components: securityComponents(auth.mode),
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });

  const allowed = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const path = route.url.replace(/\/+$/, '') || '/';
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = allowed.get(path) ?? new Set<string>();
    for (const m of methods) set.add(m);
    allowed.set(path, set);
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      throw new HttpError(ErrorCode.unavailable, 'the server is shutting down; retry');
    }
  });

  // Cross-cutting concerns, in this order: a cross-site page is refused before anything else,
  // then a route of another role (ROLE), then the caller is authenticated, then counted.
  installOriginCheck(app, auth.allowedOrigins ?? []);
  installRole(app, options.role ?? 'all');
  installAuth(app, { messenger: options.messenger, mode: auth.mode }, { rateLimited: !!rateLimit });
  if (rateLimit) installRateLimit(app, rateLimit);
  installReadPositions(app, options.messenger);

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  let docsPage: string | undefined;
  app.get('/api/docs', { schema: { hide: true } }, async (_request, reply) => {
    docsPage ??= renderDocsPage(app.swagger() as Parameters<typeof renderDocsPage>[0]);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(docsPage);
  });
  await app.register(messageRoutes);
  await app.register(healthRoutes, { messenger: options.messenger });
  await app.register(receiptRoutes);
  await app.register(streamRoutes, {
    heartbeatMs: options.heartbeatMs,
    limits: { ...DEFAULT_STREAM_LIMITS, ...options.streams },
  });
  await app.register(meRoutes, { messenger: options.messenger });

  app.setNotFoundHandler(async (request) => {
    const path = (request.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
    const methods = allowed.get(path);
    if (methods && !methods.has(request.method)) {
      const allow = [...methods].sort().join(', ');
      throw new HttpError(
        HttpErrorCode.methodNotAllowed,
        `method ${request.method} is not allowed here; allowed: ${allow}`,
        { allow },
      );
    }
    throw new HttpError(ErrorCode.notFound, `no route ${request.method} ${path}; see /api/docs`);
  });

  if (options.closeMessenger ?? true) {
    app.addHook('onClose', async () => {
      await options.messenger.close();
    });
  }
  return app;
}

/** Answers a failed request: every error, wherever thrown, through the one mapping. */
function sendError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const r = errorReplyLogged(err, request.id, request.log);
  return reply.code(r.status).header('x-request-id', request.id).headers(r.headers).send(r.body);
}
