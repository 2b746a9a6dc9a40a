// `msg read -r R --all` on a backlog larger than one request may mark: it asks again with the
// bound of the first answer until nothing is left, and reports the total once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_MARK_READ_PER_REQUEST, openMessenger } from '@messenger/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMsg } from './run-msg.js';

describe('msg read --all on a backlog over the per-request cap (embedded)', () => {
  const backlog = MAX_MARK_READ_PER_REQUEST + 37;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-read-batches-'));
    const messenger = await openMessenger({ databaseUrl: dir });
    try {
      for (let i = 0; i < backlog; i++) {
        await messenger.send({ sender: 'bob', recipient: 'rita', message_content: `m${i}` });
      }
    } finally {
      await messenger.close();
    }
  }, 180_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks all of it, in more than one request, and says so once', async () => {
    const env = { MSG_DATA_DIR: dir };
    const r = await runMsg(['read', '-r', 'rita', '--all', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { updated: number; ids: number[] };
    expect(answer.updated).toBe(backlog);
    expect(new Set(answer.ids).size).toBe(backlog);
    const again = await runMsg(['read', '-r', 'rita', '--all'], { env });
    expect(again.stdout).toBe('marked 0 messages read\n');
  }, 120_000);
});
