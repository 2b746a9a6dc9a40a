import { setTimeout as sleep } from 'node:timers/promises';
import { backends, freshPostgresSchema, postgresUrl } from '@messenger/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Message,
  type Messenger,
  openMessenger,
  type StreamEvent,
  ValidationError,
} from '../src/index.js';
import { type OpenBackend, openBackend, unique } from './support.js';

/** Collects a subscription's events and waits for a condition on them. */
function collector() {
  const events: StreamEvent[] = [];
  const messages = () =>
    events.flatMap((e) => (e.type === 'message' ? [e.message] : [])) as Message[];
  const until = async (cond: () => boolean, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${events.length} events`);
      await sleep(10);
    }
  };
  return { events, messages, until, push: (e: StreamEvent) => events.push(e) };
}

describe.each(backends())('live delivery and receipts on $name', (backend) => {
  let b: OpenBackend;
  let m: Messenger;
  beforeAll(async () => {
    b = await openBackend(backend);
    m = b.messenger;
  });
  afterAll(async () => b?.close());

  it('delivers each new message to its recipient once, in order, filtered by sender', async () => {
    const alice = unique('alice');
    const all = collector();
    const fromBob = collector();
    const s1 = await m.subscribe({ recipient: alice.toUpperCase() }, all.push);
    const s2 = await m.subscribe({ recipient: alice, sender: 'Bob' }, fromBob.push);
    const sent: Message[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push(
        await m.send({
          sender: i % 2 ? 'bob' : 'carol',
          recipient: alice,
          message_content: `m${i}`,
        }),
      );
    }
    await m.send({ sender: 'bob', recipient: unique('other'), message_content: 'not for alice' });
    await all.until(() => all.messages().length >= 5, '5 messages');
    await sleep(100);
    expect(all.messages().map((x) => x.message_content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(all.messages()).toEqual(sent);
    expect(fromBob.messages().map((x) => x.message_content)).toEqual(['m1', 'm3']);
    s1.close();
    s2.close();
    await m.send({ sender: 'bob', recipient: alice, message_content: 'after close' });
    await sleep(150);
    expect(all.messages()).toHaveLength(5);
  });

  it('delivers batched sends (many in flight at once) exactly once, in id order', async () => {
    const alice = unique('alice');
    const all = collector();
    const sub = await m.subscribe({ recipient: alice }, all.push);
    // Three waves of concurrent sends: each wave forms batches (group commit) of several rows.
    const sent: Message[] = [];
    for (let wave = 0; wave < 3; wave++) {
      sent.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            m.send({ sender: 'bob', recipient: alice, message_content: `w${wave} ${i}` }),
          ),
        )),
      );
    }
    await all.until(() => all.messages().length >= 300, '300 messages');
    await sleep(150);
    const got = all.messages();
    expect(got).toHaveLength(300);
    expect(got.map((x) => x.id)).toEqual(sent.map((x) => x.id).sort((x, y) => x - y));
    expect(new Set(got.map((x) => x.id)).size).toBe(300);
    sub.close();
  });

  it('resumes after a message id or an event cursor: misses nothing, repeats nothing', async () => {
    const dan = unique('dan');
    const first = await m.send({ sender: 'eve', recipient: dan, message_content: 'one' });
    await m.send({ sender: 'eve', recipient: dan, message_content: 'two' });
    await m.send({ sender: 'eve', recipient: dan, message_content: 'three' });
    const byId = collector();
    const sub = await m.subscribe({ recipient: dan, after: first.id }, byId.push);
    await byId.until(() => byId.messages().length >= 2, 'catch-up');
    await m.send({ sender: 'eve', recipient: dan, message_content: 'four' });
    await byId.until(() => byId.messages().length >= 3, 'live');
    expect(byId.messages().map((x) => x.message_content)).toEqual(['two', 'three', 'four']);
    sub.close();

    const twoEvent = byId.events[0];
    if (twoEvent?.type !== 'message') throw new Error('expected a message event');
    const byCursor = collector();
    const sub2 = await m.subscribe({ recipient: dan, after: twoEvent.cursor }, byCursor.push);
    await byCursor.until(() => byCursor.messages().length >= 2, 'catch-up by cursor');
    await sleep(100);
    expect(byCursor.messages().map((x) => x.message_content)).toEqual(['three', 'four']);
    sub2.close();
  });

  it('rejects bad stream options naming the field', async () => {
    await expect(m.subscribe({ recipient: '' }, () => {})).rejects.toThrow(
      'recipient: is required',
    );
    await expect(m.subscribe({ recipient: 'x', after: 'nonsense!' }, () => {})).rejects.toThrow(
      ValidationError,
    );
    await expect(m.subscribe({ recipient: 'x', after: 999_999_999 }, () => {})).rejects.toThrow(
      'after: no message with id 999999999',
    );
  });

  it('marks read by ids and by recipient up to an id, once, and tells the sender', async () => {
    const reader = unique('reader');
    const writer = unique('writer');
    const receipts = collector();
    const sub = await m.subscribe({ recipient: writer }, receipts.push);
    const sent: Message[] = [];
    for (let i = 0; i < 4; i++)
      sent.push(await m.send({ sender: writer, recipient: reader, message_content: `r${i}` }));
    const [a, b2, c, d] = sent.map((x) => x.id) as [number, number, number, number];

    expect(await m.markRead({ ids: [a] })).toEqual({ updated: 1, ids: [a], more: false });
    expect(await m.markRead({ ids: [a] })).toEqual({ updated: 0, ids: [], more: false });
    const firstRead = (await m.list({ recipient: reader, is_read: true })).messages;
    expect(firstRead.map((x) => x.id)).toEqual([a]);
    const readAt = firstRead[0]?.read_at;
    expect(readAt).toMatch(/Z$/);

    expect(await m.markRead({ recipient: reader.toUpperCase(), up_to: c })).toEqual({
      updated: 2,
      ids: [b2, c],
      more: false,
      up_to: c,
    });
    expect((await m.list({ recipient: reader, is_read: false })).messages.map((x) => x.id)).toEqual(
      [d],
    );
    expect(await m.markRead({ recipient: reader })).toEqual({
      updated: 1,
      ids: [d],
      more: false,
      up_to: d,
    });
    const again = (await m.list({ recipient: reader, is_read: true })).messages.find(
      (x) => x.id === a,
    );
    expect(again?.read_at).toBe(readAt);

    await receipts.until(
      () => receipts.events.filter((e) => e.type === 'read').length >= 3,
      'receipts',
    );
    const reads = receipts.events.flatMap((e) => (e.type === 'read' ? [e] : []));
    expect(reads.map((r) => r.ids)).toEqual([[a], [b2, c], [d]]);
    expect(reads[0]).toMatchObject({ sender: writer, recipient: reader });
    sub.close();
  });

  it('rejects bad mark-read requests', async () => {
    await expect(m.markRead({})).rejects.toThrow('give either ids, or recipient');
    await expect(m.markRead({ ids: [] })).rejects.toThrow('ids: must hold 1 to 1000 ids, got 0');
    await expect(m.markRead({ ids: [1, -2] })).rejects.toThrow(
      'ids[1]: must be a positive whole number',
    );
    await expect(m.markRead({ ids: [1], recipient: 'x' })).rejects.toThrow(ValidationError);
    await expect(m.markRead({ recipient: 'x', up_to: 'abc' })).rejects.toThrow('up_to:');
  });

  it('lists a two-person conversation in both directions, newest first', async () => {
    const p = unique('p');
    const q = unique('q');
    await m.send({ sender: p, recipient: q, message_content: 'hi q' });
    await m.send({ sender: q, recipient: p, message_content: 'hi p' });
    await m.send({ sender: p, recipient: unique('z'), message_content: 'elsewhere' });
    await m.send({ sender: q.toUpperCase(), recipient: p, message_content: 'shouting' });
    const viaWith = await m.list({ recipient: p, with: q });
    expect(viaWith.messages.map((x) => x.message_content)).toEqual(['shouting', 'hi p', 'hi q']);
    const viaSender = await m.list({ sender: q, with: p, limit: 2 });
    expect(viaSender.messages.map((x) => x.message_content)).toEqual(['shouting', 'hi p']);
    const page2 = await m.list({ sender: q, with: p, limit: 2, cursor: viaSender.nextCursor });
    expect(page2.messages.map((x) => x.message_content)).toEqual(['hi q']);
    const viaConversation = await m.list({ conversation: `${q},${p}` });
    expect(viaConversation.messages).toHaveLength(3);
    await expect(m.list({ with: q })).rejects.toThrow(
      'with: needs exactly one of sender or recipient',
    );
    await expect(m.list({ conversation: 'solo' })).rejects.toThrow(
      'conversation: must be two names',
    );
  });
});

describe.skipIf(postgresUrl === undefined && process.env.REQUIRE_POSTGRES !== '1')(
  'delivery across processes and out-of-order commits [postgres]',
  () => {
    let url: string;
    let drop: () => Promise<void>;
    let replicaA: Messenger;
    let replicaB: Messenger;
    beforeAll(async () => {
      const schema = await freshPostgresSchema();
      url = schema.url;
      drop = schema.drop;
      replicaA = await openMessenger({ databaseUrl: url, migrate: true });
      replicaB = await openMessenger({ databaseUrl: url });
    });
    afterAll(async () => {
      await replicaA?.close();
      await replicaB?.close();
      await drop?.();
    });

    it('a message sent through one replica reaches a watcher on another', async () => {
      const r = unique('cross');
      const seen = collector();
      const sub = await replicaB.subscribe({ recipient: r }, seen.push);
      const sent = await replicaA.send({ sender: 'a', recipient: r, message_content: 'across' });
      await seen.until(() => seen.messages().length === 1, 'cross-replica delivery');
      expect(seen.messages()[0]).toEqual(sent);
      sub.close();
    });

    it('delivers every committed message exactly once, in order, when commits land out of id order', async () => {
      const r = unique('race');
      const watchers = [collector(), collector()];
      const subs = [
        await replicaA.subscribe({ recipient: r }, watchers[0]?.push ?? (() => {})),
        await replicaB.subscribe({ recipient: r }, watchers[1]?.push ?? (() => {})),
      ];
      // A watcher that disconnects halfway and resumes from its last cursor.
      const resumed = collector();
      let resumedSub = await replicaB.subscribe({ recipient: r }, resumed.push);

      const clients = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          return c;
        }),
      );
      const committed: number[] = [];
      const rolledBack: number[] = [];
      let counter = 0;
      const writer = async (c: pg.Client, w: number) => {
        for (let i = 0; i < 15; i++) {
          const n = counter++;
          await c.query('begin');
          const { rows } = await c.query<{ id: string }>(
            'insert into messages (sender, recipient, message_content) values ($1, $2, $3) returning id',
            [`w${w}`, r, `n${n}`],
          );
          const id = Number(rows[0]?.id);
          // Hold some transactions open so that later ids commit first.
          await sleep((n * 37) % 4 === 0 ? 40 + ((n * 13) % 60) : (n * 7) % 5);
          if (n % 11 === 5) {
            await c.query('rollback');
            rolledBack.push(id);
          } else {
            await c.query('commit');
            committed.push(id);
          }
        }
      };
      const writers = Promise.all(clients.map((c, w) => writer(c, w)));
      await sleep(150);
      // Disconnect only once something arrived: without a cursor there is nothing to resume
      // from (on a loaded machine the first 150 ms may deliver nothing).
      await resumed.until(
        () => resumed.messages().length > 0,
        'a first event before disconnecting',
      );
      resumedSub.close();
      const lastEvent = resumed.events.at(-1);
      await sleep(100);
      resumedSub = await replicaA.subscribe(
        { recipient: r, ...(lastEvent?.type === 'message' && { after: lastEvent.cursor }) },
        resumed.push,
      );
      await writers;
      await Promise.all(clients.map((c) => c.end()));

      const expected = [...committed].sort((x, y) => x - y);
      for (const [name, w] of [
        ['replica A', watchers[0]],
        ['replica B', watchers[1]],
        ['resumed', resumed],
      ] as const) {
        if (!w) throw new Error('missing watcher');
        await w.until(
          () => w.messages().length >= expected.length,
          `${name}: all ${expected.length} messages`,
          15_000,
        );
        await sleep(50);
        const ids = w.messages().map((x) => x.id);
        expect(new Set(ids).size, `${name}: no duplicates`).toBe(ids.length);
        expect(
          [...ids].sort((x, y) => x - y),
          `${name}: exactly the committed ones`,
        ).toEqual(expected);
        for (const id of rolledBack) expect(ids).not.toContain(id);
      }
      // Same order everywhere (delivery order is a total order).
      expect(watchers[1]?.messages().map((x) => x.id)).toEqual(
        watchers[0]?.messages().map((x) => x.id),
      );
      expect(resumed.messages().map((x) => x.id)).toEqual(watchers[0]?.messages().map((x) => x.id));
      // And the race really happened: some ids were delivered after larger ones were committed.
      const commitOrderInversions = committed.filter((id, i) =>
        committed.slice(i + 1).some((later) => later < id),
      );
      expect(commitOrderInversions.length).toBeGreaterThan(0);
      for (const s of [...subs, resumedSub]) s.close();
    }, 60_000);
  },
);
