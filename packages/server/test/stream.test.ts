import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { request, WebSocket } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';

type Event =
  | { type: 'ready' }
  | { type: 'message'; message: Message; cursor: string }
  | { type: 'read'; sender: string; recipient: string; ids: number[]; read_at: string }
  | { type: 'error'; error: { code: string; message: string } };

/** A WebSocket client that records events and closes. */
async function watch(base: string, query: string) {
  const events: Event[] = [];
  let closed: { code: number; reason: string } | undefined;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/messages/stream?${query}`);
  ws.addEventListener('message', (e) => events.push(JSON.parse(String(e.data)) as Event));
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  const until = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
      await sleep(10);
    }
  };
  const messages = () => events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
  return { ws, events, messages, until, closed: () => closed };
}

/**
 * A WebSocket handshake by hand, over a raw TCP socket: reads the answer's head
 * (and body, when not upgraded). With `keepOpen` the socket stays open and never
 * answers anything, like a peer that went away without closing.
 */
function rawHandshake(base: string, path: string, opts: { keepOpen?: boolean } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<{ head: string; body: string; closed: Promise<void> }>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
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

describe.each(backends())('live stream over WebSocket on $name', (backend) => {
  const t = useApp(backend, { heartbeatMs: 200 });
  let base: string;

  beforeAll(async () => {
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const send = async (sender: string, recipient: string, message_content: string) => {
    const r = await request(`${base}/api/messages/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender, recipient, message_content }),
    });
    expect(r.statusCode).toBe(201);
    return (await r.body.json()) as Message;
  };

  it('pushes new messages, resumes after an id, and carries read receipts', async () => {
    const w = await watch(base, 'recipient=Alice');
    await w.until(() => w.events.some((e) => e.type === 'ready'), 'ready');
    const first = await send('bob', 'alice', 'one');
    await send('bob', 'alice', 'two');
    await send('bob', 'carol', 'not for alice');
    await w.until(() => w.messages().length === 2, 'two messages');
    expect(w.messages().map((m) => m.message_content)).toEqual(['one', 'two']);
    w.ws.close();

    const resumed = await watch(base, `recipient=alice&after=${first.id}`);
    await resumed.until(() => resumed.messages().length === 1, 'catch-up');
    expect(resumed.messages()[0]?.message_content).toBe('two');

    const bob = await watch(base, 'recipient=bob');
    await bob.until(() => bob.events.some((e) => e.type === 'ready'), 'bob ready');
    const read = await request(`${base}/api/messages/read/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: 'alice', up_to: first.id }),
    });
    expect(read.statusCode).toBe(200);
    expect(await read.body.json()).toEqual({ updated: 1, ids: [first.id] });
    await bob.until(() => bob.events.some((e) => e.type === 'read'), 'receipt');
    expect(bob.events.find((e) => e.type === 'read')).toMatchObject({
      sender: 'bob',
      recipient: 'alice',
      ids: [first.id],
    });
    resumed.ws.close();
    bob.ws.close();
  });

  it('answers bad stream requests with 400 before upgrading, and unknown ids with an error event', async () => {
    for (const q of ['', 'recipient=', 'recipient=a&nope=1', 'recipient=a&after=%%%']) {
      const r = await rawHandshake(base, `/api/messages/stream?${q}`);
      expect(r.head, q).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.body, q).toContain('"code":"validation_failed"');
    }
    const w = await watch(base, 'recipient=a&after=987654321');
    await w.until(() => w.closed() !== undefined, 'close');
    expect(w.events[0]).toMatchObject({
      type: 'error',
      error: { code: 'validation_failed', message: 'after: no message with id 987654321' },
    });
    expect(w.closed()?.code).toBe(1008);
  });

  it('closes a client that stops answering pings, keeps one that answers', async () => {
    const live = await watch(base, 'recipient=awake');
    const dead = await rawHandshake(base, '/api/messages/stream?recipient=sleepy', {
      keepOpen: true,
    });
    expect(dead.head).toMatch(/^HTTP\/1\.1 101 /);
    const started = Date.now();
    await dead.closed;
    // Heartbeat is 200 ms: the silent peer is dropped after two missed rounds, not at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await sleep(300);
    expect(live.closed()).toBeUndefined();
    live.ws.close();
  });
});
