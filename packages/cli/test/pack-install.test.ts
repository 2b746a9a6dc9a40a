import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshPostgresSchema, type PostgresSchema, postgresUrl } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as {
  version: string;
};

/**
 * The packages as people get them: `npm pack` of core, server and cli, installed together
 * into an empty prefix outside the workspace. npm fetches only the public dependencies
 * (from its cache when it has them). The Node.js running this test runs npm and the
 * installed commands, so the Node matrix in CI checks each line.
 */
describe('packed packages installed outside the workspace', () => {
  let work: string;
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  let installLog = '';
  let schema: PostgresSchema | undefined;

  const run = (command: string, args: string[], timeoutMs = 60_000) => {
    const r = spawnSync(command, args, { env, cwd: work, encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'msg-pack-'));
    prefix = join(work, 'prefix');
    // This Node first on PATH: npm and the `#!/usr/bin/env node` commands run on it.
    env = {
      ...process.env,
      PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH].join(delimiter),
      NO_COLOR: '1',
      npm_config_update_notifier: 'false',
    };
    for (const k of ['DATABASE_URL', 'MSG_API_URL', 'MSG_DATA_DIR', 'NODE_OPTIONS']) delete env[k];
    for (const k of Object.keys(env))
      if (k.startsWith('npm_') && k !== 'npm_config_update_notifier') delete env[k];

    const packed = spawnSync(
      'npm',
      [
        'pack',
        '-w',
        'packages/core',
        '-w',
        'packages/server',
        '-w',
        'packages/cli',
        '--pack-destination',
        work,
        '--json',
      ],
      { cwd: root, env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(packed.status, packed.stderr).toBe(0);
    const tarballs = (JSON.parse(packed.stdout) as { filename: string }[]).map((p) =>
      join(work, p.filename),
    );
    expect(tarballs.map((t) => t.split('/').pop())).toEqual([
      `messenger-core-${version}.tgz`,
      `messenger-server-${version}.tgz`,
      `messenger-cli-${version}.tgz`,
    ]);
    mkdirSync(prefix);
    const install = run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...tarballs,
      ],
      240_000,
    );
    installLog = `${install.stdout}${install.stderr}`;
    expect(install.code, installLog).toBe(0);
    if (postgresUrl !== undefined) schema = await freshPostgresSchema();
  }, 300_000);

  afterAll(async () => {
    await schema?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('installs without engine warnings on this Node', () => {
    expect(installLog).not.toMatch(/EBADENGINE|Unsupported engine/);
  });

  it('msg --version, send and list on the embedded database', () => {
    expect(run('msg', ['--version']).stdout).toBe(`${version}\n`);
    const db = join(work, 'embedded');
    const sent = run('msg', ['--db', db, 'send', '-f', 'bob', '-t', 'alice', 'hi', '--json']);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ id: 1, sender: 'bob', message_content: 'hi' });
    const listed = run('msg', ['--db', db, 'list', '-r', 'alice', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { messages: { message_content: string }[] }).messages.map(
        (m) => m.message_content,
      ),
    ).toEqual(['hi']);
  });

  it('the client library imports from the installed package', () => {
    const script = join(prefix, 'lib', 'check-library.mjs');
    writeFileSync(
      script,
      `import { createClient } from '@messenger/cli';
const client = await createClient({ db: ${JSON.stringify(join(work, 'library-db'))} });
const m = await client.send({ sender: 'lib', recipient: 'alice', message_content: 'from the library' });
try { await client.send({ sender: '', recipient: 'alice', message_content: 'x' }); }
catch (err) { console.log(err.name, err.code); }
await client.close();
console.log(m.id, m.message_content);
const remote = await createClient({ api: 'http://127.0.0.1:9', retries: 0 });
try { await remote.list({}); } catch (err) { console.log(err.name, err.code); }
await remote.close();
`,
    );
    const r = run(process.execPath, [script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'ValidationError validation_failed\n1 from the library\nUnavailableError unavailable\n',
    );
  });

  it(`messenger-server answers /healthz (${postgresUrl ? 'PostgreSQL' : 'embedded'})`, async () => {
    const databaseUrl = schema?.url ?? join(work, 'server-db');
    const server: ChildProcess = spawn('messenger-server', [], {
      env: { ...env, DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let log = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in:\n${log}`)), 60_000);
        const onData = (d: Buffer) => {
          log += d.toString();
          const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        server.stdout?.on('data', onData);
        server.stderr?.on('data', onData);
        server.on('exit', (code) => reject(new Error(`exited ${code}:\n${log}`)));
      });
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
