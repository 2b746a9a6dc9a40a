import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, openMessenger } from '@messenger/core';
import { buildApp } from '@messenger/server';
import { backends, freshPostgresSchema, type PostgresSchema } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsgResult, normalise, runMsg } from './run-msg.js';

interface ListJson {
  messages: Message[];
  next_cursor: string | null;
}

/** `msg search` on the database directly and over a server (open mode): the same output. */
describe.each(backends())('msg search over HTTP and direct on $name', ({ name }) => {
  let dir: string;
  let directDb: string;
  const schemas: PostgresSchema[] = [];
  let app: Awaited<ReturnType<typeof buildApp>>;
  let api: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-search-'));
    let serverUrl: string | undefined;
    if (name === 'postgres') {
      const [a, b] = [await freshPostgresSchema(), await freshPostgresSchema()];
      schemas.push(a, b);
      serverUrl = a.url;
      directDb = b.url;
      expect((await runMsg(['db', 'migrate', '--db', directDb])).code).toBe(0);
    } else directDb = join(dir, 'direct');
    const messenger = await openMessenger({ databaseUrl: serverUrl, migrate: true });
    app = await buildApp({ messenger, auth: { mode: 'open' } });
    api = await app.listen({ port: 0, host: '127.0.0.1' });
    const texts = ['Lunch at the Café?', 'no lunch today', 'dinner', 'the LUNCH menu'];
    for (const text of texts) {
      await Promise.all([
        runMsg(['send', '-f', 'bob', '-t', 'alice', text, '--db', directDb]),
        runMsg(['send', '-f', 'bob', '-t', 'alice', text, '--api', api]),
      ]);
    }
    await Promise.all([
      runMsg(['send', '-f', 'alice', '-t', 'bob', 'lunch reply', '--db', directDb]),
      runMsg(['send', '-f', 'alice', '-t', 'bob', 'lunch reply', '--api', api]),
    ]);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    for (const s of schemas) await s.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function same(args: string[], env: Record<string, string> = {}): Promise<MsgResult> {
    const [d, h] = await Promise.all([
      runMsg([...args, '--db', directDb], { env }),
      runMsg([...args, '--api', api], { env }),
    ]);
    expect(normalise(h), `${args.join(' ')}\n${d.stderr}\n${h.stderr}`).toEqual(normalise(d));
    return d;
  }

  it('finds, filters and pages the same way, with highlights in JSON', async () => {
    const all = JSON.parse((await same(['search', 'lunc', '--json'])).stdout) as ListJson;
    expect(all.messages.map((m) => m.message_content)).toEqual([
      'lunch reply',
      'the LUNCH menu',
      'no lunch today',
      'Lunch at the Café?',
    ]);
    expect(all.messages[1]?.highlight).toBe('the \uE000LUNCH\uE001 menu');
    const filtered = async (...args: string[]) =>
      (JSON.parse((await same(['search', ...args, '--json'])).stdout) as ListJson).messages.map(
        (m) => m.message_content,
      );
    expect(await filtered('lunch', 'cafe')).toEqual(['Lunch at the Café?']);
    expect(await filtered('lunch', '-s', 'ALICE')).toEqual(['lunch reply']);
    expect(await filtered('lunch', '-r', 'alice', '-n', '1')).toEqual(['the LUNCH menu']);
    expect(await filtered('lunch', '-r', 'alice', '--with', 'bob')).toHaveLength(4);
    expect(await filtered('lunch', '--since', '1h', '--until', '2999-01-01')).toHaveLength(4);
    expect(await filtered('lunch', '--since', '2999-01-01')).toEqual([]);
    expect(await filtered('"lunch', 'menu"', '--relevance')).toEqual(['the LUNCH menu']);
    expect(await filtered('lunch', '-menu', '-today', '-s', 'bob')).toEqual(['Lunch at the Café?']);
    const paged = await same(['search', 'lunch', '-n', '3']);
    expect(paged.stderr).toMatch(/^more: add --cursor \S+\n$/);
  }, 120_000);

  it('shows matches in bold when colour is on, plain otherwise', async () => {
    const plain = await same(['search', 'menu']);
    expect(plain.stdout).toContain('the LUNCH menu');
    expect(plain.stdout).not.toContain('\u001b');
    expect(plain.stdout).not.toContain('\uE000');
    const coloured = await same(['search', 'menu'], { FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('the LUNCH \u001b[1mmenu\u001b[22m');
    expect((await same(['search', 'nothing-like-it'])).stdout).toBe('No messages found.\n');
  }, 120_000);

  it('refuses a query with no word to find: one line, exit 2', async () => {
    for (const [args, line] of [
      [['search', '🍕'], 'msg: validation_failed: q: has no word to find'],
      [['search', '-lunch'], 'msg: validation_failed: q: has no word to find'],
      [['search', 'lunch', '--jsno'], 'msg: error: unknown option "--jsno"'],
      [['search', ' '], 'msg: validation_failed: q: must not be empty'],
    ] as const) {
      const r = await same([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toMatch(new RegExp(`^${line}`));
    }
  }, 120_000);
});
