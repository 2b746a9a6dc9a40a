// The embedded database's lock under a race: many processes find the same stale lock (its holder
// is gone) at once; exactly one takes it over, and the others wait and give up naming the winner.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FILE_LOCK = fileURLToPath(new URL('../dist/database/file-lock.js', import.meta.url));

/** A child that takes the lock (waiting up to `waitMs`), says so, and holds it for `holdMs`. */
const CHILD = `
const { acquireFileLock } = await import(process.argv[1]);
const [path, waitMs, holdMs, startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
try {
  const lock = await acquireFileLock(path, { timeoutMs: Number(waitMs), purpose: 'racer ' + process.pid });
  process.stdout.write('won\\n');
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  lock.release();
} catch (err) {
  process.stdout.write('lost ' + err.code + ' ' + err.holderPid + '\\n');
}
`;

function run(args: string[]): Promise<{ pid: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, FILE_LOCK, ...args]);
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      out += String(d);
    });
    child.on('error', reject);
    child.on('close', () => resolve({ pid: child.pid as number, out: out.trim() }));
  });
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid as number;
}

describe('embedded database lock, many processes racing for a stale lock', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [
      'a dead process on this host',
      () => ({ pid: deadPid(), host: hostname(), purpose: 'crashed' }),
    ],
    ['an old-format lock of a dead process', () => ({ pid: deadPid(), purpose: 'crashed' })],
  ])(
    'exactly one of 12 takes over the lock of %s',
    async (_name, stale) => {
      dir = mkdtempSync(join(tmpdir(), 'lock-race-'));
      const path = join(dir, 'lock');
      writeFileSync(path, JSON.stringify(stale()));
      // All start at the same moment; each waits 1.5 s at most, the winner holds 4 s.
      const startAt = String(Date.now() + 1500);
      const racers = await Promise.all(
        Array.from({ length: 12 }, () => run([path, '1500', '4000', startAt])),
      );
      const winners = racers.filter((r) => r.out === 'won');
      expect(winners, JSON.stringify(racers)).toHaveLength(1);
      const winner = winners[0] as { pid: number };
      for (const r of racers.filter((x) => x.out !== 'won')) {
        // Each loser names the winner as the holder.
        expect(r.out).toBe(`lost database_locked ${winner.pid}`);
      }
      // Released on exit: nothing left behind (no lock, no takeover marker, no temporary file).
      expect(() => readFileSync(path)).toThrow();
      expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.trim()).toBe('');
    },
    60_000,
  );

  it('does not take over a lock from another host that is kept fresh, and names that host', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-race-'));
    const path = join(dir, 'lock');
    // A live holder elsewhere: its pid means nothing here (it may even be ours), its mtime is new.
    writeFileSync(
      path,
      JSON.stringify({ pid: deadPid(), host: 'elsewhere', purpose: 'msg serve' }),
    );
    const r = await run([path, '300', '0', String(Date.now())]);
    expect(r.out).toMatch(/^lost database_locked \d+$/);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ host: 'elsewhere' });
  }, 30_000);

  it('takes over a lock from another host once it has not been refreshed for 30 s', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-race-'));
    const path = join(dir, 'lock');
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: 'elsewhere', purpose: 'gone' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const r = await run([path, '300', '0', String(Date.now())]);
    expect(r.out).toBe('won');
  }, 30_000);
});
