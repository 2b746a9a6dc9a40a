import { setTimeout as sleep } from 'node:timers/promises';
import {
  type StreamEvent,
  type StreamOptions,
  ValidationError,
  type ValidationIssue,
  validateStreamOptions,
} from '@messenger/core';
import { RemoteError } from '../errors.js';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

type Frame =
  | StreamEvent
  | { type: 'ready' }
  | { type: 'error'; error: { code: string; message: string } };

/**
 * Follows `/api/messages/stream` over a WebSocket (undici) until `signal` aborts.
 * When the connection drops it reconnects with backoff and resumes with
 * `after=<last cursor>`, so nothing is missed or shown twice.
 */
export async function watchStream(
  baseUrl: string,
  options: StreamOptions,
  onEvent: (event: StreamEvent) => void,
  signal: AbortSignal,
  userAgent: string,
  token?: string,
): Promise<void> {
  // The server would refuse bad options before upgrading, which looks like a dropped connection.
  const checked = validateStreamOptions(options);
  if (!checked.ok) throw new ValidationError(checked.issues);
  // `default`: undici is CommonJS, and the bundled `msg` (esbuild) exposes only that.
  const { WebSocket } = (await import('undici')).default;
  let after = options.after === undefined ? undefined : String(options.after);
  let delay = RECONNECT_MIN_MS;
  while (!signal.aborted) {
    const url = new URL('api/messages/stream', baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('recipient', options.recipient);
    if (options.sender !== undefined) url.searchParams.set('sender', options.sender);
    if (after !== undefined) url.searchParams.set('after', after);
    const outcome = await new Promise<{ fatal?: Error; ready: boolean }>((resolve) => {
      let ready = false;
      const headers: Record<string, string> = { 'user-agent': userAgent };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      const ws = new WebSocket(url, { headers } as never);
      const stop = () => ws.close(1000, 'bye');
      signal.addEventListener('abort', stop, { once: true });
      ws.addEventListener('message', (e) => {
        let frame: Frame;
        try {
          frame = JSON.parse(String(e.data)) as Frame;
        } catch {
          return;
        }
        if (frame.type === 'ready') {
          ready = true;
          return;
        }
        if (frame.type === 'error') {
          const { code, message } = frame.error;
          resolve({
            ready,
            fatal:
              code === 'validation_failed'
                ? new ValidationError(issuesOf(message))
                : new RemoteError(code, message, 0),
          });
          return;
        }
        if (frame.type === 'message') after = frame.cursor;
        onEvent(frame);
      });
      ws.addEventListener('close', () => {
        signal.removeEventListener('abort', stop);
        resolve({ ready });
      });
      ws.addEventListener('error', () => {
        // A close event follows; the loop reconnects.
      });
    });
    if (outcome.fatal) throw outcome.fatal;
    if (signal.aborted) return;
    if (outcome.ready) delay = RECONNECT_MIN_MS;
    else if (delay >= RECONNECT_MAX_MS && !outcome.ready) {
      // Still unreachable after the longest wait: keep trying, but say so once per round.
      process.stderr.write(`msg: stream at ${baseUrl} unreachable; retrying\n`);
    }
    await sleep(delay + Math.random() * delay, undefined, { signal }).catch(() => {});
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** `field: rule; field: rule` back into issues. */
function issuesOf(message: string): ValidationIssue[] {
  return message.split('; ').map((part) => {
    const i = part.indexOf(': ');
    return i < 0
      ? { field: 'query', message: part }
      : { field: part.slice(0, i), message: part.slice(i + 2) };
  });
}
