// The real `messenger-server` in token mode on an embedded database, logging at trace: the
// operator works through the control socket while the server holds the database, a whole
// session (create, use, revoke, disable) runs over HTTP and WebSocket — and no token, nor its
// hash, ever reaches the logs.
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@messenger/core';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopAll,
  waitUntilAnswering,
} from '@messenger/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from './helpers/control.js';
import { rawHandshake, watch } from './helpers/ws.js';

const BIN = new URL('../bin/messenger-server.js', import.meta.url).pathname;

describe('messenger-server in token mode on the embedded database', () => {
  let dir: string;
  let server: RunningProcess;
  let base: string;
  let socket: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'messenger-session-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    socket = join(dir, 'control.sock');
    const env = { ...process.env };
    for (const name of ['AUTH', 'RATE_LIMIT', 'RATE_BURST', 'ALLOWED_ORIGINS', 'TRUST_PROXY']) {
      delete env[name];
    }
    server = startProcess('messenger-server', process.execPath, [BIN], {
      env: {
        ...env,
        DATABASE_URL: dir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'trace',
      },
    });
    await waitUntilAnswering(server, `${base}/healthz`, { timeoutMs: 40_000, intervalMs: 100 });
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a whole session through the control socket and the API; no token nor hash is logged', async () => {
    // Token mode by default, and it says there is nobody yet.
    await expect.poll(() => server.stdout(), { timeout: 10_000 }).toContain('no users yet');
    const st = await lstat(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);

    // The operator, while the server holds the database's lock.
    const alice = (await control(socket, 'POST', '/users', { name: 'alice' })).body.token.token;
    const bob = (await control(socket, 'POST', '/users', { name: 'bob' })).body.token.token;
    const laptop = await control(socket, 'POST', '/tokens', { name: 'alice', label: 'laptop' });
    expect(laptop.status).toBe(201);
    const secrets: string[] = [alice, bob, laptop.body.token];
    const as = (token: string) => ({ authorization: `Bearer ${token}` });

    const send = async (token: string, recipient: string, text: string) => {
      const r = await request(`${base}/api/messages/send/`, {
        method: 'POST',
        headers: {
          ...as(token),
          'content-type': 'application/json',
          'idempotency-key': text.replaceAll(' ', '-'),
        },
        body: JSON.stringify({ recipient, message_content: text }),
      });
      expect(r.statusCode).toBe(201);
      return (await r.body.json()) as Message;
    };
    const status = async (url: string, token: string) => {
      const r = await request(`${base}${url}`, { headers: as(token) });
      await r.body.dump();
      return r.statusCode;
    };

    // A browser-style stream on the laptop token (the token in the protocol offer).
    const stream = watch(base, '', { protocols: ['bearer', laptop.body.token] });
    await stream.ready();
    expect(stream.ws.protocol).toBe('bearer');
    const bobs = watch(base, 'recipient=bob', { headers: as(bob) });
    await bobs.ready();

    const hi = await send(bob, 'alice', 'hi alice');
    await stream.until(() => stream.messages().length === 1, 'the message');
    await send(alice, 'bob', 'hi bob');
    expect(await status('/api/messages/?with=bob', alice)).toBe(200);
    expect(await status('/api/me', laptop.body.token)).toBe(200);
    const read = await request(`${base}/api/messages/read/`, {
      method: 'POST',
      headers: { ...as(alice), 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [hi.id] }),
    });
    expect(read.statusCode).toBe(200);
    await read.body.dump();
    await bobs.until(() => bobs.events.some((e) => e.type === 'read'), 'the receipt');

    // Revoked: its open stream ends within 5 s, its requests get 401.
    const revokedAt = Date.now();
    expect((await control(socket, 'POST', '/tokens/revoke', { id: laptop.body.id })).status).toBe(
      200,
    );
    await stream.until(() => stream.closed() !== undefined, 'the close', 5_000);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    expect(stream.closed()).toEqual({ code: 1008, reason: 'access revoked' });
    expect(await status('/api/me', laptop.body.token)).toBe(401);
    const refused = await rawHandshake(base, '/api/messages/stream', {
      headers: { 'sec-websocket-protocol': `bearer, ${laptop.body.token}` },
    });
    expect(refused.head).toMatch(/^HTTP\/1\.1 401 /);
    // A disabled user's streams and tokens end too; alice's other token still works.
    expect((await control(socket, 'POST', '/users/disable', { name: 'bob' })).status).toBe(200);
    await bobs.until(() => bobs.closed() !== undefined, 'bob’s close', 5_000);
    expect(bobs.closed()).toEqual({ code: 1008, reason: 'access revoked' });
    expect(await status('/api/me', bob)).toBe(401);
    expect(await status('/api/me', alice)).toBe(200);
    // Garbage and well-formed unknown tokens are not logged either.
    const unknown = `msg_${'Q'.repeat(43)}`;
    secrets.push(unknown);
    expect(await status('/api/me', unknown)).toBe(401);

    expect((await server.stop('SIGTERM', 10_000)).code).toBe(0);
    await expect(lstat(socket)).rejects.toMatchObject({ code: 'ENOENT' });

    const output = server.output();
    // Nothing was cut from the captured output, and it is the trace it should be.
    expect(output.length).toBeLessThan(200_000);
    // The operator's operations are in the log (who, which token id), without secrets.
    expect(output).toMatch(/"user":"alice".*"msg":"user added"/);
    expect(output).toMatch(new RegExp(`"token_id":${laptop.body.id}.*"msg":"token revoked"`));
    expect(output).toMatch(/"user":"bob".*"msg":"user disabled"/);
    expect(output).toContain('"url":"/api/messages/send/"');
    expect(output).toContain('"msg":"incoming request"');
    expect(output).toContain('"channel":"control"');
    for (const secret of secrets) {
      const hash = createHash('sha256').update(secret).digest();
      for (const form of [
        secret,
        secret.slice(4),
        hash.toString('hex'),
        hash.toString('base64'),
        hash.toString('base64url'),
        `\\\\x${hash.toString('hex')}`,
      ]) {
        expect(output.includes(form), `the log contains ${form.slice(0, 12)}…`).toBe(false);
      }
    }
  }, 90_000);
});
