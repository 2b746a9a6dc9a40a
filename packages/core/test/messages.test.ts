import { backends } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIST_LIMIT,
  type ListOptions,
  type Message,
  type Messenger,
  type SendMessageInput,
  ValidationError,
} from '../src/index.js';
import {
  ISO_MICROS,
  newerFirst,
  type OpenBackend,
  openBackend,
  sendMany,
  sendSpaced,
  unique,
} from './support.js';

describe.each(backends())('messages on $name', (backend) => {
  let open: OpenBackend;
  let messenger: Messenger;

  beforeAll(async () => {
    open = await openBackend(backend);
    messenger = open.messenger;
  });
  afterAll(async () => {
    await open?.close();
  });

  const contents = (messages: readonly Message[]) => messages.map((m) => m.message_content);

  it('opens on the expected engine, already migrated', async () => {
    expect(messenger.engine).toBe(backend.name);
    if (backend.name === 'pglite') expect(messenger.where).toBe('memory');
    else expect(messenger.where).toMatch(/^[^@]+:\d+\/\w+$/);
    expect(await messenger.migrate()).toEqual({ applied: [] });
    await expect(messenger.ping()).resolves.toBeUndefined();
  });

  describe('send', () => {
    it('returns the stored message with trimmed fields', async () => {
      const sender = unique('Bob');
      const recipient = unique('Alice');
      const before = Date.now();
      const m = await messenger.send({
        sender: `  ${sender} `,
        recipient: `\t${recipient}\n`,
        message_content: '  hello there  ',
      });
      const after = Date.now();
      expect(m).toEqual({
        id: expect.any(Number),
        sender,
        recipient,
        message_content: 'hello there',
        sent_datetime: expect.stringMatching(ISO_MICROS),
        is_read: false,
        read_at: null,
      });
      expect(Number.isSafeInteger(m.id) && m.id > 0).toBe(true);
      // Same machine, so the database clock is ours (within a second of slack).
      const sentMs = Date.parse(m.sent_datetime);
      expect(sentMs).toBeGreaterThanOrEqual(before - 1000);
      expect(sentMs).toBeLessThanOrEqual(after + 1000);
      expect((await messenger.list({ sender })).messages).toEqual([m]);
    });

    it('gives each message a larger id than the one before', async () => {
      const sender = unique('ids');
      const [a, b, c] = await sendSpaced(messenger, sender, 'x', ['a', 'b', 'c']);
      if (!a || !b || !c) throw new Error('three messages expected');
      expect(b.id).toBeGreaterThan(a.id);
      expect(c.id).toBeGreaterThan(b.id);
      expect(b.sent_datetime > a.sent_datetime).toBe(true);
    });

    it('stores 160 emoji, combining marks and inner newlines exactly', async () => {
      const sender = unique('emoji');
      const texts = [
        '😀'.repeat(160),
        'e\u0301'.repeat(80),
        'line 1\nline 2\tend',
        '👨\u200d👩\u200d👧 日本語 ünïcödé',
      ];
      const sent = await sendSpaced(messenger, sender, 'reader', texts);
      expect(contents(sent)).toEqual(texts);
      const listed = await messenger.list({ sender });
      expect(contents(listed.messages)).toEqual([...texts].reverse());
      expect(listed.messages[3]?.message_content).toHaveLength(320);
    });

    it('accepts names of 50 code points, emoji included', async () => {
      const sender = `${unique('s')}${'😀'.repeat(40)}`;
      expect([...sender]).toHaveLength(50);
      const recipient = 'r'.repeat(50);
      const m = await messenger.send({ sender, recipient, message_content: 'long names' });
      expect(m.sender).toBe(sender);
      expect(m.recipient).toBe(recipient);
      expect(contents((await messenger.list({ sender })).messages)).toEqual(['long names']);
    });

    it('writes nothing when the input is rejected', async () => {
      const sender = unique('rejected');
      const newestBefore = (await messenger.list({ limit: 1 })).messages[0]?.id ?? 0;
      const bad: Record<string, unknown>[] = [
        { sender, recipient: 'r', message_content: 'x'.repeat(161) },
        { sender, recipient: 'r', message_content: '😀'.repeat(161) },
        { sender: `${sender}${'x'.repeat(51)}`, recipient: 'r', message_content: 'hi' },
        { sender, recipient: 'r'.repeat(51), message_content: 'hi' },
        { sender, recipient: 'r', message_content: 'nul \0 inside' },
        { sender, recipient: 'r', message_content: '   ' },
        { sender, recipient: 'a\nb', message_content: 'hi' },
        { sender, recipient: 'r' },
        { sender, recipient: null, message_content: 'hi' },
        { sender, recipient: 'r', message_content: 42 },
        { sender, recipient: 'r', message_content: 'lone \ud800' },
      ];
      for (const input of bad) {
        // As a JavaScript caller (or an HTTP body) may: the type does not stop the values.
        const err = await messenger.send(input as unknown as SendMessageInput).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(input)).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).code).toBe('validation_failed');
      }
      await expect(
        messenger.send({ sender, recipient: 'r', message_content: 'x'.repeat(161) }),
      ).rejects.toThrow('message_content: at most 160 characters, got 161');
      expect((await messenger.list({ sender })).messages).toEqual([]);
      expect((await messenger.list({ limit: 1 })).messages[0]?.id ?? 0).toBe(newestBefore);
      // The next accepted message is stored normally.
      const ok = await messenger.send({ sender, recipient: 'r', message_content: 'fine' });
      expect(ok.id).toBeGreaterThan(newestBefore);
      expect(contents((await messenger.list({ sender })).messages)).toEqual(['fine']);
    });

    it('ignores unknown keys, including ones that look like columns', async () => {
      const sender = unique('extra');
      const input = {
        sender,
        recipient: 'r',
        message_content: 'keys',
        id: 1,
        is_read: true,
        read_at: '2020-01-01T00:00:00Z',
        sent_datetime: '2000-01-01T00:00:00Z',
      };
      const m = await messenger.send(input);
      expect(m.id).not.toBe(1);
      expect(m.is_read).toBe(false);
      expect(m.read_at).toBeNull();
      expect(m.sent_datetime.startsWith('2000')).toBe(false);
    });
  });

  describe('list', () => {
    it('lists newest first', async () => {
      const recipient = unique('newest');
      await sendSpaced(messenger, 'someone', recipient, [
        'first',
        'second',
        'third',
        'fourth',
        'fifth',
      ]);
      const { messages, nextCursor } = await messenger.list({ recipient });
      expect(contents(messages)).toEqual(['fifth', 'fourth', 'third', 'second', 'first']);
      expect(nextCursor).toBeNull();
    });

    it('orders concurrent inserts strictly by (sent_datetime, id) descending, the same way every time', async () => {
      const sender = unique('concurrent');
      const sent = await sendMany(messenger, 30, sender, 'r');
      const { messages } = await messenger.list({ sender });
      expect(messages).toHaveLength(30);
      expect(new Set(messages.map((m) => m.id))).toEqual(new Set(sent.map((m) => m.id)));
      for (let i = 1; i < messages.length; i++) {
        const prev = messages[i - 1] as Message;
        const cur = messages[i] as Message;
        expect(prev.sent_datetime >= cur.sent_datetime).toBe(true);
        if (prev.sent_datetime === cur.sent_datetime) expect(prev.id).toBeGreaterThan(cur.id);
      }
      expect(messages).toEqual([...sent].sort(newerFirst));
      expect((await messenger.list({ sender })).messages).toEqual(messages);
    });

    it('filters by sender, by recipient and by both', async () => {
      const s1 = unique('s1');
      const s2 = unique('s2');
      const r1 = unique('r1');
      const r2 = unique('r2');
      await sendSpaced(messenger, s1, r1, ['s1→r1 a', 's1→r1 b']);
      await sendSpaced(messenger, s1, r2, ['s1→r2 a']);
      await sendSpaced(messenger, s2, r1, ['s2→r1 a', 's2→r1 b', 's2→r1 c']);
      await sendSpaced(messenger, s2, s1, ['s2→s1 a']);

      expect(contents((await messenger.list({ sender: s1 })).messages)).toEqual([
        's1→r2 a',
        's1→r1 b',
        's1→r1 a',
      ]);
      expect(contents((await messenger.list({ recipient: r1 })).messages)).toEqual([
        's2→r1 c',
        's2→r1 b',
        's2→r1 a',
        's1→r1 b',
        's1→r1 a',
      ]);
      expect(contents((await messenger.list({ sender: s1, recipient: r1 })).messages)).toEqual([
        's1→r1 b',
        's1→r1 a',
      ]);
      expect(contents((await messenger.list({ sender: s2, recipient: r1 })).messages)).toEqual([
        's2→r1 c',
        's2→r1 b',
        's2→r1 a',
      ]);
      // The sender filter matches senders only, never recipients of the same name.
      expect(contents((await messenger.list({ recipient: s1 })).messages)).toEqual(['s2→s1 a']);
      expect((await messenger.list({ sender: r1 })).messages).toEqual([]);
      expect((await messenger.list({ sender: s1, recipient: s1 })).messages).toEqual([]);
    });

    it('matches names exactly but without regard to ASCII case', async () => {
      const suffix = unique('').slice(1);
      const alice = `Alice${suffix}`;
      const bob = `Bob${suffix}`;
      await messenger.send({ sender: alice, recipient: bob, message_content: 'case' });
      for (const sender of [alice, alice.toUpperCase(), alice.toLowerCase(), ` ${alice} `]) {
        expect(contents((await messenger.list({ sender })).messages), sender).toEqual(['case']);
      }
      expect(contents((await messenger.list({ recipient: bob.toUpperCase() })).messages)).toEqual([
        'case',
      ]);
      for (const sender of [
        alice.slice(0, -1),
        `Ali`,
        `${alice}x`,
        `${alice.slice(0, -1)}%`,
        `${alice.slice(0, -1)}_`,
        `%`,
        `Alice${suffix}\\`,
      ]) {
        expect((await messenger.list({ sender })).messages, sender).toEqual([]);
      }
    });

    it('filters by is_read: fresh messages are unread', async () => {
      const sender = unique('unread');
      await sendSpaced(messenger, sender, 'r', ['one', 'two']);
      for (const is_read of [false, 'false', 'F', '0']) {
        expect(contents((await messenger.list({ sender, is_read })).messages)).toEqual([
          'two',
          'one',
        ]);
      }
      for (const is_read of [true, 'true', 'T', '1']) {
        expect((await messenger.list({ sender, is_read })).messages).toEqual([]);
      }
    });

    it('filters by since (inclusive) and until (exclusive)', async () => {
      const recipient = unique('times');
      const [a, b, c] = await sendSpaced(messenger, 'clock', recipient, ['a', 'b', 'c']);
      if (!a || !b || !c) throw new Error('three messages expected');
      const list = async (o: ListOptions) =>
        contents((await messenger.list({ recipient, ...o })).messages);

      expect(await list({ since: b.sent_datetime })).toEqual(['c', 'b']);
      expect(await list({ until: b.sent_datetime })).toEqual(['a']);
      expect(await list({ since: a.sent_datetime, until: c.sent_datetime })).toEqual(['b', 'a']);
      expect(await list({ since: b.sent_datetime, until: c.sent_datetime })).toEqual(['b']);
      expect(await list({ since: c.sent_datetime })).toEqual(['c']);
      // No offset means UTC.
      expect(await list({ since: b.sent_datetime.slice(0, -1) })).toEqual(['c', 'b']);
      // The same instant written with an offset.
      expect(await list({ since: withOffset(b.sent_datetime, 2) })).toEqual(['c', 'b']);
      expect(await list({ until: withOffset(b.sent_datetime, -5) })).toEqual(['a']);
      // A Date (millisecond precision) at or before b's instant.
      expect(await list({ since: new Date(Date.parse(b.sent_datetime)) })).toEqual(['c', 'b']);
      // A date alone is midnight UTC.
      const day = a.sent_datetime.slice(0, 10);
      const nextDay = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
      expect(await list({ since: day })).toEqual(['c', 'b', 'a']);
      expect(await list({ until: day })).toEqual([]);
      expect(await list({ since: day, until: nextDay, sender: 'CLOCK', is_read: false })).toEqual([
        'c',
        'b',
        'a',
      ]);
      expect(await list({ since: day, sender: 'someone else' })).toEqual([]);
      expect(await list({ until: '2000-01-01' })).toEqual([]);
    });

    it('lists 100 by default and honours limit', async () => {
      expect(DEFAULT_LIST_LIMIT).toBe(100);
      const sender = unique('limit');
      await sendMany(messenger, 120, sender, 'r');
      const first = await messenger.list({ sender });
      expect(first.messages).toHaveLength(100);
      expect(first.nextCursor).toEqual(expect.any(String));
      expect((await messenger.list({ sender, limit: 1 })).messages).toHaveLength(1);
      expect((await messenger.list({ sender, limit: '7' })).messages).toHaveLength(7);
      const all = await messenger.list({ sender, limit: 1000 });
      expect(all.messages).toHaveLength(120);
      expect(all.nextCursor).toBeNull();
      expect(all.messages.slice(0, 100)).toEqual(first.messages);
    });

    it('rejects bad options before touching the database', async () => {
      await expect(messenger.list({ limit: 0 })).rejects.toThrow(
        'limit: must be a whole number from 1 to 1000; got 0',
      );
      await expect(messenger.list({ is_read: 'maybe' })).rejects.toBeInstanceOf(ValidationError);
      await expect(messenger.list({ since: '2026-01-02', until: '2026-01-01' })).rejects.toThrow(
        'until: must be later than since',
      );
      await expect(
        messenger.list({
          cursor: Buffer.from('2026-02-30T00:00:00.000000Z|1').toString('base64url'),
        }),
      ).rejects.toThrow('cursor: is not a valid cursor');
      await expect(messenger.list({ sort: 'asc' } as unknown as ListOptions)).rejects.toThrow(
        /^sort: unknown parameter/,
      );
    });

    it("reproduces the original service's scenario", async () => {
      const id = unique('').slice(1);
      const molly = `molly${id}`;
      const ben = `ben${id}`;
      const alice = `alice${id}`;
      await sendMany(messenger, 50, molly, ben, 'molly→ben');
      await sendMany(messenger, 50, alice, molly, 'alice→molly');
      await sendMany(messenger, 50, alice, ben, 'alice→ben');

      const everything = await messenger.list();
      expect(everything.messages).toHaveLength(100);
      expect(everything.nextCursor).not.toBeNull();

      const toMolly = await messenger.list({ recipient: molly });
      expect(toMolly.messages).toHaveLength(50);
      expect(toMolly.messages.every((m) => m.sender === alice && m.recipient === molly)).toBe(true);

      const fromAlice = await messenger.list({ sender: alice });
      expect(fromAlice.messages).toHaveLength(100);
      expect(fromAlice.nextCursor).toBeNull();
      expect(fromAlice.messages.every((m) => m.sender === alice)).toBe(true);

      const aliceToMolly = await messenger.list({ sender: alice, recipient: molly });
      expect(aliceToMolly.messages).toHaveLength(50);
      expect(new Set(contents(aliceToMolly.messages)).size).toBe(50);

      expect((await messenger.list({ sender: molly })).messages).toHaveLength(50);
      expect((await messenger.list({ recipient: ben })).messages).toHaveLength(100);
      expect((await messenger.list({ sender: molly, recipient: molly })).messages).toHaveLength(0);
      expect(
        (await messenger.list({ sender: alice.toUpperCase(), recipient: ben })).messages,
      ).toHaveLength(50);
    });
  });
});

/** The instant of an ISO UTC string written in another offset, microseconds kept. */
function withOffset(isoUtc: string, hours: number): string {
  const shifted = new Date(Date.parse(isoUtc) + hours * 3_600_000).toISOString();
  const sign = hours < 0 ? '-' : '+';
  const hh = String(Math.abs(hours)).padStart(2, '0');
  return `${shifted.slice(0, 19)}.${isoUtc.slice(20, 26)}${sign}${hh}:00`;
}
