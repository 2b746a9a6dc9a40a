import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsgDatabase, type MsgResult, openMsgDatabase, runMsg } from './run-msg.js';

interface ListJson {
  messages: Message[];
  next_cursor: string | null;
}

/** Start of an ANSI escape sequence (colour). */
const ANSI = '\u001b[';

describe.each(backends())('msg direct on $name', (backend) => {
  let database: MsgDatabase | undefined;
  let env: Record<string, string>;
  const msg = (args: string[], input?: string) =>
    runMsg(args, input === undefined ? { env } : { env, input });
  const json = <T>(r: MsgResult): T => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const unique = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    database = await openMsgDatabase(backend);
    env = database.env;
    const r = database.migrated;
    if (r !== undefined) {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('applied 0001-create-messages');
      const again = await msg(['db', 'migrate']);
      expect(again.stdout).toContain('up to date');
    }
  });

  afterAll(async () => {
    await database?.close();
  });

  it('sends and lists, as JSON and as a table', async () => {
    const to = unique('alice');
    const sent = json<Message>(
      await msg(['send', '--from', ' bob ', '--to', to, '--json', 'hello 😀']),
    );
    expect(sent).toMatchObject({ sender: 'bob', recipient: to, message_content: 'hello 😀' });
    expect(sent.is_read).toBe(false);
    expect(sent.sent_datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const human = await msg(['send', '-f', 'carol', '-t', to, 'second']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^sent #\\d+ carol → ${to} at `));
    expect(human.stdout).not.toContain(ANSI);

    const page = json<ListJson>(await msg(['list', '--recipient', to.toUpperCase(), '--json']));
    expect(page.messages.map((m) => m.message_content)).toEqual(['second', 'hello 😀']);
    expect(page.next_cursor).toBeNull();

    const table = await msg(['list', '--recipient', to, '--unread']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('hello 😀');
    expect(table.stdout).toContain('unread');
    expect(table.stdout).toContain('┌');
    expect(table.stdout).not.toContain(ANSI);
  });

  it('takes relative --since/--until and shows them back as instants in --json', async () => {
    const to = unique('relative');
    expect((await msg(['send', '-f', 'bob', '-t', to, 'now'])).code).toBe(0);
    const before = Date.now();
    const recent = await msg(['list', '-r', to, '--since', '15m', '--json']);
    const page = json<ListJson & { since: string }>(recent);
    expect(page.messages.map((m) => m.message_content)).toEqual(['now']);
    // The instant 15 minutes before the command ran.
    const since = Date.parse(page.since);
    expect(page.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(before - 15 * 60_000 - since).toBeLessThan(5_000);
    expect(since - (Date.now() - 15 * 60_000)).toBeLessThanOrEqual(0);
    const old = json<ListJson & { until: string }>(
      await msg(['list', '-r', to, '--until', 'yesterday', '--json']),
    );
    expect(old.messages).toEqual([]);
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    midnight.setDate(midnight.getDate() - 1);
    expect(old.until).toBe(midnight.toISOString());
    // Absolute bounds are shown back as given; without bounds the shape is unchanged.
    const absolute = json<Record<string, unknown>>(
      await msg(['list', '-r', to, '--since', '2000-01-01', '--json']),
    );
    expect(absolute.since).toBe('2000-01-01');
    expect(Object.keys(json<object>(await msg(['list', '-r', to, '--json'])))).toEqual([
      'messages',
      'next_cursor',
    ]);
  });

  it('reads the text from stdin when omitted or "-"', async () => {
    const to = unique('stdin');
    expect((await msg(['send', '-f', 'bob', '-t', to], 'from stdin\n')).code).toBe(0);
    expect((await msg(['send', '-f', 'bob', '-t', to, '-'], '  dash  ')).code).toBe(0);
    const page = json<ListJson>(await msg(['list', '-r', to, '--json']));
    expect(page.messages.map((m) => m.message_content)).toEqual(['dash', 'from stdin']);
  });

  it('rejects bad input with one line naming the field, exit 2, nothing written', async () => {
    const to = unique('bad');
    const cases: [string[], string | undefined, RegExp][] = [
      [
        ['send', '-f', 'bob', '-t', to, 'x'.repeat(161)],
        undefined,
        /^msg: validation_failed: message_content: at most 160 characters, got 161\n$/,
      ],
      [['send', '-f', 'bob', '-t', to, '   '], undefined, /message_content: may not be blank/],
      [
        ['send', '-f', 'b'.repeat(51), '-t', to, 'hi'],
        undefined,
        /sender: at most 50 characters, got 51/,
      ],
      [
        ['send', '-f', 'bob\u0007', '-t', to, 'hi'],
        undefined,
        /sender: may not contain control characters/,
      ],
      [['send', '-f', 'bob', '-t', to], '', /message_content: may not be blank/],
      [['send', '-f', 'bob', 'hi'], undefined, /required option '-t, --to <recipient>'/],
      [['list', '--unread', '--read'], undefined, /--unread and --read cannot be used together/],
      [['list', '--limit', '0'], undefined, /limit: must be a whole number from 1 to 1000/],
      [
        ['list', '--since', 'last week'],
        undefined,
        /^msg: error: --since: must be an ISO-8601 date or date-time, or a time ago \(90s, 15m, 2h, 3d, 1w\), today or yesterday; got "last week"\n$/,
      ],
      [['list', '--until', '2026-02-30'], undefined, /until: must be an ISO-8601 date/],
      [['list', '--cursor', 'nope!'], undefined, /cursor: is not a valid cursor/],
      [['frobnicate'], undefined, /unknown command 'frobnicate'/],
    ];
    for (const [args, input, expected] of cases) {
      const r = await msg(args, input);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const page = json<ListJson>(await msg(['list', '-r', to, '--json']));
    expect(page.messages).toEqual([]);
  }, 90_000);

  it('accepts 160 emoji and pages with --limit and --cursor', async () => {
    const to = unique('pages');
    const emoji = '😀'.repeat(160);
    expect((await msg(['send', '-f', 'bob', '-t', to, emoji])).code).toBe(0);
    for (const text of ['one', 'two'])
      expect((await msg(['send', '-f', 'eve', '-t', to, text])).code).toBe(0);
    const first = json<ListJson>(await msg(['list', '-r', to, '-n', '2', '--json']));
    expect(first.messages.map((m) => m.message_content)).toEqual(['two', 'one']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = json<ListJson>(
      await msg(['list', '-r', to, '-n', '2', '--cursor', first.next_cursor ?? '', '--json']),
    );
    expect(second.messages.map((m) => m.message_content)).toEqual([emoji]);
    expect(second.next_cursor).toBeNull();
    const bySender = json<ListJson>(await msg(['list', '-s', 'EVE', '-r', to, '--json']));
    expect(bySender.messages).toHaveLength(2);
    const human = await msg(['list', '-r', to, '-n', '1']);
    expect(human.stderr).toMatch(/^more: add --cursor \S+\n$/);
  });

  it('shows control characters in messages as escapes, never raw', async () => {
    const to = unique('esc');
    expect((await msg(['send', '-f', 'bob', '-t', to, 'red \u001b[31mtext'])).code).toBe(0);
    const table = await msg(['list', '-r', to]);
    expect(table.stdout).toContain('red \\x1b[31mtext');
    expect(table.stdout).not.toContain(ANSI);
  });

  it('colours only when asked to', async () => {
    const to = unique('colour');
    expect((await msg(['send', '-f', 'bob', '-t', to, 'hi'])).code).toBe(0);
    const forced = await runMsg(['list', '-r', to], { env: { ...env, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ANSI);
    const off = await runMsg(['list', '-r', to], {
      env: { ...env, FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(off.stdout).not.toContain(ANSI);
  });
});

describe('msg runtime errors and help', () => {
  it('exits 1 with one clear line when the database is unreachable', async () => {
    for (const args of [
      ['list', '--db', 'postgres://postgres@127.0.0.1:1/nowhere'],
      ['send', '-f', 'a', '-t', 'b', 'hi', '--db', 'postgres://postgres@127.0.0.1:1/nowhere'],
    ]) {
      const r = await runMsg(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        'msg: unavailable: database at 127.0.0.1:1/nowhere is unavailable (ECONNREFUSED)\n',
      );
    }
  });

  it('prints --help for every command with exit 0', async () => {
    for (const args of [
      ['--help'],
      ['send', '--help'],
      ['list', '--help'],
      ['db', 'migrate', '--help'],
    ]) {
      const r = await runMsg(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: msg/);
    }
  });

  it('rejects a malformed MSG_LOCK_TIMEOUT_MS naming it', async () => {
    const r = await runMsg(['list'], {
      env: { MSG_DATA_DIR: '/nonexistent/x', MSG_LOCK_TIMEOUT_MS: 'soon' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^msg: error: MSG_LOCK_TIMEOUT_MS: must be a whole number/);
  });
});

describe('msg on one embedded directory from several processes', () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'msg-shared-'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('uses $XDG_DATA_HOME/messenger when MSG_DATA_DIR is unset', async () => {
    const xdg = join(base, 'xdg');
    const env = { XDG_DATA_HOME: xdg };
    expect((await runMsg(['send', '-f', 'a', '-t', 'b', 'hi'], { env })).code).toBe(0);
    const again = await runMsg(['list', '--json'], {
      env: { MSG_DATA_DIR: join(xdg, 'messenger') },
    });
    expect((JSON.parse(again.stdout) as ListJson).messages).toHaveLength(1);
  });

  it('serialises concurrent processes: every send lands, none corrupts the database', async () => {
    // Each process opens PGlite (seconds on a loaded 2-core machine): wait long for the lock.
    const env = { MSG_DATA_DIR: join(base, 'shared'), MSG_LOCK_TIMEOUT_MS: '120000' };
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        runMsg(['send', '-f', `p${i}`, '-t', 'shared', `from ${i}`], { env }),
      ),
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const page = JSON.parse(
      (await runMsg(['list', '-r', 'shared', '--json'], { env })).stdout,
    ) as ListJson;
    expect(page.messages.map((m) => m.message_content).sort()).toEqual([
      'from 1',
      'from 2',
      'from 3',
      'from 4',
    ]);
  }, 180_000);

  it('says which process holds the database when it waits too long', async () => {
    const dataDir = join(base, 'held');
    const env = { MSG_DATA_DIR: dataDir, MSG_LOCK_TIMEOUT_MS: '300' };
    expect((await runMsg(['list'], { env })).code).toBe(0);
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(
        join(dataDir, 'lock'),
        JSON.stringify({ pid: holder.pid, purpose: 'msg serve' }),
      );
      const r = await runMsg(['list'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^msg: database_locked: embedded database is in use by process ${holder.pid} \\(msg serve\\)`,
        ),
      );
      expect(r.stderr.split('\n')).toHaveLength(2);
    } finally {
      holder.kill();
    }
    // A lock left by a dead process is stale and taken over.
    writeFileSync(join(dataDir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 1 }));
    expect((await runMsg(['list'], { env })).code).toBe(0);
  });
});
