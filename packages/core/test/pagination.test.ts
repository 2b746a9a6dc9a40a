import { backends } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/cursor.js';
import { type Message, type Messenger, ValidationError } from '../src/index.js';
import { newerFirst, openRawBackend, type RawBackend, sendMany, unique, walk } from './support.js';

const ids = (messages: readonly Message[]) => messages.map((m) => m.id);

describe.each(backends())('pagination and stored times on $name', (backend) => {
  let open: RawBackend;
  let messenger: Messenger;

  beforeAll(async () => {
    // Kathmandu is UTC+05:45: any place where the session's time zone leaks into
    // stored or reported times, or into parsing a time without an offset, shows.
    open = await openRawBackend(backend, 'Asia/Kathmandu');
    messenger = open.messenger;
  });
  afterAll(async () => {
    await open?.close();
  });

  /** Inserts `count` messages at one fixed instant; contents are `${label} 1` … `${label} count`. */
  const insertAt = (at: string, count: number, sender: string, recipient: string, label: string) =>
    open.sql(
      `insert into messages (sender, recipient, message_content, sent_datetime)
       select $1, $2, $3 || ' ' || g, $4::timestamptz from generate_series(1, $5::int) g`,
      [sender, recipient, label, at, count],
    );

  it('walks every page and sees each message exactly once', async () => {
    const recipient = unique('walk');
    const sent = await sendMany(messenger, 23, 'walker', recipient);
    const { messages, pageSizes } = await walk(messenger, { recipient, limit: 5 });
    expect(pageSizes).toEqual([5, 5, 5, 5, 3]);
    expect(new Set(ids(messages)).size).toBe(23);
    expect(messages).toEqual([...sent].sort(newerFirst));
    expect(messages).toEqual((await messenger.list({ recipient, limit: 1000 })).messages);
  });

  it('points nextCursor at the last message of the page', async () => {
    const recipient = unique('cursor');
    await sendMany(messenger, 3, 'c', recipient);
    const page = await messenger.list({ recipient, limit: 2 });
    const last = page.messages[1];
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor ?? '')).toEqual({
      ok: true,
      value: { sentDatetime: last?.sent_datetime, id: String(last?.id) },
    });
  });

  it('returns nextCursor null when the results exactly fill the last page', async () => {
    const recipient = unique('exact');
    await sendMany(messenger, 10, 'filler', recipient);
    expect((await walk(messenger, { recipient, limit: 5 })).pageSizes).toEqual([5, 5]);
    expect((await walk(messenger, { recipient, limit: 10 })).pageSizes).toEqual([10]);
    expect((await walk(messenger, { recipient, limit: 9 })).pageSizes).toEqual([9, 1]);
    expect((await walk(messenger, { recipient, limit: 11 })).pageSizes).toEqual([10]);
    const only = await messenger.list({ recipient, limit: 10 });
    expect(only.nextCursor).toBeNull();
    expect((await messenger.list({ recipient: unique('nobody') })).nextCursor).toBeNull();
  });

  it('keeps filters across pages (they are sent again with each cursor)', async () => {
    const sender = unique('filtered');
    const recipient = unique('to');
    const wanted = await sendMany(messenger, 7, sender, recipient, 'wanted');
    await sendMany(messenger, 5, sender, 'someone else', 'other');
    await sendMany(messenger, 5, 'someone else', recipient, 'other');
    const { messages, pageSizes } = await walk(messenger, {
      sender: sender.toUpperCase(),
      recipient,
      is_read: false,
      limit: 3,
    });
    expect(pageSizes).toEqual([3, 3, 1]);
    expect(messages).toEqual([...wanted].sort(newerFirst));
  });

  it('sees every message that existed at the start exactly once while new ones arrive', async () => {
    const recipient = unique('live');
    const initial = await sendMany(messenger, 12, 'early', recipient, 'initial');
    const seen: Message[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let added = 0;
    do {
      const page = await messenger.list({ recipient, limit: 4, cursor });
      seen.push(...page.messages);
      cursor = page.nextCursor;
      pages++;
      // New messages between page fetches: to the same recipient and to others.
      await sendMany(messenger, 3, 'late', recipient, `late after page ${pages}`);
      await messenger.send({ sender: 'late', recipient: 'elsewhere', message_content: 'noise' });
      added += 3;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(3);
    expect(new Set(ids(seen)).size).toBe(seen.length);
    expect(seen).toEqual([...initial].sort(newerFirst));
    // A new walk sees the new ones too, newest first.
    const after = await walk(messenger, { recipient, limit: 7 });
    expect(after.messages).toHaveLength(12 + added);
    expect(after.messages.slice(added)).toEqual(seen);
    expect(after.messages.slice(0, added).every((m) => m.sender === 'late')).toBe(true);
  });

  describe('messages sent at the same instant', () => {
    const T = '2001-02-03T04:05:06.123456Z';
    const justBefore = '2001-02-03T04:05:06.123455Z';
    const justAfter = '2001-02-03T04:05:06.123457Z';
    let recipient: string;
    let all: Message[];

    beforeAll(async () => {
      recipient = unique('ties');
      // Inserted so that ids run against time: the newest instant gets the lowest ids.
      await insertAt(justAfter, 2, 'tie', recipient, 'newer');
      await insertAt(T, 7, 'tie', recipient, 'tie');
      await insertAt(justBefore, 2, 'tie', recipient, 'older');
      all = (await messenger.list({ recipient, limit: 1000 })).messages;
    });

    it('are ordered by id, newest id first, after the time order', () => {
      expect(all.map((m) => m.message_content.split(' ')[0])).toEqual([
        ...Array<string>(2).fill('newer'),
        ...Array<string>(7).fill('tie'),
        ...Array<string>(2).fill('older'),
      ]);
      expect(all.map((m) => m.sent_datetime)).toEqual([
        ...Array<string>(2).fill(justAfter),
        ...Array<string>(7).fill(T),
        ...Array<string>(2).fill(justBefore),
      ]);
      const tieIds = ids(all.slice(2, 9));
      expect(tieIds).toEqual([...tieIds].sort((a, b) => b - a));
      expect(new Set(tieIds).size).toBe(7);
      expect(Math.min(...ids(all.slice(0, 2)))).toBeLessThan(Math.min(...tieIds));
    });

    it.each([1, 2, 3, 4])('are each seen once when pages of %i split them', async (limit) => {
      const { messages } = await walk(messenger, { recipient, limit });
      expect(messages).toEqual(all);
    });

    it('are reported in UTC with microseconds, whatever the session time zone', () => {
      expect(all[2]?.sent_datetime).toBe('2001-02-03T04:05:06.123456Z');
    });

    it('filter by since and until to the microsecond', async () => {
      const kinds = async (o: { since?: string; until?: string }) =>
        (await messenger.list({ recipient, limit: 1000, ...o })).messages.map(
          (m) => m.message_content.split(' ')[0],
        );
      const count = (list: (string | undefined)[], kind: string) =>
        list.filter((k) => k === kind).length;

      const sinceT = await kinds({ since: T });
      expect([count(sinceT, 'newer'), count(sinceT, 'tie'), count(sinceT, 'older')]).toEqual([
        2, 7, 0,
      ]);
      expect(await kinds({ since: justAfter })).toEqual(['newer', 'newer']);
      expect(await kinds({ until: T })).toEqual(['older', 'older']);
      expect(await kinds({ since: T, until: justAfter })).toEqual(Array(7).fill('tie'));
      // Without an offset the instant is UTC, not the session's zone.
      expect(await kinds({ since: T.slice(0, -1), until: justAfter.slice(0, -1) })).toEqual(
        Array(7).fill('tie'),
      );
      // The same instants written in the session's own offset.
      expect(
        await kinds({
          since: '2001-02-03T09:50:06.123456+05:45',
          until: '2001-02-03T09:50:06.123457+05:45',
        }),
      ).toEqual(Array(7).fill('tie'));
      expect(await kinds({ since: '2001-02-03', until: '2001-02-04' })).toHaveLength(11);
      expect(await kinds({ until: '2001-02-03' })).toEqual([]);
    });

    it('filter with the widest offsets PostgreSQL takes, ±15:59, in any spelling', async () => {
      const kinds = async (o: { since?: string; until?: string }) =>
        (await messenger.list({ recipient, limit: 1000, ...o })).messages.map(
          (m) => m.message_content.split(' ')[0],
        );
      // T is 04:05:06.123456Z: 20:04:06.123456 at +15:59, the day before 12:06:06.123456 at -15:59.
      const ties = Array(7).fill('tie');
      expect(
        await kinds({
          since: '2001-02-03T20:04:06.123456+15:59',
          until: '2001-02-02T12:06:06.123457-15:59',
        }),
      ).toEqual(ties);
      expect(
        await kinds({
          since: ' 2001-02-02 12:06:06.123456-1559 ',
          until: '2001-02-03t20:04:06.123457+1559',
        }),
      ).toEqual(ties);
      expect(await kinds({ until: '2001-02-03T20:04:06.123456+15:59' })).toEqual([
        'older',
        'older',
      ]);
      expect(await kinds({ since: '2001-02-02T12:06:06.123457-15:59' })).toEqual([
        'newer',
        'newer',
      ]);
      // Minute precision and hour-only offsets.
      expect(
        await kinds({ since: '2001-02-03T20:04+15:59', until: '2001-02-03T20:05+15:59' }),
      ).toHaveLength(11);
      expect(
        await kinds({
          since: '2001-02-03T19:05:06.123456+15',
          until: '2001-02-03T19:05:06.123457+15',
        }),
      ).toEqual(ties);
      // One minute wider is refused before it reaches the database, in every spelling.
      for (const v of [
        '2001-02-03T20:05:06+16:00',
        '2001-02-03 20:05-1600',
        '2001-02-03T20:05:06+16',
      ]) {
        await expect(messenger.list({ recipient, since: v })).rejects.toThrow(
          `since: the UTC offset must be between -15:59 and +15:59; got ${JSON.stringify(v)}`,
        );
        await expect(messenger.list({ recipient, until: v })).rejects.toThrow(ValidationError);
      }
    });

    it('filter from year 1 to year 9999 with extreme offsets (PostgreSQL takes 1 BC and 10000 in UTC)', async () => {
      const kinds = async (o: { since?: string | Date; until?: string | Date }) =>
        (await messenger.list({ recipient, limit: 1000, ...o })).messages.length;
      expect(await kinds({ since: '0001-01-01T00:00:00+15:59' })).toBe(11);
      expect(await kinds({ until: '9999-12-31T23:59:59.999999-15:59' })).toBe(11);
      expect(
        await kinds({
          since: new Date('0001-01-01T00:00:00Z'),
          until: new Date('9999-12-31T23:59:59.999Z'),
        }),
      ).toBe(11);
      expect(await kinds({ until: '0001-01-01T00:00:00+15:59' })).toBe(0);
      await expect(messenger.list({ since: new Date('+010000-01-01T00:00:00Z') })).rejects.toThrow(
        'since: must be between the years 1 and 9999',
      );
    });
  });

  it('filters by is_read and reports read_at', async () => {
    const recipient = unique('read');
    const sent = await sendMany(messenger, 5, 'reader', recipient);
    const read = sent.slice(1, 3);
    await open.sql(
      `update messages set is_read = true, read_at = $1::timestamptz where id = any($2::bigint[])`,
      ['2001-02-03T04:05:06.000001Z', ids(read)],
    );
    const readList = await messenger.list({ recipient, is_read: true });
    expect(readList.messages).toEqual(
      [...read]
        .sort(newerFirst)
        .map((m) => ({ ...m, is_read: true, read_at: '2001-02-03T04:05:06.000001Z' })),
    );
    const unread = await messenger.list({ recipient, is_read: 'false' });
    expect(ids(unread.messages).sort()).toEqual(
      ids([sent[0], sent[3], sent[4]] as Message[]).sort(),
    );
    expect(unread.messages.every((m) => !m.is_read && m.read_at === null)).toBe(true);
    expect((await messenger.list({ recipient })).messages).toHaveLength(5);
    expect((await walk(messenger, { recipient, is_read: 't', limit: 1 })).pageSizes).toEqual([
      1, 1,
    ]);
  });

  it('accepts cursors at the edges of time', async () => {
    const recipient = unique('edges');
    const sent = await sendMany(messenger, 3, 'edge', recipient);
    const future = encodeCursor({
      sentDatetime: '9999-12-31T23:59:59.999999Z',
      id: '9223372036854775807',
    });
    const past = encodeCursor({ sentDatetime: '0001-01-01T00:00:00.000000Z', id: '1' });
    expect((await messenger.list({ recipient, cursor: future })).messages).toEqual(
      [...sent].sort(newerFirst),
    );
    expect((await messenger.list({ recipient, cursor: past })).messages).toEqual([]);
  });
});
