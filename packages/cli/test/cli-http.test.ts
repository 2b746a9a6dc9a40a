import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, openMessenger } from '@messenger/core';
import { buildApp } from '@messenger/server';
import {
  backends,
  freePort,
  freshPostgresSchema,
  type PostgresSchema,
  replyJson as reply,
  type StubHandler,
  type StubHttpServer,
  startStubHttpServer,
} from '@messenger/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MsgResult, normalise, runMsg } from './run-msg.js';

interface ListJson {
  messages: Message[];
  next_cursor: string | null;
}

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/*
 * Both transports, compared. PGlite is single-process: the server's embedded database
 * cannot also be opened by a `msg --db` process. So each side gets a database of its
 * own, of the same engine, both empty at the start, and every scenario runs the same
 * commands on both: the server (in this process, on an in-memory PGlite, or on schema
 * A) for `msg --api`, and an embedded directory (or schema B) for `msg --db`. With the
 * same sends in the same order, ids match too. On PostgreSQL one more test runs the
 * two transports on the very same database.
 */
describe.each(backends())('msg over HTTP and direct on $name: same output', ({ name }) => {
  let dir: string;
  let directDb: string;
  let serverSchema: PostgresSchema | undefined;
  let directSchema: PostgresSchema | undefined;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let api: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-http-'));
    let messenger: Awaited<ReturnType<typeof openMessenger>>;
    if (name === 'postgres') {
      serverSchema = await freshPostgresSchema();
      directSchema = await freshPostgresSchema();
      directDb = directSchema.url;
      messenger = await openMessenger({ databaseUrl: serverSchema.url, migrate: true });
      expect((await runMsg(['db', 'migrate', '--db', directDb])).code).toBe(0);
    } else {
      directDb = join(dir, 'direct');
      messenger = await openMessenger();
    }
    app = await buildApp({ messenger, auth: { mode: 'open' } });
    api = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await serverSchema?.drop();
    await directSchema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const direct = (args: string[], input?: string) => runMsg([...args, '--db', directDb], { input });
  const http = (args: string[], input?: string) => runMsg([...args, '--api', api], { input });

  /** Runs `args` through both transports; asserts the same exit code, stdout and stderr. */
  async function same(args: string[], input?: string): Promise<MsgResult> {
    const [d, h] = await Promise.all([direct(args, input), http(args, input)]);
    expect(normalise(h), `${args.join(' ')}\ndirect: ${d.stderr}\nhttp: ${h.stderr}`).toEqual(
      normalise(d),
    );
    return d;
  }

  it('sends, and rejects bad messages, with the same line and exit code', async () => {
    const ok = await same(['send', '-f', 'bob', '-t', 'alice', 'hello']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^sent #1 bob → alice at \S+Z\n$/);
    const asJson = await same(['send', '-f', ' bob ', '-t', 'alice', '--json', 'hello 😀']);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ id: 2, sender: 'bob', is_read: false });
    expect((await same(['send', '-f', 'carol', '-t', 'Alice'], 'from stdin\n')).code).toBe(0);
    expect((await same(['send', '-f', 'eve', '-t', 'alice', '😀'.repeat(160)])).code).toBe(0);
    expect((await same(['send', '-f', 'eve', '-t', 'alice', 'red \u001b[31mtext'])).code).toBe(0);

    const bad: [string[], string | undefined, string][] = [
      [
        ['send', '-f', 'bob', '-t', 'alice', 'x'.repeat(161)],
        undefined,
        'msg: validation_failed: message_content: at most 160 characters, got 161\n',
      ],
      [
        ['send', '-f', 'bob', '-t', 'alice', '   '],
        undefined,
        'msg: validation_failed: message_content: may not be blank\n',
      ],
      [
        ['send', '-f', 'b'.repeat(51), '-t', 'alice', 'hi'],
        undefined,
        'msg: validation_failed: sender: at most 50 characters, got 51\n',
      ],
      [
        ['send', '-f', 'bob\u0007', '-t', 'alice', 'hi'],
        undefined,
        'msg: validation_failed: sender: may not contain control characters\n',
      ],
      [
        ['send', '-f', ' ', '-t', '', ''],
        undefined,
        'msg: validation_failed: sender: may not be blank; recipient: may not be blank; message_content: may not be blank\n',
      ],
      [
        ['send', '-f', 'bob', '-t', 'alice'],
        '',
        'msg: validation_failed: message_content: may not be blank\n',
      ],
    ];
    for (const [args, input, line] of bad) {
      const r = await same(args, input);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: line });
    }
  }, 120_000);

  it('lists as JSON and as a table, with filters, the same way', async () => {
    const page = await same(['list', '-r', 'ALICE', '--json']);
    expect((JSON.parse(page.stdout) as ListJson).messages.map((m) => m.id)).toEqual([
      5, 4, 3, 2, 1,
    ]);
    const table = await same(['list', '-r', 'alice']);
    expect(table.stdout).toContain('red \\x1b[31mtext');
    expect(table.stdout).toContain('┌');
    await same(['list', '-s', 'BOB', '-r', 'alice', '--json']);
    await same(['list', '-s', 'eve', '--unread']);
    expect((await same(['list', '--read'])).stdout).toBe('No messages.\n');
    await same(['list', '--since', '2000-01-01', '--until', '2999-01-01T00:00:00Z', '--json']);
    expect((await same(['list', '--until', '2000-01-01'])).stdout).toBe('No messages.\n');
    expect(JSON.parse((await same(['list', '-r', 'nobody', '--json'])).stdout)).toEqual({
      messages: [],
      next_cursor: null,
    });
  }, 120_000);

  it('pages with --limit and each side’s own --cursor the same way', async () => {
    const pages: Record<'direct' | 'http', number[][]> = { direct: [], http: [] };
    for (const [side, run] of [
      ['direct', direct],
      ['http', http],
    ] as const) {
      let cursor: string | null = null;
      do {
        const args = ['list', '-r', 'alice', '-n', '2', '--json'];
        const r = await run(cursor === null ? args : [...args, '--cursor', cursor]);
        expect(r.stderr).toBe('');
        const page = JSON.parse(r.stdout) as ListJson;
        pages[side].push(page.messages.map((m) => m.id));
        cursor = page.next_cursor;
      } while (cursor !== null && pages[side].length < 10);
    }
    expect(pages.http).toEqual(pages.direct);
    expect(pages.direct).toEqual([[5, 4], [3, 2], [1]]);

    const human = await same(['list', '-r', 'alice', '-n', '1']);
    expect(human.stderr).toMatch(/^more: add --cursor \S+\n$/);
  }, 120_000);

  it('rejects bad listing options with the same line and exit code 2', async () => {
    for (const args of [
      ['list', '--limit', '0'],
      ['list', '--limit', '1001'],
      ['list', '-n', 'ten'],
      ['list', '--since', 'last week'],
      ['list', '--until', '2026-02-30'],
      ['list', '--since', '2026-01-02', '--until', '2026-01-01'],
      ['list', '--cursor', 'nope!'],
      ['list', '-s', 'x'.repeat(51), '--limit', '0', '--cursor', 'nope!'],
      ['list', '--unread', '--read'],
    ]) {
      const r = await same(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^msg: (validation_failed|error): .*\n$/);
    }
  }, 120_000);

  // Registered on PostgreSQL only (not skipped elsewhere: REQUIRE_POSTGRES counts skips as failures).
  if (name === 'postgres') {
    it('shows over one transport what the other stored, on the same database', async () => {
      const db = serverSchema?.url ?? '';
      const sent = await runMsg(['send', '-f', 'zed', '-t', 'shared', '--json', 'via http'], {
        env: { MSG_API_URL: api },
      });
      expect(sent.code).toBe(0);
      expect((await runMsg(['send', '-f', 'zed', '-t', 'shared', 'direct', '--db', db])).code).toBe(
        0,
      );
      const viaDirect = await runMsg(['list', '-r', 'shared', '--json', '--db', db]);
      const viaHttp = await runMsg(['list', '-r', 'shared', '--json', '--api', api]);
      expect(viaHttp).toEqual(viaDirect);
      const page = JSON.parse(viaHttp.stdout) as ListJson;
      expect(page.messages.map((m) => m.message_content)).toEqual(['direct', 'via http']);
      expect(page.messages[1]).toEqual(JSON.parse(sent.stdout));
    });
  }
});

/** A stand-in for the API (or a proxy in front of it), closed after the test. */
async function stub(handler: StubHandler): Promise<StubHttpServer> {
  const server = await startStubHttpServer(handler);
  cleanups.push(() => server.close());
  return server;
}

/** A TCP server that accepts connections and never says a word. */
async function silent(): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port };
}

const MESSAGE: Message = {
  id: 1,
  sender: 'bob',
  recipient: 'alice',
  message_content: 'hi',
  sent_datetime: '2026-01-01T00:00:00.000000Z',
  is_read: false,
  read_at: null,
};

const cleanups: (() => Promise<void>)[] = [];

describe('msg over HTTP: failures, retries and settings', () => {
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it('says in one line that a server with nothing listening cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    for (const args of [['list'], ['send', '-f', 'a', '-t', 'b', 'hi']]) {
      const r = await runMsg([...args, '--api', url]);
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr: `msg: unavailable: cannot reach ${url}: connection refused (tried 3 times)\n`,
      });
    }
    const once = await runMsg(['list', '--api', url], { env: { MSG_RETRIES: '0' } });
    expect(once.stderr).toBe(`msg: unavailable: cannot reach ${url}: connection refused\n`);
  });

  it('retries a read answered 503, and succeeds', async () => {
    const api = await stub((_s, n, res) =>
      n === 1
        ? reply(res, 503, { error: { code: 'unavailable', message: 'busy' } })
        : reply(res, 200, [MESSAGE]),
    );
    const r = await runMsg(['list', '--json', '--api', api.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ messages: [MESSAGE], next_cursor: null });
    expect(api.seen).toHaveLength(2);
    expect(api.seen[1]?.headers['x-request-id']).toBe(api.seen[0]?.headers['x-request-id']);
  });

  it('waits as long as Retry-After says, within a cap', async () => {
    const api = await stub((_s, n, res) =>
      n === 1
        ? reply(
            res,
            503,
            { error: { code: 'unavailable', message: 'busy' } },
            { 'retry-after': '1' },
          )
        : reply(res, 200, []),
    );
    const started = Date.now();
    const r = await runMsg(['list', '--api', api.url]);
    expect(r).toMatchObject({ code: 0, stdout: 'No messages.\n' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(api.seen).toHaveLength(2);

    const later = await stub((_s, _n, res) =>
      reply(
        res,
        503,
        { error: { code: 'unavailable', message: 'down for maintenance' } },
        { 'retry-after': '3600' },
      ),
    );
    const gaveUp = await runMsg(['list', '--api', later.url]);
    expect(gaveUp).toEqual({
      code: 1,
      stdout: '',
      stderr: 'msg: unavailable: down for maintenance\n',
    });
    expect(later.seen).toHaveLength(1);
  });

  it('retries a send answered 503 under one Idempotency-Key, so it is stored at most once', async () => {
    const api = await stub((_s, _n, res) =>
      reply(res, 503, { error: { code: 'unavailable', message: 'database is unavailable' } }),
    );
    const r = await runMsg(['send', '-f', 'bob', '-t', 'alice', 'hi', '--api', api.url]);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'msg: unavailable: database is unavailable\n',
    });
    expect(api.seen).toHaveLength(3);
    const keys = api.seen.map(
      (x) => (x as { headers: Record<string, string> }).headers['idempotency-key'],
    );
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
  });

  it('gives up when no answer comes within the request timeout', async () => {
    const { port } = await silent();
    const url = `http://127.0.0.1:${port}/`;
    for (const [args, env] of [
      [['list'], { MSG_REQUEST_TIMEOUT_MS: '300' }],
      [['send', '-f', 'a', '-t', 'b', 'hi', '--timeout', '300'], {}],
    ] as const) {
      const started = Date.now();
      const r = await runMsg([...args, '--api', url], { env, timeoutMs: 10_000 });
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr: `msg: unavailable: no answer from ${url} within 300 ms\n`,
      });
      expect(Date.now() - started).toBeLessThan(3_000);
    }
  });

  it('gives up when no connection is made within the connect timeout', async () => {
    // A TLS handshake with a server that never answers: the connection never completes.
    const { port } = await silent();
    const url = `https://127.0.0.1:${port}/`;
    const started = Date.now();
    const r = await runMsg(['send', '-f', 'a', '-t', 'b', 'hi', '--api', url], {
      env: { MSG_CONNECT_TIMEOUT_MS: '300' },
      timeoutMs: 10_000,
    });
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `msg: unavailable: cannot reach ${url}: no connection within 300 ms (tried 3 times)\n`,
    });
    // A send carries an Idempotency-Key, so it is retried; each attempt gives up after 300 ms.
    expect(Date.now() - started).toBeLessThan(9_000);
  });

  it('says clearly when a proxy answers with a non-JSON error page', async () => {
    const api = await stub((_s, _n, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    const send = await runMsg(['send', '-f', 'a', '-t', 'b', 'hi', '--api', api.url]);
    expect(send).toEqual({
      code: 1,
      stdout: '',
      stderr: `msg: http_error: HTTP 502 Bad Gateway from POST ${api.url}api/messages/send/ (text/html, not a messenger API error)\n`,
    });
    // Retried under its Idempotency-Key like a read.
    expect(api.seen).toHaveLength(3);
    const list = await runMsg(['list', '-r', 'alice', '--api', api.url]);
    expect(list.stderr).toBe(
      `msg: http_error: HTTP 502 Bad Gateway from GET ${api.url}api/messages/?recipient=alice (text/html, not a messenger API error)\n`,
    );
    expect(api.seen).toHaveLength(3 + 3);
  });

  it("shows the server's code and message for errors core does not know", async () => {
    const bodies: [number, unknown, string][] = [
      [
        429,
        { code: 'rate_limited', message: 'too many requests' },
        'rate_limited: too many requests (try again later)',
      ],
      [
        500,
        { code: 'internal', message: 'internal server error', request_id: 'req-42' },
        'internal: internal server error (request id req-42)',
      ],
      [
        400,
        { code: 'bad_request', message: 'evil \u001b[2J\nsecond line' },
        'bad_request: evil \\x1b[2J second line',
      ],
    ];
    let i = 0;
    const api = await stub((_s, _n, res) => {
      const [status, error] = bodies[i++] ?? [500, {}];
      reply(res, status, { error });
    });
    for (const [, , line] of bodies) {
      const r = await runMsg(['list', '--api', api.url]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: `msg: ${line}\n` });
    }
    expect(api.seen).toHaveLength(bodies.length);
  });

  it('sends what the API expects: headers, JSON body, only the options given', async () => {
    const api = await stub((s, _n, res) =>
      s.method === 'POST'
        ? reply(res, 201, MESSAGE)
        : reply(res, 200, [MESSAGE], {
            link: `<${s.url}&cursor=next%2Fpage>; rel="next"`,
          }),
    );
    const sent = await runMsg(['send', '-f', 'bob', '-t', 'alice', '--json', '--api', api.url], {
      input: 'hi\n',
    });
    expect(JSON.parse(sent.stdout)).toEqual(MESSAGE);
    const listed = await runMsg(
      ['list', '-r', 'Al ice', '--unread', '-n', '5', '--since', '2026-01-01'],
      { env: { MSG_API_URL: api.url } },
    );
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe('more: add --cursor next/page\n');
    const [post, get] = api.seen;
    expect(post).toMatchObject({ method: 'POST', url: '/api/messages/send/' });
    expect(JSON.parse(post?.body ?? '')).toEqual({
      sender: 'bob',
      recipient: 'alice',
      message_content: 'hi\n',
    });
    expect(get).toMatchObject({
      method: 'GET',
      url: '/api/messages/?recipient=Al+ice&is_read=false&since=2026-01-01&limit=5',
    });
    for (const s of [post, get]) {
      expect(s?.headers['user-agent']).toBe(`msg/${version}`);
      expect(s?.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/);
    }
    expect(post?.headers['content-type']).toBe('application/json');
  });

  it('takes MSG_API_URL like --api; --db beats it, DATABASE_URL does not', async () => {
    const api = await stub((_s, _n, res) => reply(res, 200, [MESSAGE]));
    const byEnv = await runMsg(['list', '--json'], {
      env: { MSG_API_URL: api.url, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' },
    });
    const byFlag = await runMsg(['list', '--json', '--api', api.url]);
    expect(byEnv).toEqual(byFlag);
    expect(byEnv.code).toBe(0);
    expect(api.seen).toHaveLength(2);

    const dir = mkdtempSync(join(tmpdir(), 'msg-http-db-'));
    try {
      const direct = await runMsg(['list', '--db', dir], { env: { MSG_API_URL: api.url } });
      expect(direct).toEqual({ code: 0, stdout: 'No messages.\n', stderr: '' });
      expect(api.seen).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const both = await runMsg(['list', '--api', api.url, '--db', '/tmp/x']);
    expect(both).toMatchObject({
      code: 2,
      stderr: 'msg: error: --api and --db cannot be used together\n',
    });
  }, 60_000);

  it('refuses db migrate and malformed settings with exit code 2', async () => {
    const migrate = await runMsg(['db', 'migrate', '--api', 'http://127.0.0.1:9']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toMatch(
      /^msg: error: db migrate needs direct access to the database: run it with --db <url>/,
    );
    for (const [env, args, line] of [
      [{ MSG_API_URL: 'localhost:8000' }, [], 'MSG_API_URL: must be an http:// or https:// URL'],
      [{ MSG_API_URL: 'http://h/', MSG_RETRIES: 'lots' }, [], 'MSG_RETRIES: must be a whole'],
      [{ MSG_API_URL: 'http://h/', MSG_REQUEST_TIMEOUT_MS: '1s' }, [], 'MSG_REQUEST_TIMEOUT_MS:'],
      [{}, ['--api', 'http://h/', '--timeout', 'soon'], '--timeout: must be a whole number'],
    ] as const) {
      const r = await runMsg(['list', ...args], { env });
      expect(r.code, line).toBe(2);
      expect(r.stderr.startsWith(`msg: error: ${line}`), r.stderr).toBe(true);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  });
});
