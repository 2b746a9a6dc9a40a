import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UNAUTHENTICATED_MESSAGE } from '@messenger/core';
import {
  replyJson,
  type StubHttpServer,
  type StubRequest,
  startStubHttpServer,
} from '@messenger/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MSG_BIN, type MsgResult, msgEnv, runMsg } from './run-msg.js';

const ALICE = `msg_${'a'.repeat(43)}`;
const BOB = `msg_${'b'.repeat(43)}`;
const NOBODY = `msg_${'z'.repeat(43)}`;
const CREATED = '2026-01-01T00:00:00.000000Z';

/**
 * A token-mode server as the design describes it (GET /api/me, Bearer tokens, 401 with
 * WWW-Authenticate, 403 for another sender, 429 with Retry-After), small enough to see
 * exactly what `msg` sends it. The real server's side is tested with the server.
 */
function tokenServer(users: Map<string, { name: string; id: number; label: string | null }>) {
  return (
    req: StubRequest,
    _n: number,
    res: Parameters<Parameters<typeof startStubHttpServer>[0]>[2],
  ) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = bearer === undefined ? undefined : users.get(bearer);
    if (user === undefined) {
      replyJson(
        res,
        401,
        { error: { code: 'unauthenticated', message: UNAUTHENTICATED_MESSAGE, request_id: 'r' } },
        { 'www-authenticate': 'Bearer realm="messenger"' },
      );
      return;
    }
    const forbidden = (message: string) =>
      replyJson(res, 403, { error: { code: 'forbidden', message, request_id: 'r' } });
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /api/me':
        replyJson(res, 200, {
          name: user.name,
          token: { id: user.id, label: user.label, created_at: CREATED, expires_at: null },
        });
        return;
      case 'POST /api/messages/send/': {
        const body = JSON.parse(req.body) as {
          sender?: string;
          recipient: string;
          message_content: string;
        };
        if (body.sender !== undefined && body.sender !== user.name) {
          forbidden(`sender: you may only send as yourself (${user.name})`);
          return;
        }
        replyJson(res, 201, {
          id: 1,
          sender: user.name,
          recipient: body.recipient,
          message_content: body.message_content,
          sent_datetime: CREATED,
          is_read: false,
          read_at: null,
        });
        return;
      }
      case 'GET /api/messages/':
        if (url.searchParams.get('recipient') === 'busy') {
          replyJson(
            res,
            429,
            { error: { code: 'rate_limited', message: 'too many requests', request_id: 'r' } },
            { 'retry-after': '7' },
          );
          return;
        }
        replyJson(res, 200, []);
        return;
      case 'GET /api/messages/stream': {
        const recipient = url.searchParams.get('recipient');
        if (recipient !== null && recipient !== user.name) {
          forbidden(`recipient: you may only follow your own messages (${user.name})`);
          return;
        }
        replyJson(res, 426, {
          error: { code: 'upgrade_required', message: 'WebSocket only', request_id: 'r' },
        });
        return;
      }
    }
    replyJson(res, 404, {
      error: { code: 'not_found', message: 'no such route', request_id: 'r' },
    });
  };
}

describe('msg login, whoami, logout and tokens over HTTP', () => {
  let home: string;
  let config: string;
  let credentials: string;
  let server: StubHttpServer;
  let open: StubHttpServer;
  const users = new Map([
    [ALICE, { name: 'alice', id: 1, label: 'laptop' }],
    [BOB, { name: 'bob', id: 2, label: null }],
  ]);
  let env: Record<string, string>;
  const msg = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    runMsg(args, { env: { ...env, ...options.env }, input: options.input, timeoutMs: 30_000 });
  const api = () => server.url;
  const fails = (r: MsgResult, code: number, line: string) => {
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.code).toBe(code);
  };
  const authorizations = () => server.seen.map((r) => r.headers.authorization);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'msg-login-'));
    config = join(home, 'config');
    credentials = join(config, 'messenger', 'credentials.json');
    env = { XDG_CONFIG_HOME: config, NO_COLOR: '1', MSG_RETRIES: '0' };
    server = await startStubHttpServer(tokenServer(users));
    open = await startStubHttpServer((req, _n, res) => {
      if (req.url === '/api/me') replyJson(res, 200, { name: null, auth: 'open' });
      else replyJson(res, 200, []);
    });
  });

  afterAll(async () => {
    await server.close();
    await open.close();
    rmSync(home, { recursive: true, force: true });
  });

  beforeEach(() => {
    server.seen.length = 0;
  });

  it('logs in with a token from stdin, checked with GET /api/me, into a 0600 file', async () => {
    const r = await msg(['login', '--api', api(), '--token-stdin'], { input: `${ALICE}\n` });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`logged in to ${api()} as alice (token 1 "laptop", never expires)\n`);
    expect(r.code).toBe(0);
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /api/me']);
    expect(authorizations()).toEqual([`Bearer ${ALICE}`]);
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'messenger')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(credentials, 'utf8'))).toEqual({
      version: 1,
      servers: { [api()]: { token: ALICE, name: 'alice' } },
    });
    // The token is never printed back.
    expect(r.stdout + r.stderr).not.toContain(ALICE);
  });

  it('whoami says whose token it is; every command sends it', async () => {
    const who = await msg(['--api', api(), 'whoami']);
    expect(who.stdout).toBe(`alice at ${api()} (token 1 "laptop", never expires)\n`);
    expect(who.code).toBe(0);
    const asJson = await msg(['whoami', '--json'], { env: { MSG_API_URL: api() } });
    expect(JSON.parse(asJson.stdout)).toEqual({
      auth: 'token',
      name: 'alice',
      token: { id: 1, label: 'laptop', created_at: CREATED, expires_at: null },
    });
    expect(authorizations()).toEqual([`Bearer ${ALICE}`, `Bearer ${ALICE}`]);
  });

  it('sends without --from as the logged-in user; another --from is forbidden (exit 1)', async () => {
    const sent = await msg(['--api', api(), 'send', '--to', 'bob', 'hi']);
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toBe(`sent #1 alice → bob at ${CREATED}\n`);
    expect(JSON.parse(server.seen[0]?.body ?? '')).toEqual({
      recipient: 'bob',
      message_content: 'hi',
    });
    expect(authorizations()).toEqual([`Bearer ${ALICE}`]);
    fails(
      await msg(['--api', api(), 'send', '--from', 'bob', '--to', 'carol', 'hi']),
      1,
      'msg: forbidden: sender: you may only send as yourself (alice)',
    );
  });

  it('lets MSG_TOKEN override the saved token, and --token override both', async () => {
    const env1 = await msg(['--api', api(), 'whoami'], { env: { MSG_TOKEN: BOB } });
    expect(env1.stdout).toMatch(/^bob at /);
    const flag = await msg(['--api', api(), '--token', ALICE, 'whoami'], {
      env: { MSG_TOKEN: BOB },
    });
    expect(flag.stdout).toMatch(/^alice at /);
    expect(authorizations()).toEqual([`Bearer ${BOB}`, `Bearer ${ALICE}`]);
    fails(
      await msg(['--api', api(), 'whoami'], { env: { MSG_TOKEN: NOBODY } }),
      1,
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; the token in MSG_TOKEN was refused`,
    );
    fails(
      await msg(['--api', api(), '--token', NOBODY, 'whoami']),
      1,
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; the token given with --token was refused`,
    );
  });

  it('says rate_limited in one line, with when to try again', async () => {
    fails(
      await msg(['--api', api(), 'list', '-r', 'busy']),
      1,
      'msg: rate_limited: too many requests (try again in 7 s)',
    );
  });

  it("ends a watch refused by the server (no token, or another user's stream) instead of retrying", async () => {
    const other = await msg(['--api', api(), 'watch', '-r', 'bob']);
    expect(other.stderr).toBe(
      'watching messages to bob; Ctrl-C stops\nmsg: forbidden: recipient: you may only follow your own messages (alice)\n',
    );
    expect(other.code).toBe(1);
    const refused = await msg(['--api', api(), 'watch'], { env: { MSG_TOKEN: NOBODY } });
    expect(refused.stderr).toBe(
      `watching messages to you; Ctrl-C stops\nmsg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; the token in MSG_TOKEN was refused\n`,
    );
    expect(refused.code).toBe(1);
    // The plain GET that asked why the upgrade failed carried the token, and no recipient
    // when none was given (the server follows the caller).
    const probe = server.seen.at(-1);
    expect(probe?.url).toBe('/api/messages/stream');
    expect(probe?.headers.authorization).toBe(`Bearer ${NOBODY}`);
  });

  it('refuses a token the server refuses, and saves nothing', async () => {
    const before = readFileSync(credentials, 'utf8');
    fails(
      await msg(['login', '--api', api(), '--token-stdin'], { input: NOBODY }),
      1,
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; ${api()} refused this token; nothing was saved`,
    );
    fails(
      await msg(['login', '--api', api(), '--token-stdin'], { input: 'hello' }),
      2,
      'msg: error: that is not a token: a token is msg_ and 43 letters, digits, - or _ (as msg users add and msg tokens create print it)',
    );
    fails(
      await msg(['login', '--api', api(), '--token-stdin'], { input: '' }),
      2,
      'msg: error: no token given',
    );
    fails(
      await msg(['login', '--api', api(), '--token', ALICE]),
      2,
      'msg: error: login reads the token from a prompt or --token-stdin, not --token (a flag stays in your shell history)',
    );
    fails(
      await msg(['login', '--token-stdin'], { input: ALICE }),
      2,
      'msg: error: login needs a server: --api <url> or MSG_API_URL (the database directly needs no login)',
    );
    expect(readFileSync(credentials, 'utf8')).toBe(before);
  });

  it('keeps one login per server, and tells a refused saved token from no login', async () => {
    const other = await startStubHttpServer(tokenServer(users));
    try {
      const r = await msg(['login', '--api', other.url, '--token-stdin'], { input: BOB });
      expect(r.code).toBe(0);
      expect((await msg(['--api', other.url, 'whoami'])).stdout).toMatch(/^bob at /);
      expect((await msg(['--api', api(), 'whoami'])).stdout).toMatch(/^alice at /);
    } finally {
      await other.close();
    }
    users.delete(ALICE);
    try {
      fails(
        await msg(['--api', api(), 'list']),
        1,
        `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; the token msg login saved for ${api()} was refused (revoked, expired, or its user disabled): log in again with a new one: msg login --api ${api()}`,
      );
    } finally {
      users.set(ALICE, { name: 'alice', id: 1, label: 'laptop' });
    }
  });

  it('refuses a credentials file others may read, naming the chmod, before any request', async () => {
    chmodSync(credentials, 0o644);
    try {
      const line = `msg: error: ${credentials} may be read by other users (mode 0644), and it holds tokens: run chmod 600 ${credentials}`;
      fails(await msg(['--api', api(), 'list']), 1, line);
      fails(await msg(['--api', api(), 'logout']), 1, line);
      fails(await msg(['login', '--api', api(), '--token-stdin'], { input: ALICE }), 1, line);
      // --token does not need the file.
      expect((await msg(['--api', api(), '--token', ALICE, 'list'])).code).toBe(0);
      expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /api/messages/']);
      expect(statSync(credentials).mode & 0o777).toBe(0o644);
    } finally {
      chmodSync(credentials, 0o600);
    }
  });

  it('logs out: the saved token is gone, and a token-mode server says to log in', async () => {
    const out = await msg(['--api', api(), 'logout']);
    expect(out.stdout).toBe(
      `logged out of ${api()}: the token is no longer saved here (it works until it expires or an operator revokes it: msg tokens revoke <id>)\n`,
    );
    expect(readFileSync(credentials, 'utf8')).not.toContain(ALICE);
    expect((await msg(['--api', api(), 'logout'])).stdout).toBe(`not logged in to ${api()}\n`);
    fails(
      await msg(['--api', api(), 'whoami']),
      1,
      `msg: unauthenticated: ${UNAUTHENTICATED_MESSAGE}; not logged in to ${api()}: run msg login --api ${api()}`,
    );
    expect(authorizations().at(-1)).toBeUndefined();
  });

  it('finds nothing to log in to on an open-mode server (exit 1), and whoami says so', async () => {
    fails(
      await msg(['login', '--api', open.url, '--token-stdin'], { input: ALICE }),
      1,
      `msg: error: ${open.url} runs in open mode: there is nothing to log in to (every command works there without a token); nothing was saved`,
    );
    expect(readFileSync(credentials, 'utf8')).not.toContain(open.url);
    const who = await msg(['--api', open.url, 'whoami']);
    expect(who.stdout).toBe(
      `nobody: ${open.url} runs in open mode (no users; names are free text)\n`,
    );
    expect(JSON.parse((await msg(['--api', open.url, 'whoami', '--json'])).stdout)).toEqual({
      auth: 'open',
      name: null,
    });
  });

  it('says so when the server has no accounts at all (a messenger from before them)', async () => {
    const old = await startStubHttpServer((_req, _n, res) =>
      replyJson(res, 404, {
        error: { code: 'not_found', message: 'no route GET /api/me', request_id: 'r' },
      }),
    );
    try {
      fails(
        await msg(['login', '--api', old.url, '--token-stdin'], { input: ALICE }),
        1,
        `msg: not_found: ${old.url} has no /api/me: it is a messenger server without accounts (no token needed there), or not a messenger server`,
      );
    } finally {
      await old.close();
    }
  });

  it('never sends a token over plain http:// to another machine without --insecure', async () => {
    // 0.0.0.0 reaches this machine on Linux, but `msg` cannot know that: it is not loopback.
    const remote = `http://0.0.0.0:${server.port}/`;
    const line = `msg: error: refusing to send a token over plain http:// to 0.0.0.0:${server.port}, which is not this machine (anyone on the way could read it and act as you): use https://, or --insecure if you trust every network on the way`;
    fails(await msg(['--api', remote, '--token', ALICE, 'list']), 2, line);
    fails(await msg(['--api', remote, 'list'], { env: { MSG_TOKEN: ALICE } }), 2, line);
    fails(await msg(['login', '--api', remote, '--token-stdin'], { input: ALICE }), 2, line);
    expect(server.seen).toEqual([]);
    // Without a token there is nothing to expose.
    expect((await msg(['--api', remote, 'list'])).stderr).toMatch(/^msg: unauthenticated: /);
    // With --insecure it goes.
    const allowed = await msg(['--api', remote, '--token', ALICE, '--insecure', 'list']);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(authorizations()).toEqual([undefined, `Bearer ${ALICE}`]);
  });

  /** Runs `msg args…` on a terminal (a pty made by script(1)), typing `typed` once `after` shows. */
  function onTerminal(
    args: string[],
    after: string,
    typed: string,
  ): Promise<{ code: number | null; output: string }> {
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, MSG_BIN, ...args].map(quote).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: msgEnv(env),
      stdio: 'pipe',
    });
    let output = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      if (!sent && output.includes(after)) {
        sent = true;
        child.stdin.write(typed);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) => {
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  it('asks for the token on a terminal without echoing it', async () => {
    const r = await onTerminal(['login', '--api', api()], '(not shown): ', `${BOB}\r`);
    expect(r.output).toContain(`token for ${api()} (not shown): `);
    expect(r.output).toContain(`logged in to ${api()} as bob`);
    expect(r.output).not.toContain(BOB);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(credentials, 'utf8')).servers[api()]).toEqual({
      token: BOB,
      name: 'bob',
    });
    // Pasted with a stray arrow key and a typo fixed by backspace, it is still the token.
    const edited = await onTerminal(
      ['login', '--api', api()],
      '(not shown): ',
      `\u001b[A${ALICE}x\u007f\r`,
    );
    expect(edited.output).toContain('as alice');
    expect(edited.output).not.toContain(ALICE);
  });

  it('refuses to read a token from a terminal without a prompt, and a prompt without a terminal', async () => {
    const r = await onTerminal(['login', '--api', api(), '--token-stdin'], '\u0000', '');
    expect(r.output.trim()).toBe(
      'msg: error: --token-stdin reads a pipe, and stdin is a terminal (the token would show as you type it): leave out --token-stdin to be asked for it without echo',
    );
    expect(r.code).toBe(2);
    fails(
      await msg(['login', '--api', api()], { input: ALICE }),
      2,
      'msg: error: stdin is not a terminal to ask for the token on: pipe the token in with --token-stdin',
    );
    expect(existsSync(credentials)).toBe(true);
  });
});
