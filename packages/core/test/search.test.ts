import { backends, postgresUrl } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HIGHLIGHT_END,
  HIGHLIGHT_START,
  type ListOptions,
  type Message,
  type Messenger,
  ValidationError,
} from '../src/index.js';
import { failure, openRawBackend, type RawBackend, unique } from './support.js';

/** The corpus: [sender, recipient, text, read], one minute apart, the first the oldest. */
const CORPUS: [string, string, string, boolean][] = [
  ['bob', 'alice', 'Lunch booking at the Café tomorrow?', false],
  ['alice', 'bob', 'the lunch was great, thanks', true],
  ['carol', 'alice', 'Booking confirmed for lunch at noon', false],
  ['bob', 'carol', 'Dinner with Ærø in the Straße', false],
  ['alice', 'carol', 'naïve question about the CAFE', true],
  ['carol', 'bob', 'pizza 🍕 party tonight 🎉', false],
  ['bob', 'alice', '東京タワーに行きました', false],
  ['alice', 'bob', '한국어 메시지 입니다', false],
  ['carol', 'alice', 'e-mail me the lunch menu', false],
  ['bob', 'carol', 'launch of the rocket, not a meal', false],
];

const texts = (messages: readonly Message[]) => messages.map((m) => m.message_content);
/** The corpus texts matching `pick`, newest first (as a search answers). */
const newest = (...indexes: number[]) =>
  indexes
    .sort((a, b) => b - a)
    .map((i) => CORPUS[i]?.[2])
    .filter((t) => t !== undefined);

/** Opens a backend and stores the corpus under fresh names; returns its names' map. */
async function seed(open: RawBackend): Promise<Record<string, string>> {
  const names: Record<string, string> = {
    alice: unique('alice'),
    bob: unique('bob'),
    carol: unique('carol'),
  };
  for (const [i, [s, r, text, read]] of CORPUS.entries()) {
    await open.sql(
      `insert into messages (sender, recipient, message_content, sent_datetime, is_read)
       values ($1, $2, $3, timestamptz '2026-01-01T12:00:00Z' + make_interval(mins => $4), $5)`,
      [names[s], names[r], text, i, read],
    );
  }
  return names;
}

describe.each(backends())('full-text search on $name', (backend) => {
  let open: RawBackend;
  let m: Messenger;
  let n: Record<string, string>;
  /** Searches within this file's corpus (its names), as the given options narrow it. */
  const search = async (options: ListOptions) => {
    const scope =
      options.sender !== undefined ||
      options.recipient !== undefined ||
      options.conversation !== undefined
        ? {}
        : { since: '2026-01-01T12:00:00Z', until: '2026-01-01T13:00:00Z' };
    return m.list({ ...scope, ...options });
  };

  beforeAll(async () => {
    open = await openRawBackend(backend, 'UTC');
    m = open.messenger;
    n = await seed(open);
  });
  afterAll(async () => {
    await open?.close();
  });

  it.each([
    ['a word, any case', 'LUNCH', [0, 1, 2, 8]],
    ['every word must occur', 'lunch booking', [0, 2]],
    ['a phrase keeps the order', '"lunch booking"', [0]],
    ['a phrase, the other order', '"booking confirmed"', [2]],
    ['or', 'dinner or pizza', [3, 5]],
    ['an exclusion', 'lunch -booking', [1, 8]],
    ['an excluded phrase', 'lunch -"lunch booking"', [1, 2, 8]],
    ['the last word is a prefix', 'lunc', [0, 1, 2, 8]],
    ['a prefix after other words', 'the lun', [0, 1, 8]],
    ['only the last word is a prefix', 'lun menu', []],
    ['no prefix after a closing quote', '"lunc"', []],
    ['no prefix for an excluded last word', 'lunch -boo', [0, 1, 2, 8]],
    ['accents are folded in the text', 'cafe', [0, 4]],
    ['accents are folded in the query', 'café naive', [4]],
    ['letters without a separable accent', 'aero strasse', [3]],
    ['folding in the query too', 'ÆRØ STRAẞE', [3]],
    ['no stemming', 'launch', [9]],
    ['hyphenated words, by part', 'mail', [8]],
    ['hyphenated words, whole', 'e-mail', [8]],
    ['text around emoji', 'party tonight', [5]],
    ['Japanese: a run is found by its beginning', '東京', [6]],
    ['Japanese: the whole run', '東京タワーに行きました', [6]],
    ['Japanese: not in the middle of a run', 'タワー', []],
    ['Korean: space-separated words', '메시지', [7]],
    ['Korean: a prefix of a word', '한국', [7]],
  ])('%s: %s', async (_what, q, expected) => {
    expect(texts((await search({ q })).messages)).toEqual(newest(...expected));
  });

  it('marks the matches in highlight with U+E000 … U+E001', async () => {
    const { messages } = await search({ q: 'cafe lunc' });
    expect(messages.map((x) => x.highlight)).toEqual([
      '\uE000Lunch\uE001 booking at the \uE000Café\uE001 tomorrow?',
    ]);
    expect(HIGHLIGHT_START).toBe('\uE000');
    expect(HIGHLIGHT_END).toBe('\uE001');
    const cjk = await search({ q: '東京' });
    expect(cjk.messages[0]?.highlight).toBe('\uE000東京タワーに行きました\uE001');
    // Excluded words are not marked; a plain listing has no highlight.
    expect((await search({ q: 'lunch -booking' })).messages[0]?.highlight).toBe(
      'e-mail me the \uE000lunch\uE001 menu',
    );
    expect((await search({})).messages[0]).not.toHaveProperty('highlight');
  });

  it('a marker character in the text never passes for a match', async () => {
    const sender = unique('marker');
    await m.send({ sender, recipient: 'x', message_content: 'fake \uE000mark\uE001 and real' });
    const { messages } = await m.list({ sender, q: 'real' });
    expect(messages[0]?.highlight).toBe('fake \uFFFDmark\uFFFD and \uE000real\uE001');
  });

  it('combines with every filter', async () => {
    const q = 'lunch';
    expect(texts((await search({ q, sender: n.bob })).messages)).toEqual(newest(0));
    expect(texts((await search({ q, recipient: n.alice })).messages)).toEqual(newest(0, 2, 8));
    expect(texts((await search({ q, sender: n.alice, recipient: n.bob })).messages)).toEqual(
      newest(1),
    );
    expect(texts((await search({ q, recipient: n.alice, with: n.bob })).messages)).toEqual(
      newest(0, 1),
    );
    expect(texts((await search({ q, conversation: `${n.carol},${n.alice}` })).messages)).toEqual(
      newest(2, 8),
    );
    expect(texts((await search({ q, is_read: true })).messages)).toEqual(newest(1));
    expect(texts((await search({ q, is_read: 'false' })).messages)).toEqual(newest(0, 2, 8));
    expect(
      texts(
        (await m.list({ q, since: '2026-01-01T12:01:00Z', until: '2026-01-01T12:08:00Z' }))
          .messages,
      ),
    ).toEqual(newest(1, 2));
    const first = await search({ q, limit: 3 });
    expect(texts(first.messages)).toEqual(newest(1, 2, 8));
    expect(first.nextCursor).not.toBeNull();
    const second = await search({ q, limit: 3, cursor: first.nextCursor });
    expect(texts(second.messages)).toEqual(newest(0));
    expect(second.nextCursor).toBeNull();
  });

  it('order=relevance: best match first, paged with its own cursor', async () => {
    const q = 'lunch or booking';
    const all = await search({ q, order: 'relevance' });
    // Both words rank above one.
    expect(new Set(texts(all.messages.slice(0, 2)))).toEqual(new Set(newest(0, 2)));
    expect(new Set(texts(all.messages))).toEqual(new Set(newest(0, 1, 2, 8)));
    const seen: Message[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<Messenger['list']>> = await search({
        q,
        order: 'relevance',
        limit: 1,
        cursor,
      });
      seen.push(...page.messages);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(texts(seen)).toEqual(texts(all.messages));
    // A relevance cursor is refused in newest order, and the other way round.
    const first = await search({ q, order: 'relevance', limit: 1 });
    const err = await failure(search({ q, cursor: first.nextCursor }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/^cursor: is a cursor of order=relevance/);
    const byDate = await search({ q, limit: 1 });
    expect(
      (await failure(search({ q, order: 'relevance', cursor: byDate.nextCursor }))).message,
    ).toMatch(/^cursor: is a cursor of the newest-first order/);
  });

  it.each([
    ['empty', { q: '' }, /^q: must not be empty/],
    ['blank', { q: '   ' }, /^q: must not be empty/],
    ['emoji only', { q: '🍕🎉' }, /^q: has no word to find/],
    ['punctuation only', { q: '!?"-' }, /^q: has no word to find/],
    ['exclusions only', { q: '-lunch -"a b"' }, /^q: has no word to find/],
    ['too long', { q: 'a'.repeat(201) }, /^q: at most 200 characters, got 201/],
    ['not a string', { q: 42 as unknown as string }, /^q: must be a string/],
    [
      'an unknown order',
      { q: 'x', order: 'date' as 'newest' },
      /^order: must be newest or relevance/,
    ],
    ['relevance without q', { order: 'relevance' as const }, /^order: relevance needs q/],
  ])('refuses %s with a validation error naming the field', async (_what, options, message) => {
    const err = await failure(m.list(options));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
  });

  it('pages without duplicates or gaps while matching messages arrive', async () => {
    const sender = unique('pager');
    const before: Message[] = [];
    for (let i = 0; i < 25; i++) {
      before.push(
        await m.send({ sender, recipient: 'r', message_content: `needle ${i} haystack` }),
      );
      await m.send({ sender, recipient: 'r', message_content: `hay ${i}` });
    }
    const seen: Message[] = [];
    let cursor: string | null = null;
    let extra = 0;
    do {
      const page: Awaited<ReturnType<Messenger['list']>> = await m.list({
        sender,
        q: 'needle',
        limit: 4,
        cursor,
      });
      seen.push(...page.messages);
      cursor = page.nextCursor;
      // New matches land before the cursor (newer): never on a later page.
      await Promise.all(
        [0, 1].map(() =>
          m.send({ sender, recipient: 'r', message_content: `needle late ${extra++}` }),
        ),
      );
    } while (cursor !== null);
    const ids = seen.map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(before.map((x) => x.id).reverse());
  });

  it('a mailbox searches only the mail its owner may list', async () => {
    const [me, other, third] = [unique('me'), unique('other'), unique('third')];
    const token = (await m.addUser(me)).token.token;
    await m.addUser(other);
    await m.addUser(third);
    await m.send({ sender: other, recipient: me, message_content: 'secret plan one' });
    await m.send({ sender: me, recipient: other, message_content: 'secret plan two' });
    await m.send({ sender: other, recipient: third, message_content: 'secret plan three' });
    const box = m.mailbox(await m.authenticate(token));
    expect(texts((await box.list({ q: 'secret plan' })).messages)).toEqual([
      'secret plan two',
      'secret plan one',
    ]);
    expect(texts((await box.list({ q: 'three' })).messages)).toEqual([]);
    expect(texts((await box.list({ q: 'secret', sender: other })).messages)).toEqual([
      'secret plan one',
    ]);
    expect(
      texts((await box.list({ q: 'secret', conversation: `${other},${third}` })).messages),
    ).toEqual([]);
    expect(
      texts((await box.list({ q: 'plan', with: other, order: 'relevance' })).messages).sort(),
    ).toEqual(['secret plan one', 'secret plan two']);
  });
});

describe.skipIf(postgresUrl === undefined)('search answers alike on PGlite and PostgreSQL', () => {
  it('gives the same messages, order and highlights for every query', async () => {
    const [a, b] = await Promise.all([
      openRawBackend({ name: 'pglite' }, 'UTC'),
      openRawBackend({ name: 'postgres' }, 'UTC'),
    ]);
    try {
      await seed(a);
      await seed(b);
      const queries = [
        'lunch',
        'lunc',
        '"lunch booking"',
        'lunch -booking',
        'dinner or pizza',
        'cafe',
        'ÆRØ strasse',
        'e-mail',
        'party 🎉',
        '東京',
        '한국',
        'the',
        'a or the',
      ];
      for (const q of queries) {
        for (const order of ['newest', 'relevance'] as const) {
          const answer = async (x: RawBackend) =>
            (await x.messenger.list({ q, order, limit: 1000 })).messages.map((msg) => [
              msg.message_content,
              msg.highlight,
            ]);
          expect(await answer(a), `${q} (${order})`).toEqual(await answer(b));
        }
      }
      const vectors = `select to_tsvector('simple', messenger_search_fold(message_content))::text as v
        from messages order by id`;
      expect(await a.rows(vectors)).toEqual(await b.rows(vectors));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
