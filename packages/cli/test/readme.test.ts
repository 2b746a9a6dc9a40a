import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@messenger/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMsg } from './run-msg.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

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
});
