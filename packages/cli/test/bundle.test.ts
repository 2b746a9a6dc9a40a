import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMsg } from './run-msg.js';

const cli = fileURLToPath(new URL('../', import.meta.url));

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

/**
 * Modules `msg --api …` must never load: the database side, and undici's entry (fetch,
 * WebSocket, caches, mocks: `watch` only). The HTTP transport has undici's Agent and
 * `request` alone (src/client/undici-http.ts, swapped at build time).
 */
const DATABASE_OR_UNDICI_ENTRY =
  /node_modules\/(kysely|kysely-pglite-dialect|pg|pg-[a-z-]+|pgpass)\/|node_modules\/undici\/index\.js$|dist\/client\/direct-client\.js$/;

/**
 * The fast path of `msg --api … send/list`: the bundle's entry and the HTTP transport's
 * chunk, and nothing else. The bundle is copied where no node_modules can be found and
 * every chunk holding database code or undici's entry is replaced by one that throws: if the
 * HTTP path ever imports one of them (directly or through a shared chunk), or reaches for
 * a package outside the bundle, these commands fail.
 */
describe('the msg bundle over HTTP', () => {
  let work: string;
  let server: Server;
  let api: string;
  const seen: string[] = [];
  const fenced: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'msg-bundle-'));
    const pkg = join(work, 'cli');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    cpSync(join(cli, 'dist', 'msg.js'), join(pkg, 'dist', 'msg.js'));
    cpSync(join(cli, 'dist', 'chunks'), join(pkg, 'dist', 'chunks'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: manifest.name,
        version: manifest.version,
        type: 'module',
        exports: { './package.json': './package.json' },
      }),
    );
    const meta = JSON.parse(readFileSync(join(cli, 'dist', 'msg.meta.json'), 'utf8')) as Metafile;
    for (const [output, { inputs }] of Object.entries(meta.outputs)) {
      if (
        !output.endsWith('.js') ||
        !Object.keys(inputs).some((i) => DATABASE_OR_UNDICI_ENTRY.test(i))
      )
        continue;
      const file = join(pkg, output.replace(/^dist\//, 'dist/'));
      writeFileSync(file, `throw new Error('the HTTP path loaded ${output}');\n`);
      fenced.push(output);
    }
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        const message = {
          id: 7,
          sender: 'bob',
          recipient: 'alice',
          message_content: 'hi',
          sent_datetime: '2026-01-01T00:00:00.000000Z',
          is_read: false,
          read_at: null,
        };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.method === 'POST' ? message : [message]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs the copied bundle (asynchronously: the API answering it runs in this process). */
  const msg = (...args: string[]) =>
    runMsg(['--api', api, ...args], {
      script: join(work, 'cli', 'dist', 'msg.js'),
      env: { NO_COLOR: '1' },
      timeoutMs: 30_000,
    });

  it("fences off the chunks of the database and of undici's entry", () => {
    expect(fenced.length).toBeGreaterThanOrEqual(2);
  });

  it('sends and lists with the entry and the HTTP chunk alone', async () => {
    const sent = await msg('send', '-f', 'bob', '-t', 'alice', 'hi');
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toMatch(/^sent #7 bob → alice at /);
    const listed = await msg('list', '-r', 'alice', '--json');
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toMatchObject({ messages: [{ id: 7 }], next_cursor: null });
    expect(seen).toEqual(['POST /api/messages/send/', 'GET /api/messages/?recipient=alice']);
  });

  it('a fenced chunk does fail when loaded (the check can fail)', () => {
    const r = spawnSync(
      process.execPath,
      [join(work, 'cli', 'dist', 'msg.js'), '--db', join(work, 'db'), 'list'],
      { encoding: 'utf8', env: { PATH: process.env.PATH, NO_COLOR: '1' }, timeout: 30_000 },
    );
    expect(r.status).not.toBe(0);
    // Either the fenced chunk's own error, or a chunk that imports from it failing to link.
    expect(r.stderr).toMatch(/the HTTP path loaded dist\/chunks\/|chunk-\w+\.js/);
  });
});
