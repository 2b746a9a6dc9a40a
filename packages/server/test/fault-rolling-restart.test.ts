// A rolling restart of two replicas behind the real nginx under continuous load: each replica
// in turn gets SIGTERM, exits by itself, is started again on its port and waits until nginx
// routes to it again. Clients do not retry: graceful shutdown plus nginx must be enough for
// not one request to fail.
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresUrl, type RunningProcess, waitFor } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import { type Attempt, attempt } from './helpers/load.js';
import { storedBySender, useTopology } from './helpers/topology.js';

const LOAD = { senders: 3, listers: 2 };

describe.skipIf(postgresUrl === undefined)('a rolling restart behind nginx', () => {
  const { topology, agent } = useTopology(2);

  it('fails not one request while each replica in turn is stopped and started again', async () => {
    const t = topology();
    const base = t.nginx.url;
    const sender = `rolling-${process.pid}-${Date.now()}`;
    const attempts: Attempt[] = [];
    let n = 0;
    let stopLoad = false;
    const nextId = () => `rr-${process.pid}-${n++}`;

    const senders = Array.from({ length: LOAD.senders }, async (_, w) => {
      for (let i = 0; !stopLoad; i++) {
        const id = nextId();
        const content = `w${w} n${i}`;
        attempts.push(
          await attempt(base, '/api/messages/send/', {
            kind: 'send',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'idempotency-key': id,
              'x-request-id': id,
            },
            body: JSON.stringify({ sender, recipient: 'alice', message_content: content }),
            content,
            key: id,
            dispatcher: agent,
          }),
        );
        await sleep(5);
      }
    });
    const listers = Array.from({ length: LOAD.listers }, async () => {
      while (!stopLoad) {
        const id = nextId();
        attempts.push(
          await attempt(base, `/api/messages/?sender=${sender}&limit=10`, {
            kind: 'list',
            headers: { 'x-request-id': id },
            key: id,
            dispatcher: agent,
          }),
        );
        await sleep(5);
      }
    });

    const restarts: string[] = [];
    try {
      await sleep(500);
      for (const i of [0, 1]) {
        const old = t.replicas[i] as RunningProcess;
        const signalled = Date.now();
        old.child.kill('SIGTERM');
        const exit = await waitFor(`replica ${i} to exit after SIGTERM`, () => old.exit(), {
          timeoutMs: 15_000,
        });
        expect(exit, old.output()).toEqual({ code: 0, signal: null });
        const exited = Date.now();
        await t.startReplica(i);
        const ready = Date.now();
        // Healthy means healthy for nginx too: it rests a replica that refused connections for
        // fail_timeout (5 s); the next one may go down only once this one takes traffic again
        // (else nginx has no live upstream left: every request fails). Only log lines written
        // from now on count (their times have whole seconds only).
        const address = t.address(i);
        const logged = t.nginx.accessLog().length;
        // nginx has two pools (sends; lists), each resting a replica on its own: wait for both.
        await waitFor(
          `nginx to route sends and lists to the restarted replica ${address}`,
          () => {
            const routed = t.nginx
              .accessLog()
              .slice(logged)
              .filter((e) => e.upstream_addr === address && e.status < 400);
            return (
              routed.some((e) => e.method === 'POST') && routed.some((e) => e.method === 'GET')
            );
          },
          { timeoutMs: 20_000, intervalMs: 100 },
        );
        restarts.push(
          `replica ${i}: exited ${exited - signalled} ms after SIGTERM, ready ${ready - exited} ms later, ` +
            `back in rotation ${Date.now() - ready} ms after that`,
        );
      }
      await sleep(500);
    } finally {
      stopLoad = true;
      await Promise.all([...senders, ...listers]);
    }

    // Not one failed request, as the client saw it; for each failure, what nginx logged.
    const log = t.nginx.accessLog();
    const failed = attempts.filter((a) => a.status !== (a.kind === 'send' ? 201 : 200));
    const explained = failed.map((a) => {
      const entry = log.find((e) => e.request_id === a.key);
      return `${a.method} ${a.status} ${a.error ?? a.body.slice(0, 120)} | nginx: ${
        entry ? `${entry.status} via ${entry.upstream_addr} (${entry.upstream_status})` : 'no entry'
      }`;
    });
    const nginxErrors = t.nginx
      .errorLog()
      .split('\n')
      .filter((l) => /\[(error|warn)\]/.test(l));
    expect(
      { failed: failed.length, first: explained.slice(0, 10) },
      `${restarts.join('\n')}\nnginx error log:\n${nginxErrors.slice(0, 30).join('\n')}`,
    ).toEqual({ failed: 0, first: [] });

    // And every acknowledged send is stored once.
    const sends = attempts.filter((a) => a.kind === 'send');
    const stored = await storedBySender(t.db, sender);
    for (const a of sends) expect(stored.get(a.content as string)?.length, a.content).toBe(1);
    expect(stored.size).toBe(sends.length);

    // How often nginx had to pass a request on to the other replica (a refused connection, or
    // a kept-alive one closed under it).
    const passedOn = log.filter((e) => e.upstream_addr.includes(', '));
    console.log(
      `rolling restart: ${attempts.length} requests (${sends.length} sends), ${failed.length} failed, ` +
        `${passedOn.filter((e) => e.method === 'POST').length} POSTs and ` +
        `${passedOn.filter((e) => e.method === 'GET').length} GETs passed on by nginx; ${restarts.join('; ')}`,
    );
  }, 50_000);
});
