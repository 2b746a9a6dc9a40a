import {
  DatabaseLockedError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '@messenger/core';
import {
  freePort,
  replyJson as json,
  type StubHandler,
  type StubHttpServer,
  startStubHttpServer,
} from '@messenger/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError, UsageError } from '../errors.js';
import { HttpClient } from './http-client.js';

const MESSAGE = {
  id: 7,
  sender: 'bob',
  recipient: 'alice',
  message_content: 'hi',
  sent_datetime: '2026-01-01T00:00:00.000000Z',
  is_read: false,
  read_at: null,
};

const servers: StubHttpServer[] = [];
const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A stub API that records what it was sent. */
async function serve(handler: StubHandler, port = 0): Promise<StubHttpServer> {
  const server = await startStubHttpServer(handler, { port });
  servers.push(server);
  return server;
}

function client(baseUrl: string, overrides: Partial<{ retries: number }> = {}): HttpClient {
  const c = new HttpClient({
    baseUrl,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 10_000,
    retries: 2,
    userAgent: 'msg/test',
    ...overrides,
  });
  clients.push(c);
  return c;
}

const SEND = { sender: 'bob', recipient: 'alice', message_content: 'hi' };

describe('HttpClient', () => {
  it('posts the message as JSON with its headers and returns the stored message', async () => {
    const { url, seen } = await serve((_s, _n, res) => json(res, 201, { ...MESSAGE, extra: 1 }));
    expect(await client(url).send(SEND)).toEqual(MESSAGE);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/messages/send/' });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual(SEND);
    expect(seen[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'msg/test',
      'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('sends only the listing options that are set, and reads the next cursor', async () => {
    const { url, seen } = await serve((_s, n, res) =>
      json(res, 200, [MESSAGE], n === 1 ? { 'x-next-cursor': 'abc' } : {}),
    );
    const c = client(`${url}prefix/`);
    const page = await c.list({
      recipient: 'Al ice',
      is_read: false,
      since: new Date('2026-01-01T00:00:00Z'),
      limit: '5',
      sender: '',
      cursor: undefined,
    });
    expect(page).toEqual({ messages: [MESSAGE], nextCursor: 'abc' });
    expect(seen[0]?.url).toBe(
      '/prefix/api/messages/?recipient=Al+ice&is_read=false&since=2026-01-01T00%3A00%3A00.000Z&limit=5',
    );
    expect((await c.list({})).nextCursor).toBeNull();
    expect(seen[1]?.url).toBe('/prefix/api/messages/');
  });

  it('takes the cursor from the Link header when X-Next-Cursor is missing', async () => {
    const { url } = await serve((_s, _n, res) =>
      json(res, 200, [], { link: '</api/messages/?limit=1&cursor=xyz%3D>; rel="next"' }),
    );
    expect((await client(url).list({})).nextCursor).toBe('xyz=');
  });

  it("rebuilds core's errors from the API's error bodies", async () => {
    const bodies: [number, unknown, unknown][] = [
      [
        400,
        {
          code: 'validation_failed',
          message: 'sender: may not be blank; message_content: at most 160 characters, got 161',
          fields: {
            sender: ['may not be blank'],
            message_content: ['at most 160 characters, got 161'],
          },
        },
        new ValidationError([
          { field: 'sender', message: 'may not be blank' },
          { field: 'message_content', message: 'at most 160 characters, got 161' },
        ]),
      ],
      [404, { code: 'not_found', message: 'no such route' }, new NotFoundError('no such route')],
      [503, { code: 'unavailable', message: 'db down' }, new UnavailableError('db down')],
      [503, { code: 'database_locked', message: 'held' }, new DatabaseLockedError('held', 1)],
      [
        415,
        { code: 'unsupported_media_type', message: 'send JSON' },
        new RemoteError('unsupported_media_type', 'send JSON', 415),
      ],
      [
        500,
        { code: 'internal', message: 'internal server error', request_id: 'r-1' },
        new RemoteError('internal', 'internal server error (request id r-1)', 500),
      ],
      [
        429,
        { code: 'rate_limited', message: 'slow \u001b[2J down\nplease' },
        new RemoteError('rate_limited', 'slow \\x1b[2J down please (try again later)', 429),
      ],
    ];
    let i = 0;
    const { url, seen } = await serve((_s, _n, res) => {
      const [status, error] = bodies[i++] ?? [500, {}];
      json(res, status, { error });
    });
    for (const [, , expected] of bodies) {
      // No retries: one answer per send (sends carry an Idempotency-Key and are retried otherwise).
      const err = await client(url, { retries: 0 })
        .send(SEND)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf((expected as Error).constructor);
      expect(err).toMatchObject({
        code: (expected as { code: string }).code,
        message: (expected as Error).message,
      });
    }
    expect(seen).toHaveLength(bodies.length);
  });

  it('says what came back when the answer is not the API’s', async () => {
    const replies: [number, string, Record<string, string>][] = [
      [502, '<html>bad gateway</html>', { 'content-type': 'text/html' }],
      [301, '', { location: 'https://elsewhere/' }],
      [200, '<html>hello</html>', { 'content-type': 'text/html' }],
    ];
    let i = 0;
    const { url } = await serve((_s, _n, res) => {
      const [status, body, headers] = replies[i++] ?? [500, '', {}];
      res.writeHead(status, headers);
      res.end(body);
    });
    const c = client(url, { retries: 0 });
    await expect(c.send(SEND)).rejects.toThrow(
      new RemoteError(
        'http_error',
        `HTTP 502 Bad Gateway from POST ${url}api/messages/send/ (text/html, not a messenger API error)`,
        502,
      ),
    );
    await expect(c.send(SEND)).rejects.toThrow(
      `HTTP 301 Moved Permanently from POST ${url}api/messages/send/ (redirect to https://elsewhere/)`,
    );
    await expect(c.list({})).rejects.toMatchObject({
      code: 'bad_response',
      message: `unexpected answer to GET ${url}api/messages/: HTTP 200, expected an array of messages (is this a messenger API?)`,
    });
  });

  it('retries a send whose connection was refused, since nothing was sent', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const c = client(url);
    await expect(c.list({})).rejects.toThrow(UnavailableError); // loads undici: later attempts are quick
    const sent = c.send(SEND);
    // The first attempt is refused within a few ms; the retry comes 100–200 ms later.
    await new Promise((r) => setTimeout(r, 50));
    const { seen } = await serve((_s, _n, res) => json(res, 201, MESSAGE), port);
    expect(await sent).toEqual(MESSAGE);
    expect(seen).toHaveLength(1);
  });

  it('retries a send whose connection broke, under the same Idempotency-Key', async () => {
    const { url, seen } = await serve((_s, n, res) =>
      n === 1 ? res.socket?.destroy() : json(res, 201, MESSAGE),
    );
    expect(await client(url).send(SEND)).toEqual(MESSAGE);
    expect(seen).toHaveLength(2);
    const key = seen[0]?.headers['idempotency-key'];
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]?.headers['idempotency-key']).toBe(key);
  });

  it('retries a read whose connection broke, with the same request id', async () => {
    const { url, seen } = await serve((_s, n, res) =>
      n === 1 ? res.socket?.destroy() : json(res, 200, [MESSAGE]),
    );
    expect((await client(url).list({})).messages).toEqual([MESSAGE]);
    expect(seen).toHaveLength(2);
    expect(seen[1]?.headers['x-request-id']).toBe(seen[0]?.headers['x-request-id']);
  });

  it('stops after 1 + retries attempts', async () => {
    const { url, seen } = await serve((_s, _n, res) =>
      json(res, 503, { error: { code: 'unavailable', message: 'busy' } }),
    );
    await expect(client(url, { retries: 1 }).list({})).rejects.toThrow(
      new UnavailableError('busy'),
    );
    expect(seen).toHaveLength(2);
  });

  it('refuses to migrate over HTTP', async () => {
    await expect(client('http://127.0.0.1:9/').migrate()).rejects.toThrow(UsageError);
  });
});
