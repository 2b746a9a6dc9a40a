import { request } from 'node:http';
import type { IssuedToken, NewUser, TokenInfo, User } from '@messenger/core';
import { errorFromReply, parseJson } from './http-errors.js';

/** The name of the control socket `msg serve` listens on, in the embedded database's directory. */
export const CONTROL_SOCKET = 'control.sock';

/** Nothing listens on the socket (no file, or a file left by a server that is gone). */
const NOT_SERVED = new Set(['ENOENT', 'ECONNREFUSED']);

/**
 * The operator operations of a running `msg serve`, reached through its control socket: the
 * embedded database belongs to one process, so while the server holds it, `msg users …` and
 * `msg tokens …` ask the server to do the work. HTTP/1.1 over the Unix socket (mode 0600: only
 * the user running the server gets in), JSON bodies, the API's error shape mapped back to
 * core's errors by the one mapping of the HTTP transport.
 *
 * Each method answers `undefined` when no server listens there (no socket file, or one left
 * behind by a server that died): the caller then opens the database itself. Once connected,
 * a failure is an error, never a fallback: the server may have done the work.
 */
export class ControlClient {
  readonly #socketPath: string;
  readonly #timeoutMs: number;

  constructor(socketPath: string, timeoutMs: number) {
    this.#socketPath = socketPath;
    this.#timeoutMs = timeoutMs;
  }

  addUser(name: string): Promise<NewUser | undefined> {
    return this.#call('POST', '/users', { name });
  }

  listUsers(): Promise<User[] | undefined> {
    return this.#call('GET', '/users');
  }

  disableUser(name: string): Promise<User | undefined> {
    return this.#call('POST', '/users/disable', { name });
  }

  createToken(
    name: string,
    options: { readonly label: string | null; readonly expiresAt: string | null },
  ): Promise<IssuedToken | undefined> {
    return this.#call('POST', '/tokens', {
      name,
      ...(options.label !== null && { label: options.label }),
      ...(options.expiresAt !== null && { expires_at: options.expiresAt }),
    });
  }

  listTokens(name?: string): Promise<TokenInfo[] | undefined> {
    return this.#call(
      'GET',
      name === undefined ? '/tokens' : `/tokens?${new URLSearchParams({ user: name })}`,
    );
  }

  revokeToken(id: string): Promise<TokenInfo | undefined> {
    return this.#call('POST', '/tokens/revoke', { id: Number(id) });
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | undefined> {
    const where = `${method} ${path} on ${this.#socketPath}`;
    const reply = await this.#send(method, path, body);
    if (reply === undefined) return undefined;
    if (reply.status >= 200 && reply.status < 300) {
      const data = parseJson(reply.text);
      if (typeof data === 'object' && data !== null) return data as T;
    }
    throw await errorFromReply(reply, where);
  }

  #send(
    method: string,
    path: string,
    body: unknown,
  ): Promise<
    | { status: number; contentType: string | undefined; location: undefined; text: string }
    | undefined
  > {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let connected = false;
      const req = request(
        {
          socketPath: this.#socketPath,
          path,
          method,
          agent: false,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined && {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
            }),
          },
          timeout: this.#timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: res.headers['content-type'],
              location: undefined,
              text,
            }),
          );
          res.on('error', (err) => fail(err));
        },
      );
      const fail = async (err: Error) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (!connected && code !== undefined && NOT_SERVED.has(code)) {
          resolve(undefined);
          return;
        }
        const { UnavailableError } = await import('@messenger/core');
        reject(
          new UnavailableError(
            `the control socket of msg serve (${this.#socketPath}) did not answer: ${err.message}`,
            { cause: err },
          ),
        );
      };
      req.on('socket', (socket) => {
        socket.once('connect', () => {
          connected = true;
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => void fail(err));
      req.end(payload);
    });
  }
}
