// The operator's control channel, in process on both backends: every route, the API's error
// shape, a socket only its user can reach, a stale socket replaced, a live one left alone.
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Messenger, openMessenger, TOKEN_PATTERN } from '@messenger/core';
import {
  backends,
  freshPostgresSchema,
  type PostgresSchema,
  startProcess,
  waitFor,
} from '@messenger/testing';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlServer,
  type RunningServer,
  startControlServer,
  startServer,
} from '../src/index.js';
import { control } from './helpers/control.js';

const silent = Fastify({ logger: false }).log;

describe.each(backends())('control channel on $name', (backend) => {
  let dir: string;
  let schema: PostgresSchema | undefined;
  let messenger: Messenger;
  let server: ControlServer;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'messenger-control-'));
    schema = backend.name === 'postgres' ? await freshPostgresSchema() : undefined;
    messenger = await openMessenger({ databaseUrl: schema?.url, migrate: true });
    path = join(dir, 'control.sock');
    server = await startControlServer(messenger, path, silent);
  });
  afterAll(async () => {
    await server?.close();
    await messenger?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on a socket of mode 0600, made in a private directory that is gone', async () => {
    const st = await lstat(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['control.sock']);
  });

  it('serves the operator operations as JSON', async () => {
    const added = await control(path, 'POST', '/users', { name: 'alice' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      user: {
        id: expect.any(Number),
        name: 'alice',
        created_at: expect.any(String),
        disabled_at: null,
      },
      token: expect.objectContaining({ user: 'alice', label: 'initial', active: true }),
    });
    expect(added.body.token.token).toMatch(TOKEN_PATTERN);
    expect((await messenger.authenticate(added.body.token.token)).name).toBe('alice');
    expect((await control(path, 'POST', '/users', { name: 'bob' })).status).toBe(201);

    const users = await control(path, 'GET', '/users');
    expect(users.status).toBe(200);
    expect(users.body.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);

    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await control(path, 'POST', '/tokens', {
      name: 'Alice',
      label: 'laptop',
      expires_at: expiresAt,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user: 'alice', label: 'laptop', active: true });
    expect(Date.parse(created.body.expires_at)).toBe(Date.parse(expiresAt));
    expect(created.body.token).toMatch(TOKEN_PATTERN);

    const all = await control(path, 'GET', '/tokens');
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(3);
    const mine = await control(path, 'GET', '/tokens?user=alice');
    expect(mine.body.map((x: { label: string }) => x.label)).toEqual(['initial', 'laptop']);
    // Lists never show a secret.
    for (const info of all.body) expect(info).not.toHaveProperty('token');
    expect(JSON.stringify(all.body)).not.toContain(created.body.token);

    const revoked = await control(path, 'POST', '/tokens/revoke', { id: created.body.id });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: created.body.id, active: false });
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    await expect(messenger.authenticate(created.body.token)).rejects.toThrow(/authentication/);

    const disabled = await control(path, 'POST', '/users/disable', { name: 'bob' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ name: 'bob', disabled_at: expect.any(String) });
  });

  it('answers errors in the API’s shape, naming the field and the rule', async () => {
    const rows: [string, string, unknown, number, string, string?][] = [
      // [method, path, body, status, code, field]
      ['POST', '/users', { name: 'evil\u202egnp.exe' }, 400, 'validation_failed', 'name'],
      ['POST', '/users', { name: 'ALICE' }, 409, 'conflict'],
      ['POST', '/users', {}, 400, 'validation_failed', 'name'],
      ['POST', '/users', { name: 'x', admin: true }, 400, 'validation_failed', 'admin'],
      ['POST', '/users', [], 400, 'validation_failed', 'body'],
      ['POST', '/users', undefined, 400, 'validation_failed', 'body'],
      ['POST', '/users', '{"name": ', 400, 'bad_request'],
      ['POST', '/users/disable', { name: 'nobody' }, 404, 'not_found'],
      [
        'POST',
        '/tokens',
        { name: 'alice', expires_at: '2000-01-01' },
        400,
        'validation_failed',
        'expires_at',
      ],
      ['POST', '/tokens', { name: 'alice', label: 'a\u0007b' }, 400, 'validation_failed', 'label'],
      ['POST', '/tokens', { name: 'nobody' }, 404, 'not_found'],
      ['POST', '/tokens', { name: 'bob' }, 409, 'conflict'],
      ['GET', '/tokens?user=nobody', undefined, 404, 'not_found'],
      ['GET', '/tokens?user=a&user=b', undefined, 400, 'validation_failed', 'user'],
      ['GET', '/tokens?secret=1', undefined, 400, 'validation_failed', 'secret'],
      ['GET', '/users?x=1', undefined, 400, 'validation_failed', 'x'],
      ['POST', '/tokens/revoke', { id: 'x' }, 400, 'validation_failed', 'id'],
      ['POST', '/tokens/revoke', { id: 987654321 }, 404, 'not_found'],
      ['DELETE', '/users', undefined, 404, 'not_found'],
      ['GET', '/nope', undefined, 404, 'not_found'],
    ];
    const usersBefore = (await messenger.listUsers()).length;
    const tokensBefore = (await messenger.listTokens()).length;
    for (const [method, url, body, status, code, field] of rows) {
      const where = `${method} ${url} ${JSON.stringify(body)}`;
      const r = await control(path, method, url, body);
      expect(r.status, where).toBe(status);
      expect(r.body.error, where).toMatchObject({ code, message: expect.any(String) });
      if (field !== undefined) expect(Object.keys(r.body.error.fields), where).toEqual([field]);
    }
    expect((await messenger.listUsers()).length).toBe(usersBefore);
    expect((await messenger.listTokens()).length).toBe(tokensBefore);
    const nope = await control(path, 'GET', '/nope');
    expect(nope.body.error.message).toContain('POST /users, GET /users');
  });
});

describe('control channel socket file', () => {
  let dir: string;
  let messenger: Messenger;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'messenger-control-'));
    messenger = await openMessenger();
  });
  afterAll(async () => {
    await messenger?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces a stale socket, refuses a live one and a file that is not a socket, removes its own on close', async () => {
    const path = join(dir, 'control.sock');
    // A server killed without cleaning up leaves its socket behind.
    const killed = startProcess('stale', process.execPath, [
      '-e',
      "require('net').createServer().listen(process.argv[1], () => console.log('up'))",
      path,
    ]);
    await waitFor('the stale server', () => killed.stdout().includes('up'));
    await killed.stop('SIGKILL');
    expect((await lstat(path)).isSocket()).toBe(true);

    const first = await startControlServer(messenger, path, silent);
    expect((await control(path, 'GET', '/users')).status).toBe(200);
    await expect(startControlServer(messenger, path, silent)).rejects.toThrow(
      `another process serves the control channel at ${path}`,
    );
    // The refused attempt left the working one alone.
    expect((await control(path, 'GET', '/users')).status).toBe(200);
    await first.close();
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(path, 'not a socket');
    await expect(startControlServer(messenger, path, silent)).rejects.toThrow(
      /exists and is not a socket/,
    );
    expect((await readdir(dir)).sort()).toEqual(['control.sock']);
    // A path a Unix socket cannot have is refused with what to do.
    await expect(startControlServer(messenger, join(dir, 'x'.repeat(100)), silent)).rejects.toThrow(
      /is too long for a Unix socket \(\d+ bytes, at most 107\): use a shorter data directory/,
    );
  });
});

describe('startServer', () => {
  const started: RunningServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.close();
  });

  it('serves the control channel at controlSocket and removes it on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'messenger-control-'));
    try {
      const controlSocket = join(dir, 'control.sock');
      const s = await startServer({
        port: 0,
        host: '127.0.0.1',
        auth: 'token',
        logger: false,
        controlSocket,
      });
      expect(s.controlSocket).toBe(controlSocket);
      const added = await control(controlSocket, 'POST', '/users', { name: 'carol' });
      expect(added.status).toBe(201);
      const me = await fetch(`${s.url}/api/me`, {
        headers: { authorization: `Bearer ${added.body.token.token}` },
      });
      expect(await me.json()).toMatchObject({ name: 'carol', auth: 'token' });
      await s.close();
      await expect(lstat(controlSocket)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells onNoUsers in token mode when nobody can log in yet; warns about open mode', async () => {
    let told = 0;
    started.push(
      await startServer({
        port: 0,
        host: '127.0.0.1',
        auth: 'token',
        logger: false,
        onNoUsers: () => {
          told++;
        },
      }),
    );
    await waitFor('onNoUsers', () => told === 1);

    const lines: string[] = [];
    const stream = { write: (line: string) => lines.push(line) };
    started.push(
      await startServer({
        port: 0,
        host: '127.0.0.1',
        auth: 'open',
        logger: { level: 'warn', stream },
        onNoUsers: () => {
          told++;
        },
      }),
    );
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      {
        level: 40,
        msg: expect.stringMatching(/^AUTH=open: no authentication/),
        time: expect.any(Number),
        pid: process.pid,
        hostname: expect.any(String),
      },
    ]);
    expect(told).toBe(1);
  });

  it('refuses to start without a mode', async () => {
    await expect(
      // @ts-expect-error: auth is required
      startServer({ port: 0, host: '127.0.0.1', logger: false }),
    ).rejects.toThrow(/auth is required/);
  });
});
