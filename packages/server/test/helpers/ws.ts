// WebSocket clients of the live stream for the tests: one that records events (undici's
// WebSocket), and a handshake written by hand that reads the answer's head and body.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@messenger/core';
import { WebSocket } from 'undici';

/** An event of the stream, as the client receives it. */
export type Event =
  | { type: 'ready' }
  | { type: 'message'; message: Message; cursor: string }
  | { type: 'read'; sender: string; recipient: string; ids: number[]; read_at: string }
  | { type: 'reconnect'; after: string }
  | {
      type: 'error';
      error: {
        code: string;
        message: string;
        fields?: Record<string, string[]>;
        request_id?: string;
      };
    };

/** How a client authenticates: request headers and subprotocols offered. */
export interface WatchInit {
  readonly headers?: Record<string, string>;
  readonly protocols?: string[];
}

/** A WebSocket client that records events and closes. */
export function watch(base: string, query: string, init: WatchInit = {}) {
  const events: Event[] = [];
  let closed: { code: number; reason: string } | undefined;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/messages/stream?${query}`, {
    ...(init.headers && { headers: init.headers }),
    ...(init.protocols && { protocols: init.protocols }),
  });
  ws.addEventListener('message', (e) => events.push(JSON.parse(String(e.data)) as Event));
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  const until = async (cond: () => boolean, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
      await sleep(10);
    }
  };
  const messages = () => events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
  const ready = () => until(() => events.some((e) => e.type === 'ready'), 'ready');
  return { ws, events, messages, until, ready, closed: () => closed };
}

/** A recording client of {@link watch}. */
export type Watcher = ReturnType<typeof watch>;

/**
 * A WebSocket handshake by hand, over a raw TCP socket: reads the answer's head
 * (and body, when not upgraded). With `keepOpen` the socket stays open and never
 * answers anything, like a peer that went away without closing.
 */
export function rawHandshake(
  base: string,
  path: string,
  opts: { keepOpen?: boolean; headers?: Record<string, string> } = {},
) {
  const { hostname, port } = new URL(base);
  const extra = Object.entries(opts.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return new Promise<{ head: string; body: string; closed: Promise<void> }>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
    );
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.slice(0, end);
      if (head.startsWith('HTTP/1.1 101')) {
        if (!opts.keepOpen) socket.destroy();
        resolve({ head, body: '', closed });
        return;
      }
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      const body = data.slice(end + 4);
      if (Buffer.byteLength(body, 'latin1') >= length) {
        socket.destroy();
        resolve({ head, body, closed });
      }
    });
  });
}
