// Bounded load for the fault tests: every HTTP exchange is recorded with its timing, and a
// logical send is retried under one Idempotency-Key until it is acknowledged.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';

/** One HTTP exchange as the client saw it. */
export interface Attempt {
  readonly kind: 'send' | 'list' | 'ready';
  readonly method: string;
  readonly path: string;
  /** 0 when no response arrived (connection refused or reset, or the client's timeout). */
  readonly status: number;
  /** Milliseconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The client-side error when `status` is 0. */
  readonly error?: string;
  readonly key?: string;
  readonly content?: string;
}

/** Options of one exchange. */
export interface AttemptOptions {
  readonly kind: Attempt['kind'];
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Fail (status 0) when nothing has come back after this long (default 15 s). */
  readonly timeoutMs?: number;
  readonly dispatcher?: Dispatcher;
  readonly key?: string;
  readonly content?: string;
}

/** Makes one request to `base + path` and records it; never throws. */
export async function attempt(base: string, path: string, o: AttemptOptions): Promise<Attempt> {
  const start = Date.now();
  const method = o.method ?? 'GET';
  const common = {
    kind: o.kind,
    method,
    path,
    start,
    ...(o.key !== undefined && { key: o.key }),
    ...(o.content !== undefined && { content: o.content }),
  };
  const timeoutMs = o.timeoutMs ?? 15_000;
  try {
    const res = await request(`${base}${path}`, {
      method,
      headers: o.headers ?? {},
      ...(o.body !== undefined && { body: o.body }),
      ...(o.dispatcher && { dispatcher: o.dispatcher }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    return { ...common, status: res.statusCode, end: Date.now(), headers, body };
  } catch (err) {
    const e = err as Error & { code?: string };
    return {
      ...common,
      status: 0,
      end: Date.now(),
      headers: {},
      body: '',
      error: `${e.code ?? e.name}: ${e.message}`,
    };
  }
}

/** What became of one logical send. */
export interface SendOutcome {
  readonly key: string;
  readonly content: string;
  /** The 201 that acknowledged it, if one came before the deadline. */
  readonly acked?: Attempt;
  readonly attempts: readonly Attempt[];
}

/**
 * Sends one message; while `retry(attempt)` says so, sends it again with the same
 * Idempotency-Key after `delayMs`, until a 201 or `deadline` (epoch ms).
 */
export async function sendWithRetries(
  base: string,
  message: { sender: string; recipient: string; message_content: string },
  o: {
    readonly retry: (a: Attempt) => boolean;
    readonly deadline: number;
    readonly delayMs?: number;
    readonly dispatcher?: Dispatcher;
    readonly key?: string;
    readonly onAttempt?: (a: Attempt) => void;
  },
): Promise<SendOutcome> {
  const key = o.key ?? randomUUID();
  const body = JSON.stringify(message);
  const attempts: Attempt[] = [];
  for (;;) {
    const a = await attempt(base, '/api/messages/send/', {
      kind: 'send',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body,
      key,
      content: message.message_content,
      ...(o.dispatcher && { dispatcher: o.dispatcher }),
    });
    attempts.push(a);
    o.onAttempt?.(a);
    if (a.status === 201) return { key, content: message.message_content, acked: a, attempts };
    if (!o.retry(a) || Date.now() + (o.delayMs ?? 50) > o.deadline) {
      return { key, content: message.message_content, attempts };
    }
    await sleep(o.delayMs ?? 50);
  }
}

/** A line per attempt, for failure messages: `POST /api/… 503 12ms {"error":…}`. */
export function describeAttempts(attempts: readonly Attempt[], max = 20): string {
  return attempts
    .slice(0, max)
    .map(
      (a) =>
        `${a.method} ${a.path} ${a.status} ${a.end - a.start}ms ${a.error ?? a.body.slice(0, 200)}`,
    )
    .join('\n');
}

/** Driver or SQL text, addresses, credentials: none of it may reach a client. */
export const LEAKY_TEXT =
  /ECONN|EPIPE|ETIMEDOUT|password|SQL|syntax|select |insert |relation|127\.0\.0\.1|localhost|:\d{4,5}\b|terminat|pg_|postgres|kysely|\bat .*\.js/i;
