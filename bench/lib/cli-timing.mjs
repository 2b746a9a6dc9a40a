// Wall time of `msg` commands, from spawn to exit, as a person typing them would wait.
// hyperfine is used when installed; otherwise each run is timed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCommand } from '@messenger/testing';

const MSG = join(repoRoot, 'packages', 'cli', 'bin', 'msg.js');

/** The environment of a `msg` run: no colour, no inherited database or API settings. */
function cliEnv() {
  const env = { ...process.env, NO_COLOR: '1' };
  for (const k of ['DATABASE_URL', 'MSG_API_URL', 'MSG_DATA_DIR', 'FORCE_COLOR']) delete env[k];
  return env;
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function hasHyperfine() {
  return spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs `node args…` `runs` times (after `warmups` untimed runs); every run must exit 0.
 * `fresh`: a directory removed before every run (a first run each time).
 */
async function timeRuns(label, args, { runs, warmups = 1, fresh }) {
  const env = cliEnv();
  if (hasHyperfine()) return timeWithHyperfine(label, args, { runs, warmups, env, fresh });
  const times = [];
  for (let i = 0; i < warmups + runs; i++) {
    if (fresh) rmSync(fresh, { recursive: true, force: true });
    const r = await runCommand(process.execPath, args, { env, timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new Error(`${label}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
    }
    if (i >= warmups) times.push(r.ms);
  }
  return {
    label,
    runs,
    median: median(times),
    min: Math.min(...times),
    max: Math.max(...times),
    tool: 'node spawn',
  };
}

function timeWithHyperfine(label, args, { runs, warmups, env, fresh }) {
  const dir = mkdtempSync(join(tmpdir(), 'messenger-bench-hf-'));
  try {
    const out = join(dir, 'out.json');
    const quoted = [process.execPath, ...args]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    const r = spawnSync(
      'hyperfine',
      [
        '--runs',
        String(runs),
        '--warmup',
        String(warmups),
        '--export-json',
        out,
        '--style',
        'none',
        ...(fresh ? ['--prepare', `rm -rf '${fresh.replace(/'/g, "'\\''")}'`] : []),
        quoted,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 },
    );
    if (r.status !== 0) throw new Error(`${label}: hyperfine failed: ${r.stderr}`);
    const t = JSON.parse(readFileSync(out, 'utf8')).results[0].times.map((s) => s * 1000);
    return {
      label,
      runs,
      median: median(t),
      min: Math.min(...t),
      max: Math.max(...t),
      tool: 'hyperfine',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `msg send` and `msg list` over HTTP (against `apiUrl`) and on a fresh embedded database,
 * plus `node -e ''` as the floor any Node.js command pays. The embedded database's directory
 * is removed at the end, or by `cleanup` when the run is cut short.
 */
export async function measureCli(apiUrl, { runs, embeddedRuns, cleanup }) {
  const results = [];
  results.push(await timeRuns("node -e ''", ['-e', ''], { runs }));
  const api = ['--api', apiUrl];
  results.push(
    await timeRuns(
      'msg send (HTTP)',
      [MSG, ...api, 'send', '--from', 'cli-bench', '--to', 'user-1', 'hello from the bench'],
      { runs },
    ),
  );
  results.push(
    await timeRuns('msg list (HTTP)', [MSG, ...api, 'list', '--recipient', 'user-1'], { runs }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'messenger-bench-cli-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  // A first run creates the embedded database (from core's template): each run in a new directory.
  const firstDir = join(dir, 'first');
  const first = await timeRuns(
    'msg send (embedded, first run: creates the database)',
    [MSG, '--db', firstDir, 'send', '--from', 'cli-bench', '--to', 'user-1', 'first'],
    { runs: 3, warmups: 0, fresh: firstDir },
  );
  const db = ['--db', join(dir, 'db')];
  await timeRuns('(creates the database for the next rows)', [MSG, ...db, 'list'], {
    runs: 1,
    warmups: 0,
  });
  results.push(
    await timeRuns(
      'msg send (embedded)',
      [MSG, ...db, 'send', '--from', 'cli-bench', '--to', 'user-1', 'hello from the bench'],
      {
        runs: embeddedRuns,
        warmups: 0,
      },
    ),
  );
  results.push(
    await timeRuns('msg list (embedded)', [MSG, ...db, 'list', '--recipient', 'user-1'], {
      runs: embeddedRuns,
      warmups: 0,
    }),
  );
  results.push(first);
  rmSync(dir, { recursive: true, force: true });
  return results;
}
