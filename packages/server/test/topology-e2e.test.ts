// The production topology for real on 127.0.0.1: PostgreSQL, two `messenger-server` processes and
// Debian's nginx started with the repository's template rendered for those two. One replica is
// killed under a stream of reads and sends, then restarted.
import { join } from 'node:path';
import type { Message } from '@messenger/core';
import {
  postgresUrl,
  type RunningProcess,
  repoRoot,
  startProcess,
  waitFor,
} from '@messenger/testing';
import { request, WebSocket } from 'undici';
import { describe, expect, it } from 'vitest';
import { storedBySender, useTopology } from './helpers/topology.js';

const msgBin = join(repoRoot, 'packages/cli/bin/msg.js');

describe.skipIf(postgresUrl === undefined)('production topology on 127.0.0.1', () => {
  const { topology } = useTopology(2);
  const sender = `e2e-${process.pid}-${Date.now()}`;

  function url(path: string): string {
    return `${topology().nginx.url}${path}`;
  }

  async function send(content: string, requestId?: string) {
    const res = await request(url('/api/messages/send/'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(requestId && { 'x-request-id': requestId }),
      },
      body: JSON.stringify({ sender, recipient: 'alice', message_content: content }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  async function list(query: string, requestId?: string) {
    const res = await request(url(`/api/messages/?${query}`), {
      headers: requestId ? { 'x-request-id': requestId } : {},
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  it('sends and lists through nginx', async () => {
    const sent = await send('hello through nginx', 'e2e-first-send');
    expect(sent.status, sent.text).toBe(201);
    expect(sent.headers['x-request-id']).toBe('e2e-first-send');
    const message = JSON.parse(sent.text) as Message;
    expect(message).toMatchObject({
      sender,
      recipient: 'alice',
      message_content: 'hello through nginx',
      is_read: false,
      read_at: null,
    });

    const listed = await list(`sender=${sender}&recipient=alice&is_read=false`);
    expect(listed.status, listed.text).toBe(200);
    expect(JSON.parse(listed.text)).toEqual([message]);

    const { nginx, ports } = topology();
    const logged = nginx.accessLog().find((e) => e.request_id === 'e2e-first-send');
    expect(logged).toMatchObject({ method: 'POST', status: 201, upstream_status: '201' });
    expect(ports.map((p) => `127.0.0.1:${p}`)).toContain(logged?.upstream_addr);
  });

  it('keeps every read and every acknowledged send while a replica is killed', async () => {
    const total = 200;
    const workers = 4;
    const killAt = 60;
    const { db, nginx, ports, replicas } = topology();
    const killed = replicas[0] as RunningProcess;
    let next = 0;
    let logAtKill = -1;
    const readFailures: string[] = [];
    const acknowledged = new Map<string, number>();
    const unacknowledged: { content: string; status: number; body: string }[] = [];

    const worker = async () => {
      while (next < total) {
        const i = next++;
        if (i === killAt) {
          killed.child.kill('SIGKILL');
          logAtKill = nginx.accessLog().length;
        }
        if (i % 2 === 0) {
          const content = `load ${i}`;
          const res = await send(content).catch((err: Error) => ({
            status: 0,
            text: err.message,
          }));
          if (res.status === 201) acknowledged.set(content, (JSON.parse(res.text) as Message).id);
          else unacknowledged.push({ content, status: res.status, body: res.text });
        } else {
          const res = await list(`sender=${sender}&limit=5`).catch((err: Error) => ({
            status: 0,
            text: err.message,
          }));
          if (res.status !== 200) readFailures.push(`read ${i}: ${res.status} ${res.text}`);
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));

    expect((await killed.exited).signal).toBe('SIGKILL');
    expect(logAtKill).toBeGreaterThan(0);
    // Reads are retried on the surviving replica by nginx: none fails.
    expect(readFailures).toEqual([]);
    // A send may fail only if it was already handed to the replica that died (nginx does not
    // resend a POST): at most the few in flight at that moment, and answered by nginx as 502.
    expect(unacknowledged.length).toBeLessThanOrEqual(workers * 2);
    for (const u of unacknowledged) {
      expect(u.status, u.body).toBe(502);
      expect(JSON.parse(u.body)).toMatchObject({ error: { code: 'bad_gateway' } });
    }
    expect(acknowledged.size + unacknowledged.length).toBe(total / 2);

    // Every acknowledged send is stored exactly once, with the id it was acknowledged with; an
    // unacknowledged one at most once.
    const stored = await storedBySender(db, sender);
    for (const [content, id] of acknowledged) expect(stored.get(content), content).toEqual([id]);
    for (const u of unacknowledged) expect((stored.get(u.content) ?? []).length).toBeLessThan(2);

    // The kill happened under traffic: nginx saw the replica fail (a request in flight, or a
    // refused connection it then retried on the survivor) before leaving it out.
    const after = nginx.accessLog().slice(logAtKill);
    const dead = `127.0.0.1:${ports[0]}`;
    const triedDead = after.filter((e) => {
      const i = e.upstream_addr.split(', ').indexOf(dead);
      return i >= 0 && e.upstream_status.split(', ')[i] === '502';
    });
    expect(triedDead.length).toBeGreaterThan(0);
    if (process.env.E2E_VERBOSE) {
      console.log({ unacknowledged, triedDead });
    }
    expect(after.some((e) => e.upstream_addr === `127.0.0.1:${ports[1]}` && e.status === 200)).toBe(
      true,
    );
  }, 30_000);

  it('takes the restarted replica back into rotation', async () => {
    const { nginx, ports, startReplica } = topology();
    const port = ports[0] as number;
    await startReplica(0);
    // nginx rests a failed replica for fail_timeout (5 s), then tries it again.
    let n = 0;
    await waitFor(
      `nginx to route a request to the restarted replica on ${port}`,
      async () => {
        const id = `e2e-back-${n++}`;
        const res = await list(`sender=${sender}&limit=1`, id);
        expect(res.status, res.text).toBe(200);
        const entry = nginx.accessLog().find((e) => e.request_id === id);
        return entry?.upstream_addr === `127.0.0.1:${port}`;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // And the two share the traffic again.
    const ids = Array.from({ length: 10 }, (_, i) => `e2e-shared-${i}`);
    for (const id of ids) expect((await list(`sender=${sender}&limit=1`, id)).status).toBe(200);
    const served = new Set(
      nginx
        .accessLog()
        .filter((e) => ids.includes(e.request_id))
        .map((e) => e.upstream_addr),
    );
    expect(served).toEqual(new Set(ports.map((p) => `127.0.0.1:${p}`)));
  }, 30_000);

  it('serves `msg --api` through nginx', async () => {
    const cli = startProcess(
      'msg',
      process.execPath,
      [msgBin, '--api', url(''), 'list', '--sender', sender, '-n', '1', '--json'],
      { env: { ...process.env, DATABASE_URL: '', NO_COLOR: '1' } },
    );
    const exit = await cli.exited;
    expect(exit.code, cli.output()).toBe(0);
    const out = JSON.parse(cli.stdout()) as { messages: Message[] };
    expect(out.messages).toHaveLength(1);
    expect(out.messages[0]?.sender).toBe(sender);
  }, 20_000);

  it('streams through nginx: a watcher gets sends made on either replica, and resumes after reconnecting', async () => {
    const who = `watch-${process.pid}-${Date.now()}`;
    type Frame = { type: string; message?: Message; cursor?: string };
    const frames: Frame[] = [];
    const contents = () => frames.flatMap((f) => (f.message ? [f.message.message_content] : []));
    const until = (what: string, cond: () => boolean) =>
      waitFor(what, async () => cond(), { timeoutMs: 15_000, intervalMs: 20 });
    const open = (after?: string) => {
      const ws = new WebSocket(
        `${url('/api/messages/stream').replace(/^http/, 'ws')}?recipient=${who}${after ? `&after=${after}` : ''}`,
      );
      ws.addEventListener('message', (e) => frames.push(JSON.parse(String(e.data)) as Frame));
      return ws;
    };
    const post = async (base: string, content: string) => {
      const res = await request(`${base}/api/messages/send/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender, recipient: who, message_content: content }),
      });
      await res.body.text();
      expect(res.statusCode).toBe(201);
    };

    let ws = open();
    await until('ready', () => frames.some((f) => f.type === 'ready'));
    // One of the two replicas is not the one nginx gave the watcher.
    for (const [i, port] of topology().ports.entries())
      await post(`http://127.0.0.1:${port}`, `direct ${i}`);
    await until(`both direct sends: ${JSON.stringify(frames)}`, () => contents().length === 2);

    const closed = new Promise<void>((r) => ws.addEventListener('close', () => r()));
    ws.close();
    await closed;
    const last = frames.filter((f) => f.type === 'message').at(-1)?.cursor;
    expect(last).toEqual(expect.any(String));
    await post(url(''), 'while away 1');
    await post(url(''), 'while away 2');
    ws = open(last);
    await until('catch-up after reconnect', () => contents().length === 4);
    await post(url(''), 'live again');
    await until('live after reconnect', () => contents().length === 5);
    expect(contents()).toEqual([
      'direct 0',
      'direct 1',
      'while away 1',
      'while away 2',
      'live again',
    ]);
    ws.close();
  }, 30_000);
});
