// Token mode on two `messenger-server` processes sharing one PostgreSQL: whichever replica a
// message is sent through and whichever holds a stream, a user's stream carries that user's
// mail only; revoking a token or disabling a user — from a third process — closes that user's
// streams on both replicas within 5 s and leaves the others open.
import { type Messenger, openMessenger } from '@messenger/core';
import { postgresUrl } from '@messenger/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTopology } from './helpers/topology.js';
import { type Watcher, watch } from './helpers/ws.js';

describe.skipIf(postgresUrl === undefined)('token mode on two replicas', () => {
  const { topology } = useTopology(2, { AUTH: 'token', RATE_LIMIT: 'off' });
  /** The operator, in this test process: a third process on the same database. */
  let operator: Messenger;
  const token: Record<string, { token: string; id: number }> = {};
  const replica = (i: number) => `http://${topology().address(i)}`;

  beforeAll(async () => {
    operator = await openMessenger({ databaseUrl: topology().schema.url });
    for (const name of ['alice', 'bob', 'carol']) {
      const { token: t } = await operator.addUser(name);
      token[name] = { token: t.token, id: t.id };
    }
  });
  afterAll(async () => {
    await operator?.close();
  });

  const as = (name: string) => ({ authorization: `Bearer ${token[name]?.token}` });
  const send = async (i: number, from: string, to: string, text: string) => {
    const r = await request(`${replica(i)}/api/messages/send/`, {
      method: 'POST',
      headers: { ...as(from), 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: to, message_content: text }),
    });
    expect(r.statusCode).toBe(201);
    return (await r.body.json()) as { id: number };
  };
  /** Streams of `name` on both replicas. */
  const streamsOf = async (name: string): Promise<Watcher[]> => {
    const ws = [0, 1].map((i) => watch(replica(i), '', { headers: as(name) }));
    await Promise.all(ws.map((w) => w.ready()));
    return ws;
  };

  it('delivers each message to its recipient’s streams on both replicas, and to nobody else’s', async () => {
    const alice = await streamsOf('alice');
    const bob = await streamsOf('bob');
    const sent = { alice: [] as number[], bob: [] as number[] };
    for (let i = 0; i < 6; i++) {
      const to = i % 2 === 0 ? 'alice' : 'bob';
      sent[to].push((await send(i % 2 === 0 ? 1 : 0, 'carol', to, `to ${to} #${i}`)).id);
    }
    for (const [name, ws] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      for (const w of ws) {
        await w.until(() => w.messages().length === 3, `${name}’s three messages`);
        expect(w.messages().map((m) => m.id)).toEqual(sent[name]);
        expect(w.messages().every((m) => m.recipient === name)).toBe(true);
      }
    }
    // A receipt of alice's reading reaches carol (the sender), not bob.
    const carol = await streamsOf('carol');
    const read = await request(`${replica(0)}/api/messages/read/`, {
      method: 'POST',
      headers: { ...as('alice'), 'content-type': 'application/json' },
      body: JSON.stringify({ ids: sent.alice }),
    });
    expect(read.statusCode).toBe(200);
    await read.body.dump();
    for (const w of carol) await w.until(() => w.events.some((e) => e.type === 'read'), 'receipt');
    for (const w of alice) await w.until(() => w.events.some((e) => e.type === 'read'), 'own read');
    for (const w of bob) expect(w.events.some((e) => e.type === 'read')).toBe(false);
    for (const w of [...alice, ...bob, ...carol]) w.ws.close();
  });

  it('closes a revoked token’s and a disabled user’s streams on both replicas within 5 s', async () => {
    const alice = await streamsOf('alice');
    const bob = await streamsOf('bob');
    const carol = await streamsOf('carol');

    let at = Date.now();
    await operator.revokeToken(token.alice?.id ?? 0);
    for (const w of alice) await w.until(() => w.closed() !== undefined, 'alice’s close', 5_000);
    expect(Date.now() - at).toBeLessThan(5_000);
    for (const w of alice) expect(w.closed()).toEqual({ code: 1008, reason: 'access revoked' });

    at = Date.now();
    await operator.disableUser('bob');
    for (const w of bob) await w.until(() => w.closed() !== undefined, 'bob’s close', 5_000);
    expect(Date.now() - at).toBeLessThan(5_000);
    for (const w of bob) expect(w.closed()).toEqual({ code: 1008, reason: 'access revoked' });

    // carol's streams were never touched, and still deliver.
    for (const w of carol) expect(w.closed()).toBeUndefined();
    const { token: other } = await operator.addUser('dave');
    const r = await request(`${replica(1)}/api/messages/send/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: 'carol', message_content: 'still here?' }),
    });
    expect(r.statusCode).toBe(201);
    await r.body.dump();
    for (const w of carol) await w.until(() => w.messages().length === 1, 'carol’s message');
    for (const i of [0, 1]) {
      const me = await request(`${replica(i)}/api/me`, { headers: as('alice') });
      expect(me.statusCode).toBe(401);
      await me.body.dump();
    }
    for (const w of carol) w.ws.close();
  });
});
