// ROLE=write|read: each process serves its role's mail routes and refuses the other's with 421
// wrong_role in the API's error shape, before authentication; probes and docs are served by all.
import { type Messenger, openMessenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, loadConfig } from '../src/index.js';

describe('server roles', () => {
  let messenger: Messenger;
  const apps: Record<'write' | 'read' | 'all', FastifyInstance> = {} as never;

  beforeAll(async () => {
    messenger = await openMessenger();
    for (const role of ['write', 'read', 'all'] as const)
      apps[role] = await buildApp({
        messenger,
        auth: { mode: role === 'all' ? 'open' : 'token' },
        role,
        closeMessenger: false,
      });
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app.close();
    await messenger?.close();
  });

  const send = { method: 'POST', url: '/api/messages/send/' } as const;
  const markRead = { method: 'POST', url: '/api/messages/read/' } as const;
  const list = { method: 'GET', url: '/api/messages/?recipient=alice' } as const;
  const stream = { method: 'GET', url: '/api/messages/stream?recipient=alice' } as const;

  it('refuses the other role’s routes with 421 wrong_role, naming the role, before authentication', async () => {
    for (const [role, refused] of [
      ['write', [list, stream]],
      ['read', [send, markRead]],
    ] as const) {
      for (const r of refused) {
        const res = await apps[role].inject({
          ...r,
          payload: r.method === 'POST' ? { recipient: 'alice', message_content: 'x' } : undefined,
        });
        expect(res.statusCode, `${role} ${r.method} ${r.url}`).toBe(421);
        const body = res.json() as { error: { code: string; message: string } };
        expect(body.error.code).toBe('wrong_role');
        expect(body.error.message).toContain(`ROLE=${role}`);
      }
    }
  });

  it('serves its own routes (here: to authentication), probes everywhere, and everything with all', async () => {
    expect((await apps.write.inject({ ...send, payload: {} })).statusCode).toBe(401);
    expect((await apps.read.inject(list)).statusCode).toBe(401);
    for (const app of Object.values(apps))
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const sent = await apps.all.inject({
      ...send,
      payload: { sender: 'bob', recipient: 'alice', message_content: 'hi' },
    });
    expect(sent.statusCode).toBe(201);
    expect((await apps.all.inject(list)).statusCode).toBe(200);
  });

  it('reads ROLE, write, read or all (the default), and names it when bad', () => {
    const load = (env: Record<string, string>) => loadConfig({ DATABASE_URL: '/d', ...env });
    expect(load({}).role).toBe('all');
    expect(load({ ROLE: 'Read' }).role).toBe('read');
    expect(load({ ROLE: 'write' }).role).toBe('write');
    expect(() => load({ ROLE: 'reader' })).toThrow(/^ROLE: must be write .*; got "reader"$/);
  });
});
