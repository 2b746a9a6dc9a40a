import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, openMessenger } from '@messenger/core';
import { backends, freePort } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { useApp } from './helpers/app.js';
import { rawHandshake, watch } from './helpers/ws.js';

describe('live stream on a database that cannot be reached', () => {
  let app: FastifyInstance;
  let base: string;
  let port: number;

  beforeAll(async () => {
    // Nothing listens on that port: opening is lazy, the first query fails.
    port = await freePort();
    const messenger = await openMessenger({
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/nowhere`,
      migrate: false,
    });
    app = await buildApp({ messenger, auth: { mode: 'open' } });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sends the same unavailable answer as HTTP, without where the database is, and closes with 1013', async () => {
    const w = await watch(base, 'recipient=alice');
    await w.until(() => w.closed() !== undefined, 'close');
    const http = await request(`${base}/api/messages/?recipient=alice`);
    expect(http.statusCode).toBe(503);
    const httpError = ((await http.body.json()) as { error: { code: string; message: string } })
      .error;
    expect(w.events).toEqual([
      {
        type: 'error',
        error: {
          code: 'unavailable',
          message: httpError.message,
          request_id: expect.any(String),
        },
      },
    ]);
    expect(JSON.stringify(w.events)).not.toMatch(new RegExp(`127\\.0\\.0\\.1|${port}|nowhere`));
    expect(w.closed()?.code).toBe(1013);
  });
});

describe.each(backends())('live stream over WebSocket on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' }, heartbeatMs: 200 });
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
    expect(await read.body.json()).toEqual({
      updated: 1,
      ids: [first.id],
      more: false,
      up_to: first.id,
    });
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
    for (const [q, field] of [
      ['', 'recipient'],
      ['recipient=', 'recipient'],
      ['recipient=a&nope=1', 'nope'],
      ['recipient=a&after=%%%', 'after'],
      // The same strict query decoding and ?-joined check as the listing.
      ['recipient=x?after=1', 'recipient'],
      ['recipient=%FF', 'recipient'],
      ['recipient=a&sender=b%zz', 'sender'],
    ]) {
      const r = await rawHandshake(base, `/api/messages/stream?${q}`);
      expect(r.head, q).toMatch(/^HTTP\/1\.1 400 /);
      const error = (JSON.parse(r.body) as { error: { code: string; fields: object } }).error;
      expect(error.code, q).toBe('validation_failed');
      expect(Object.keys(error.fields), q).toEqual([field]);
    }
    const w = await watch(base, 'recipient=a&after=987654321');
    await w.until(() => w.closed() !== undefined, 'close');
    // The error frame is the HTTP error body: code, message, fields, request id.
    expect(w.events).toEqual([
      {
        type: 'error',
        error: {
          code: 'validation_failed',
          message: 'after: no message with id 987654321',
          fields: { after: ['no message with id 987654321'] },
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      },
    ]);
    expect(w.closed()?.code).toBe(1008);
  });

  it('answers a plain GET of the stream with 426 and Upgrade: websocket, in the error shape', async () => {
    const r = await request(`${base}/api/messages/stream?recipient=alice`);
    expect(r.statusCode).toBe(426);
    expect(r.headers.upgrade).toBe('websocket');
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe(
      'upgrade_required',
    );
  });

  it('answers a plain GET of a stream it would refuse as it refuses the upgrade', async () => {
    // A WebSocket client cannot read why an upgrade was refused; a plain GET tells it.
    for (const q of ['', 'recipient=%FF']) {
      const r = await request(`${base}/api/messages/stream?${q}`);
      expect(r.statusCode, q).toBe(400);
      const error = ((await r.body.json()) as { error: { code: string; fields: object } }).error;
      expect(error.code, q).toBe('validation_failed');
      expect(Object.keys(error.fields), q).toEqual(['recipient']);
    }
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
