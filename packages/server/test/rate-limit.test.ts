// The per-user rate limit of token mode, over HTTP: a burst, then 429 with Retry-After and
// nothing done, per user, and recovery once the bucket has refilled.
import { setTimeout as sleep } from 'node:timers/promises';
import { backends } from '@messenger/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';
import { rawHandshake } from './helpers/ws.js';

describe.each(backends())('per-user rate limit on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'token', rateLimit: { perSecond: 0.5, burst: 3 } } });
  const auth: Record<string, { authorization: string }> = {};
  let base: string;

  beforeAll(async () => {
    for (const name of ['alice', 'bob']) {
      auth[name] = { authorization: `Bearer ${(await t.messenger.addUser(name)).token.token}` };
    }
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const send = (who: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/messages/send/',
      headers: auth[who],
      payload: { recipient: 'bob', message_content: 'counted' },
    });
  const stored = async () => (await t.messenger.list({ recipient: 'bob' })).messages.length;

  it('answers 429 rate_limited with Retry-After past the burst, per user, writing nothing, and recovers', async () => {
    for (let i = 0; i < 3; i++) expect((await send('alice')).statusCode).toBe(201);
    const before = await stored();
    const limited = await send('alice');
    expect(limited.statusCode).toBe(429);
    // A token every 2 s: the next one is at most 2 s away (whole seconds, rounded up).
    const retryAfter = String(limited.headers['retry-after']);
    expect(['1', '2']).toContain(retryAfter);
    expect(limited.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: `too many requests: at most 30 a minute (3 at once) per user; retry in ${retryAfter} s`,
        request_id: limited.headers['x-request-id'],
      },
    });
    expect(await stored()).toBe(before);
    // Every route counts, the stream's upgrade too (refused before upgrading).
    expect((await t.app.inject({ url: '/api/me', headers: auth.alice })).statusCode).toBe(429);
    const ws = await rawHandshake(base, '/api/messages/stream', { headers: auth.alice });
    expect(ws.head).toMatch(/^HTTP\/1\.1 429 /);
    expect(ws.head.toLowerCase()).toMatch(/\r\nretry-after: [12]\r\n/);
    // Another user has a bucket of their own; probes are never limited.
    expect((await send('bob')).statusCode).toBe(201);
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);

    await sleep(Number(retryAfter) * 1000);
    expect((await send('alice')).statusCode).toBe(201);
    expect((await send('alice')).statusCode).toBe(429);
  });

  it('does not count requests that are not authenticated (nginx limits addresses)', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await t.app.inject({ url: '/api/me', headers: { authorization: 'Bearer nope' } });
      expect(r.statusCode).toBe(401);
    }
  });
});
