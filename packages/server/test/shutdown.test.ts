import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  type Exit,
  freePort,
  type RunningProcess,
  startProcess,
  stopAll,
  waitFor,
  waitUntilAnswering,
} from '@messenger/testing';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, rawRequest, tryConnect } from './helpers/raw-http.js';

// The real `messenger-server` bin in its own process, as a container runs it.
const BIN = fileURLToPath(new URL('../bin/messenger-server.js', import.meta.url));

/** The environment of the test run minus every variable the server reads, plus `vars`. */
function serverEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'PORT',
    'HOST',
    'LOG_LEVEL',
    'DB_POOL_MAX',
    'TRUST_PROXY',
    'SHUTDOWN_TIMEOUT_MS',
    'AUTH',
    'RATE_LIMIT',
    'RATE_BURST',
    'ALLOWED_ORIGINS',
  ]) {
    delete env[name];
  }
  return { ...env, ...vars };
}

/** The exit of `p` within `timeoutMs`; kills it and fails otherwise. */
async function exitOf(p: RunningProcess, timeoutMs: number): Promise<Exit> {
  try {
    return await waitFor(`${p.name} to exit`, () => p.exit(), { timeoutMs });
  } catch (err) {
    await p.stop('SIGKILL', 1000);
    throw new Error(`${(err as Error).message}\n${p.output()}`);
  }
}

/** Waits for a line of `p`'s stdout that passes `test`; fails at once if `p` exits first. */
function lineOf(p: RunningProcess, test: (line: string) => boolean, timeoutMs = 10_000) {
  return waitFor(
    `a log line of ${p.name}`,
    () => {
      const line = p.stdout().split('\n').find(test);
      if (line === undefined && p.exit()) throw new Error(`${p.name} exited:\n${p.output()}`);
      return line;
    },
    { timeoutMs, intervalMs: 10 },
  );
}

let dir: string;
let databaseUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'messenger-shutdown-'));
  databaseUrl = join(dir, 'db');
  // The bin does not migrate on start: migrate once, as a deployment would.
  const migrate = startProcess('messenger-server migrate', process.execPath, [BIN, 'migrate'], {
    env: serverEnv({ DATABASE_URL: databaseUrl }),
  });
  const { code } = await exitOf(migrate, 40_000);
  expect(code, migrate.output()).toBe(0);
});

afterEach(async () => {
  await stopAll();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts the bin on a free port and waits until `/healthz` answers. */
async function startBin(): Promise<{ server: RunningProcess; port: number; url: string }> {
  const port = await freePort();
  const server = startProcess('messenger-server', process.execPath, [BIN], {
    env: serverEnv({
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // These tests send as anyone: the behaviour they check is the same in both modes.
      AUTH: 'open',
    }),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(server, `${url}/healthz`, { timeoutMs: 20_000, intervalMs: 100 });
  return { server, port, url };
}

/** Log lines of a stdout, each parsed; fails on a line that is not JSON. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`log line is not JSON: ${line}`);
      }
    });
}

const logsIncoming = (id: string) => (line: string) =>
  line.includes(`"reqId":"${id}"`) && line.includes('"incoming request"');

/** A send body of exactly known length, to be written in two halves. */
function sendBody(sender: string, i: number): string {
  return JSON.stringify({ sender, recipient: 'alice', message_content: `in flight ${i}` });
}

describe.each(['SIGTERM', 'SIGINT'] as const)('messenger-server on %s', (signal) => {
  it('finishes every in-flight request, exits 0 and refuses new connections', async () => {
    const { server, port, url } = await startBin();
    const sender = `shutdown-${signal.toLowerCase()}`;
    const agent = new Agent();
    try {
      // 6 raw sockets and 6 undici requests send their headers and half of a POST body, then
      // wait: the server has begun them (logged "incoming request") but cannot finish them
      // until the rest arrives after the signal. 4 quick POSTs and 4 GETs run alongside.
      const raw = Array.from({ length: 6 }, (_, i) => {
        const body = sendBody(sender, i);
        const half = Math.floor(body.length / 2);
        const req = rawRequest(
          port,
          [
            'POST /api/messages/send/ HTTP/1.1',
            `Host: 127.0.0.1:${port}`,
            'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(body)}`,
            `X-Request-Id: raw-${i}`,
            '',
            body.slice(0, half),
          ].join('\r\n'),
        );
        return { id: `raw-${i}`, rest: body.slice(half), req };
      });
      const streamed = Array.from({ length: 6 }, (_, i) => {
        const body = sendBody(sender, 6 + i);
        const half = Math.floor(body.length / 2);
        const stream = new PassThrough();
        stream.write(body.slice(0, half));
        const res = request(`${url}/api/messages/send/`, {
          dispatcher: agent,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'x-request-id': `streamed-${i}`,
          },
          body: stream,
        }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
        res.catch(() => {}); // awaited below; a failure before then must not be "unhandled"
        return { id: `streamed-${i}`, finish: () => stream.end(body.slice(half)), res };
      });
      const quick = Array.from({ length: 8 }, (_, i) => {
        const id = `quick-${i}`;
        const res = (
          i % 2 === 0
            ? request(`${url}/api/messages/send/`, {
                dispatcher: agent,
                method: 'POST',
                headers: { 'content-type': 'application/json', 'x-request-id': id },
                body: sendBody(sender, 12 + i),
              })
            : request(`${url}/api/messages/?recipient=alice&limit=5`, {
                dispatcher: agent,
                headers: { 'x-request-id': id },
              })
        ).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
        res.catch(() => {});
        return { id, post: i % 2 === 0, res };
      });

      // Every one of the 20 has reached a handler before the signal.
      const ids = [...raw, ...streamed, ...quick].map((r) => r.id);
      await Promise.all(ids.map((id) => lineOf(server, logsIncoming(id))));

      const signalled = Date.now();
      server.child.kill(signal);
      await lineOf(server, (l) => l.includes('"shutting down"') && l.includes(signal), 5000);

      // Closing: the listening socket goes at once, while the slow requests are still open.
      await waitFor(
        'new connections to be refused',
        async () => ((await tryConnect(port)) === 'ECONNREFUSED' ? true : undefined),
        { timeoutMs: 1000, intervalMs: 20 },
      );

      // Now the rest of each body arrives; each must still be answered in full.
      await new Promise((r) => setTimeout(r, 200));
      for (const r of raw) r.req.write(r.rest);
      for (const s of streamed) s.finish();

      const rawAnswers = await Promise.all(raw.map((r) => r.req.response));
      for (const answer of rawAnswers) {
        expect(answer.status).toBe(201);
        expect(JSON.parse(answer.body)).toMatchObject({ sender, recipient: 'alice' });
        // The client (nginx keeps upstream connections alive) is told not to reuse it.
        expect(answer.headers.connection).toBe('close');
      }
      expect(rawAnswers.map((a) => a.headers['x-request-id']).sort()).toEqual(
        raw.map((r) => r.id).sort(),
      );
      for (const answer of await Promise.all(streamed.map((s) => s.res))) {
        expect(answer.status, answer.body).toBe(201);
        expect(JSON.parse(answer.body)).toMatchObject({ sender, recipient: 'alice' });
      }
      for (const [i, answer] of (await Promise.all(quick.map((q) => q.res))).entries()) {
        expect(answer.status, answer.body).toBe(quick[i]?.post ? 201 : 200);
      }

      // Then the process ends by itself, with 0, at once: not after the shutdown timeout (10 s).
      const answered = Date.now();
      const { code, signal: killedBy } = await exitOf(server, 8000);
      expect({ code, killedBy }, server.output()).toEqual({ code: 0, killedBy: null });
      expect(Date.now() - answered).toBeLessThan(6000);
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(server.output()).toBe(server.stdout()); // nothing on stderr
      expect(server.stdout()).not.toContain('did not finish in time');
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      for (const r of raw) r.req.destroy();
    } finally {
      await agent.destroy();
    }

    // All 16 sends are stored: the pool (here the embedded database) was closed cleanly.
    // Checked once (a restart costs a few seconds on a busy machine), after SIGTERM.
    if (signal !== 'SIGTERM') return;
    const again = await startBin();
    const res = await request(`${again.url}/api/messages/?sender=${sender}&limit=100`);
    const stored = (await res.body.json()) as { message_content: string }[];
    expect(stored.map((m) => m.message_content).sort()).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18].map((i) => `in flight ${i}`).sort(),
    );
    expect((await again.server.stop('SIGTERM', 8000)).code).toBe(0);
  });
});

describe('messenger-server after requests with WebSocket upgrade headers', () => {
  it('leaves no connection open, and exits at once on SIGTERM', async () => {
    const { server, port } = await startBin();
    const upgrade =
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const path of ['/healthz', '/api/messages/', '/nope']) {
      const r = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
      expect(
        r.responses.map((x) => x.status),
        path,
      ).toEqual([path === '/nope' ? 404 : 200]);
      expect(r.closedByServer, path).toBe(true);
    }
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await exitOf(server, 8000);
    expect(code, server.output()).toBe(0);
    // At once: well before the 10 s shutdown timeout. (Closing the embedded database took 5.4 s once
    // on a CI machine under heavy load, so the bound leaves room for that, not for a held connection.)
    expect(Date.now() - signalled).toBeLessThan(7000);
    expect(server.stdout()).not.toContain('did not finish in time');
  });
});

describe('messenger-server logs', () => {
  it('writes JSON lines carrying the request id, honouring X-Request-Id', async () => {
    const { server, url } = await startBin();
    const given = await request(`${url}/healthz`, { headers: { 'x-request-id': 'test-req-42' } });
    expect(given.statusCode).toBe(200);
    expect(given.headers['x-request-id']).toBe('test-req-42');
    await given.body.dump();

    const generated = await request(`${url}/healthz`);
    const generatedId = String(generated.headers['x-request-id']);
    expect(generatedId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await generated.body.dump();

    // Not a sane token (space, too long): replaced, not echoed into headers and logs.
    for (const bad of ['two words', 'x'.repeat(129)]) {
      const res = await request(`${url}/healthz`, { headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).not.toBe(bad);
      expect(String(res.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
      await res.body.dump();
    }

    // An error answer carries the same id in its body.
    const missing = await request(`${url}/nope`, { headers: { 'x-request-id': 'test-req-43' } });
    expect(missing.statusCode).toBe(404);
    expect(
      ((await missing.body.json()) as { error: { request_id: string } }).error.request_id,
    ).toBe('test-req-43');

    await lineOf(
      server,
      (l) => l.includes('"reqId":"test-req-43"') && l.includes('"request completed"'),
    );
    expect((await server.stop('SIGTERM', 8000)).code).toBe(0);

    expect(server.stdout()).toContain('"reqId":"test-req-42"');
    const lines = logLines(server.stdout());
    const of = (id: string) => lines.filter((l) => l.reqId === id).map((l) => l.msg);
    expect(of('test-req-42')).toEqual(['incoming request', 'request completed']);
    expect(of(generatedId)).toEqual(['incoming request', 'request completed']);
    expect(
      lines.find((l) => l.reqId === 'test-req-42' && l.msg === 'incoming request'),
    ).toMatchObject({ level: 30, req: { method: 'GET', url: '/healthz' } });
    expect(
      lines.find((l) => l.reqId === 'test-req-42' && l.msg === 'request completed'),
    ).toMatchObject({ res: { statusCode: 200 } });
    expect(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    for (const line of lines) expect(typeof line.time).toBe('number');
  });
});

describe('messenger-server configuration errors', () => {
  async function runBin(vars: Record<string, string>) {
    const p = startProcess('messenger-server', process.execPath, [BIN], { env: serverEnv(vars) });
    const { code } = await exitOf(p, 10_000);
    // output() is stdout and stderr together: with stdout empty (asserted), it is stderr.
    return { code, stdout: p.stdout(), stderr: p.output() };
  }

  it('exits 2 with one line naming DATABASE_URL when it is missing', async () => {
    const r = await runBin({ PORT: String(await freePort()), HOST: '127.0.0.1' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^messenger-server: DATABASE_URL\b/);
  });

  it('exits 2 with one line naming PORT when it is not a number', async () => {
    const r = await runBin({ DATABASE_URL: databaseUrl, PORT: 'abc', HOST: '127.0.0.1' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^messenger-server: PORT\b.*"abc"/);
  });
});
