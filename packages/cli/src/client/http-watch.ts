import { setTimeout as sleep } from 'node:timers/promises';
import {
  type StreamEvent,
  UnavailableError,
  ValidationError,
  validateStreamOptions,
} from '@messenger/core';
import { terminalSafe } from '../terminal-safe.js';
import { type ApiError, errorFromApiError, errorFromReply, readApiError } from './http-errors.js';
import { parseRetryAfter } from './http-retry.js';
import type { WatchRequest } from './messenger-client.js';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/** How one connection to the stream ended. */
interface Outcome {
  /** The server said `ready`: the subscription was live. */
  readonly ready: boolean;
  /** The server's error frame, if it sent one before closing. */
  readonly error?: ApiError;
}

/**
 * Follows `/api/messages/stream` over a WebSocket (undici) until `signal` aborts.
 * When the connection drops, or the server says it is unavailable (an `unavailable`
 * error frame, close code 1013), it reconnects with backoff and resumes with
 * `after=<last cursor>`, so nothing is missed or shown twice. Any other error frame
 * (a validation error above all) ends the watch with that error, and so does a refused
 * upgrade (no token, another user's stream, …: see {@link whyRefused}). Without
 * `recipient` the server follows the caller (token mode).
 */
export async function watchStream(
  baseUrl: string,
  options: WatchRequest,
  onEvent: (event: StreamEvent) => void,
  signal: AbortSignal,
  userAgent: string,
  token?: string,
): Promise<void> {
  // The server would refuse bad options before upgrading, which looks like a dropped connection.
  // Without a recipient the server takes the caller; the other options are checked alike.
  const checked = validateStreamOptions({ ...options, recipient: options.recipient ?? 'caller' });
  if (!checked.ok) throw new ValidationError(checked.issues);
  // `default`: undici is CommonJS, and the bundled `msg` (esbuild) exposes only that.
  const undici = (await import('undici')).default;
  const { WebSocket } = undici;
  const headers: Record<string, string> = { 'user-agent': userAgent };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let after = options.after === undefined ? undefined : String(options.after);
  let delay = RECONNECT_MIN_MS;
  /** The last unavailable error said, so that a long outage is said once. */
  let said: string | undefined;
  while (!signal.aborted) {
    const url = new URL('api/messages/stream', baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (options.recipient !== undefined) url.searchParams.set('recipient', options.recipient);
    if (options.sender !== undefined) url.searchParams.set('sender', options.sender);
    if (after !== undefined) url.searchParams.set('after', after);
    const outcome = await new Promise<Outcome>((resolve) => {
      let ready = false;
      let error: ApiError | undefined;
      const ws = new WebSocket(url, { headers } as never);
      const stop = () => ws.close(1000, 'bye');
      signal.addEventListener('abort', stop, { once: true });
      ws.addEventListener('message', (e) => {
        let frame: unknown;
        try {
          frame = JSON.parse(String(e.data));
        } catch {
          return;
        }
        const type = (frame as { type?: unknown } | null)?.type;
        if (type === 'ready') {
          ready = true;
          said = undefined;
        } else if (type === 'reconnect') {
          // The server ends this stream (its lifetime, a shutdown) and says where to resume.
          const resume = (frame as { after?: unknown }).after;
          if (typeof resume === 'string' && resume !== '') after = resume;
        } else if (type === 'error') {
          error = readApiError(frame) ?? {
            code: 'bad_response',
            message: `the stream sent an error frame that is not the API's: ${String(e.data).slice(0, 200)}`,
            fields: undefined,
            requestId: undefined,
          };
        } else {
          const event = frame as StreamEvent;
          if (event.type === 'message') after = event.cursor;
          onEvent(event);
        }
      });
      // The error frame comes right before the close; the close decides.
      ws.addEventListener('close', () => {
        signal.removeEventListener('abort', stop);
        resolve({ ready, ...(error !== undefined && { error }) });
      });
      ws.addEventListener('error', () => {
        // A close event follows; the loop reconnects.
      });
    });
    if (signal.aborted) return;
    if (outcome.error !== undefined) {
      const err = await errorFromApiError(outcome.error, undefined);
      if (!(err instanceof UnavailableError)) throw err;
      const line = `msg: ${err.code}: ${err.message} (reconnecting)`;
      if (line !== said) process.stderr.write(`${line}\n`);
      said = line;
    }
    /** What the server asked us to wait (Retry-After of a 429 or 503), in ms. */
    let asked = 0;
    if (!outcome.ready && outcome.error === undefined) {
      // The upgrade failed: a refusal (401, 403, 400) ends the watch; anything else is retried,
      // no sooner than a busy server (429 too many streams, 503) asks.
      const refusal = await whyRefused(undici.request, url, headers);
      if (refusal instanceof Error) throw refusal;
      if (refusal !== undefined) {
        asked = refusal.retryAfterMs;
        const line = `msg: ${refusal.code}: ${refusal.message} (retrying)`;
        if (line !== said) process.stderr.write(`${line}\n`);
        said = line;
      }
    }
    if (outcome.ready) delay = RECONNECT_MIN_MS;
    else if (delay >= RECONNECT_MAX_MS && outcome.error === undefined) {
      // Still unreachable after the longest wait: keep trying, but say so once per round.
      process.stderr.write(`msg: stream at ${baseUrl} unreachable; retrying\n`);
    }
    const wait = Math.max(delay + Math.random() * delay, asked);
    await sleep(wait, undefined, { signal }).catch(() => {});
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** A server too busy for one more stream (429, 503): what it said, and how long to wait. */
interface Busy {
  readonly code: string;
  readonly message: string;
  readonly retryAfterMs: number;
}

/** Longest wait a busy server's `Retry-After` is honoured for. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Why the server refused to upgrade `url`, as the error the request path would throw; what a
 * busy server said (429, 503 with the API's body); or undefined when it did not refuse (it is
 * down, or would upgrade). A WebSocket
 * client never sees the answer to a refused upgrade, so the same request is made once more
 * without the upgrade headers: the server runs the same checks (authentication, whose
 * stream, parameters) and answers a refusal with the API's error body, and a request it
 * would have upgraded with `426 Upgrade Required`.
 */
async function whyRefused(
  request: typeof import('undici')['request'],
  url: URL,
  headers: Record<string, string>,
): Promise<Error | Busy | undefined> {
  const plain = new URL(url);
  plain.protocol = plain.protocol === 'wss:' ? 'https:' : 'http:';
  let status: number;
  let text: string;
  let responseHeaders: Record<string, string | string[] | undefined>;
  try {
    const res = await request(plain, {
      headers: { ...headers, accept: 'application/json' },
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    status = res.statusCode;
    responseHeaders = res.headers;
    text = await res.body.text();
  } catch {
    return undefined;
  }
  const one = (name: string) => {
    const v = responseHeaders[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (status === 429 || status === 503) {
    const said = readApiError(parseJson(text));
    if (said === undefined) return undefined;
    return {
      code: terminalSafe(said.code),
      message: terminalSafe(said.message).replace(/\s+/g, ' ').slice(0, 500),
      retryAfterMs: Math.min(parseRetryAfter(one('retry-after')) ?? 0, MAX_RETRY_AFTER_MS),
    };
  }
  if (status < 400 || status === 426 || status >= 500) return undefined;
  const err = await errorFromReply(
    {
      status,
      contentType: one('content-type'),
      location: one('location'),
      retryAfter: one('retry-after'),
      text,
    },
    `GET ${plain.href}`,
  );
  return err;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
