// Stream budgets: streams past each cap (per user, per address, per process) are refused before
// the upgrade in the API's error shape, concurrent bursts get exactly the cap, and a normal client
// keeps sending and listing meanwhile; a stream that reaches its lifetime ends with a cursor, and
// resuming from it misses and repeats nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';
import { type Event, rawHandshake, type Watcher, watch } from './helpers/ws.js';

interface ErrorJson {
  error: { code: string; message: string; request_id: string };
}

const LIMITS = { maxPerAddress: 4, maxPerUser: 3, maxTotal: 8, maxLifetimeMs: 0 };

describe.each(backends())('stream budgets on $name', (backend) => {
  const t = useApp(backend, {
    auth: { mode: 'token', rateLimit: 'off' },
    trustProxy: true,
    streams: LIMITS,
  });
  let base: string;
  const token: Record<string, string> = {};
  const burstUsers = Array.from({ length: 16 }, (_, i) => `burst${i}`);

  beforeAll(async () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', ...burstUsers]) {
      token[name] = (await t.messenger.addUser(name)).token.token;
    }
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const headers = (who: string, address: string) => ({
    authorization: `Bearer ${token[who]}`,
    'x-forwarded-for': address,
  });
  const open = async (who: string, address: string): Promise<Watcher> => {
    const w = watch(base, '', { headers: headers(who, address) });
    await w.ready();
    return w;
  };
  /** The answer to one more upgrade, which must be refused. */
  const refusal = async (who: string, address: string) => {
    const r = await rawHandshake(base, '/api/messages/stream', { headers: headers(who, address) });
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(r.head)?.[1]);
    const retryAfter = /\r\nretry-after: (\d+)/i.exec(r.head)?.[1];
    return { status, retryAfter, error: (JSON.parse(r.body) as ErrorJson).error };
  };
  const closeAll = async (ws: Watcher[]) => {
    for (const w of ws) w.ws.close();
    await Promise.all(ws.map((w) => w.until(() => w.closed() !== undefined, 'closed')));
  };
  /** A normal client: a send and a list, each answered 2xx. */
  const normalTraffic = async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const sent = await request(`${base}/api/messages/send/`, {
        method: 'POST',
        headers: { ...headers('frank', '10.9.9.9'), 'content-type': 'application/json' },
        body: JSON.stringify({ recipient: 'alice', message_content: `normal ${i}` }),
      });
      expect(sent.statusCode).toBe(201);
      await sent.body.dump();
      const listed = await request(`${base}/api/messages/?limit=5`, {
        headers: headers('frank', '10.9.9.9'),
      });
      expect(listed.statusCode).toBe(200);
      await listed.body.dump();
      times.push(performance.now() - started);
    }
    return times;
  };

  it('refuses a stream past the per-user, per-address and per-process caps, before the upgrade', async () => {
    // Per user: alice from three addresses, then a fourth anywhere.
    const alices = [
      await open('alice', '10.0.0.1'),
      await open('alice', '10.0.0.2'),
      await open('alice', '10.0.0.3'),
    ];
    const user = await refusal('alice', '10.0.0.4');
    expect(user).toMatchObject({
      status: 429,
      retryAfter: '5',
      error: {
        code: 'too_many_streams',
        message: expect.stringMatching(/for this user: at most 3/),
      },
    });

    // Per address: four streams of two users from one address, then a fifth user there.
    const shared = [
      await open('bob', '10.0.0.9'),
      await open('bob', '10.0.0.9'),
      await open('carol', '10.0.0.9'),
      await open('dave', '10.0.0.9'),
    ];
    const address = await refusal('erin', '10.0.0.9');
    expect(address).toMatchObject({
      status: 429,
      retryAfter: '5',
      error: {
        code: 'too_many_streams',
        message: expect.stringMatching(/from this address: at most 4/),
      },
    });

    // Per process: 7 open, one more from a fresh address and user fills it.
    const last = await open('erin', '10.0.0.20');
    const full = await refusal('frank', '10.0.0.21');
    expect(full).toMatchObject({
      status: 503,
      retryAfter: '5',
      error: { code: 'unavailable', message: expect.stringMatching(/maximum of 8 open streams/) },
    });
    // A plain GET learns the same (how a WebSocket client finds out why it was refused).
    const plain = await request(`${base}/api/messages/stream`, {
      headers: headers('frank', '10.0.0.21'),
    });
    expect(plain.statusCode).toBe(503);
    expect(((await plain.body.json()) as ErrorJson).error.code).toBe('unavailable');

    // Nothing of this touches the mail: a normal client sends and lists, and the streams deliver.
    await normalTraffic(5);
    for (const w of alices) await w.until(() => w.messages().length >= 5, 'five messages');

    // A closed stream gives its place back.
    await closeAll([alices[0] as Watcher]);
    // (The server counts until its side of the connection has closed: ask until it has.)
    let again: Watcher | undefined;
    for (let i = 0; i < 100 && again === undefined; i++) {
      const w = watch(base, '', { headers: headers('alice', '10.0.0.4') });
      await w.until(() => w.events.length > 0 || w.closed() !== undefined, 'ready or refused');
      if (w.events.some((e) => e.type === 'ready')) again = w;
      else await sleep(20);
    }
    if (again === undefined) throw new Error('the closed stream never gave its place back');
    await closeAll([...alices.slice(1), ...shared, last, again]);
  });

  it('gives a concurrent burst exactly the cap, while a normal client is served as usual', async () => {
    // The server lets go of the last test's streams as its side of each closes: give it a moment.
    await sleep(1000);
    const base0 = await normalTraffic(10);
    // Sixteen users at once from one address: four get in.
    const fromOne = burstUsers.map((u) => watch(base, '', { headers: headers(u, '10.1.0.1') }));
    // Sixteen at once from sixteen addresses (the same users, another stream each): the
    // process has room for four more.
    const fromMany = burstUsers.map((u, i) =>
      watch(base, '', { headers: headers(u, `10.2.0.${i}`) }),
    );
    const during = normalTraffic(10);
    const all = [...fromOne, ...fromMany];
    const settled = (w: Watcher) =>
      w.events.some((e: Event) => e.type === 'ready') || w.closed() !== undefined;
    await Promise.all(all.map((w) => w.until(() => settled(w), 'ready or refused', 20_000)));
    const readyCount = (ws: Watcher[]) =>
      ws.filter((w) => w.events.some((e) => e.type === 'ready') && w.closed() === undefined).length;
    expect(readyCount(fromOne)).toBe(4);
    expect(readyCount(fromMany)).toBe(4);
    const times = await during;
    // Generous: a loaded 2-core machine. The point is that nobody waits behind the streams.
    expect(Math.max(...times)).toBeLessThan(Math.max(2_000, 10 * Math.max(...base0)));
    await closeAll(all.filter((w) => w.closed() === undefined));
  }, 60_000);
});

describe.each(backends())('stream lifetime on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' }, streams: { maxLifetimeMs: 300 } });
  let base: string;

  beforeAll(async () => {
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const send = async (message_content: string) => {
    const r = await request(`${base}/api/messages/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: 'bob', recipient: 'life', message_content }),
    });
    expect(r.statusCode).toBe(201);
    return (await r.body.json()) as Message;
  };

  it('ends a stream at its lifetime with a cursor; resuming from it misses and repeats nothing', async () => {
    const received: Message[] = [];
    const closes: number[] = [];
    let stop = false;
    let after: string | undefined;
    // The first stream is live before anything is sent; each next one resumes where the last ended.
    let next: Watcher | undefined = watch(base, 'recipient=life');
    await next.ready();
    const follow = (async () => {
      while (!stop) {
        const w = next ?? watch(base, `recipient=life&after=${after}`);
        next = undefined;
        await w.until(() => w.closed() !== undefined, 'the stream to end', 10_000);
        const ends = w.events.filter((e) => e.type === 'reconnect');
        // A stream that started ends with exactly one resume point, as its last frame.
        if (w.events.some((e) => e.type === 'ready')) {
          expect(ends).toHaveLength(1);
          expect(w.events.at(-1)).toEqual(ends[0]);
          after = (ends[0] as { after: string }).after;
        }
        for (const e of w.events) if (e.type === 'message') received.push(e.message);
        closes.push(w.closed()?.code ?? 0);
      }
    })();
    const sent: number[] = [];
    // Sends spread over ~2 s: several lifetimes, some sends between a close and the reconnect.
    for (let i = 0; i < 40; i++) {
      sent.push((await send(`m${i}`)).id);
      await sleep(50);
    }
    await sleep(800);
    stop = true;
    await follow;
    expect(received.map((m) => m.id)).toEqual(sent);
    expect(closes.length).toBeGreaterThanOrEqual(4);
    expect(new Set(closes)).toEqual(new Set([4000]));
  }, 30_000);

  it('gives the resume point when the stream saw nothing yet (the horizon it started at)', async () => {
    const w = watch(base, 'recipient=quiet');
    await w.until(() => w.closed() !== undefined, 'the stream to end');
    const end = w.events.find((e) => e.type === 'reconnect') as { after: string } | undefined;
    expect(end?.after).toMatch(/^[A-Za-z0-9_-]+$/);
    await send('not for quiet');
    const r = await request(`${base}/api/messages/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: 'bob', recipient: 'quiet', message_content: 'while away' }),
    });
    expect(r.statusCode).toBe(201);
    const resumed = watch(base, `recipient=quiet&after=${end?.after}`);
    await resumed.until(() => resumed.messages().length === 1, 'the message sent while away');
    expect(resumed.messages()[0]?.message_content).toBe('while away');
    resumed.ws.close();
  });
});
