import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type IssuedToken,
  type Messenger,
  NotFoundError,
  openMessenger,
  TOKEN_PATTERN,
  type TokenInfo,
  type User,
} from '@messenger/core';
import { toErrorReply } from '@messenger/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsgResult, runMsg } from './run-msg.js';

/**
 * A stand-in for the control channel of `msg serve` (server part of issue 11), speaking the
 * documented protocol over `<dataDir>/control.sock` with a real Messenger on that embedded
 * database, which it holds (its lock is taken, as `msg serve` takes it): the only way for
 * `msg users …` to get anything done is through the socket.
 */
async function startControlServer(
  messenger: Messenger,
  socketPath: string,
  seen: string[],
  failNext: { value: boolean },
): Promise<Server> {
  const route = async (req: IncomingMessage, body: Record<string, unknown>) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case 'POST /users':
        return [201, await messenger.addUser(String(body.name))] as const;
      case 'GET /users':
        return [200, await messenger.listUsers()] as const;
      case 'POST /users/disable':
        return [200, await messenger.disableUser(String(body.name))] as const;
      case 'POST /tokens':
        return [
          201,
          await messenger.createToken(String(body.name), {
            label: body.label as string | undefined,
            expiresAt: body.expires_at as string | undefined,
          }),
        ] as const;
      case 'GET /tokens':
        return [
          200,
          await messenger.listTokens(url.searchParams.get('user') ?? undefined),
        ] as const;
      case 'POST /tokens/revoke':
        return [200, await messenger.revokeToken(body.id as number)] as const;
    }
    throw new NotFoundError(`no route ${key}`);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    req.on('end', async () => {
      seen.push(`${req.method} ${req.url} ${text}`.trim());
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      try {
        if (failNext.value) {
          failNext.value = false;
          throw new Error('connection to the database lost');
        }
        const [status, value] = await route(req, text === '' ? {} : JSON.parse(text));
        send(status, value);
      } catch (err) {
        const reply = toErrorReply(err, 'req-1');
        send(reply.status, reply.body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  chmodSync(socketPath, 0o600);
  return server;
}

describe('msg users and tokens through the control socket of a server holding the embedded database', () => {
  let dir: string;
  let socket: string;
  let messenger: Messenger | undefined;
  let server: Server | undefined;
  const seen: string[] = [];
  const failNext = { value: false };
  const msg = (...args: string[]) =>
    runMsg(['--db', dir, ...args], { env: { NO_COLOR: '1', MSG_LOCK_TIMEOUT_MS: '2000' } });
  const ok = (r: MsgResult): string => {
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-control-'));
    socket = join(dir, 'control.sock');
    messenger = await openMessenger({ databaseUrl: dir });
    server = await startControlServer(messenger, socket, seen, failNext);
  });

  afterAll(async () => {
    const running = server;
    if (running !== undefined) await new Promise((resolve) => running.close(resolve));
    await messenger?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a user through the socket while the server holds the database', async () => {
    const out = ok(await msg('users', 'add', 'alice'));
    const token = out.trimEnd().split('\n').at(-1) ?? '';
    expect(token).toMatch(TOKEN_PATTERN);
    expect(seen).toEqual(['POST /users {"name":"alice"}']);
    // The server's own Messenger issued it.
    await expect(messenger?.authenticate(token)).resolves.toMatchObject({ name: 'alice' });
    expect(JSON.parse(ok(await msg('users', 'add', 'bob', '--json')))).toMatchObject({
      name: 'bob',
    });
  });

  it('maps the server errors back to the lines and exit codes of the direct path', async () => {
    const taken = await msg('users', 'add', 'ALICE');
    expect(taken.stderr).toMatch(/^msg: conflict: name: a user named "ALICE" already exists/);
    expect(taken.code).toBe(1);
    const unknown = await msg('tokens', 'revoke', '999');
    expect(unknown.stderr).toBe('msg: not_found: no token with id 999\n');
    expect(unknown.code).toBe(1);
    failNext.value = true;
    const internal = await msg('users', 'list');
    expect(internal.stderr).toBe(
      'msg: internal: internal server error; the request id identifies it in the logs (request id req-1)\n',
    );
    expect(internal.code).toBe(1);
  });

  it('checks input before asking the server: bad input never reaches the socket', async () => {
    const before = seen.length;
    const bad = await msg('users', 'add', 'a\u202eb');
    expect(bad.stderr).toMatch(/^msg: validation_failed: name: may not contain bidirectional/);
    expect(bad.code).toBe(2);
    expect((await msg('tokens', 'create', 'alice', '--expires', '2020-01-01')).code).toBe(2);
    expect((await msg('tokens', 'revoke', 'x')).code).toBe(2);
    expect(seen.length).toBe(before);
  });

  it('creates, lists, revokes tokens and disables users with the documented requests', async () => {
    seen.length = 0;
    const created = JSON.parse(
      ok(await msg('tokens', 'create', 'alice', '--label', 'laptop', '--expires', '1w', '--json')),
    ) as IssuedToken;
    expect(created).toMatchObject({ user: 'alice', label: 'laptop', active: true });
    const listed = JSON.parse(ok(await msg('tokens', 'list', 'alice', '--json'))) as TokenInfo[];
    expect(listed.map((t) => t.label)).toEqual(['initial', 'laptop']);
    expect(ok(await msg('tokens', 'list'))).not.toMatch(/msg_[A-Za-z0-9_-]{43}/);
    expect(ok(await msg('tokens', 'revoke', String(created.id)))).toBe(
      `revoked token ${created.id} (laptop) of alice\n`,
    );
    expect(ok(await msg('users', 'disable', 'bob'))).toMatch(/^disabled bob /);
    const users = JSON.parse(ok(await msg('users', 'list', '--json'))) as User[];
    expect(users.map((u) => [u.name, u.disabled_at === null])).toEqual([
      ['alice', true],
      ['bob', false],
    ]);
    expect(seen.map((s) => s.replace(/"expires_at":"[^"]+"/, '"expires_at":"<time>"'))).toEqual([
      'POST /tokens {"name":"alice","label":"laptop","expires_at":"<time>"}',
      'GET /tokens?user=alice',
      'GET /tokens',
      `POST /tokens/revoke {"id":${created.id}}`,
      'POST /users/disable {"name":"bob"}',
      'GET /users',
    ]);
    const expires = /"expires_at":"([^"]+)"/.exec(seen[0] ?? '')?.[1] ?? '';
    expect(Math.abs(Date.parse(expires) - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000);
  });

  it('opens the database itself when nobody listens: no socket, or one left by a dead server', async () => {
    const running = server;
    if (running !== undefined) await new Promise((resolve) => running.close(resolve));
    server = undefined;
    await messenger?.close();
    messenger = undefined;
    expect(existsSync(socket)).toBe(false);
    const names = (r: MsgResult) => (JSON.parse(ok(r)) as User[]).map((u) => u.name);
    // What the server wrote is in the database.
    expect(names(await msg('users', 'list', '--json'))).toEqual(['alice', 'bob']);

    // A socket whose server was killed: the file stays, nobody answers.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))",
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(socket)).toBe(true);
    ok(await msg('users', 'add', 'carol'));
    expect(names(await msg('users', 'list', '--json'))).toEqual(['alice', 'bob', 'carol']);

    // Something that is not a socket at all.
    rmSync(socket);
    writeFileSync(socket, '');
    expect(names(await msg('users', 'list', '--json'))).toEqual(['alice', 'bob', 'carol']);
  });
});
