import {
  type IssuedToken,
  openMessenger,
  TOKEN_PATTERN,
  type TokenInfo,
  type User,
} from '@messenger/core';
import { backends, type StubHttpServer, startStubHttpServer } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsgDatabase, type MsgResult, openMsgDatabase, runMsg } from './run-msg.js';

/** Every token-looking string. */
const ANY_TOKEN = /msg_[A-Za-z0-9_-]{43}/g;

/*
 * The operator commands on the database itself (no server): `msg users …` and
 * `msg tokens …`, on both engines, with their errors and exit codes.
 */
describe.each(backends())('msg users and msg tokens on $name', (backend) => {
  let database: MsgDatabase | undefined;
  let env: Record<string, string>;
  /** Every secret the commands printed: none may show up again. */
  const secrets: string[] = [];
  const msg = (...args: string[]) => runMsg(args, { env });
  const ok = (r: MsgResult): string => {
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const json = <T>(r: MsgResult): T => JSON.parse(ok(r)) as T;
  /** One line on stderr, nothing on stdout, and the exit code. */
  const fails = (r: MsgResult, code: number, line: string | RegExp) => {
    expect(r.stdout).toBe('');
    if (typeof line === 'string') expect(r.stderr).toBe(`${line}\n`);
    else expect(r.stderr).toMatch(line);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.code).toBe(code);
  };

  beforeAll(async () => {
    database = await openMsgDatabase(backend);
    env = database.env;
    if (database.migrated !== undefined) expect(database.migrated.code).toBe(0);
  });

  afterAll(async () => {
    await database?.close();
  });

  it("adds users: the new user's first token is the last line of stdout", async () => {
    const out = ok(await msg('users', 'add', 'alice'));
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      'added user alice with token 1 (initial); the token, shown only this once:',
    );
    expect(lines[1]).toMatch(TOKEN_PATTERN);
    secrets.push(lines[1] ?? '');

    const bob = json<{ name: string; token: string }>(await msg('users', 'add', ' Bob ', '--json'));
    expect(Object.keys(bob)).toEqual(['name', 'token']);
    expect(bob.name).toBe('Bob');
    expect(bob.token).toMatch(TOKEN_PATTERN);
    secrets.push(bob.token);
  });

  it('refuses a taken name in another case, and a name that breaks the strict profile', async () => {
    fails(
      await msg('users', 'add', 'ALICE'),
      1,
      /^msg: conflict: name: a user named "ALICE" already exists/,
    );
    fails(
      await msg('users', 'add', 'ali\u200bce'),
      2,
      'msg: validation_failed: name: may not contain zero-width characters (U+200B)',
    );
    fails(await msg('users', 'add', ''), 2, /^msg: validation_failed: name: /);
    const users = json<User[]>(await msg('users', 'list', '--json'));
    expect(users.map((u) => u.name)).toEqual(['alice', 'Bob']);
  });

  it('lists users as a table', async () => {
    const table = ok(await msg('users', 'list'));
    expect(table).toMatch(/│ id │ name +│ added \(UTC\) +│ status │/);
    expect(table).toMatch(/│ 1 +│ alice +│ \d{4}-\d\d-\d\d \d\d:\d\d │ active │/);
  });

  it('creates tokens with a label and an expiry from now, or an ISO date-time', async () => {
    const before = Date.now();
    const laptop = json<IssuedToken>(
      await msg('tokens', 'create', 'alice', '--label', 'laptop', '--expires', '30d', '--json'),
    );
    expect(laptop).toMatchObject({ user: 'alice', label: 'laptop', active: true });
    expect(laptop.token).toMatch(TOKEN_PATTERN);
    secrets.push(laptop.token);
    const expires = Date.parse(laptop.expires_at ?? '');
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);

    const human = ok(await msg('tokens', 'create', 'bob', '--expires', '2099-01-01T00:00:00Z'));
    const lines = human.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^created token \d+ for Bob, expires 2099-01-01T00:00:00\.000000Z; the token, shown only this once:$/,
    );
    expect(lines[1]).toMatch(TOKEN_PATTERN);
    secrets.push(lines[1] ?? '');
  });

  it('refuses a bad --expires, a bad label and an unknown user, creating nothing', async () => {
    const count = async () => json<TokenInfo[]>(await msg('tokens', 'list', '--json')).length;
    const before = await count();
    fails(
      await msg('tokens', 'create', 'alice', '--expires', 'soon'),
      2,
      'msg: error: --expires: must be a time from now (90m, 12h, 30d, 1w) or an ISO-8601 date-time; got "soon"',
    );
    fails(
      await msg('tokens', 'create', 'alice', '--expires', '2020-01-01'),
      2,
      'msg: validation_failed: expiresAt: must be in the future; got "2020-01-01"',
    );
    fails(
      await msg('tokens', 'create', 'alice', '--expires', '2030-02-30'),
      2,
      /^msg: validation_failed: expiresAt: /,
    );
    fails(
      await msg('tokens', 'create', 'alice', '--label', 'a\u202eb'),
      2,
      /^msg: validation_failed: label: may not contain bidirectional control characters/,
    );
    fails(await msg('tokens', 'create', 'carol'), 1, 'msg: not_found: no user named "carol"');
    expect(await count()).toBe(before);
  });

  it("lists tokens, all or one user's, and never a secret", async () => {
    const all = await msg('tokens', 'list');
    const table = ok(all);
    expect(table).toMatch(
      /│ id │ user +│ label +│ created \(UTC\) +│ last used │ expires +│ status │/,
    );
    expect(table).toContain('laptop');
    const mine = json<TokenInfo[]>(await msg('tokens', 'list', 'ALICE', '--json'));
    expect(mine.map((t) => [t.user, t.label])).toEqual([
      ['alice', 'initial'],
      ['alice', 'laptop'],
    ]);
    for (const t of mine) expect(Object.keys(t)).not.toContain('token');
    const everyone = await msg('tokens', 'list', '--json');
    for (const r of [all, everyone, await msg('tokens', 'list', 'bob')]) {
      expect(r.code).toBe(0);
      for (const secret of secrets) {
        expect(secret).toMatch(TOKEN_PATTERN);
        expect(r.stdout + r.stderr).not.toContain(secret);
      }
      expect(r.stdout + r.stderr).not.toMatch(ANY_TOKEN);
    }
    fails(await msg('tokens', 'list', 'carol'), 1, 'msg: not_found: no user named "carol"');
  });

  it('revokes a token by id; an unknown id is not found, a malformed one a usage error', async () => {
    const [initial] = json<TokenInfo[]>(await msg('tokens', 'list', 'alice', '--json'));
    expect(ok(await msg('tokens', 'revoke', String(initial?.id)))).toBe(
      `revoked token ${initial?.id} (initial) of alice\n`,
    );
    // Idempotent.
    expect((await msg('tokens', 'revoke', String(initial?.id))).code).toBe(0);
    fails(await msg('tokens', 'revoke', '999999'), 1, 'msg: not_found: no token with id 999999');
    fails(await msg('tokens', 'revoke', 'abc'), 2, /^msg: validation_failed: id: /);
    const after = json<TokenInfo[]>(await msg('tokens', 'list', 'alice', '--json'));
    expect(after.map((t) => [t.label, t.active, t.revoked_at !== null])).toEqual([
      ['initial', false, true],
      ['laptop', true, false],
    ]);
    expect(ok(await msg('tokens', 'list', 'alice'))).toMatch(/initial .*│ revoked │/);
  });

  it('disables a user: their tokens stop working, no new ones are issued', async () => {
    const out = ok(await msg('users', 'disable', 'bob'));
    expect(out).toMatch(/^disabled Bob \(since \S+Z\): none of their tokens works any more\n$/);
    fails(await msg('tokens', 'create', 'bob'), 1, /^msg: conflict: /);
    fails(await msg('users', 'disable', 'carol'), 1, 'msg: not_found: no user named "carol"');
    const users = json<User[]>(await msg('users', 'list', '--json'));
    expect(users.find((u) => u.name === 'Bob')?.disabled_at).not.toBeNull();
    expect(ok(await msg('tokens', 'list', 'bob'))).toContain('user disabled');
  });

  it('printed tokens that work: the live ones authenticate, the revoked and disabled do not', async () => {
    const messenger = await openMessenger({
      databaseUrl: env.DATABASE_URL ?? env.MSG_DATA_DIR,
    });
    try {
      const [aliceInitial, bobInitial, aliceLaptop, bobSecond] = secrets;
      await expect(messenger.authenticate(aliceLaptop)).resolves.toMatchObject({ name: 'alice' });
      for (const refused of [aliceInitial, bobInitial, bobSecond]) {
        await expect(messenger.authenticate(refused)).rejects.toMatchObject({
          code: 'unauthenticated',
        });
      }
    } finally {
      await messenger.close();
    }
  });

  it('refuses the operator commands over the HTTP API (exit 2), without a request', async () => {
    const server: StubHttpServer = await startStubHttpServer((_req, _n, res) => res.end());
    try {
      const before = ok(await msg('users', 'list', '--json'));
      const commands = [
        ['users', 'add', 'carol'],
        ['users', 'list'],
        ['users', 'disable', 'alice'],
        ['tokens', 'create', 'alice'],
        ['tokens', 'list'],
        ['tokens', 'revoke', '1'],
      ];
      for (const command of commands) {
        const line = `msg: error: ${command.slice(0, 2).join(' ')} needs direct access to the database: run it with --db <url> (or DATABASE_URL), not over the HTTP API (--api / MSG_API_URL)`;
        fails(await runMsg(['--api', server.url, ...command], { env }), 2, line);
        fails(
          await runMsg(command, {
            env: { ...env, MSG_API_URL: server.url, DATABASE_URL: undefined },
          }),
          2,
          line,
        );
      }
      expect(server.seen).toEqual([]);
      expect(ok(await msg('users', 'list', '--json'))).toBe(before);
    } finally {
      await server.close();
    }
  });

  it('needs --from to send, and --recipient to watch, on the database directly', async () => {
    fails(
      await msg('send', '--to', 'alice', 'hi'),
      2,
      "msg: error: --from is required on the database directly (there is no logged-in user there; over a server, --from defaults to the token's user)",
    );
    fails(
      await msg('watch'),
      2,
      "msg: error: --recipient is required on the database directly (there is no logged-in user there; over a server, watch follows the token's user)",
    );
    fails(
      await msg('--token', 'msg_x', 'list'),
      2,
      'msg: error: --token is for a server (--api or MSG_API_URL): the database directly needs no token',
    );
  });

  it('whoami says there is no user on the database directly, without opening it', async () => {
    expect(ok(await msg('whoami'))).toBe(
      'nobody: direct database access has no user (the database credentials are the authority)\n',
    );
    expect(json(await msg('whoami', '--json'))).toEqual({ auth: 'database', name: null });
    // A database that cannot be reached is not needed to say so.
    const nowhere = await runMsg(['whoami', '--db', 'postgres://nobody@127.0.0.1:1/x'], {});
    expect(nowhere.code).toBe(0);
  });
});
