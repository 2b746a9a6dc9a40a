import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  IssuedToken,
  ListOptions,
  MarkReadOptions,
  MarkReadResult,
  Message,
  MessagePage,
  MigrationReport,
  NewUser,
  StreamEvent,
  TokenInfo,
  User,
} from '@messenger/core';
import type { ApiSettings } from '../config.js';
import { RemoteError, UsageError } from '../errors.js';
import type { PositionStore } from './create-client.js';
import {
  errorFromFailure,
  errorFromReply,
  isRecord,
  parseJson,
  type TransportFailure,
} from './http-errors.js';
import {
  backoffDelay,
  mayRetryFailure,
  mayRetryStatus,
  parseRetryAfter,
  RETRY_AFTER_CAP_MS,
} from './http-retry.js';
import type {
  Identity,
  MessengerClient,
  SendRequest,
  TokenSummary,
  WatchRequest,
} from './messenger-client.js';
import { Agent, request } from './undici-http.js';

/** Settings of the HTTP transport. */
export interface HttpClientOptions extends ApiSettings {
  /** Sent as `User-Agent`, e.g. `msg/0.1.0`. */
  readonly userAgent: string;
  /** Sent as `Authorization: Bearer <token>` with every call. */
  readonly token?: string | undefined;
  /** Where the last write's `Messenger-Position` is kept; sent with every read. */
  readonly positions?: PositionStore | undefined;
}

/**
 * The query parameters of `GET /api/messages/`, in the order they are sent. A record
 * over every key of `ListOptions`, so that a new listing option fails to compile
 * here until it is passed on.
 */
const LIST_PARAMETERS = Object.keys({
  sender: true,
  recipient: true,
  is_read: true,
  since: true,
  until: true,
  limit: true,
  cursor: true,
  with: true,
  conversation: true,
  q: true,
  order: true,
} satisfies Record<keyof ListOptions, true>) as (keyof ListOptions)[];

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

type Attempt = { readonly reply: Reply } | { readonly failure: TransportFailure };

/**
 * Talks to a messenger server over its HTTP API with undici (one keep-alive connection pool;
 * `watch` uses undici's WebSocket). Validation happens on the server; its errors come back as
 * the errors the direct transport throws. Reads are retried on network failures and
 * 502/503/504, a send only when the connection was refused; every call, retries included,
 * ends within `requestTimeoutMs`.
 */
export class HttpClient implements MessengerClient {
  readonly #options: HttpClientOptions;
  #agent: Agent | undefined;

  constructor(options: HttpClientOptions) {
    this.#options = options;
  }

  async send(request: SendRequest): Promise<Message> {
    const body = JSON.stringify({
      sender: request.sender,
      recipient: request.recipient,
      message_content: request.message_content,
    });
    // The key makes this POST safe to repeat: retries reuse it and the server stores one message.
    const key = request.idempotencyKey ?? randomUUID();
    const { reply, where } = await this.#call('POST', 'api/messages/send/', body, key);
    const message = toMessage(parseJson(reply.text));
    if (message === undefined) throw badResponse(reply, where, 'expected the stored message');
    return message;
  }

  async list(options: ListOptions): Promise<MessagePage> {
    const query = new URLSearchParams();
    for (const name of LIST_PARAMETERS) {
      const value = options[name];
      if (value === undefined || value === null || value === '') continue;
      query.set(name, value instanceof Date ? value.toISOString() : String(value));
    }
    const search = query.toString() === '' ? '' : `?${query}`;
    const { reply, where } = await this.#call('GET', `api/messages/${search}`);
    const data = parseJson(reply.text);
    const messages = Array.isArray(data) ? data.map(toMessage) : [undefined];
    if (!messages.every((m) => m !== undefined)) {
      throw badResponse(reply, where, 'expected an array of messages');
    }
    return { messages, nextCursor: nextCursorOf(reply.headers) };
  }

  async markRead(options: MarkReadOptions): Promise<MarkReadResult> {
    const body = JSON.stringify(options);
    // Marking read is idempotent by nature: safe to retry like a read.
    const { reply, where } = await this.#call('POST', 'api/messages/read/', body, 'idempotent');
    const data = parseJson(reply.text) as Partial<MarkReadResult> | undefined;
    if (typeof data?.updated !== 'number' || !Array.isArray(data.ids)) {
      throw badResponse(reply, where, 'expected {"updated", "ids"}');
    }
    // A server from before batches marks all at once and says nothing of `more`.
    return {
      updated: data.updated,
      ids: data.ids,
      more: data.more === true,
      ...(typeof data.up_to === 'number' && { up_to: data.up_to }),
    };
  }

  async watch(
    options: WatchRequest,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { watchStream } = await import('./http-watch.js');
    const { baseUrl, userAgent, token } = this.#options;
    await watchStream(baseUrl, options, onEvent, signal, userAgent, token);
  }

  /** `GET /api/me`: the token's user (token mode), or that the server is in open mode. */
  async whoami(): Promise<Identity> {
    const { reply, where } = await this.#call('GET', 'api/me').catch(async (err: unknown) => {
      const { NotFoundError } = await import('@messenger/core');
      if (!(err instanceof NotFoundError)) throw err;
      // A server from before accounts: every command works there without a token.
      throw new RemoteError(
        'not_found',
        `${this.#options.baseUrl} has no /api/me: it is a messenger server without accounts (no token needed there), or not a messenger server`,
        404,
      );
    });
    const data = parseJson(reply.text);
    if (isRecord(data) && data.name === null && data.auth === 'open') {
      return { auth: 'open', name: null };
    }
    const token = isRecord(data) ? toTokenSummary(data.token) : undefined;
    if (!isRecord(data) || typeof data.name !== 'string' || token === undefined) {
      throw badResponse(
        reply,
        where,
        'expected {"name", "token"} or {"name": null, "auth": "open"}',
      );
    }
    return { auth: 'token', name: data.name, token };
  }

  async migrate(): Promise<MigrationReport> {
    throw directOnly('db migrate');
  }

  async addUser(): Promise<NewUser> {
    throw directOnly('users add');
  }

  async listUsers(): Promise<User[]> {
    throw directOnly('users list');
  }

  async disableUser(): Promise<User> {
    throw directOnly('users disable');
  }

  async createToken(): Promise<IssuedToken> {
    throw directOnly('tokens create');
  }

  async listTokens(): Promise<TokenInfo[]> {
    throw directOnly('tokens list');
  }

  async revokeToken(): Promise<TokenInfo> {
    throw directOnly('tokens revoke');
  }

  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.destroy();
  }

  /**
   * Makes one call, retrying where safe, and returns a 2xx answer; anything else is
   * thrown as the matching error.
   */
  async #call(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    /** An Idempotency-Key (or `idempotent` for a request safe by nature): retried like a read. */
    idempotency?: string,
  ): Promise<{ reply: Reply; where: string }> {
    const agent = this.#connections();
    const { baseUrl, requestTimeoutMs, retries } = this.#options;
    const url = new URL(path, baseUrl);
    const where = `${method} ${url.href}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#options.userAgent,
      // One id for every attempt, so the server's logs show the retries of one call.
      'x-request-id': randomUUID(),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    if (idempotency !== undefined && idempotency !== 'idempotent')
      headers['idempotency-key'] = idempotency;
    const position = method === 'GET' ? this.#options.positions?.get() : undefined;
    if (position !== undefined) headers['messenger-position'] = position;
    const policy = idempotency === undefined ? method : 'GET';
    const deadline =
      requestTimeoutMs > 0 ? Date.now() + requestTimeoutMs : Number.POSITIVE_INFINITY;

    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(agent, url, { method, headers, body }, deadline);
      let retry: boolean;
      let wait = backoffDelay(attempt);
      if ('reply' in outcome) {
        const { reply } = outcome;
        if (reply.status >= 200 && reply.status < 300) {
          const written =
            method === 'POST' ? header(reply.headers, 'messenger-position') : undefined;
          if (written !== undefined) this.#options.positions?.set(written);
          return { reply, where };
        }
        // 409: the first attempt with this key is still in flight; its answer is replayed soon.
        retry =
          mayRetryStatus(policy, reply.status) ||
          (idempotency !== undefined && idempotency !== 'idempotent' && reply.status === 409);
        const retryAfter = parseRetryAfter(header(reply.headers, 'retry-after'));
        if (retryAfter !== undefined) {
          retry &&= retryAfter <= RETRY_AFTER_CAP_MS;
          wait = Math.max(wait, retryAfter);
        }
      } else {
        retry = !outcome.failure.timedOut && mayRetryFailure(policy, outcome.failure.code);
      }
      if (!retry || attempt > retries || Date.now() + wait >= deadline) {
        throw 'reply' in outcome
          ? await errorFromReply(
              {
                status: outcome.reply.status,
                contentType: header(outcome.reply.headers, 'content-type'),
                location: header(outcome.reply.headers, 'location'),
                retryAfter: header(outcome.reply.headers, 'retry-after'),
                text: outcome.reply.text,
              },
              where,
            )
          : await errorFromFailure(outcome.failure, baseUrl, this.#options, attempt);
      }
      await sleep(wait);
    }
  }

  async #attempt(
    agent: Agent,
    url: URL,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body: string | undefined },
    deadline: number,
  ): Promise<Attempt> {
    // Our own timer: undici's timeouts are coarse (about a second) and per phase.
    const controller = new AbortController();
    const remaining = deadline - Date.now();
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => controller.abort(), Math.max(0, remaining))
      : undefined;
    try {
      const res = await request(agent, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers: init.headers,
        body: init.body ?? null,
        signal: controller.signal,
      });
      const text = await res.body.text();
      return { reply: { status: res.statusCode, headers: res.headers, text } };
    } catch (err) {
      const code = errorCode(err);
      return {
        failure: {
          code,
          message: err instanceof Error ? err.message : String(err),
          timedOut:
            controller.signal.aborted ||
            code === 'UND_ERR_HEADERS_TIMEOUT' ||
            code === 'UND_ERR_BODY_TIMEOUT',
        },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The connection pool (kept alive between calls), made on first use. */
  #connections(): Agent {
    const { connectTimeoutMs, requestTimeoutMs } = this.#options;
    this.#agent ??= new Agent({
      connect: { timeout: connectTimeoutMs },
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });
    return this.#agent;
  }
}

/** The error code of a Node or undici error, looking into `cause` and `AggregateError`s. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return errorCode(e.cause);
}

function header(headers: Reply['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Next-Cursor`, else the `cursor` of the `Link: <…>; rel="next"` URL, else `null`. */
function nextCursorOf(headers: Reply['headers']): string | null {
  const direct = header(headers, 'x-next-cursor');
  if (direct !== undefined && direct !== '') return direct;
  const link = header(headers, 'link');
  const next = link && /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link)?.[1];
  if (!next) return null;
  try {
    return new URL(next, 'http://x/').searchParams.get('cursor');
  } catch {
    return null;
  }
}

/** A message of the API, with its fields in the order the direct transport prints them. */
function toMessage(v: unknown): Message | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<keyof Message, unknown>;
  if (
    typeof m.id !== 'number' ||
    typeof m.sender !== 'string' ||
    typeof m.recipient !== 'string' ||
    typeof m.message_content !== 'string' ||
    typeof m.sent_datetime !== 'string' ||
    typeof m.is_read !== 'boolean' ||
    (m.read_at !== null && typeof m.read_at !== 'string') ||
    (m.highlight !== undefined && typeof m.highlight !== 'string')
  ) {
    return undefined;
  }
  return {
    id: m.id,
    sender: m.sender,
    recipient: m.recipient,
    message_content: m.message_content,
    sent_datetime: m.sent_datetime,
    is_read: m.is_read,
    read_at: m.read_at,
    ...(typeof m.highlight === 'string' && { highlight: m.highlight }),
  };
}

/**
 * The error of an operation that needs the database itself (migrations, accounts): the API
 * does not offer it, by design — the database's credentials are the authority for it.
 */
function directOnly(command: string): UsageError {
  return new UsageError(
    `${command} needs direct access to the database: run it with --db <url> (or DATABASE_URL), not over the HTTP API (--api / MSG_API_URL)`,
  );
}

function toTokenSummary(v: unknown): TokenSummary | undefined {
  if (
    !isRecord(v) ||
    typeof v.id !== 'number' ||
    (v.label !== null && typeof v.label !== 'string') ||
    typeof v.created_at !== 'string' ||
    (v.expires_at !== null && typeof v.expires_at !== 'string')
  ) {
    return undefined;
  }
  return { id: v.id, label: v.label, created_at: v.created_at, expires_at: v.expires_at };
}

function badResponse(reply: Reply, where: string, expected: string): RemoteError {
  return new RemoteError(
    'bad_response',
    `unexpected answer to ${where}: HTTP ${reply.status}, ${expected} (is this a messenger API?)`,
    reply.status,
  );
}
