// The repository's nginx configuration, running for real on 127.0.0.1 in front of small fake
// replicas that record what reaches them: request ids, forwarded headers, upstream keep-alive,
// failover only where safe, JSON error bodies, the rate limit and the WebSocket upgrade.
// Needs no database; the real servers are in topology-e2e.test.ts.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { freePort, type RunningNginx, startLocalNginx, stopAll } from '@messenger/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Client port of nginx's connection: equal ports mean a reused (kept-alive) connection. */
  remotePort: number;
  bodyLength: number;
}

type Mode = 'ok' | 'drop';

/** A fake replica: answers 200 with its name, or (`drop`) reads the request and hangs up. */
interface FakeReplica {
  readonly name: string;
  readonly address: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const nginxes: RunningNginx[] = [];

async function fakeReplica(name: string, mode: Mode = 'ok'): Promise<FakeReplica> {
  const seen: Seen[] = [];
  const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => {
    let bodyLength = 0;
    req.on('data', (c: Buffer) => {
      bodyLength += c.length;
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        remotePort: req.socket.remotePort ?? 0,
        bodyLength,
      });
      if (mode === 'drop') {
        req.socket.destroy();
        return;
      }
      if (req.url === '/readyz') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'not ready', replica: name }));
        return;
      }
      res.writeHead(req.method === 'POST' ? 201 : 200, {
        'content-type': 'application/json',
        'x-request-id': 'set-by-the-replica',
      });
      res.end(JSON.stringify({ replica: name }));
    });
  });
  // WebSocket-style upgrade: 101, then echo.
  server.on('upgrade', (req, socket) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      remotePort: req.socket.remotePort ?? 0,
      bodyLength: 0,
    });
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (d: Buffer) => socket.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return {
    name,
    address: `127.0.0.1:${address.port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function nginxFor(
  upstreams: string[],
  extra: { rateLimit?: string; rateBurst?: number } = {},
): Promise<RunningNginx> {
  const nginx = await startLocalNginx({ upstreams, port: await freePort(), ...extra });
  nginxes.push(nginx);
  return nginx;
}

async function call(
  nginx: RunningNginx,
  path: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
) {
  const res = await request(`${nginx.url}${path}`, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    body: options.body ?? null,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** A WebSocket upgrade request of the stream, as bytes for a raw socket to nginx on `port`. */
function streamUpgrade(port: number): string {
  return [
    'GET /api/messages/stream HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    '',
    '',
  ].join('\r\n');
}

/** An address where nothing listens: a replica that is down. */
async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

afterAll(async () => {
  await Promise.all(nginxes.map((n) => n.stop()));
  await stopAll();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

describe('nginx in front of two healthy replicas', () => {
  let a: FakeReplica;
  let b: FakeReplica;
  let nginx: RunningNginx;

  beforeAll(async () => {
    a = await fakeReplica('a');
    b = await fakeReplica('b');
    nginx = await nginxFor([a.address, b.address]);
  });

  const seenBy = (id: string) =>
    [...a.seen, ...b.seen].find((s) => s.headers['x-request-id'] === id);

  it('forwards the client request id, replaces a malformed one, and returns it', async () => {
    const given = await call(nginx, '/api/messages/?limit=1', {
      headers: { 'x-request-id': 'client-id-1' },
    });
    expect(given.status).toBe(200);
    // nginx's id replaces the replica's own header: exactly one, the client's.
    expect(given.headers['x-request-id']).toBe('client-id-1');
    expect(seenBy('client-id-1')).toBeDefined();

    const made = await call(nginx, '/api/messages/');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(seenBy(made.headers['x-request-id'] as string)).toBeDefined();

    const bad = await call(nginx, '/api/messages/', {
      headers: { 'x-request-id': `bad id "with" quotes ${'x'.repeat(200)}` },
    });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);

    const entry = nginx.accessLog().find((e) => e.request_id === 'client-id-1');
    expect(entry).toMatchObject({ method: 'GET', uri: '/api/messages/?limit=1', status: 200 });
    expect([a.address, b.address]).toContain(entry?.upstream_addr);
  });

  it('sets the forwarded headers and keeps upstream connections alive', async () => {
    const before = a.seen.length + b.seen.length;
    for (let i = 0; i < 10; i++) {
      expect((await call(nginx, `/api/messages/?i=${i}`)).status).toBe(200);
    }
    const recent = [...a.seen, ...b.seen].slice(before);
    expect(recent).toHaveLength(10);
    for (const s of recent) {
      expect(s.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(s.headers['x-forwarded-proto']).toBe('http');
      expect(s.headers['x-forwarded-host']).toBe(`127.0.0.1:${nginx.port}`);
      expect(s.headers.host).toBe(`127.0.0.1:${nginx.port}`);
      expect(s.headers.connection).toBeUndefined();
    }
    // Balanced over both, over a couple of reused connections rather than one per request.
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
    expect(new Set(recent.map((s) => s.remotePort)).size).toBeLessThanOrEqual(4);
  });

  it('answers 413 as JSON for a body over 16 KiB, without reaching a replica', async () => {
    const before = a.seen.length + b.seen.length;
    const tooBig = await call(nginx, '/api/messages/send/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(16 * 1024 + 1),
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers['content-type']).toBe('application/json');
    expect(tooBig.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(a.seen.length + b.seen.length).toBe(before);

    const [seenA, seenB] = [a.seen.length, b.seen.length];
    const justFits = await call(nginx, '/api/messages/send/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(16 * 1024),
    });
    expect(justFits.status).toBe(201);
    // Whichever replica took it (the write and read pools balance separately).
    const reached = [...a.seen.slice(seenA), ...b.seen.slice(seenB)];
    expect(reached.map((r) => r.bodyLength)).toEqual([16 * 1024]);
  });

  it("passes a replica's own error through untouched", async () => {
    const res = await call(nginx, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ status: 'not ready' });
  });

  it('upgrades /api/messages/stream to a WebSocket, and only that path', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(nginx.port, '127.0.0.1');
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\r\n\r\n') && !got.includes('ping')) socket.write('ping');
        if (got.endsWith('ping')) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      socket.setTimeout(5_000, () => reject(new Error(`no upgrade: ${got}`)));
      socket.write(streamUpgrade(nginx.port));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 101 /);
    const upgrade = [...a.seen, ...b.seen].find((s) => s.url === '/api/messages/stream');
    expect(upgrade?.headers.upgrade).toBe('websocket');
    expect(upgrade?.headers.connection).toBe('upgrade');

    // undici refuses to send Upgrade on a plain request: a raw one.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(nginx.port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.resume();
      socket.end(
        [
          'GET /api/messages/?not-a-stream HTTP/1.1',
          `Host: 127.0.0.1:${nginx.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade, close',
          '',
          '',
        ].join('\r\n'),
      );
    });
    const plain = [...a.seen, ...b.seen].find((s) => s.url === '/api/messages/?not-a-stream');
    expect(plain?.headers.upgrade).toBeUndefined();
  });
});

describe('nginx failover', () => {
  it('retries GETs and POSTs that could not connect on the other replica', async () => {
    const b = await fakeReplica('b');
    const nginx = await nginxFor([await deadAddress(), b.address]);
    for (let i = 0; i < 6; i++) {
      const method = i % 2 === 0 ? 'POST' : 'GET';
      const res = await call(nginx, `/api/messages/${method === 'POST' ? 'send/' : ''}?i=${i}`, {
        method,
        body: method === 'POST' ? '{}' : undefined,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, res.text).toBe(method === 'POST' ? 201 : 200);
    }
    expect(b.seen).toHaveLength(6);
  });

  it('retries a GET the replica dropped, but never a POST it may have handled', async () => {
    const a = await fakeReplica('a', 'drop');
    const b = await fakeReplica('b');
    const nginx = await nginxFor([a.address, b.address]);
    // POSTs first: round robin sends every other one to `a` until it counts as failed.
    const posts = [];
    for (let i = 0; i < 4; i++) {
      posts.push(
        await call(nginx, `/api/messages/send/?i=${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
      );
    }
    const failed = posts.filter((p) => p.status === 502);
    expect(failed.length).toBeGreaterThan(0);
    for (const p of failed) {
      expect(p.headers['content-type']).toBe('application/json');
      expect(p.json()).toMatchObject({
        error: { code: 'bad_gateway', request_id: p.headers['x-request-id'] },
      });
    }
    const aPosts = a.seen.filter((s) => s.method === 'POST');
    const bPosts = b.seen.filter((s) => s.method === 'POST');
    // Each POST reached exactly one replica: the dropped ones were not passed on.
    expect(aPosts).toHaveLength(failed.length);
    expect(bPosts).toHaveLength(posts.length - failed.length);
    expect(new Set([...aPosts, ...bPosts].map((s) => s.url)).size).toBe(posts.length);

    // A fresh nginx (a is not marked failed yet): every GET succeeds, some after a retry.
    const nginx2 = await nginxFor([a.address, b.address]);
    for (let i = 0; i < 4; i++)
      expect((await call(nginx2, `/api/messages/?g=${i}`)).status).toBe(200);
    expect(a.seen.filter((s) => s.url.startsWith('/api/messages/?g=')).length).toBeGreaterThan(0);
    const retried = nginx2.accessLog().filter((e) => e.upstream_addr.includes(', '));
    expect(retried.length).toBeGreaterThan(0);
    expect(retried[0]?.upstream_status).toMatch(/^502, 200$/);
  });

  it('answers 502 as JSON when no replica is up', async () => {
    const nginx = await nginxFor([await deadAddress(), await deadAddress()]);
    const res = await call(nginx, '/api/messages/', { headers: { 'x-request-id': 'down-1' } });
    expect(res.status).toBe(502);
    expect(res.headers['x-request-id']).toBe('down-1');
    expect(res.json()).toEqual({
      error: {
        code: 'bad_gateway',
        message: 'no server instance could answer; try again',
        request_id: 'down-1',
      },
    });
  });
});

describe('nginx rate limit', () => {
  it('answers 429 as JSON with Retry-After once a client exceeds rate and burst', async () => {
    const a = await fakeReplica('a');
    const nginx = await nginxFor([a.address], { rateLimit: '1r/m', rateBurst: 2 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await call(nginx, '/api/messages/');
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(a.seen).toHaveLength(3);
    expect(limited?.headers['retry-after']).toBe('1');
    expect(limited?.headers['content-type']).toBe('application/json');
    expect(limited?.json()).toMatchObject({
      error: { code: 'rate_limited', request_id: limited?.headers['x-request-id'] },
    });
  });
});

describe('nginx stream budget', () => {
  /** An upgrade of the stream through nginx, kept open when it succeeds; its answer's head and body. */
  const upgrade = (nginx: RunningNginx) =>
    new Promise<{ head: string; body: string; socket: ReturnType<typeof connect> }>(
      (resolve, reject) => {
        const socket = connect(nginx.port, '127.0.0.1');
        let got = '';
        socket.on('error', reject);
        socket.setTimeout(5_000, () => reject(new Error(`no answer: ${got}`)));
        socket.on('data', (d: Buffer) => {
          got += d.toString();
          const end = got.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = got.slice(0, end);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          const body = got.slice(end + 4);
          if (head.startsWith('HTTP/1.1 101') || body.length >= length) {
            socket.setTimeout(0);
            resolve({ head, body, socket });
          }
        });
        socket.write(streamUpgrade(nginx.port));
      },
    );

  it('holds at most 50 open streams per address, answering more with a JSON 429, other routes unaffected', async () => {
    const a = await fakeReplica('a');
    const nginx = await nginxFor([a.address], { rateLimit: '1000r/s', rateBurst: 1000 });
    const open = [];
    for (let i = 0; i < 50; i++) {
      const r = await upgrade(nginx);
      expect(r.head, `stream ${i + 1}`).toMatch(/^HTTP\/1\.1 101 /);
      open.push(r.socket);
    }
    const refused = await upgrade(nginx);
    refused.socket.destroy();
    expect(refused.head).toMatch(/^HTTP\/1\.1 429 /);
    expect(refused.head).toMatch(/\r\nRetry-After: 5(\r\n|$)/i);
    expect(refused.head).toMatch(/\r\nContent-Type: application\/json\r\n/i);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'too_many_streams' } });
    // Plain requests from the same address are not streams.
    expect((await call(nginx, '/api/messages/')).status).toBe(200);
    // A closed stream gives its place back.
    (open.pop() as ReturnType<typeof connect>).destroy();
    let again: Awaited<ReturnType<typeof upgrade>> | undefined;
    for (let i = 0; i < 50 && !again?.head.startsWith('HTTP/1.1 101'); i++) {
      again?.socket.destroy();
      await new Promise((r) => setTimeout(r, 20));
      again = await upgrade(nginx);
    }
    expect(again?.head).toMatch(/^HTTP\/1\.1 101 /);
    again?.socket.destroy();
    for (const s of open) s.destroy();
  }, 60_000);
});
