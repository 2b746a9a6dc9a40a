import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, type Messenger, openMessenger } from '@messenger/core';
import { buildApp } from '@messenger/server';
import { backends, freePort, startProcess, waitFor } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, type MsgDatabase, msgEnv, openMsgDatabase, runMsg } from './run-msg.js';

interface ListJson {
  messages: Message[];
}

type WatchEvent = { type: string; message?: Message; ids?: number[] };

/** `msg watch --json` as a child process, its events parsed line by line. */
function spawnWatch(args: string[], env: Record<string, string>) {
  const argv = [MSG_BIN, 'watch', '--json', ...args];
  const watcher = startProcess('msg watch', process.execPath, argv, { env: msgEnv(env) });
  // Complete lines only: the last element is a line still being written (or '').
  const events = (): WatchEvent[] =>
    watcher
      .stdout()
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as WatchEvent);
  const contents = () => events().flatMap((e) => (e.message ? [e.message.message_content] : []));
  const until = async (n: number, what: string, timeoutMs = 15_000) => {
    try {
      await waitFor(what, () => contents().length >= n, { timeoutMs, intervalMs: 20 });
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${watcher.output()}`);
    }
  };
  return { process: watcher, events, contents, until };
}

describe.each(backends())('msg read, list --mark-read, --with, watch on $name', (backend) => {
  const { name } = backend;
  let database: MsgDatabase | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await openMsgDatabase(backend);
    env = database.env;
    if (database.migrated !== undefined) expect(database.migrated.code).toBe(0);
  });
  afterAll(async () => {
    await database?.close();
  });

  // Sixteen `msg` processes, each opening PGlite: over a minute on a loaded 2-core machine.
  it('marks read by id, by recipient, and after listing', async () => {
    for (const t of ['a', 'b', 'c', 'd'])
      expect((await runMsg(['send', '-f', 'bob', '-t', 'rita', t], { env })).code).toBe(0);
    const listed = JSON.parse(
      (await runMsg(['list', '-r', 'rita', '--json'], { env })).stdout,
    ) as ListJson;
    const [d, c, b, a] = listed.messages.map((m) => m.id) as [number, number, number, number];
    const byId = await runMsg(['read', String(a), '--json'], { env });
    expect(JSON.parse(byId.stdout)).toEqual({ updated: 1, ids: [a] });
    const upTo = await runMsg(['read', '-r', 'RITA', '--up-to', String(b)], { env });
    expect(upTo.stdout).toBe('marked 1 message read\n');
    const marking = await runMsg(['list', '-r', 'rita', '--unread', '--mark-read', '--json'], {
      env,
    });
    expect((JSON.parse(marking.stdout) as ListJson).messages.map((m) => m.id)).toEqual([d, c]);
    expect(marking.stderr).toBe('marked 2 messages read\n');
    const none = JSON.parse(
      (await runMsg(['list', '-r', 'rita', '--unread', '--json'], { env })).stdout,
    ) as ListJson;
    expect(none.messages).toEqual([]);
    expect((await runMsg(['read', '-r', 'rita', '--all'], { env })).stdout).toBe(
      'marked 0 messages read\n',
    );
    for (const args of [['read'], ['read', '-r', 'rita'], ['read', '1', '--all'], ['read', 'x1']]) {
      const r = await runMsg(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  }, 120_000);

  it('lists both directions of a conversation', async () => {
    await runMsg(['send', '-f', 'xena', '-t', 'yuri', 'hi yuri'], { env });
    await runMsg(['send', '-f', 'yuri', '-t', 'xena', 'hi xena'], { env });
    await runMsg(['send', '-f', 'yuri', '-t', 'zack', 'not this'], { env });
    const r = await runMsg(['list', '-r', 'xena', '--with', 'yuri', '--json'], { env });
    expect((JSON.parse(r.stdout) as ListJson).messages.map((m) => m.message_content)).toEqual([
      'hi xena',
      'hi yuri',
    ]);
    const c = await runMsg(['list', '--conversation', 'yuri,xena', '--json'], { env });
    expect((JSON.parse(c.stdout) as ListJson).messages).toHaveLength(2);
  });

  it('watches directly, while other msg processes keep sending', async () => {
    const w = spawnWatch(['-r', 'wanda'], env);
    try {
      await sleep(name === 'pglite' ? 2500 : 1500);
      expect((await runMsg(['send', '-f', 'bob', '-t', 'wanda', 'first'], { env })).code).toBe(0);
      expect((await runMsg(['send', '-f', 'bob', '-t', 'walter', 'elsewhere'], { env })).code).toBe(
        0,
      );
      expect((await runMsg(['send', '-f', 'eve', '-t', 'wanda', 'second'], { env })).code).toBe(0);
      await w.until(2, 'two messages');
      await sleep(300);
      expect(w.contents()).toEqual(['first', 'second']);
    } finally {
      w.process.child.kill('SIGINT');
    }
    expect((await w.process.exited).code).toBe(0);
  }, 60_000);
});

describe('msg watch over HTTP', () => {
  let messenger: Messenger;
  let app: FastifyInstance;
  let port: number;

  const start = async () => {
    app = await buildApp({ messenger, closeMessenger: false, auth: { mode: 'open' } });
    await app.listen({ port, host: '127.0.0.1' });
  };

  beforeAll(async () => {
    messenger = await openMessenger();
    port = 0;
    await start();
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    await app?.close();
    await messenger?.close();
  });

  it('prints messages live, reconnects after the server restarts, misses nothing and repeats nothing', async () => {
    const api = `http://127.0.0.1:${port}`;
    const env = { MSG_API_URL: api };
    const w = spawnWatch(['-r', 'hugo'], env);
    try {
      await sleep(1500);
      await messenger.send({ sender: 'bob', recipient: 'hugo', message_content: 'before' });
      await w.until(1, 'first');
      await app.close();
      // Sent while the watcher is cut off: it must get these after reconnecting.
      await messenger.send({ sender: 'bob', recipient: 'hugo', message_content: 'while down 1' });
      await messenger.send({ sender: 'bob', recipient: 'hugo', message_content: 'while down 2' });
      await sleep(500);
      await start();
      await w.until(3, 'catch-up after reconnect');
      const sent = await runMsg(['send', '-f', 'ann', '-t', 'hugo', 'after'], { env });
      expect(sent.code).toBe(0);
      await w.until(4, 'live after reconnect');
      const read = await runMsg(['read', '-r', 'hugo', '--all'], { env });
      expect(read.stdout).toBe('marked 4 messages read\n');
      await sleep(300);
      expect(w.contents()).toEqual(['before', 'while down 1', 'while down 2', 'after']);
      expect(
        w
          .events()
          .filter((e) => e.type === 'read')
          .flatMap((e) => e.ids),
      ).toHaveLength(4);
    } finally {
      w.process.child.kill('SIGINT');
    }
    expect((await w.process.exited).code).toBe(0);
  }, 60_000);

  it('keeps watching while the server says its database is unavailable, and gets the messages once it is back', async () => {
    const api = `http://127.0.0.1:${port}`;
    // The same port, now served by a process whose database cannot be reached.
    await app.close();
    const nowhere = await openMessenger({
      databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`,
      migrate: false,
    });
    const down = await buildApp({ messenger: nowhere, auth: { mode: 'open' } });
    let attempts = 0;
    down.server.on('upgrade', () => {
      attempts++;
    });
    await down.listen({ port, host: '127.0.0.1' });
    const w = spawnWatch(['-r', 'umberto'], { MSG_API_URL: api });
    try {
      const deadline = Date.now() + 15_000;
      while (attempts < 3 && Date.now() < deadline) await sleep(50);
      expect(attempts, w.process.stderr()).toBeGreaterThanOrEqual(3);
      // Said once for the outage, without where the database is; still running.
      expect(w.process.stderr()).toBe(
        'msg: unavailable: the database is unavailable; try again shortly (reconnecting)\n',
      );
      expect(w.process.exit()).toBeUndefined();
      await down.close();
      await start();
      // Without --after a watch starts at "now": send once it is subscribed again.
      let resubscribed = false;
      app.server.once('upgrade', () => {
        resubscribed = true;
      });
      const again = Date.now() + 15_000;
      while (!resubscribed && Date.now() < again) await sleep(50);
      await sleep(500);
      await messenger.send({ sender: 'bob', recipient: 'umberto', message_content: 'back' });
      await w.until(1, 'the message after the database came back');
      expect(w.contents()).toEqual(['back']);
    } finally {
      w.process.child.kill('SIGINT');
    }
    expect((await w.process.exited).code).toBe(0);
  }, 60_000);

  it('ends with exit 2 and one line when the stream refuses the request after the upgrade', async () => {
    const r = await runMsg(['watch', '--json', '-r', 'hugo', '--after', '987654321'], {
      env: { MSG_API_URL: `http://127.0.0.1:${port}` },
      timeoutMs: 20_000,
    });
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'msg: validation_failed: after: no message with id 987654321\n',
    });
  });

  it('refuses a bad stream request with exit 2 naming the field', async () => {
    const r = await runMsg(['watch', '-r', 'hugo', '--after', 'not-a-cursor!'], {
      env: { MSG_API_URL: `http://127.0.0.1:${port}` },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/after: /);
  });

  it('sends with an idempotency key once, however often it is repeated', async () => {
    const env = { MSG_API_URL: `http://127.0.0.1:${port}` };
    for (let i = 0; i < 3; i++) {
      const r = await runMsg(
        ['send', '-f', 'bob', '-t', 'ivy', '--idempotency-key', 'cli-key-1', 'once'],
        { env },
      );
      expect(r.code).toBe(0);
    }
    expect((await messenger.list({ recipient: 'ivy' })).messages).toHaveLength(1);
    const other = await runMsg(
      ['send', '-f', 'bob', '-t', 'ivy', '--idempotency-key', 'cli-key-1', 'different'],
      { env },
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^msg: idempotency_key_reused: /);
  });
});
