import { setTimeout as sleep } from 'node:timers/promises';
import { backends } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  type Mailbox,
  type Message,
  type Messenger,
  type Principal,
  type StreamEvent,
  UNAUTHENTICATED_MESSAGE,
  UnauthenticatedError,
  ValidationError,
} from '../src/index.js';
import {
  eventually,
  failure,
  newerFirst,
  openRawBackend,
  type RawBackend,
  unique,
} from './support.js';

const ids = (messages: readonly Message[]) => messages.map((x) => x.id);

describe.each(backends())('mailbox on $name', (backend) => {
  let b: RawBackend;
  let m: Messenger;
  /** Names of this run (unique: the database may hold other runs' users). */
  const [alice, bob, carol, dora, ghost] = ['Alice', 'bob', 'carol', 'dora', 'ghost'].map(
    unique,
  ) as [string, string, string, string, string];
  const principals: Record<string, Principal> = {};
  const mailboxes: Record<string, Mailbox> = {};
  /** A message between alice and carol: bob has no business with it. */
  let aliceToCarol: Message;
  /** A message carol sent bob. */
  let carolToBob: Message;

  beforeAll(async () => {
    b = await openRawBackend(backend, 'UTC');
    m = b.messenger;
    const tokens: Record<string, string> = {};
    for (const name of [alice, bob, carol, dora, ghost]) {
      tokens[name] = (await m.addUser(name)).token.token;
    }
    // Long enough to be authenticated below on a loaded machine (1 s was not, once).
    const expiring = await m.createToken(bob, {
      label: 'short',
      expiresAt: new Date(Date.now() + 3000),
    });
    const revoked = await m.createToken(bob, { label: 'revoked' });
    for (const [key, token] of [
      ['alice', tokens[alice]],
      ['own', tokens[bob]],
      ['carol', tokens[carol]],
      ['disabled user', tokens[dora]],
      ['expired token', expiring.token],
      ['revoked token', revoked.token],
    ] as const) {
      principals[key] = await m.authenticate(token);
      mailboxes[key] = m.mailbox(principals[key] as Principal);
    }
    aliceToCarol = await (mailboxes.alice as Mailbox).send({
      recipient: carol,
      message_content: 'between alice and carol',
    });
    carolToBob = await (mailboxes.carol as Mailbox).send({
      recipient: bob,
      message_content: 'carol to bob',
    });
    await m.revokeToken(revoked.id);
    await m.disableUser(dora);
    await m.disableUser(ghost);
    await sleep(Math.max(0, Date.parse(expiring.expires_at ?? '') - Date.now()) + 50);
  }, 60_000);
  afterAll(async () => b?.close());

  /** Everything a refused operation must leave as it was. */
  const state = async () =>
    b.rows(`select
      (select count(*)::int from messages) as messages,
      (select count(*)::int from messages where is_read) as read,
      (select count(*)::int from idempotency_keys) as keys`);

  const mine = (name: string) => (x: Message) =>
    x.sender.toLowerCase() === name.toLowerCase() ||
    x.recipient.toLowerCase() === name.toLowerCase();

  type Case = readonly [
    op: string,
    who: string,
    run: (mb: Mailbox) => Promise<unknown>,
    error: readonly [new (...args: never[]) => Error, string | RegExp],
  ];
  const NOT_AUTHENTICATED = [UnauthenticatedError, UNAUTHENTICATED_MESSAGE] as const;
  const send = (mb: Mailbox) => mb.send({ recipient: alice, message_content: 'hi' });
  const ops: readonly (readonly [string, (mb: Mailbox) => Promise<unknown>])[] = [
    ['send', send],
    [
      'submit',
      (mb) => mb.submit({ recipient: alice, message_content: 'hi' }, { idempotencyKey: 'k1' }),
    ],
    ['list', (mb) => mb.list()],
    ['markRead by ids', (mb) => mb.markRead({ ids: [carolToBob.id] })],
    ['markRead of all', (mb) => mb.markRead()],
    ['subscribe', (mb) => mb.subscribe({}, () => {})],
    ['checkSubscribe', (mb) => mb.checkSubscribe({})],
  ];

  const refusedCases: Case[] = [
    // Another user's name, messages, ids, stream.
    [
      'send',
      'as another user',
      (mb) => mb.send({ sender: alice, recipient: carol, message_content: 'forged' }),
      [ForbiddenError, /^sender: you may only send as yourself \(bob-[0-9a-f]{8}\)$/],
    ],
    [
      'submit',
      'as another user',
      (mb) =>
        mb.submit(
          { sender: carol, recipient: alice, message_content: 'x' },
          { idempotencyKey: 'k' },
        ),
      [ForbiddenError, /^sender: you may only send as yourself/],
    ],
    [
      'send',
      'to a name nobody has',
      (mb) => mb.send({ recipient: 'nobody-at-all', message_content: 'x' }),
      [ValidationError, 'recipient: no active user named "nobody-at-all"'],
    ],
    [
      'send',
      'to a disabled user',
      (mb) => mb.send({ recipient: ghost.toUpperCase(), message_content: 'x' }),
      [ValidationError, `recipient: no active user named ${JSON.stringify(ghost.toUpperCase())}`],
    ],
    [
      'send',
      'with a name outside the strict profile',
      (mb) => mb.send({ recipient: 'a\u00a0b', message_content: 'x' }),
      [ValidationError, 'recipient: may not contain spaces other than U+0020 (U+00A0)'],
    ],
    [
      'markRead',
      "another user's recipient",
      (mb) => mb.markRead({ recipient: alice }),
      [ForbiddenError, /^recipient: you may only mark your own messages read/],
    ],
    [
      'subscribe',
      "another user's stream",
      (mb) => mb.subscribe({ recipient: alice }, () => {}),
      [ForbiddenError, /^recipient: you may only follow your own messages/],
    ],
    [
      'checkSubscribe',
      "another user's stream",
      (mb) => mb.checkSubscribe({ recipient: alice.toUpperCase() }),
      [ForbiddenError, /^recipient: you may only follow your own messages/],
    ],
    [
      'checkSubscribe',
      'an unknown option',
      (mb) => mb.checkSubscribe({ nope: '1' } as never),
      [ValidationError, /^nope: /],
    ],
    [
      'subscribe',
      "after another user's message id",
      (mb) => mb.subscribe({ after: aliceToCarol.id }, () => {}),
      [ValidationError, /^after: no message with id \d+$/],
    ],
    // Who may not act at all: every operation, one message.
    ...['disabled user', 'expired token', 'revoked token'].flatMap((who) =>
      ops.map(([op, run]): Case => [op, who, run, NOT_AUTHENTICATED]),
    ),
  ];

  it.each(refusedCases)(
    '%s, %s: refused with the exact error, nothing written',
    async (_op, who, run, [type, message]) => {
      const mb = (mailboxes[who] ?? mailboxes.own) as Mailbox;
      const before = await state();
      const err = await failure(run(mb));
      expect(err).toBeInstanceOf(type);
      if (typeof message === 'string') expect(err.message).toBe(message);
      else expect(err.message).toMatch(message);
      expect(await state()).toEqual(before);
      expect((await m.list({ conversation: `${alice},${carol}` })).messages[0]?.is_read).toBe(
        false,
      );
    },
  );

  it('an id that does not exist is refused exactly like one of another user', async () => {
    const err = await failure(
      (mailboxes.own as Mailbox).subscribe({ after: 999_999_999 }, () => {}),
    );
    expect(err.message).toBe('after: no message with id 999999999');
  });

  describe('own', () => {
    it("checkSubscribe: the caller's own stream passes, recipient omitted or in any case", async () => {
      const mb = mailboxes.own as Mailbox;
      await expect(mb.checkSubscribe()).resolves.toBeUndefined();
      await expect(mb.checkSubscribe({ recipient: bob.toUpperCase() })).resolves.toBeUndefined();
      await expect(mb.checkSubscribe({ sender: alice, after: '1' })).resolves.toBeUndefined();
    });

    it('send: the sender is the caller, stored with the registered spellings', async () => {
      const mb = mailboxes.own as Mailbox;
      const before = await state();
      const sent = await mb.send({ recipient: alice.toUpperCase(), message_content: ' hi alice ' });
      expect(sent).toMatchObject({ sender: bob, recipient: alice, message_content: 'hi alice' });
      const explicit = await mb.send({
        sender: bob.toUpperCase(),
        recipient: alice,
        message_content: 'me',
      });
      expect(explicit.sender).toBe(bob);
      expect((await state())[0]).toMatchObject({
        messages: (before[0] as { messages: number }).messages + 2,
      });
    });

    it('submit: idempotency keys are per caller', async () => {
      const key = unique('key');
      const a = await (mailboxes.alice as Mailbox).submit(
        { recipient: bob, message_content: 'from alice' },
        { idempotencyKey: key },
      );
      // The same key from bob, for another message: a different key, not a reuse.
      const first = await (mailboxes.own as Mailbox).submit(
        { recipient: alice, message_content: 'from bob' },
        { idempotencyKey: key },
      );
      expect(first.replayed).toBe(false);
      expect(first.message.id).not.toBe(a.message.id);
      const again = await (mailboxes.own as Mailbox).submit(
        { recipient: alice, message_content: 'from bob' },
        { idempotencyKey: key },
      );
      expect(again).toEqual({ message: first.message, replayed: true });
      const aliceAgain = await (mailboxes.alice as Mailbox).submit(
        { recipient: bob, message_content: 'from alice' },
        { idempotencyKey: key },
      );
      expect(aliceAgain).toEqual({ message: a.message, replayed: true });
      // The unscoped key space is apart from both.
      const open = await m.submit(
        { sender: 'someone', recipient: 'else', message_content: 'open mode' },
        { idempotencyKey: key },
      );
      expect(open.replayed).toBe(false);
    });

    it('list: only what the caller sent or received; filters narrow within that', async () => {
      const mb = mailboxes.own as Mailbox;
      await (mailboxes.own as Mailbox).send({ recipient: bob, message_content: 'note to self' });
      await (mailboxes.own as Mailbox).send({ recipient: carol, message_content: 'bob to carol' });
      await m.send({
        sender: alice,
        recipient: carol,
        message_content: 'open-mode alice to carol',
      });
      const everything = (await m.list({ limit: 1000 })).messages;
      const expectSame = async (options: object, filter: (x: Message) => boolean) => {
        const got = (await mb.list({ ...options, limit: 1000 })).messages;
        expect(ids(got), JSON.stringify(options)).toEqual(ids(everything.filter(filter)));
      };
      const is = (a: string, x: string) => a.toLowerCase() === x.toLowerCase();
      await expectSame({}, mine(bob));
      await expectSame({ recipient: alice }, (x) => is(x.sender, bob) && is(x.recipient, alice));
      await expectSame({ sender: alice }, (x) => is(x.sender, alice) && is(x.recipient, bob));
      await expectSame({ recipient: bob.toUpperCase() }, (x) => is(x.recipient, bob));
      await expectSame({ sender: bob }, (x) => is(x.sender, bob));
      await expectSame(
        { sender: bob, recipient: bob },
        (x) => is(x.sender, bob) && is(x.recipient, bob),
      );
      await expectSame({ with: carol }, (x) => mine(bob)(x) && mine(carol)(x));
      await expectSame({ recipient: carol, with: bob }, (x) => mine(bob)(x) && mine(carol)(x));
      await expectSame({ conversation: `${carol},${bob}` }, (x) => mine(bob)(x) && mine(carol)(x));
      await expectSame({ is_read: false }, (x) => mine(bob)(x) && !x.is_read);
      // Nothing of alice and carol's, however asked.
      for (const options of [
        { conversation: `${alice},${carol}` },
        { sender: alice, recipient: carol },
        { recipient: carol, with: alice },
        { sender: carol, recipient: alice },
      ]) {
        expect((await mb.list(options)).messages, JSON.stringify(options)).toEqual([]);
      }
      expect(ids(everything)).toContain(aliceToCarol.id);
    });

    it('markRead: only the messages the caller received; other ids are not found, not touched', async () => {
      const mb = mailboxes.own as Mailbox;
      const toBob = await (mailboxes.carol as Mailbox).send({
        recipient: bob,
        message_content: 'read me',
      });
      const fromBob = await mb.send({ recipient: carol, message_content: 'not yours to read' });
      const other = await (mailboxes.alice as Mailbox).send({
        recipient: carol,
        message_content: 'x',
      });
      const r = await mb.markRead({ ids: [toBob.id, fromBob.id, other.id, 999_999_999] });
      expect(r).toEqual({ updated: 1, ids: [toBob.id], more: false });
      const unread = (await m.list({ is_read: false, limit: 1000 })).messages.map((x) => x.id);
      expect(unread).toEqual(expect.arrayContaining([fromBob.id, other.id]));
      // Everything received, by omitting the recipient or naming oneself in any case.
      await (mailboxes.carol as Mailbox).send({ recipient: bob, message_content: 'more' });
      expect((await mb.markRead({ recipient: bob.toUpperCase() })).updated).toBeGreaterThan(0);
      expect(await mb.markRead()).toEqual({ updated: 0, ids: [], more: false });
      expect(await mb.list({ recipient: bob, is_read: false })).toEqual({
        messages: [],
        nextCursor: null,
      });
    });

    it("a principal changed by hand is refused, or acts as the token's user", async () => {
      const own = principals.own as Principal;
      const aliceP = principals.alice as Principal;
      for (const forged of [
        { ...own, userId: aliceP.userId },
        { ...aliceP, tokenId: own.tokenId },
        { ...own, tokenId: 999_999_999 },
        { ...own, tokenId: -1 },
        null,
      ]) {
        const err = await failure(m.mailbox(forged as Principal).list());
        expect(err).toBeInstanceOf(UnauthenticatedError);
      }
      const renamed = m.mailbox({ ...own, name: alice });
      const sent = await renamed.send({ recipient: carol, message_content: 'who am I' });
      expect(sent.sender).toBe(bob);
    });
  });

  it('pagination of a mailbox: no duplicates, no gaps, and a cursor cannot widen it', async () => {
    const me = unique('pat');
    const other = unique('quinn');
    await m.addUser(me);
    await m.addUser(other);
    const mb = m.mailbox(await m.authenticate((await m.createToken(me)).token));
    const ob = m.mailbox(await m.authenticate((await m.createToken(other)).token));
    // Interleaved: received, sent, to self, and others' messages in between, several per
    // timestamp (one transaction each: equal sent_datetime within a multi-row insert).
    await b.sql(
      `insert into messages (sender, recipient, message_content, sent_datetime)
       select case i % 4 when 0 then $1 when 1 then $2 when 2 then $1 else 'x' end,
              case i % 4 when 0 then $2 when 1 then $1 when 2 then $1 else 'y' end,
              'm' || i, '2026-01-01T00:00:00Z'::timestamptz + make_interval(secs => i / 3)
       from generate_series(1, 120) as i`,
      [me, other],
    );
    const expected = (await m.list({ limit: 1000 })).messages.filter(mine(me));
    expect(expected.length).toBe(90);
    for (const limit of [1, 7, 100]) {
      const seen: Message[] = [];
      let page = await mb.list({ limit });
      seen.push(...page.messages);
      while (page.nextCursor !== null) {
        page = await mb.list({ limit, cursor: page.nextCursor });
        seen.push(...page.messages);
      }
      expect(ids(seen)).toEqual(ids(expected));
      expect([...seen].sort(newerFirst)).toEqual(seen);
    }
    // bob takes a cursor from his own listing and cannot reach alice↔carol messages with it.
    const bobsPage = await (mailboxes.own as Mailbox).list({ limit: 1 });
    const cursor = bobsPage.nextCursor as string;
    expect(cursor).not.toBeNull();
    for (const options of [
      {},
      { conversation: `${alice},${carol}` },
      { sender: alice, recipient: carol },
    ]) {
      const got = (await (mailboxes.own as Mailbox).list({ ...options, cursor, limit: 1000 }))
        .messages;
      expect(got.every(mine(bob)), JSON.stringify(options)).toBe(true);
      expect(ids(got)).not.toContain(aliceToCarol.id);
    }
    // Nor another mailbox's cursor: it is a position, the scope stays the caller's.
    const theirs = await ob.list({ limit: 2 });
    const fromTheirs = await mb.list({ cursor: theirs.nextCursor, limit: 1000 });
    expect(fromTheirs.messages.every(mine(me))).toBe(true);
  });

  it("subscribe: only the caller's mail and receipts, and it ends when access ends", async () => {
    const me = unique('rita');
    await m.addUser(me);
    const token = await m.createToken(me);
    const mb = m.mailbox(await m.authenticate(token.token));
    const events: StreamEvent[] = [];
    let revoked = 0;
    await mb.subscribe({}, (e) => events.push(e), { onAccessRevoked: () => revoked++ });
    const am = mailboxes.alice as Mailbox;
    const cm = mailboxes.carol as Mailbox;
    await am.send({ recipient: carol, message_content: 'not for rita' });
    const toMe = await am.send({ recipient: me, message_content: 'for rita' });
    const fromMe = await mb.send({ recipient: carol, message_content: 'rita to carol' });
    await cm.markRead({ ids: [fromMe.id] });
    await cm.markRead();
    await mb.markRead({ ids: [toMe.id] });
    await eventually('three events', () => events.length >= 3);
    await sleep(200);
    expect(
      events.map((e) => (e.type === 'message' ? `message ${e.message.id}` : `read ${e.ids}`)),
    ).toEqual([`message ${toMe.id}`, `read ${fromMe.id}`, `read ${toMe.id}`]);
    await m.revokeToken(token.id);
    await eventually('onAccessRevoked', () => revoked === 1, 5_000);
    await am.send({ recipient: me, message_content: 'after the revocation' });
    await sleep(300);
    expect(events).toHaveLength(3);
    expect(revoked).toBe(1);
  });

  it('subscribe: an aborted subscription stops watching access', async () => {
    const me = unique('sam');
    await m.addUser(me);
    const token = await m.createToken(me);
    const mb = m.mailbox(await m.authenticate(token.token));
    const stop = new AbortController();
    let revoked = 0;
    await mb.subscribe({ recipient: me.toUpperCase() }, () => {}, {
      signal: stop.signal,
      onAccessRevoked: () => revoked++,
    });
    stop.abort();
    await m.revokeToken(token.id);
    await sleep(2500);
    expect(revoked).toBe(0);
  });
});
