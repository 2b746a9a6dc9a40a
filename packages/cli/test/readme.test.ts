import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@messenger/server';
import {
  freePort,
  runCommand,
  startProcess,
  waitFor,
  waitUntilAnswering,
} from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, runMsg } from './run-msg.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The ```sh blocks of the README section that starts with `heading`, in order. */
function shellBlocks(heading: string): string[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const start = readme.indexOf(heading);
  const end = readme.indexOf('\n## ', start + heading.length);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe('README', () => {
  let dir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-readme-'));
    server = await startServer({
      databaseUrl: join(dir, 'db'),
      port: 0,
      host: '127.0.0.1',
      migrate: true,
      logger: false,
      // The client library example uses free-text names: the original's open mode.
      auth: 'open',
    });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('client library example runs as printed, against a real server', async () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('### The client library'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain("from '@messenger/cli'");
    // Plain JavaScript as well as TypeScript: run it as a module inside the package.
    const file = `${root}packages/cli/.readme-example-${process.pid}.mjs`;
    writeFileSync(file, code ?? '');
    try {
      // Not spawnSync: the server answering the example runs in this process.
      const r = await runMsg([], { script: file, env: { MSG_API_URL: server.url } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('1 hello\n1 null\nmarked 1\n');
      expect(r.stderr).toBe('validation_failed message_content: at most 160 characters, got 161\n');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('quick start with a server and tokens runs as printed (needs the server part)', async () => {
    // Three blocks: the database directly, the server (one terminal), the rest (another).
    const [, serverBlock, clientBlock] = shellBlocks('## Quick start');
    expect(serverBlock?.trim()).toBe('npx msg serve --port 8000');
    // As printed, on a free port instead of 8000; `npx msg` is this checkout's msg.
    const port = String(await freePort());
    const printed = (block: string) =>
      block
        .trim()
        .split('\n')
        .map((line) => line.replaceAll('8000', port));
    const home = join(dir, 'home');
    const bin = join(dir, 'bin');
    mkdirSync(home);
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'npx'),
      `#!/bin/sh\n[ "$1" = msg ] || exit 127\nshift\nexec '${process.execPath}' '${MSG_BIN}' "$@"\n`,
    );
    chmodSync(join(bin, 'npx'), 0o755);
    // A new user's machine: nothing but HOME (the embedded database and the login go there).
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: home,
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
    };
    const [serveLine] = printed(serverBlock ?? '');
    const serve = startProcess('quick start: msg serve', '/bin/sh', ['-c', `exec ${serveLine}`], {
      env,
    });
    try {
      await waitUntilAnswering(serve, `http://127.0.0.1:${port}/readyz`, { timeoutMs: 45_000 });
      await waitFor('the hint', () => serve.stderr().includes('no users yet'));
      expect(serve.stderr()).toContain(
        'no users yet — create one in another terminal: msg users add <name>\n',
      );
      const outputs: string[] = [];
      for (const line of printed(clientBlock ?? '')) {
        const r = await runCommand('/bin/sh', ['-c', line], { env, timeoutMs: 60_000 });
        expect(r.stderr, `${line}\n${r.stderr}`).toBe('');
        expect(r.code, line).toBe(0);
        outputs.push(r.stdout);
      }
      const api = `http://127.0.0.1:${port}/`;
      const [login, bob, sent, listed, who] = outputs;
      expect(login).toBe(`logged in to ${api} as alice (token 1 "initial", never expires)\n`);
      expect(bob).toMatch(/^added user bob with token 2 \(initial\); .*\nmsg_[A-Za-z0-9_-]{43}\n$/);
      expect(sent).toMatch(/^sent #1 alice → bob at \S+Z\n$/);
      expect(listed).toContain('hi bob');
      expect(who).toBe(`alice at ${api} (token 1 "initial", never expires)\n`);
    } finally {
      await serve.stop('SIGINT');
    }
  }, 180_000);
});
