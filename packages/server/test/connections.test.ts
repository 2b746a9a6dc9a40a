// Raw connections on a real listening server: requests with WebSocket upgrade headers to plain
// routes (answered, then closed: no CLOSE-WAIT socket left behind), and pipelined requests
// followed by bytes that are not HTTP (every answer before the 400, in order).
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Messenger, openMessenger } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { parseResponses, rawExchange } from './helpers/raw-http.js';

const UPGRADE =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

const sendBody = (text: string) =>
  JSON.stringify({ sender: 'pipe', recipient: 'line', message_content: text });

const postSend = (body: string, extra = '') =>
  `POST /api/messages/send/ HTTP/1.1\r\nHost: x\r\n${extra}Content-Type: application/json\r\n` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('raw connections', () => {
  let messenger: Messenger;
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    messenger = await openMessenger();
    app = await buildApp({ messenger, auth: { mode: 'open' } });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(url).port);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  const connections = () =>
    new Promise<number>((resolve, reject) =>
      app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
  /** Waits until the server holds no connection at all; fails after `ms`. */
  const noConnectionsWithin = async (ms: number, what: string) => {
    const deadline = Date.now() + ms;
    let n = await connections();
    while (n > 0 && Date.now() < deadline) {
      await sleep(20);
      n = await connections();
    }
    expect(n, `server connections after ${what}`).toBe(0);
  };
  const stored = async (text: string) =>
    (await messenger.list({ recipient: 'line', limit: 1000 })).messages.filter(
      (m) => m.message_content === text,
    ).length;

  /** Opens a socket, writes `bytes`, and resolves once the server has ended its side. */
  function untilServerEnds(bytes: string): Promise<{ socket: Socket; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server did not end its side: ${Buffer.concat(chunks)}`));
      }, 5_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        clearTimeout(timer);
        resolve({ socket, data: Buffer.concat(chunks) });
      });
      socket.on('error', reject);
      socket.write(bytes);
    });
  }

  it('answers upgrade requests to plain routes normally, then closes: no socket is left', async () => {
    const cases: [string, number][] = [
      ['GET /healthz', 200],
      ['GET /readyz', 200],
      ['GET /api/messages/?recipient=line', 200],
      ['GET /nope', 404],
      ['DELETE /api/messages/', 405],
      ['GET /api/messages/%zz', 400],
      ['GET /api/docs', 200],
      ['GET /api/messages/stream?recipient=x&nope=1', 400],
    ];
    for (const [line, status] of cases) {
      const { socket, data } = await untilServerEnds(
        `${line} HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`,
      );
      const [answer, ...more] = parseResponses(data);
      expect(answer?.status, `${line}: ${data}`).toBe(status);
      expect(answer?.headers.connection, line).toBe('close');
      expect(more, line).toEqual([]);
      if (status >= 400)
        expect(JSON.parse(answer?.body ?? '').error.code, line).toEqual(expect.any(String));
      socket.end();
      await noConnectionsWithin(2_000, line);
    }
  });

  it('closes such a connection even when the client half-closes first, or never closes', async () => {
    // Half-closed right after the request: the answer still comes, then the server closes.
    const half = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server did not close: ${Buffer.concat(chunks)}`));
      }, 5_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      socket.on('error', reject);
      socket.end(`GET /healthz HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
    });
    expect(parseResponses(half).map((r) => r.status)).toEqual([200]);
    await noConnectionsWithin(2_000, 'a half-closed client');

    // A client that reads the answer and then neither closes nor sends: dropped shortly after.
    const { socket } = await untilServerEnds(`GET /healthz HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
    await noConnectionsWithin(3_000, 'a client that never closes');
    socket.destroy();
  });

  it('stores no message from an upgrade request with a body, and closes it', async () => {
    const text = 'sent with upgrade headers';
    const { socket, data } = await untilServerEnds(postSend(sendBody(text), UPGRADE));
    expect(parseResponses(data).map((r) => r.status)).toEqual([400]);
    socket.end();
    await noConnectionsWithin(2_000, 'an upgrade POST');
    expect(await stored(text)).toBe(0);
  });

  it('still upgrades the stream, and a closed WebSocket leaves no socket either', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/messages/stream?recipient=line`);
    const ready = await new Promise<string>((resolve, reject) => {
      ws.addEventListener('message', (e) => resolve(String(e.data)));
      ws.addEventListener('error', () => reject(new Error('no WebSocket')));
    });
    expect(JSON.parse(ready)).toEqual({ type: 'ready' });
    const closed = new Promise((r) => ws.addEventListener('close', r));
    ws.close();
    await closed;
    await noConnectionsWithin(2_000, 'a closed WebSocket');
  });

  it('answers pipelined requests before the 400 of malformed bytes behind them', async () => {
    const tails: [string, string, number][] = [
      ['garbage', 'NOT HTTP AT ALL\r\n\r\n', 400],
      [
        'a header too large',
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
      ],
      [
        'a broken chunked body',
        'POST /api/messages/send/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
        400,
      ],
      ['a bare LF request line', 'GET /healthz HTTP/1.1\nHost: x\n\n', 400],
    ];
    for (const [what, tail, status] of tails) {
      const text = `pipelined before ${what}`;
      const r = await rawExchange(
        port,
        `${postSend(sendBody(text))}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${tail}`,
      );
      expect(
        r.responses.map((x) => x.status),
        `${what}: ${r.text}`,
      ).toEqual([201, 200, status]);
      expect(JSON.parse(r.responses[0]?.body ?? '')).toMatchObject({ message_content: text });
      const error = r.responses[2];
      expect(error?.headers.connection).toBe('close');
      expect(JSON.parse(error?.body ?? '').error).toMatchObject({
        code: expect.any(String),
        request_id: error?.headers['x-request-id'],
      });
      expect(r.closedByServer, what).toBe(true);
      expect(await stored(text), what).toBe(1);
    }
    await noConnectionsWithin(2_000, 'pipelined requests');
  });

  it('answers a slow pipelined send before the 400, however long it takes', async () => {
    // The bad bytes come while the send is still waiting for the rest of its body.
    const text = 'slow pipelined send';
    const body = sendBody(text);
    const half = Math.floor(body.length / 2);
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write(postSend(body).slice(0, -body.length + half));
    await sleep(200);
    socket.write(`${body.slice(half)}NOT HTTP\r\n\r\n`);
    await closed;
    const answers = parseResponses(Buffer.concat(chunks));
    expect(answers.map((a) => a.status)).toEqual([201, 400]);
    expect(await stored(text)).toBe(1);
  });

  it('closes promptly after upgrade requests, whether their clients closed or not', async () => {
    const gone = await untilServerEnds(`GET /healthz HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
    gone.socket.end();
    const open = await untilServerEnds(`GET /nope HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    open.socket.destroy();
  });
});
