import { connect } from 'node:net';
import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import type { InjectOptions } from 'fastify';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';

interface ErrorJson {
  error: { code: string; message: string; fields?: Record<string, string[]>; request_id: string };
}

const SEND = '/api/messages/send/';
const LIST = '/api/messages/';

describe.each(backends())('HTTP API on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' } });

  const send = (body: unknown) =>
    t.app.inject({ method: 'POST', url: SEND, payload: body as object });
  const list = async (query: string) => {
    const r = await t.app.inject({ url: `${LIST}?${query}` });
    expect(r.statusCode, r.body).toBe(200);
    return r.json<Message[]>();
  };
  /** Every stored message, through core, following cursors. */
  const countAll = async () => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const page = await t.messenger.list({ limit: 1000, cursor });
      n += page.messages.length;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return n;
  };

  it('POST /api/messages/send/ answers 201 with the stored message, JSON or form', async () => {
    const r = await send({
      sender: ' bob ',
      recipient: 'alice-send',
      message_content: ' hi 😀 ',
      id: 99,
      is_read: true,
    });
    expect(r.statusCode).toBe(201);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const m = r.json<Message>();
    expect(m).toEqual({
      id: expect.any(Number),
      sender: 'bob',
      recipient: 'alice-send',
      message_content: 'hi 😀',
      sent_datetime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      is_read: false,
      read_at: null,
    });
    expect(m.id).not.toBe(99);

    const form = await t.app.inject({
      method: 'POST',
      url: '/api/messages/send',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'sender=carol&recipient=alice-send&message_content=caf%C3%A9+ok',
    });
    expect(form.statusCode).toBe(201);
    expect(form.json<Message>().message_content).toBe('café ok');
    expect((await list('recipient=alice-send')).map((x) => x.message_content)).toEqual([
      'café ok',
      'hi 😀',
    ]);
  });

  it('passes the original service test suite scenarios', async () => {
    const post = async (sender: string, recipient: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await send({
          sender,
          recipient,
          message_content: `${sender} to ${recipient} #${i}`,
        });
        expect(r.statusCode).toBe(201);
      }
    };
    await post('molly', 'ben', 50);
    await post('alice', 'molly', 50);
    await post('alice', 'ben', 50);
    expect(await list('')).toHaveLength(100);
    expect(await list('recipient=molly')).toHaveLength(50);
    expect(await list('sender=alice')).toHaveLength(100);
    expect(await list('sender=alice&recipient=molly')).toHaveLength(50);
    expect(await list('recipient=ben&is_read=False')).toHaveLength(100);
    expect(await list('recipient=ben&is_read=True')).toHaveLength(0);
    expect(await list('sender=ALICE&recipient=Molly')).toHaveLength(50);
    const newest = await list('sender=alice&recipient=ben&limit=1');
    expect(newest[0]?.message_content).toBe('alice to ben #49');
    for (const field of ['sender', 'recipient', 'message_content']) {
      const body: Record<string, string> = { sender: 'a', recipient: 'b', message_content: 'c' };
      body[field] = '';
      const r = await send(body);
      expect(r.statusCode).toBe(400);
      expect(r.json<ErrorJson>().error.fields?.[field]).toEqual(['may not be blank']);
    }
  }, 60_000);

  it('pages with X-Next-Cursor and a Link header, absent on the last page', async () => {
    for (let i = 0; i < 5; i++)
      expect(
        (await send({ sender: 'pager', recipient: 'paged', message_content: `m${i}` })).statusCode,
      ).toBe(201);
    const seen: string[] = [];
    let url: string | undefined = `${LIST}?recipient=paged&limit=2`;
    let pages = 0;
    while (url !== undefined) {
      const r = await t.app.inject({ url });
      expect(r.statusCode).toBe(200);
      seen.push(...r.json<Message[]>().map((m) => m.message_content));
      const link = r.headers.link as string | undefined;
      const cursor = r.headers['x-next-cursor'];
      if (link === undefined) {
        expect(cursor).toBeUndefined();
        url = undefined;
      } else {
        expect(link).toMatch(
          /^<\/api\/messages\/\?recipient=paged&limit=2&cursor=[\w-]+>; rel="next"$/,
        );
        expect(link).toContain(`cursor=${cursor}`);
        url = /^<([^>]+)>/.exec(link)?.[1];
      }
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
  });

  it('filters by since and until', async () => {
    const r = await send({ sender: 'timer', recipient: 'timed', message_content: 'now' });
    const at = r.json<Message>().sent_datetime;
    expect(await list(`recipient=timed&since=${encodeURIComponent(at)}`)).toHaveLength(1);
    expect(await list(`recipient=timed&until=${encodeURIComponent(at)}`)).toHaveLength(0);
    expect(await list('recipient=timed&since=2000-01-01&until=2000-01-02')).toHaveLength(0);
  });

  it('answers the probes', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const given = await t.app.inject({
      url: '/healthz',
      headers: { 'x-request-id': 'req-42.a:b' },
    });
    expect(given.headers['x-request-id']).toBe('req-42.a:b');
    const unsafe = await t.app.inject({
      url: `${LIST}?limit=0`,
      headers: { 'x-request-id': 'x'.repeat(200) },
    });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(unsafe.json<ErrorJson>().error.request_id).toBe(unsafe.headers['x-request-id']);
  });

  it('serves the generated OpenAPI document', async () => {
    const r = await t.app.inject({ url: '/api/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths['/api/messages/send/'] ?? {})).toContain('post');
    expect(Object.keys(doc.paths['/api/messages/'] ?? {})).toContain('get');
  });

  describe('hostile input', () => {
    type Case = [name: string, req: InjectOptions, status: number, code: string, field?: string];
    const json = (payload: string): InjectOptions => ({
      method: 'POST',
      url: SEND,
      headers: { 'content-type': 'application/json' },
      payload,
    });
    const body = (b: unknown): InjectOptions => json(JSON.stringify(b));
    const form = (payload: string): InjectOptions => ({
      method: 'POST',
      url: SEND,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload,
    });
    const get = (query: string): InjectOptions => ({ url: `${LIST}?${query}` });
    const ok = { sender: 'bob', recipient: 'alice', message_content: 'hi' };
    const V = 'validation_failed';
    const cases: Case[] = [
      ['missing sender', body({ recipient: 'a', message_content: 'c' }), 400, V, 'sender'],
      ['missing recipient', body({ sender: 'a', message_content: 'c' }), 400, V, 'recipient'],
      ['missing content', body({ sender: 'a', recipient: 'b' }), 400, V, 'message_content'],
      ['empty object', body({}), 400, V, 'sender'],
      ['null sender', body({ ...ok, sender: null }), 400, V, 'sender'],
      ['number sender', body({ ...ok, sender: 123 }), 400, V, 'sender'],
      ['boolean sender', body({ ...ok, sender: true }), 400, V, 'sender'],
      ['array sender', body({ ...ok, sender: ['bob'] }), 400, V, 'sender'],
      ['object sender', body({ ...ok, sender: { name: 'bob' } }), 400, V, 'sender'],
      ['number content', body({ ...ok, message_content: 5 }), 400, V, 'message_content'],
      [
        '161 characters',
        body({ ...ok, message_content: 'x'.repeat(161) }),
        400,
        V,
        'message_content',
      ],
      ['161 emoji', body({ ...ok, message_content: '😀'.repeat(161) }), 400, V, 'message_content'],
      ['51-character sender', body({ ...ok, sender: 's'.repeat(51) }), 400, V, 'sender'],
      ['51-character recipient', body({ ...ok, recipient: 'r'.repeat(51) }), 400, V, 'recipient'],
      ['blank sender', body({ ...ok, sender: '   ' }), 400, V, 'sender'],
      [
        'whitespace content',
        body({ ...ok, message_content: '\n\t \u00a0' }),
        400,
        V,
        'message_content',
      ],
      ['NUL in content', body({ ...ok, message_content: 'a\u0000b' }), 400, V, 'message_content'],
      ['NUL in sender', body({ ...ok, sender: 'a\u0000b' }), 400, V, 'sender'],
      ['bell in recipient', body({ ...ok, recipient: 'a\u0007b' }), 400, V, 'recipient'],
      ['newline in sender', body({ ...ok, sender: 'a\nb' }), 400, V, 'sender'],
      ['escape in sender', body({ ...ok, sender: 'a\u001b[2Jb' }), 400, V, 'sender'],
      [
        'lone high surrogate',
        json('{"sender":"bob","recipient":"alice","message_content":"\\ud800"}'),
        400,
        V,
        'message_content',
      ],
      [
        'lone low surrogate',
        json('{"sender":"\\udc00","recipient":"alice","message_content":"x"}'),
        400,
        V,
        'sender',
      ],
      ['array body', body([ok]), 400, V, 'body'],
      ['string body', body('hello'), 400, V, 'body'],
      ['number body', body(42), 400, V, 'body'],
      ['null body', json('null'), 400, V, 'body'],
      ['truncated JSON', json('{"sender":'), 400, 'bad_request'],
      ['trailing garbage', json('{"sender":"a"}x'), 400, 'bad_request'],
      ['single quotes', json("{'sender':'bob'}"), 400, 'bad_request'],
      ['empty JSON body', json(''), 400, 'bad_request'],
      ['whitespace JSON body', json('   \n'), 400, 'bad_request'],
      [
        '__proto__ key',
        json('{"__proto__":{"admin":true},"sender":"a","recipient":"b","message_content":"c"}'),
        400,
        'bad_request',
      ],
      [
        'constructor.prototype',
        json(
          '{"constructor":{"prototype":{"x":1}},"sender":"a","recipient":"b","message_content":"c"}',
        ),
        400,
        'bad_request',
      ],
      [
        'invalid UTF-8',
        {
          method: 'POST',
          url: SEND,
          headers: { 'content-type': 'application/json' },
          payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        },
        400,
        'bad_request',
      ],
      ['deep nesting', json('['.repeat(8000) + ']'.repeat(8000)), 400, V, 'body'],
      [
        'form body as JSON',
        json('sender=bob&recipient=alice&message_content=hi'),
        400,
        'bad_request',
      ],
      [
        'text/plain',
        { method: 'POST', url: SEND, headers: { 'content-type': 'text/plain' }, payload: 'hi' },
        415,
        'unsupported_media_type',
      ],
      [
        'application/xml',
        {
          method: 'POST',
          url: SEND,
          headers: { 'content-type': 'application/xml' },
          payload: '<m/>',
        },
        415,
        'unsupported_media_type',
      ],
      [
        'multipart',
        {
          method: 'POST',
          url: SEND,
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
          payload: '--x--',
        },
        415,
        'unsupported_media_type',
      ],
      [
        'no content type',
        { method: 'POST', url: SEND, payload: 'sender=bob' },
        415,
        'unsupported_media_type',
      ],
      [
        'body over 16 KiB',
        body({ ...ok, message_content: 'x'.repeat(17_000) }),
        413,
        'payload_too_large',
      ],
      [
        'form: 161 characters',
        form(`sender=bob&recipient=alice&message_content=${'x'.repeat(161)}`),
        400,
        V,
        'message_content',
      ],
      [
        'form: repeated sender',
        form('sender=bob&sender=eve&recipient=alice&message_content=hi'),
        400,
        V,
        'sender',
      ],
      ['form: missing recipient', form('sender=bob&message_content=hi'), 400, V, 'recipient'],
      [
        'form: NUL',
        form('sender=bob&recipient=alice&message_content=a%00b'),
        400,
        V,
        'message_content',
      ],
      ['JSON sent as form', form(JSON.stringify(ok)), 400, V, 'sender'],
      [
        'form: invalid %-escape',
        form('sender=bob&recipient=alice&message_content=%FF'),
        400,
        'bad_request',
      ],
      [
        'form: escaped surrogate',
        form('sender=bob&recipient=alice&message_content=%ED%A0%80'),
        400,
        'bad_request',
      ],
      [
        'form: raw invalid UTF-8',
        {
          method: 'POST',
          url: SEND,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: Buffer.concat([
            Buffer.from('sender=bob&recipient=alice&message_content=a'),
            Buffer.from([0xff]),
          ]),
        },
        400,
        'bad_request',
      ],
      ['is_read=maybe', get('is_read=maybe'), 400, V, 'is_read'],
      ['is_read=yes', get('is_read=yes'), 400, V, 'is_read'],
      ['repeated is_read', get('is_read=true&is_read=false'), 400, V, 'is_read'],
      ['limit=0', get('limit=0'), 400, V, 'limit'],
      ['limit=1001', get('limit=1001'), 400, V, 'limit'],
      ['limit=abc', get('limit=abc'), 400, V, 'limit'],
      ['limit=-1', get('limit=-1'), 400, V, 'limit'],
      ['limit=1.5', get('limit=1.5'), 400, V, 'limit'],
      ['limit=1e3', get('limit=1e3'), 400, V, 'limit'],
      ['since=yesterday', get('since=yesterday'), 400, V, 'since'],
      ['until month 13', get('until=2026-13-01'), 400, V, 'until'],
      ['February 30', get('since=2026-02-30'), 400, V, 'since'],
      ['since after until', get('since=2026-02-01&until=2026-01-01'), 400, V, 'until'],
      ['garbage cursor', get('cursor=%%%'), 400, V, 'cursor'],
      [
        'forged cursor',
        get(`cursor=${Buffer.from('not|a|cursor').toString('base64url')}`),
        400,
        V,
        'cursor',
      ],
      ['unknown parameter', get('foo=1'), 400, V, 'foo'],
      ['typo in parameter', get('recipent=alice'), 400, V, 'recipent'],
      ['repeated sender', get('sender=a&sender=b'), 400, V, 'sender'],
      [
        'joined with ?',
        { url: `${LIST}?sender=bob?recipient=alice?is_read=false` },
        400,
        V,
        'sender',
      ],
      ['51-character filter', get(`sender=${'s'.repeat(51)}`), 400, V, 'sender'],
      ['control char in filter', get('sender=a%07b'), 400, V, 'sender'],
      ['NUL in filter', get('recipient=a%00b'), 400, V, 'recipient'],
      ['DELETE list', { method: 'DELETE', url: LIST }, 405, 'method_not_allowed'],
      ['PUT send', { method: 'PUT', url: SEND, payload: ok }, 405, 'method_not_allowed'],
      ['GET send', { url: SEND }, 405, 'method_not_allowed'],
      ['PATCH list', { method: 'PATCH', url: LIST, payload: ok }, 405, 'method_not_allowed'],
      ['query: escape not UTF-8', get('sender=%FF'), 400, V, 'sender'],
      ['query: overlong UTF-8', get('recipient=%C0%AF'), 400, V, 'recipient'],
      ['query: malformed escape', get('sender=a%zzb'), 400, V, 'sender'],
      ['query: lone %', get('limit=5&recipient=100%'), 400, V, 'recipient'],
      ['query: escaped surrogate', get('sender=%ED%A0%80'), 400, V, 'sender'],
      ['query: bad escape in a name', get('sen%FFder=bob'), 400, V, 'sen%FFder'],
      ['path: malformed escape', { url: '/api/messages/%zz' }, 400, 'bad_request'],
      ['path: lone %', { url: '/%' }, 400, 'bad_request'],
      ['path: overlong UTF-8', { url: '/api/messages/%C0%AF' }, 400, 'bad_request'],
      ['path: bad escape, POST', { method: 'POST', url: '/api/%FF/send/' }, 400, 'bad_request'],
      [
        'stream without upgrade',
        { url: '/api/messages/stream?recipient=alice' },
        426,
        'upgrade_required',
      ],
      ['unknown path', { url: '/api/messages/everything/' }, 404, 'not_found'],
      ['path traversal', { url: '/api/../etc/passwd' }, 404, 'not_found'],
    ];

    it(`rejects ${cases.length} bad requests with a 4xx, the error envelope and no write`, async () => {
      expect(cases.length).toBeGreaterThanOrEqual(60);
      const before = await countAll();
      for (const [label, req, status, code, field] of cases) {
        const r = await t.app.inject(req);
        expect(r.statusCode, `${label}: ${r.body}`).toBe(status);
        expect(r.headers['content-type'], label).toMatch(/^application\/json/);
        const e = r.json<ErrorJson>().error;
        expect(e.code, label).toBe(code);
        expect(e.message.length, label).toBeGreaterThan(0);
        expect(e.request_id, label).toBe(r.headers['x-request-id']);
        expect(e.message, label).not.toMatch(/SQL|syntax error|relation|pg_|at .+\.js/i);
        if (field !== undefined) {
          expect(e.fields?.[field], `${label}: ${r.body}`).toBeDefined();
          expect(e.message, label).toContain(`${field}:`);
        }
        if (status === 405) expect(r.headers.allow, label).toBeDefined();
      }
      expect(await countAll()).toBe(before);
    }, 60_000);

    it('takes an escaped ? in a query value, and ?x= in a form body, as text', async () => {
      const escaped = await t.app.inject({ url: `${LIST}?sender=bob%3Frecipient%3Dalice` });
      expect(escaped.statusCode, escaped.body).toBe(200);
      const text = 'what?x=1&y=2';
      const form = await t.app.inject({
        method: 'POST',
        url: SEND,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          sender: 'asker?to=x',
          recipient: 'form-q',
          message_content: text,
        }).toString(),
      });
      expect(form.statusCode, form.body).toBe(201);
      expect(form.json<Message>()).toMatchObject({ sender: 'asker?to=x', message_content: text });
      // Repeated form names still reach core as all their values, and are refused.
      const repeated = await t.app.inject({
        method: 'POST',
        url: SEND,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'sender=a&sender=b&sender=c&recipient=r&message_content=m',
      });
      expect(repeated.statusCode).toBe(400);
      expect(repeated.json<ErrorJson>().error.fields?.sender).toEqual([
        'must be a string, got array',
      ]);
    });

    it('explains the original README example joined with ?', async () => {
      const r = await t.app.inject({
        url: '/api/messages/?sender=bob?recipient=alice?is_read=false',
      });
      expect(r.json<ErrorJson>().error.message).toContain('query parameters are joined with "&"');
    });
  });

  it('serves a real loopback port to undici', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const sent = await request(`${address}${SEND}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: 'net', recipient: 'loopback', message_content: 'over TCP' }),
    });
    expect(sent.statusCode).toBe(201);
    expect(((await sent.body.json()) as Message).message_content).toBe('over TCP');
    const listed = await request(`${address}${LIST}?recipient=loopback`);
    expect(listed.statusCode).toBe(200);
    expect(((await listed.body.json()) as Message[]).map((m) => m.message_content)).toEqual([
      'over TCP',
    ]);
    // Bytes that are not HTTP at all still get the error shape.
    const { port } = new URL(address);
    for (const [raw, status, code] of [
      [
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
        400,
        'bad_request',
      ],
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
      [
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers_too_large',
      ],
    ] as const) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let data = '';
        socket.on('data', (d) => {
          data += d.toString('latin1');
        });
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
        socket.write(raw);
      });
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toContain(`{"error":{"code":"${code}"`);
    }
    const bad = await request(`${address}${LIST}?nope=1`);
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as ErrorJson).error.code).toBe('validation_failed');
  });
});
