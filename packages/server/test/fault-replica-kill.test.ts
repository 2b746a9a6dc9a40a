// A replica SIGKILLed mid-load behind the real nginx: clients that retry a failed send with the
// same Idempotency-Key lose nothing and store nothing twice, and reads never fail.
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresUrl, type RunningProcess } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import {
  type Attempt,
  attempt,
  describeAttempts,
  type SendOutcome,
  sendWithRetries,
} from './helpers/load.js';
import { storedBySender, useTopology } from './helpers/topology.js';

const LOAD = { senders: 4, listers: 2, sendsPerSender: 50, killAfterAcked: 50 };

/** What a client retries under the same key: nginx's gateway errors, 409 (still in flight), no answer. */
const RETRYABLE = new Set([0, 409, 502, 503, 504]);

describe.skipIf(postgresUrl === undefined)('a replica killed under load behind nginx', () => {
  const { topology, agent } = useTopology(2);

  it('stores every acknowledged send exactly once and never fails a read', async () => {
    const t = topology();
    const base = t.nginx.url;
    const sender = `kill-${process.pid}-${Date.now()}`;
    const victim = t.replicas[0] as RunningProcess;
    const outcomes: SendOutcome[] = [];
    const reads: Attempt[] = [];
    let acked = 0;
    let killedAt = 0;
    let sendersDone = false;

    const senders = Array.from({ length: LOAD.senders }, async (_, w) => {
      for (let i = 0; i < LOAD.sendsPerSender; i++) {
        const outcome = await sendWithRetries(
          base,
          { sender, recipient: 'alice', message_content: `w${w} n${i}` },
          {
            retry: (a) => RETRYABLE.has(a.status),
            deadline: Date.now() + 20_000,
            delayMs: 50,
            dispatcher: agent,
          },
        );
        outcomes.push(outcome);
        if (outcome.acked && ++acked === LOAD.killAfterAcked) {
          victim.child.kill('SIGKILL');
          killedAt = Date.now();
        }
        await sleep(5);
      }
    });
    const listers = Array.from({ length: LOAD.listers }, async () => {
      while (!sendersDone) {
        reads.push(
          await attempt(base, `/api/messages/?sender=${sender}&limit=10`, {
            kind: 'list',
            dispatcher: agent,
          }),
        );
        await sleep(10);
      }
    });
    await Promise.all(senders);
    sendersDone = true;
    await Promise.all(listers);

    expect((await victim.exited).signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);

    // Reads: nginx retries a GET on the surviving replica, so none fails.
    const failedReads = reads.filter((r) => r.status !== 200);
    expect(failedReads, describeAttempts(failedReads)).toEqual([]);
    expect(reads.filter((r) => r.start > killedAt).length).toBeGreaterThan(0);

    // Sends: whatever failed was a gateway error (or 409 while the first try was in flight),
    // and every logical send was acknowledged in the end.
    const attempts = outcomes.flatMap((o) => o.attempts);
    const odd = attempts.filter((a) => a.status !== 201 && !RETRYABLE.has(a.status));
    expect(odd, describeAttempts(odd)).toEqual([]);
    const unacked = outcomes.filter((o) => o.acked === undefined);
    expect(unacked.map((o) => `${o.content}:\n${describeAttempts(o.attempts)}`)).toEqual([]);
    expect(outcomes).toHaveLength(LOAD.senders * LOAD.sendsPerSender);

    // Stored: each acknowledged send exactly once, under the id it was acknowledged with; no
    // content twice; nothing that was not sent.
    const stored = await storedBySender(t.db, sender);
    for (const o of outcomes) {
      const id = (JSON.parse((o.acked as Attempt).body) as { id: number }).id;
      expect(stored.get(o.content), o.content).toEqual([id]);
    }
    const doubled = [...stored].filter(([, ids]) => ids.length > 1);
    expect(doubled).toEqual([]);
    expect(stored.size).toBe(outcomes.length);

    const retried = outcomes.filter((o) => o.attempts.length > 1);
    const replayed = outcomes.filter((o) => o.acked?.headers['idempotent-replayed'] === 'true');
    const statuses = attempts.reduce<Record<number, number>>((m, a) => {
      m[a.status] = (m[a.status] ?? 0) + 1;
      return m;
    }, {});
    console.log(
      `replica kill: ${outcomes.length} sends acknowledged, ${retried.length} needed a retry ` +
        `(${replayed.length} answered by replay), send statuses ${JSON.stringify(statuses)}, ` +
        `${reads.length} reads all 200, 0 stored twice`,
    );
  }, 45_000);
});
