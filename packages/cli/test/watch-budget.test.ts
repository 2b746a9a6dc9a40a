// `msg watch` against a server's stream budgets: refused past the cap, it says so once, waits
// what Retry-After asks and gets in when a place frees; closed at each stream's lifetime, it
// resumes from the server's cursor and prints every message once, in order.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, type Messenger, openMessenger } from '@messenger/core';
import { buildApp } from '@messenger/server';
import { startProcess, waitFor } from '@messenger/testing';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, msgEnv } from './run-msg.js';

/** `msg watch --json -r hugo` over `api`, and the contents it printed. */
function spawnWatch(api: string) {
  const argv = [MSG_BIN, '--api', api, 'watch', '--json', '-r', 'hugo'];
  const watcher = startProcess('msg watch', process.execPath, argv, { env: msgEnv() });
  const contents = () =>
    watcher
      .stdout()
      .split('\n')
      .slice(0, -1)
      .flatMap((l) => {
        const e = JSON.parse(l) as { message?: Message };
        return e.message ? [e.message.message_content] : [];
      });
  const until = (what: string, n: number) =>
    waitFor(what, () => contents().length >= n, { timeoutMs: 20_000, intervalMs: 20 }).catch(
      (err: Error) => {
        throw new Error(`${err.message}: ${watcher.output()}`);
      },
    );
  return { watcher, contents, until };
}

describe('msg watch under stream budgets', () => {
  let messenger: Messenger;
  const apps: FastifyInstance[] = [];

  const serve = async (streams: { maxPerAddress?: number; maxLifetimeMs?: number }) => {
    const app = await buildApp({
      messenger,
      auth: { mode: 'open' },
      closeMessenger: false,
      streams,
    });
    apps.push(app);
    return app.listen({ port: 0, host: '127.0.0.1' });
  };

  beforeAll(async () => {
    messenger = await openMessenger();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await messenger?.close();
  });

  it('says once that it is refused, waits what Retry-After asks, and gets in when a place frees', async () => {
    const api = await serve({ maxPerAddress: 1, maxLifetimeMs: 0 });
    // Another client holds this address's one stream.
    const held = new WebSocket(`${api.replace(/^http/, 'ws')}/api/messages/stream?recipient=x`);
    await new Promise((resolve) => held.addEventListener('open', resolve, { once: true }));
    const w = spawnWatch(api);
    try {
      await waitFor('the refusal on stderr', () => /too_many_streams/.test(w.watcher.stderr()), {
        timeoutMs: 15_000,
      }).catch((err: Error) => {
        throw new Error(`${err.message}: ${w.watcher.output()}`);
      });
      const refusedAt = Date.now();
      // Said once, however many times it asks again meanwhile.
      await sleep(1500);
      expect(w.watcher.stderr().match(/too_many_streams/g)).toHaveLength(1);
      expect(w.watcher.stderr()).toMatch(/at most 1; close one, or retry in 5 s \(retrying\)/);
      held.close();
      // Without --after it prints what arrives once it is in: send until something shows.
      const deadline = Date.now() + 20_000;
      for (let i = 0; w.contents().length === 0; i++) {
        if (Date.now() > deadline) throw new Error(`never got in: ${w.watcher.output()}`);
        await messenger.send({ sender: 'bob', recipient: 'hugo', message_content: `in ${i}` });
        await sleep(250);
      }
      // It waited for Retry-After (5 s), not only its own short backoff (0.25–0.5 s at first).
      expect(Date.now() - refusedAt).toBeGreaterThan(2_000);
    } finally {
      w.watcher.child.kill('SIGINT');
    }
    expect((await w.watcher.exited).code).toBe(0);
  }, 60_000);

  it('resumes across lifetime closes from the cursor the server gives, without a gap or a repeat', async () => {
    const api = await serve({ maxLifetimeMs: 400 });
    const w = spawnWatch(api);
    try {
      await sleep(1500);
      const expected: string[] = [];
      // About 2 s of sends: five lifetimes and more, some sends between a close and the reconnect.
      for (let i = 0; i < 30; i++) {
        await messenger.send({ sender: 'bob', recipient: 'hugo', message_content: `m${i}` });
        expected.push(`m${i}`);
        await sleep(60);
      }
      await w.until('every message', expected.length);
      await sleep(600);
      expect(w.contents()).toEqual(expected);
    } finally {
      w.watcher.child.kill('SIGINT');
    }
    expect((await w.watcher.exited).code).toBe(0);
  }, 60_000);
});
