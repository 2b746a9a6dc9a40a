// Split roles behind the real nginx: a ROLE=write process and a ROLE=read process, nginx's write
// pool on the first and read pool on the second. Sends and marking read reach only the writer,
// lists and the stream only the reader — seen by each process and in nginx's access log — and
// nothing is refused (a misrouted request would get 421 wrong_role).
import { type Messenger, openMessenger } from '@messenger/core';
import { freePort, type RunningNginx, startLocalNginx, waitFor } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

describe('split write and read processes behind nginx', () => {
  let messenger: Messenger;
  let nginx: RunningNginx;
  const apps: FastifyInstance[] = [];
  const served: Record<'write' | 'read', string[]> = { write: [], read: [] };
  const address: Record<'write' | 'read', string> = { write: '', read: '' };

  beforeAll(async () => {
    // One database for both processes (in memory here; PostgreSQL and its replicas in production).
    messenger = await openMessenger();
    for (const role of ['write', 'read'] as const) {
      const app = await buildApp({
        messenger,
        auth: { mode: 'open' },
        role,
        closeMessenger: false,
      });
      app.addHook('onResponse', async (req) => {
        served[role].push(`${req.method} ${req.routeOptions.url}`);
      });
      const port = await freePort();
      await app.listen({ port, host: '127.0.0.1' });
      address[role] = `127.0.0.1:${port}`;
      apps.push(app);
    }
    nginx = await startLocalNginx({
      port: await freePort(),
      upstreams: [address.write],
      readUpstreams: [address.read],
    });
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    for (const app of apps) await app.close();
    await messenger?.close();
  });

  it('sends writes to the write pool and reads to the read pool', async () => {
    const call = async (method: 'GET' | 'POST', path: string, body?: object) => {
      const res = await request(`${nginx.url}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : null,
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    const sent = await call('POST', '/api/messages/send/', {
      sender: 'bob',
      recipient: 'alice',
      message_content: 'split',
    });
    expect(sent.status).toBe(201);
    const listed = await call('GET', '/api/messages/?recipient=alice');
    expect(listed.status).toBe(200);
    expect(listed.body).toContain('split');
    const id = (JSON.parse(sent.body) as { id: number }).id;
    expect((await call('POST', '/api/messages/read/', { ids: [id] })).status).toBe(200);
    // A plain GET of the stream: 426 from the reader (the writer would answer 421).
    expect((await call('GET', '/api/messages/stream?recipient=alice')).status).toBe(426);

    expect(served.write.sort()).toEqual(['POST /api/messages/read/', 'POST /api/messages/send/']);
    expect(served.read.sort()).toEqual(['GET /api/messages/', 'GET /api/messages/stream']);
    // nginx writes a line once its answer is sent: the last one may come a moment after it.
    const log = await waitFor('four access log lines', () => {
      const entries = nginx.accessLog();
      return entries.length >= 4 ? entries : undefined;
    });
    const byUri = new Map(log.map((e) => [e.uri.split('?')[0], e.upstream_addr]));
    expect(byUri.get('/api/messages/send/')).toBe(address.write);
    expect(byUri.get('/api/messages/read/')).toBe(address.write);
    expect(byUri.get('/api/messages/')).toBe(address.read);
    expect(byUri.get('/api/messages/stream')).toBe(address.read);
  });
});
