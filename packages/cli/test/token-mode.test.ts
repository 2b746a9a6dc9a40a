import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN_PATTERN, UNAUTHENTICATED_MESSAGE } from '@messenger/core';
import {
  freePort,
  type RunningProcess,
  startProcess,
  waitFor,
  waitUntilAnswering,
} from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_BIN, type MsgResult, msgEnv, runMsg } from './run-msg.js';

/** End to end: `msg serve` in token mode, its control socket, and `msg` as a user would run it. */
/** Starts `msg serve` on a free port with `env`; resolves once it answers /readyz. */
async function serve(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ process: RunningProcess; url: string }> {
  const port = await freePort();
  const process = startProcess(
    'msg serve',
    globalThis.process.execPath,
    [MSG_BIN, 'serve', '--port', String(port), '--log-level', 'info', ...args],
    { env: msgEnv(env) },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitUntilAnswering(process, `${url}readyz`, { timeoutMs: 45_000, intervalMs: 100 });
  return { process, url };
}

describe('msg against msg serve in token mode', () => {
  let home: string;
  let dataDir: string;
  let env: Record<string, string>;
  let server: { process: RunningProcess; url: string };
  const tokens: string[] = [];
  const msg = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    runMsg(args, { env: { ...env, ...options.env }, input: options.input, timeoutMs: 30_000 });
  const ok = (r: MsgResult): string => {
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const api = () => server.url;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'msg-token-mode-'));
    dataDir = join(home, 'data');
    env = { MSG_DATA_DIR: dataDir, XDG_CONFIG_HOME: join(home, 'config'), NO_COLOR: '1' };
    server = await serve(env);
  });

  afterAll(async () => {
    await server?.process.stop('SIGINT');
    rmSync(home, { recursive: true, force: true });
  });

  it('says what to run while nobody has an account, naming the data directory', async () => {
    await waitFor('the hint', () => server.process.stderr().includes('no users yet'));
    expect(server.process.stderr()).toContain(
      `no users yet — create one in another terminal: msg --db ${dataDir} users add <name>\n`,
    );
    const socket = join(dataDir, 'control.sock');
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('adds users from another process while the server holds the embedded database', async () => {
    const alice = JSON.parse(ok(await msg(['users', 'add', 'alice', '--json']))) as {
      name: string;
      token: string;
    };
    expect(alice.token).toMatch(TOKEN_PATTERN);
    const bob =
      ok(await msg(['users', 'add', 'bob']))
        .trimEnd()
        .split('\n')
        .at(-1) ?? '';
    expect(bob).toMatch(TOKEN_PATTERN);
    tokens.push(alice.token, bob);
    const taken = await msg(['users', 'add', 'Alice']);
    expect(taken.stderr).toMatch(/^msg: conflict: /);
    expect(taken.code).toBe(1);
    expect(ok(await msg(['tokens', 'list']))).not.toMatch(/msg_[A-Za-z0-9_-]{43}/);
  });

  it("logs in, sends, lists, says who, as the token's user", async () => {
    const login = await msg(['login', '--api', api(), '--token-stdin'], { input: tokens[0] });
    expect(ok(login)).toBe(`logged in to ${api()} as alice (token 1 "initial", never expires)\n`);
    expect(ok(await msg(['--api', api(), 'send', '--to', 'bob', 'hi bob']))).toMatch(
      /^sent #1 alice → bob at \S+Z\n$/,
    );
    const page = JSON.parse(ok(await msg(['--api', api(), 'list', '--json']))) as {
      messages: { sender: string; recipient: string; message_content: string }[];
    };
    expect(page.messages).toMatchObject([
      { sender: 'alice', recipient: 'bob', message_content: 'hi bob' },
    ]);
    expect(ok(await msg(['--api', api(), 'whoami']))).toBe(
      `alice at ${api()} (token 1 "initial", never expires)\n`,
    );
  });

  it('keeps each user to their own mail', async () => {
    const asBob = { env: { MSG_TOKEN: tokens[1] ?? '' } };
    const bobs = JSON.parse(ok(await msg(['--api', api(), 'list', '--json'], asBob))) as {
      messages: unknown[];
    };
    expect(bobs.messages).toHaveLength(1);
    const forged = await msg(
      ['--api', api(), 'send', '--from', 'alice', '--to', 'bob', 'x'],
      asBob,
    );
    expect(forged.stderr).toMatch(/^msg: forbidden: sender: /);
    expect(forged.code).toBe(1);
    const spying = await msg(['--api', api(), 'watch', '-r', 'alice'], asBob);
    expect(spying.stderr).toMatch(/\nmsg: forbidden: recipient: /);
    expect(spying.code).toBe(1);
  });

  it('refuses a revoked token at once, and says to log in again', async () => {
    expect(ok(await msg(['tokens', 'revoke', '1']))).toBe('revoked token 1 (initial) of alice\n');
    const refused = await msg(['--api', api(), 'list']);
    expect(refused.stderr).toBe(
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; the token msg login saved for ${api()} was refused (revoked, expired, or its user disabled): log in again with a new one: msg login --api ${api()}\n`,
    );
    expect(refused.code).toBe(1);
    expect(ok(await msg(['--api', api(), 'logout']))).toMatch(/^logged out of /);
    const anonymous = await msg(['--api', api(), 'whoami']);
    expect(anonymous.stderr).toBe(
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; not logged in to ${api()}: run msg login --api ${api()}\n`,
    );
  });

  it('never logs a token, and removes its socket when it stops', async () => {
    const output = server.process.output();
    for (const token of tokens) expect(output).not.toContain(token);
    await server.process.stop('SIGINT');
    expect(existsSync(join(dataDir, 'control.sock'))).toBe(false);
  });
});

describe('msg serve refuses bad security settings before opening anything', () => {
  it.each([
    [
      ['--auth', 'maybe'],
      /^error: option '--auth <mode>' argument 'maybe' is invalid\. Allowed choices are token, open\./,
    ],
    [
      ['--rate-limit', '5/h'],
      /^msg: error: --rate-limit: must be requests per second or minute per user, e\.g\. 20\/s or 1200\/m, or off; got "5\/h"\n$/,
    ],
    [['--rate-limit', '0/s'], /^msg: error: --rate-limit: /],
    [
      ['--auth', 'open', '--rate-limit', '20/s'],
      /^msg: error: --rate-limit is per user, and --auth open has no users/,
    ],
    [
      ['--allowed-origin', 'https://app.example.com/path'],
      /^msg: error: --allowed-origin: "https:\/\/app\.example\.com\/path" is not an origin: only scheme:\/\/host\[:port\], without a path, query or user\n$/,
    ],
    [
      ['--allowed-origin', 'https://ok.example', '--allowed-origin', 'app.example.com'],
      /^msg: error: --allowed-origin: "app\.example\.com" is not an origin/,
    ],
    [
      ['--stream-max-total', 'lots'],
      /^msg: error: --stream-max-total: must be a whole number from 0 \(off\) to 1000000; got "lots"\n$/,
    ],
    [
      ['--stream-max-lifetime', '1h'],
      /^msg: error: --stream-max-lifetime: must be a whole number from 0 \(off\) to 604800 \(seconds\); got "1h"\n$/,
    ],
  ])('msg serve %j', async (args, line) => {
    const dir = mkdtempSync(join(tmpdir(), 'msg-serve-flags-'));
    try {
      const r = await runMsg(['serve', '--port', '0', ...args], { env: { MSG_DATA_DIR: dir } });
      expect(r.stderr).toMatch(line);
      expect(r.code).toBe(2);
      // Nothing was opened: no database was created.
      expect(existsSync(join(dir, 'pgdata'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('msg serve --auth open', () => {
  it('has nothing to log in to, and takes free-text names', async () => {
    const home = mkdtempSync(join(tmpdir(), 'msg-open-mode-'));
    const env = { MSG_DATA_DIR: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
    const server = await serve(env, ['--auth', 'open']);
    try {
      const msg = (args: string[], input?: string) =>
        runMsg(args, { env, ...(input !== undefined && { input }) });
      const login = await msg(
        ['login', '--api', server.url, '--token-stdin'],
        `msg_${'a'.repeat(43)}`,
      );
      expect(login.stderr).toMatch(/runs in open mode: there is nothing to log in to/);
      expect(login.code).toBe(1);
      expect(
        (await msg(['--api', server.url, 'send', '-f', 'any one', '-t', 'else', 'hi'])).code,
      ).toBe(0);
      expect((await msg(['--api', server.url, 'whoami'])).stdout).toMatch(/runs in open mode/);
      expect(server.process.stderr()).not.toContain('no users yet');
    } finally {
      await server.process.stop('SIGINT');
      rmSync(home, { recursive: true, force: true });
    }
  });
});
