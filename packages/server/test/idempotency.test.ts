import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';

describe.each(backends())('Idempotency-Key on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' } });

  const send = (key: string | undefined, body: object) =>
    t.app.inject({
      method: 'POST',
      url: '/api/messages/send/',
      headers: key === undefined ? {} : { 'idempotency-key': key },
      payload: body,
    });
  const count = async (recipient: string) =>
    (await t.messenger.list({ recipient })).messages.length;

  it('stores once and replays the original status and body', async () => {
    const body = { sender: 'bob', recipient: 'idem-1', message_content: 'only once' };
    const first = await send('key-1', body);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The message changes afterwards; the replay is still the first answer.
    await t.messenger.markRead({ ids: [first.json<Message>().id] });
    const again = await send('key-1', { ...body, message_content: '  only once  ' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(await count('idem-1')).toBe(1);
  });

  it('refuses the same key with a different body (422) and a bad key (400)', async () => {
    const first = await send('key-2', { sender: 'bob', recipient: 'idem-2', message_content: 'a' });
    expect(first.statusCode).toBe(201);
    const other = await send('key-2', { sender: 'bob', recipient: 'idem-2', message_content: 'b' });
    expect(other.statusCode).toBe(422);
    expect(other.json<{ error: { code: string } }>().error.code).toBe('idempotency_key_reused');
    for (const bad of ['x'.repeat(256), 'has space', 'ünïcode']) {
      const r = await send(bad, { sender: 'bob', recipient: 'idem-2', message_content: 'c' });
      expect(r.statusCode, bad).toBe(400);
      expect(
        r.json<{ error: { fields: Record<string, string[]> } }>().error.fields.idempotency_key,
      ).toBeDefined();
    }
    expect(await count('idem-2')).toBe(1);
  });

  it('without a key, each send is a new message', async () => {
    const body = { sender: 'bob', recipient: 'idem-3', message_content: 'twice' };
    expect((await send(undefined, body)).statusCode).toBe(201);
    expect((await send(undefined, body)).statusCode).toBe(201);
    expect(await count('idem-3')).toBe(2);
  });

  it('many concurrent requests with one key store one message; the rest replay or get 409', async () => {
    const body = { sender: 'bob', recipient: 'idem-4', message_content: 'race' };
    const results = await Promise.all(Array.from({ length: 20 }, () => send('key-4', body)));
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const created = results.filter((r) => r.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.json<Message>().id)).size).toBe(1);
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json<{ error: { code: string } }>().error.code).toBe('conflict');
    }
    expect(await count('idem-4')).toBe(1);
  });

  it('prunes keys only after 24 hours', async () => {
    expect(await t.messenger.pruneIdempotencyKeys({ olderThanMs: 0 })).toBe(0);
    const replay = await send('key-1', {
      sender: 'bob',
      recipient: 'idem-1',
      message_content: 'only once',
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });
});
