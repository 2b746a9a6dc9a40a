import { chmod, lstat, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import {
  type Messenger,
  NotFoundError,
  ValidationError,
  type ValidationIssue,
} from '@messenger/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { registerBodyParsers } from './body-parsers.js';
import { errorReplyLogged } from './http-errors.js';
import { parseQueryString, queryOf } from './url-encoded.js';

/** The routes of the control channel, as its 404 lists them. */
const ROUTES = [
  'POST /users',
  'GET /users',
  'POST /users/disable',
  'POST /tokens',
  'GET /tokens[?user=<name>]',
  'POST /tokens/revoke',
];

/** A running control channel. */
export interface ControlServer {
  /** The socket's path. */
  readonly path: string;
  /** Stops serving and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves the operator's operations on users and tokens (core's `addUser`, `listUsers`,
 * `disableUser`, `createToken`, `listTokens`, `revokeToken`) as HTTP/1.1 with JSON bodies over
 * the Unix socket `path` — so that `msg users …` and `msg tokens …` work while this process
 * holds the embedded database. Errors are the API's (`{"error": {code, message, fields}}`,
 * same codes and statuses).
 *
 * Only this user can connect: the socket is made inside a new directory of mode 0700, given
 * mode 0600, and only then moved to `path` — at no moment can another user reach it. A socket
 * already at `path` that nothing answers on (left by a killed server) is replaced; one that
 * answers, or a file that is not a socket, is an error. {@link ControlServer.close} removes it.
 *
 * Routes: `POST /users {"name"}` → 201 `{user, token}`; `GET /users` → `User[]`;
 * `POST /users/disable {"name"}` → `User`; `POST /tokens {"name", "label"?, "expires_at"?}` →
 * 201 `IssuedToken`; `GET /tokens[?user=<name>]` → `TokenInfo[]`; `POST /tokens/revoke {"id"}`
 * → `TokenInfo`.
 */
export async function startControlServer(
  messenger: Messenger,
  path: string,
  log: FastifyBaseLogger,
): Promise<ControlServer> {
  const target = resolve(path);
  // sun_path holds 108 bytes with its terminating NUL; the socket is made at `<dir>/.c-XXXXXX/s`.
  const bytes = Math.max(Buffer.byteLength(target), Buffer.byteLength(dirname(target)) + 12);
  if (bytes > 107) {
    throw new Error(
      `the control socket path ${target} is too long for a Unix socket (${bytes} bytes, at most 107): use a shorter data directory`,
    );
  }
  await refuseLive(target);
  const app = Fastify({
    loggerInstance: log.child({ channel: 'control' }),
    routerOptions: { querystringParser: parseQueryString },
  });
  const sendError = (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const r = errorReplyLogged(err, request.id, request.log);
    return reply.code(r.status).headers(r.headers).send(r.body);
  };
  app.setErrorHandler(sendError);
  registerBodyParsers(app);
  app.setNotFoundHandler(async (request) => {
    throw new NotFoundError(
      `no route ${request.method} ${request.url.split('?')[0]}; the control channel serves ${ROUTES.join(', ')}`,
    );
  });

  // Each change is logged (who, which token id: never a secret), as an operator's audit trail.
  app.post('/users', async (request, reply) => {
    const { name } = fieldsOf(request.body, ['name']);
    const added = await messenger.addUser(name as string);
    request.log.info({ user: added.user.name, token_id: added.token.id }, 'user added');
    return reply.code(201).send(added);
  });
  app.get('/users', async (request) => {
    parametersOf(request, []);
    return messenger.listUsers();
  });
  app.post('/users/disable', async (request) => {
    const { name } = fieldsOf(request.body, ['name']);
    const user = await messenger.disableUser(name as string);
    request.log.info({ user: user.name }, 'user disabled');
    return user;
  });
  app.post('/tokens', async (request, reply) => {
    const { name, label, expires_at } = fieldsOf(request.body, ['name', 'label', 'expires_at']);
    try {
      const token = await messenger.createToken(name as string, {
        label: label as string | undefined,
        expiresAt: expires_at as string | undefined,
      });
      request.log.info({ user: token.user, token_id: token.id }, 'token issued');
      return reply.code(201).send(token);
    } catch (err) {
      // Core names the option `expiresAt`; here it is the body's `expires_at`.
      if (!(err instanceof ValidationError)) throw err;
      throw new ValidationError(
        err.issues.map((i) => (i.field === 'expiresAt' ? { ...i, field: 'expires_at' } : i)),
      );
    }
  });
  app.get('/tokens', async (request) => {
    const { user } = parametersOf(request, ['user']);
    return messenger.listTokens(user);
  });
  app.post('/tokens/revoke', async (request) => {
    const { id } = fieldsOf(request.body, ['id']);
    const token = await messenger.revokeToken(id as string);
    request.log.info({ user: token.user, token_id: token.id }, 'token revoked');
    return token;
  });

  // Made where nobody else can reach it, then moved into place (replacing a stale socket).
  const dir = await mkdtemp(join(dirname(target), '.c-'));
  let ino: number;
  try {
    const made = join(dir, 's');
    await app.listen({ path: made });
    await chmod(made, 0o600);
    await rename(made, target);
    ino = (await lstat(target)).ino;
  } catch (err) {
    await app.close();
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  log.info({ path: target }, 'control channel listening');

  let closing: Promise<void> | undefined;
  return {
    path: target,
    close: () => {
      closing ??= (async () => {
        await app.close();
        // Only our own socket: never one that replaced it meanwhile.
        const now = await lstat(target).catch(() => undefined);
        if (now?.isSocket() && now.ino === ino) await unlink(target).catch(() => {});
      })();
      return closing;
    },
  };
}

/** A JSON object body with only `names` in it; anything else is a `ValidationError`. */
function fieldsOf(body: unknown, names: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError([
      {
        field: 'body',
        message: `must be a JSON object with ${names.join(', ')} (Content-Type: application/json)`,
      },
    ]);
  }
  const record = body as Record<string, unknown>;
  refuseUnknown(Object.keys(record), names);
  return record;
}

/** The query's parameters, each at most once, only `names`. */
function parametersOf(request: FastifyRequest, names: readonly string[]): Record<string, string> {
  const query = queryOf(request);
  refuseUnknown(Object.keys(query), names);
  const issues: ValidationIssue[] = [];
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) issues.push({ field: name, message: 'may be given only once' });
    else values[name] = value;
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return values;
}

function refuseUnknown(given: readonly string[], names: readonly string[]): void {
  const unknown = given.filter((k) => !names.includes(k));
  if (unknown.length === 0) return;
  const expected = names.length > 0 ? `expected only ${names.join(', ')}` : 'expected none';
  throw new ValidationError(unknown.map((field) => ({ field, message: `unknown; ${expected}` })));
}

/**
 * Refuses to take `path` over from a live control channel, or when it is not a socket. A
 * socket that refuses connections was left by a process that died: it may be replaced.
 */
async function refuseLive(path: string): Promise<void> {
  const found = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (found === undefined) return;
  if (!found.isSocket()) {
    throw new Error(
      `${path} exists and is not a socket: move it away to serve the control channel`,
    );
  }
  if (await answers(path)) {
    throw new Error(`another process serves the control channel at ${path}`);
  }
}

/** Whether something accepts connections on the socket `path` (within a second). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(true);
    }, 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
}
