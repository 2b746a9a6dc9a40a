// Live delivery latency: a WebSocket watcher on /api/messages/stream, then N sends one after
// another, each timed from the start of its POST to the moment the watcher receives it.
import { randomUUID } from 'node:crypto';
import { Agent, request, WebSocket } from 'undici';
import { summarize } from './load.mjs';

const PER_MESSAGE_TIMEOUT_MS = 5000;

/** Sends `count` messages to a fresh recipient and times their arrival at a watcher. */
export async function measureLiveDelivery(baseUrl, count) {
  const recipient = `live-${randomUUID().slice(0, 8)}`;
  const agent = new Agent({ connections: 1 });
  const ws = new WebSocket(
    `${baseUrl.replace(/^http/, 'ws')}/api/messages/stream?recipient=${recipient}`,
  );
  const waiting = new Map();
  let failed;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stream: no "ready" within 10 s')), 10_000);
    ws.addEventListener('error', (e) => {
      clearTimeout(timer);
      failed = new Error(`stream error: ${e.message ?? e.error?.message ?? 'unknown'}`);
      reject(failed);
    });
    ws.addEventListener('close', (e) => {
      clearTimeout(timer);
      failed ??= new Error(`stream closed: ${e.code} ${e.reason}`);
      reject(failed);
    });
    ws.addEventListener('message', (e) => {
      const at = performance.now();
      const event = JSON.parse(String(e.data));
      if (event.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (event.type === 'message') {
        waiting.get(event.message.message_content)?.(at);
      }
    });
  });
  const delivery = [];
  const sendLatency = [];
  try {
    await ready;
    for (let i = 0; i < count; i++) {
      const content = `live ${i} ${recipient}`;
      let timer;
      const arrived = new Promise((resolve, reject) => {
        waiting.set(content, resolve);
        timer = setTimeout(
          () =>
            reject(
              failed ?? new Error(`message ${i} not delivered within ${PER_MESSAGE_TIMEOUT_MS} ms`),
            ),
          PER_MESSAGE_TIMEOUT_MS,
        );
      });
      const t0 = performance.now();
      const res = await request(`${baseUrl}/api/messages/send/`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender: 'live-bench', recipient, message_content: content }),
      });
      await res.body.dump();
      sendLatency.push(performance.now() - t0);
      if (res.statusCode !== 201) throw new Error(`send answered ${res.statusCode}`);
      try {
        delivery.push((await arrived) - t0);
      } finally {
        clearTimeout(timer);
        waiting.delete(content);
      }
    }
  } finally {
    ws.close();
    await agent.close();
  }
  return { count, delivery: summarize(delivery), send: summarize(sendLatency) };
}
