// Token mode, route by route: every credential that must fail gets the same 401 and writes
// nothing; a working token reaches its own mail and only that (another user's messages, ids,
// stream and idempotency keys are out of reach).
import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, UNAUTHENTICATED_MESSAGE } from '@messenger/core';
import { backends } from '@messenger/testing';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';
import { rawHandshake, watch } from './helpers/ws.js';

interface ErrorJson {
  error: { code: string; message: string; fields?: Record<string, string[]>; request_id: string };
}

const NO_TOKEN = 'Bearer realm="messenger"';
const INVALID_TOKEN = 'Bearer realm="messenger", error="invalid_token"';

describe.each(backends())('token mode on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'token', rateLimit: 'off' } });
  let base: string;
  /** The secrets, by whose they are. */
  const token: Record<string, string> = {};
  let aliceTokenId: number;
  /** Seeded messages: a is alice, b bob, c carol. */
  const id: Record<'cToA' | 'aToB' | 'bToC' | 'cToB', number> = {
    cToA: 0,
    aToB: 0,
    bToC: 0,
    cToB: 0,
  };

  beforeAll(async () => {
    const m = t.messenger;
    const alice = await m.addUser('alice');
    token.alice = alice.token.token;
    aliceTokenId = alice.token.id;
    token.bob = (await m.addUser('bob')).token.token;
    token.carol = (await m.addUser('carol')).token.token;
    token.dave = (await m.addUser('dave')).token.token;
    await m.disableUser('dave');
    const revoked = await m.createToken('alice', { label: 'revoked' });
    await m.revokeToken(revoked.id);
    token.revoked = revoked.token;
    const expiresAt = new Date(Date.now() + 1000);
    token.expired = (await m.createToken('alice', { label: 'expired', expiresAt })).token;

    const as = async (who: string) => m.mailbox(await m.authenticate(token[who]));
    id.cToA = (await (await as('carol')).send({ recipient: 'alice', message_content: 'c→a' })).id;
    id.aToB = (await (await as('alice')).send({ recipient: 'bob', message_content: 'a→b' })).id;
    id.bToC = (await (await as('bob')).send({ recipient: 'carol', message_content: 'b→c' })).id;
    id.cToB = (await (await as('carol')).send({ recipient: 'bob', message_content: 'c→b' })).id;
    await (await as('bob')).send(
      { recipient: 'carol', message_content: 'bob keyed' },
      { idempotencyKey: 'shared-key' },
    );
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    await sleep(Math.max(0, expiresAt.getTime() - Date.now() + 50));
  });

  /** Every message, and how many are read: what a refused request must leave as it was. */
  const state = async () => {
    let messages = 0;
    let read = 0;
    let cursor: string | null = null;
    do {
      const page = await t.messenger.list({ limit: 1000, cursor });
      messages += page.messages.length;
      read += page.messages.filter((x) => x.is_read).length;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return { messages, read };
  };

  const bearer = (who: string) => ({ authorization: `Bearer ${token[who]}` });

  /** The HTTP routes, each as one request with the given headers (and extra query). */
  const ROUTES: Record<string, (headers: Record<string, string>, query?: string) => InjectOptions> =
    {
      'POST /api/messages/send/': (headers, query = '') => ({
        method: 'POST',
        url: `/api/messages/send/${query}`,
        headers: { ...headers, 'idempotency-key': 'refused-key' },
        payload: { recipient: 'bob', message_content: 'must not be stored' },
      }),
      'GET /api/messages/': (headers, query = '') => ({
        url: `/api/messages/${query}`,
        headers,
      }),
      'POST /api/messages/read/': (headers, query = '') => ({
        method: 'POST',
        url: `/api/messages/read/${query}`,
        headers,
        payload: { ids: [id.cToA] },
      }),
      'GET /api/me': (headers, query = '') => ({ url: `/api/me${query}`, headers }),
    };

  /** Credentials that must all get the same 401: [name, headers, query, challenge]. */
  const failing = (): [string, Record<string, string>, string, string][] => [
    ['no token', {}, '', NO_TOKEN],
    ['garbage', { authorization: 'Bearer garbage' }, '', INVALID_TOKEN],
    ['malformed: Basic', { authorization: 'Basic YWxpY2U6c2VjcmV0' }, '', INVALID_TOKEN],
    ['malformed: scheme alone', { authorization: 'Bearer' }, '', INVALID_TOKEN],
    ['malformed: token without scheme', { authorization: token.alice ?? '' }, '', INVALID_TOKEN],
    [
      'malformed: two tokens',
      { authorization: `Bearer ${token.alice} ${token.alice}` },
      '',
      INVALID_TOKEN,
    ],
    [
      'malformed: one character more',
      { authorization: `Bearer ${token.alice}x` },
      '',
      INVALID_TOKEN,
    ],
    ['unknown', { authorization: `Bearer msg_${'A'.repeat(43)}` }, '', INVALID_TOKEN],
    ['revoked', bearer('revoked'), '', INVALID_TOKEN],
    ['expired', bearer('expired'), '', INVALID_TOKEN],
    ['disabled user', bearer('dave'), '', INVALID_TOKEN],
    // Never read from the query string (nginx logs it): as if none was sent.
    ['token in the query string', {}, `?access_token=${token.alice}`, NO_TOKEN],
  ];

  it('refuses every route × every bad credential with the same 401, writing nothing', async () => {
    const before = await state();
    const bodies = new Set<string>();
    for (const [route, make] of Object.entries(ROUTES)) {
      for (const [name, headers, query, challenge] of failing()) {
        const r = await t.app.inject(make(headers, query));
        const where = `${route} with ${name}`;
        expect(r.statusCode, where).toBe(401);
        expect(r.headers['www-authenticate'], where).toBe(challenge);
        const body = r.json<ErrorJson>();
        expect(body.error, where).toEqual({
          code: 'unauthenticated',
          message: UNAUTHENTICATED_MESSAGE,
          request_id: r.headers['x-request-id'],
        });
        bodies.add(JSON.stringify({ ...body.error, request_id: undefined }));
        expect(r.body, where).not.toContain(token.alice);
      }
    }
    // One answer whatever the reason.
    expect(bodies.size).toBe(1);
    expect(await state()).toEqual(before);
    // Nothing of the refused sends was kept, not even their idempotency key.
    const own = await t.app.inject({
      ...ROUTES['POST /api/messages/send/']?.(bearer('alice')),
      payload: { recipient: 'bob', message_content: 'another body, same key' },
    });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses the stream × every bad credential with a 401 before upgrading', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ...failing().map(([name, headers, query]): [string, Record<string, string>, string] => [
        name,
        headers,
        query,
      ]),
      ['offer: bearer and garbage', { 'sec-websocket-protocol': 'bearer, garbage' }, ''],
      ['offer: bearer alone', { 'sec-websocket-protocol': 'bearer' }, ''],
      ['offer: revoked', { 'sec-websocket-protocol': `bearer, ${token.revoked}` }, ''],
      ['offer: disabled user', { 'sec-websocket-protocol': `bearer, ${token.dave}` }, ''],
      ['offer: token first', { 'sec-websocket-protocol': `${token.alice}, bearer` }, ''],
      ['offer: token without bearer', { 'sec-websocket-protocol': `${token.alice}` }, ''],
    ];
    for (const [name, headers, query] of cases) {
      const r = await rawHandshake(base, `/api/messages/stream${query}`, { headers });
      expect(r.head, name).toMatch(/^HTTP\/1\.1 401 /);
      expect(r.head.toLowerCase(), name).toMatch(/\r\nwww-authenticate: bearer realm="messenger"/);
      expect((JSON.parse(r.body) as ErrorJson).error.message, name).toBe(UNAUTHENTICATED_MESSAGE);
    }
  });

  it('send: as the caller only; another user’s key is another key', async () => {
    const send = (who: string, payload: object, key?: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/messages/send/',
        headers: { ...bearer(who), ...(key !== undefined && { 'idempotency-key': key }) },
        payload,
      });
    const rows: [string, string, object, number, number, string?][] = [
      // [case, who, body, status, messages written, error code]
      [
        'another sender',
        'alice',
        { sender: 'bob', recipient: 'carol', message_content: 'x' },
        403,
        0,
        'forbidden',
      ],
      [
        'another sender, other case',
        'alice',
        { sender: 'BOB', recipient: 'carol', message_content: 'x' },
        403,
        0,
        'forbidden',
      ],
      [
        'to nobody',
        'alice',
        { recipient: 'nobody', message_content: 'x' },
        400,
        0,
        'validation_failed',
      ],
      [
        'to a disabled user',
        'alice',
        { recipient: 'dave', message_content: 'x' },
        400,
        0,
        'validation_failed',
      ],
      ['own, sender omitted', 'alice', { recipient: 'Bob', message_content: 'hi bob' }, 201, 1],
      [
        'own, sender given in another case',
        'alice',
        { sender: 'ALICE', recipient: 'bob', message_content: 'hi' },
        201,
        1,
      ],
    ];
    for (const [name, who, payload, status, written, code] of rows) {
      const before = await state();
      const r = await send(who, payload);
      expect(r.statusCode, `${name}: ${r.body}`).toBe(status);
      if (code !== undefined) expect(r.json<ErrorJson>().error.code, name).toBe(code);
      else expect(r.json<Message>()).toMatchObject({ sender: 'alice', recipient: 'bob' });
      expect((await state()).messages - before.messages, name).toBe(written);
    }

    // bob used 'shared-key' (in beforeAll): for alice it is a key of her own.
    const before = await state();
    const mine = await send(
      'alice',
      { recipient: 'carol', message_content: 'alice keyed' },
      'shared-key',
    );
    expect(mine.statusCode).toBe(201);
    expect(mine.headers['idempotent-replayed']).toBeUndefined();
    expect(mine.json<Message>().sender).toBe('alice');
    const again = await send(
      'alice',
      { recipient: 'carol', message_content: 'alice keyed' },
      'shared-key',
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(mine.body);
    expect((await state()).messages - before.messages).toBe(1);
  });

  it('list: the caller’s mail only; filters and cursors cannot widen it', async () => {
    const list = async (who: string, query = '') => {
      const r = await t.app.inject({ url: `/api/messages/${query}`, headers: bearer(who) });
      expect(r.statusCode, r.body).toBe(200);
      return {
        messages: r.json<Message[]>(),
        next: r.headers['x-next-cursor'] as string | undefined,
      };
    };
    const mine = (await list('alice')).messages;
    expect(mine.length).toBeGreaterThan(0);
    for (const m of mine) expect([m.sender, m.recipient]).toContain('alice');
    expect(mine.map((m) => m.id)).toEqual(expect.arrayContaining([id.cToA, id.aToB]));
    expect(mine.map((m) => m.id)).not.toContain(id.bToC);

    const rows: [string, string, number[]][] = [
      ['another conversation', '?sender=bob&recipient=carol', []],
      ['another conversation, as conversation=', '?conversation=bob,carol', []],
      ['with= someone alice never wrote with', '?with=dave', []],
      [
        'recipient=bob is alice → bob',
        '?recipient=bob',
        mine.filter((m) => m.recipient === 'bob').map((m) => m.id),
      ],
      ['sender=carol is carol → alice', '?sender=carol', [id.cToA]],
    ];
    for (const [name, query, ids] of rows) {
      expect(
        (await list('alice', query)).messages.map((m) => m.id),
        name,
      ).toEqual(ids);
    }
    // A cursor of bob's listing, used by alice, pages through alice's mail only.
    const bobs = await list('bob', '?limit=1');
    expect(bobs.next).toBeDefined();
    const paged = await list('alice', `?cursor=${encodeURIComponent(bobs.next ?? '')}&limit=1000`);
    for (const m of paged.messages) expect([m.sender, m.recipient]).toContain('alice');
    expect(paged.messages.map((m) => m.id)).not.toContain(id.bToC);
  });

  it('mark read: only messages the caller received; other ids look like ids that do not exist', async () => {
    const read = (who: string, payload: object) =>
      t.app.inject({ method: 'POST', url: '/api/messages/read/', headers: bearer(who), payload });
    const rows: [string, object, number, unknown, number][] = [
      // [case, body (as alice), status, answer, messages marked]
      [
        'another user’s ids',
        { ids: [id.bToC, id.cToB] },
        200,
        { updated: 0, ids: [], more: false },
        0,
      ],
      ['an id alice sent', { ids: [id.aToB] }, 200, { updated: 0, ids: [], more: false }, 0],
      [
        'an id that does not exist',
        { ids: [987654321] },
        200,
        { updated: 0, ids: [], more: false },
        0,
      ],
      ['another recipient', { recipient: 'bob' }, 403, undefined, 0],
      ['another recipient, up to', { recipient: 'carol', up_to: id.cToB }, 403, undefined, 0],
      ['own id', { ids: [id.cToA, id.bToC] }, 200, { updated: 1, ids: [id.cToA], more: false }, 1],
    ];
    for (const [name, payload, status, answer, marked] of rows) {
      const before = await state();
      const r = await read('alice', payload);
      expect(r.statusCode, `${name}: ${r.body}`).toBe(status);
      if (answer !== undefined) expect(r.json(), name).toEqual(answer);
      else expect(r.json<ErrorJson>().error.code, name).toBe('forbidden');
      expect((await state()).read - before.read, name).toBe(marked);
    }
    const bobView = await t.messenger.list({ sender: 'bob', recipient: 'carol' });
    expect(bobView.messages.every((m) => !m.is_read)).toBe(true);
  });

  it('stream: the caller’s own, by header or by the bearer protocol offer; another user’s is 403 before upgrading', async () => {
    for (const query of ['recipient=bob', 'recipient=carol&sender=alice', 'recipient=nobody']) {
      const r = await rawHandshake(base, `/api/messages/stream?${query}`, {
        headers: bearer('alice'),
      });
      expect(r.head, query).toMatch(/^HTTP\/1\.1 403 /);
      expect((JSON.parse(r.body) as ErrorJson).error.code, query).toBe('forbidden');
    }
    const viaHeader = watch(base, '', { headers: bearer('alice') });
    const viaOffer = watch(base, 'recipient=ALICE', { protocols: ['bearer', token.alice ?? ''] });
    const bobs = watch(base, '', { headers: bearer('bob') });
    await Promise.all([viaHeader.ready(), viaOffer.ready(), bobs.ready()]);
    expect(viaOffer.ws.protocol).toBe('bearer');
    expect(viaHeader.ws.protocol).toBe('');

    const carol = t.messenger.mailbox(await t.messenger.authenticate(token.carol));
    await carol.send({ recipient: 'bob', message_content: 'for bob only' });
    const forAlice = await carol.send({ recipient: 'alice', message_content: 'for alice only' });
    // (A new stream may also carry mail committed just before it opened, while other
    // transactions ran: so each is checked for whose mail it carries, not for a count.)
    for (const w of [viaHeader, viaOffer]) {
      await w.until(() => w.messages().some((x) => x.id === forAlice.id), 'alice’s message');
    }
    await bobs.until(
      () => bobs.messages().some((x) => x.message_content === 'for bob only'),
      'bob’s message',
    );
    await sleep(200);
    for (const [owner, w] of [
      ['alice', viaHeader],
      ['alice', viaOffer],
      ['bob', bobs],
    ] as const) {
      expect(w.messages().length, owner).toBeGreaterThan(0);
      for (const x of w.messages()) expect(x.recipient, `${owner}’s stream`).toBe(owner);
    }
    for (const w of [viaHeader, viaOffer, bobs]) w.ws.close();

    // Another user's message id as a resume point is as unknown as one that does not exist.
    const after = watch(base, `after=${id.bToC}`, { headers: bearer('alice') });
    await after.until(() => after.closed() !== undefined, 'close');
    expect(after.events).toEqual([
      {
        type: 'error',
        error: expect.objectContaining({
          code: 'validation_failed',
          message: `after: no message with id ${id.bToC}`,
        }),
      },
    ]);
    expect(after.closed()?.code).toBe(1008);
  });

  it('GET /api/me: the token’s user and its public details, never the token', async () => {
    const r = await t.app.inject({ url: '/api/me', headers: bearer('alice') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      name: 'alice',
      auth: 'token',
      token: {
        id: aliceTokenId,
        label: 'initial',
        created_at: expect.stringMatching(/Z$/),
        expires_at: null,
      },
    });
    expect(r.body).not.toContain(token.alice);
    const bob = await t.app.inject({ url: '/api/me', headers: bearer('bob') });
    expect(bob.json<{ name: string }>().name).toBe('bob');
  });

  it('keeps the probes and the docs public', async () => {
    for (const url of ['/healthz', '/readyz', '/api/openapi.json', '/api/docs']) {
      const r: LightMyRequestResponse = await t.app.inject({ url });
      expect(r.statusCode, url).toBe(200);
    }
  });
});

describe.each(backends())('open mode on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' } });

  it('GET /api/me says there is nothing to log in to; a token is not needed anywhere', async () => {
    const me = await t.app.inject({ url: '/api/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ name: null, auth: 'open' });
    const sent = await t.app.inject({
      method: 'POST',
      url: '/api/messages/send/',
      payload: { sender: 'anyone', recipient: 'someone', message_content: 'free text names' },
    });
    expect(sent.statusCode).toBe(201);
    // A garbage token changes nothing: open mode reads no credentials.
    const list = await t.app.inject({
      url: '/api/messages/?recipient=someone',
      headers: { authorization: 'Bearer garbage' },
    });
    expect(list.statusCode).toBe(200);
    expect(list.json<Message[]>()).toHaveLength(1);
    const doc = (await t.app.inject({ url: '/api/openapi.json' })).json<{
      components: Record<string, unknown>;
      paths: Record<string, Record<string, { security?: unknown; responses: object }>>;
    }>();
    expect(doc.components.securitySchemes).toBeUndefined();
    expect(doc.paths['/api/messages/']?.get?.security).toBeUndefined();
    expect(Object.keys(doc.paths['/api/messages/']?.get?.responses ?? {})).not.toContain('401');
  });
});
