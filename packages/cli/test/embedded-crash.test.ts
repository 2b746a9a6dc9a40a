// The embedded database after a `msg` process is SIGKILLed while it holds it: the next `msg`
// takes the dead process's lock over, opens the database, and finds every message that was
// acknowledged (exit 0, or 201 from `msg serve`) exactly once.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@messenger/core';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopAll,
  waitFor,
  waitUntilAnswering,
} from '@messenger/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, msgEnv, runMsg } from './run-msg.js';

/** `msg`'s environment for the embedded database in `dataDir`. */
function dataDirEnv(dataDir: string): Record<string, string> {
  // Each process opens PGlite (seconds on a loaded 2-core machine): wait long for the lock.
  return msgEnv({ NO_COLOR: '1', MSG_DATA_DIR: dataDir, MSG_LOCK_TIMEOUT_MS: '30000' });
}

/** Pid in the lock file, when a process holds the database. */
function lockHolder(dataDir: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(join(dataDir, 'lock'), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Every message from `sender`, through `msg list --json` (which must open the database). */
async function listed(dataDir: string, sender: string): Promise<Message[]> {
  const r = await runMsg(['list', '--sender', sender, '-n', '1000', '--json'], {
    env: dataDirEnv(dataDir),
    timeoutMs: 45_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { messages: Message[]; next_cursor: string | null };
  expect(out.next_cursor).toBeNull();
  return out.messages;
}

/** content → ids stored under it. */
function byContent(messages: readonly Message[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const msg of messages)
    m.set(msg.message_content, [...(m.get(msg.message_content) ?? []), msg.id]);
  return m;
}

describe('the embedded database after a killed msg', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'msg-crash-'));
    // Created once (a few seconds): the kills below hit an existing database.
    const r = await runMsg(['send', '-f', 'setup', '-t', 'alice', 'created'], {
      env: dataDirEnv(dataDir),
      timeoutMs: 45_000,
    });
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged `msg send` when one of several is killed while it holds the database', async () => {
    const sender = `crash-send-${process.pid}`;
    const acknowledged = new Map<string, number>();
    const killedContents: string[] = [];
    const notes: string[] = [];
    const committedButKilled: string[] = [];
    // How the database holder is killed each round: after a random delay (opening, inserting or
    // closing), or the moment it has printed the stored message (while it writes the checkpoint).
    const rounds = ['random delay', 'after its output', 'after its output'] as const;
    for (const [round, how] of rounds.entries()) {
      // Three sends at once: they queue on the lock; whichever holds it first is the victim.
      const procs = Array.from({ length: 3 }, (_, i) => {
        const content = `round ${round} send ${i}`;
        const p = startProcess(
          `msg send ${round}.${i}`,
          process.execPath,
          [MSG_BIN, 'send', '-f', sender, '-t', 'alice', '--json', content],
          { env: dataDirEnv(dataDir) },
        );
        return { p, content };
      });
      const holder = await waitFor(
        'a msg send to hold the database',
        () => {
          const pid = lockHolder(dataDir);
          return procs.find((x) => x.p.pid === pid);
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      const took = Date.now();
      if (how === 'random delay') {
        await sleep(Math.floor(Math.random() * 1000));
      } else {
        await waitFor('the stored message on stdout', () => holder.p.stdout().includes('}'), {
          timeoutMs: 30_000,
          intervalMs: 1,
        });
      }
      holder.p.child.kill('SIGKILL');
      const killedAfter = Date.now() - took;
      const exits = await Promise.all(procs.map((x) => x.p.exited));
      for (const [i, x] of procs.entries()) {
        const exit = exits[i];
        if (x === holder && exit?.signal === 'SIGKILL') {
          killedContents.push(x.content);
          // Printed means committed: it must be there although the process never exited.
          if (x.p.stdout().includes('}')) committedButKilled.push(x.content);
          notes.push(`round ${round}: killed ${killedAfter} ms after it took the lock (${how})`);
          continue;
        }
        // The others waited for the lock, took it over from the dead process, and stored theirs.
        expect(exit, `${x.content}: ${x.p.output()}`).toEqual({ code: 0, signal: null });
        const m = JSON.parse(x.p.stdout()) as Message;
        expect(m.message_content).toBe(x.content);
        acknowledged.set(x.content, m.id);
      }
    }
    expect(committedButKilled.length).toBeGreaterThan(0);

    const stored = byContent(await listed(dataDir, sender));
    for (const [content, id] of acknowledged) expect(stored.get(content), content).toEqual([id]);
    for (const content of killedContents) {
      expect((stored.get(content) ?? []).length, content).toBeLessThanOrEqual(1);
    }
    for (const content of committedButKilled) expect(stored.get(content), content).toHaveLength(1);
    expect(stored.size).toBe(
      acknowledged.size + killedContents.filter((c) => stored.has(c)).length,
    );
    expect(killedContents.length).toBeGreaterThan(0);
    console.log(
      `embedded crash (msg send): ${acknowledged.size} acknowledged, all stored once; ` +
        `${killedContents.length} killed (${killedContents.filter((c) => stored.has(c)).length} of them had committed); ${notes.join('; ')}`,
    );
  }, 90_000);

  it('keeps every send `msg serve` acknowledged before it was killed mid-burst', async () => {
    const sender = `crash-serve-${process.pid}`;
    const port = await freePort();
    const serve = startProcess(
      'msg serve',
      process.execPath,
      [MSG_BIN, 'serve', '--auth', 'open', '--port', String(port), '--log-level', 'warn'],
      { env: dataDirEnv(dataDir) },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(serve, `${url}/readyz`, {
      timeoutMs: 45_000,
      intervalMs: 100,
      probeTimeoutMs: 500,
    });

    const acknowledged = new Map<string, number>();
    const unanswered: string[] = [];
    let killed = false;
    const killAfter = 40 + Math.floor(Math.random() * 40);
    const client = async (c: number) => {
      for (let i = 0; !killed && i < 500; i++) {
        const content = `client ${c} send ${i}`;
        try {
          const res = await request(`${url}/api/messages/send/`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'idempotency-key': `${sender}-${c}-${i}`,
            },
            body: JSON.stringify({ sender, recipient: 'alice', message_content: content }),
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          const text = await res.body.text();
          expect(res.statusCode, text).toBe(201);
          acknowledged.set(content, (JSON.parse(text) as Message).id);
          if (acknowledged.size === killAfter) {
            (serve as RunningProcess).child.kill('SIGKILL');
            killed = true;
          }
        } catch (err) {
          if (!killed) throw err;
          unanswered.push(content);
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    expect((await serve.exited).signal).toBe('SIGKILL');

    // The lock names the dead server; the next msg takes it over and finds all it acknowledged.
    expect(lockHolder(dataDir)).toBe(serve.pid);
    const stored = byContent(await listed(dataDir, sender));
    for (const [content, id] of acknowledged) expect(stored.get(content), content).toEqual([id]);
    for (const content of unanswered) {
      expect((stored.get(content) ?? []).length, content).toBeLessThanOrEqual(1);
    }
    expect([...stored.values()].filter((ids) => ids.length > 1)).toEqual([]);
    console.log(
      `embedded crash (msg serve): killed after ${acknowledged.size} acknowledged sends, all stored once; ` +
        `${unanswered.length} in flight (${unanswered.filter((c) => stored.has(c)).length} of them had committed)`,
    );
  }, 60_000);
});
