import { Writable } from 'node:stream';
import { openMessenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

// Nothing listens on port 1: every connection attempt is refused at once.
const DOWN_URL = 'postgres://postgres@127.0.0.1:1/none';

describe('a database that cannot be reached', () => {
  let app: FastifyInstance;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const messenger = await openMessenger({
      databaseUrl: DOWN_URL,
      postgres: { connectionTimeoutMs: 1000 },
    });
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    app = await buildApp({ messenger, auth: { mode: 'open' }, logger: { level: 'warn', stream } });
  });

  afterAll(async () => {
    await app?.close();
  });

  /** The one error shape, code `unavailable`, with nothing of the driver or the address in it. */
  function expectUnavailable(res: Awaited<ReturnType<FastifyInstance['inject']>>) {
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    const body = res.json();
    expect(body).toEqual({
      error: { code: 'unavailable', message: expect.any(String), request_id: expect.any(String) },
    });
    expect(body.error.message).toMatch(/unavailable/);
    for (const secret of ['127.0.0.1', ':1/', 'ECONNREFUSED', 'postgres', 'none']) {
      expect(res.body).not.toContain(secret);
    }
  }

  it('answers /readyz with 503 unavailable and Retry-After', async () => {
    const started = Date.now();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expectUnavailable(res);
    // Refused, not timed out: a down database gives a fast answer.
    expect(Date.now() - started).toBeLessThan(5000);
    // What the client is not told goes to the log, under the request id, for the operator.
    const id = res.json().error.request_id;
    const logged = logs.find((l) => l.reqId === id);
    expect(logged).toMatchObject({ level: 40 });
    expect(JSON.stringify(logged)).toContain('127.0.0.1:1');
  });

  it('still answers /healthz with 200: the process is up', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers a valid send with 503 unavailable', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/messages/send/',
      payload: { sender: 'bob', recipient: 'alice', message_content: 'hello' },
    });
    expectUnavailable(res);
  });

  it('answers a list with 503 unavailable', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/messages/?recipient=alice' });
    expectUnavailable(res);
  });

  it('still rejects an invalid send with 400 before touching the database', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/messages/send/',
      payload: { sender: 'bob', recipient: 'alice', message_content: 'x'.repeat(161) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });
});

describe('a working embedded database', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp({
      messenger: await openMessenger({ migrate: true }),
      auth: { mode: 'open' },
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers /readyz with 200 ready', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
    expect(res.headers['retry-after']).toBeUndefined();
  });
});
