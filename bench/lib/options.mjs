// The bench's command line and environment, parsed once into the options every phase reads.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@messenger/testing';

/** The measuring phases, in the order they run. */
export const PHASES = ['list', 'send', 'write', 'auth', 'search', 'live', 'cli'];

export const USAGE = `usage: npm run bench -- [--quick] [--profile] [--only PHASES] [--sizes SIZES]
                          [--connections N] [--duration S] [--out DIR]

  --quick          under a minute: 2 s per measurement, tables of 10k and 100k rows, fewer CLI runs
  --profile        run messenger-server, the reference and one \`msg send\` under --cpu-prof;
                   profiles and their summary (summary.txt) go to bench/results/profiles/
  --only PHASES    some of ${PHASES.join(',')} (a partial run prints its table but does not
                   replace bench/results/latest.*)
  --sizes SIZES    table sizes of the list phase, e.g. 10k,1M (default 10k,100k,1M; quick 10k,100k);
                   the search phase seeds a table of its own of the largest size
  --connections N  concurrent keep-alive connections of the load generator (default 32)
  --duration S     measured seconds per row (default 10, quick 2)
  --out DIR        write latest.{md,json}, list-latency.svg and profiles/ to DIR instead of
                   bench/results (a trial run that must not replace the published figures)

Environment: BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres; loopback only),
BENCH_DB (default messenger_bench: dropped and created for each run, dropped at the end),
NGINX_BIN (default /usr/sbin/nginx or nginx on the PATH; without nginx its rows are skipped).
Build first (npm run build); npm run bench does.`;

class UsageError extends Error {}

function whole(name, raw, fallback, max) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got ${raw}`);
  }
  return n;
}

function parseSizes(raw) {
  return raw.split(',').map((s) => {
    const m = /^(\d+)([kKmM]?)$/.exec(s.trim());
    const n = m ? Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]] : Number.NaN;
    if (!(n >= 100 && n <= 5_000_000)) {
      throw new UsageError(`--sizes: ${s} is not a size from 100 to 5M`);
    }
    return n;
  });
}

/**
 * Parses `argv` and the environment: `{ help: true }`, `{ error: message }` for a usage
 * error, or `{ options }`.
 */
export function parseOptions(argv, env = process.env) {
  try {
    let args;
    try {
      ({ values: args } = parseArgs({
        args: argv,
        options: {
          quick: { type: 'boolean', default: false },
          profile: { type: 'boolean', default: false },
          only: { type: 'string' },
          sizes: { type: 'string' },
          connections: { type: 'string' },
          duration: { type: 'string' },
          out: { type: 'string' },
          help: { type: 'boolean', short: 'h', default: false },
        },
      }));
    } catch (err) {
      throw new UsageError(err.message);
    }
    if (args.help) return { help: true };
    const quick = args.quick;
    const only = args.only === undefined ? PHASES : args.only.split(',').map((p) => p.trim());
    for (const p of only)
      if (!PHASES.includes(p)) throw new UsageError(`--only: unknown phase ${p}`);
    const sizes = args.sizes
      ? parseSizes(args.sizes).sort((a, b) => a - b)
      : quick
        ? [10_000, 100_000]
        : [10_000, 100_000, 1_000_000];
    const partial = only.length < PHASES.length;
    const settings = {
      connections: whole('connections', args.connections, 32, 1000),
      durationS: whole('duration', args.duration, quick ? 2 : 10, 600),
      warmupS: quick ? 1 : 2,
      // Each measurement is split in rounds, targets taking turns (A B, then B A).
      rounds: 2,
      poolMax: 10,
      sizes,
      liveCount: quick ? 50 : 200,
      cliRuns: quick ? 5 : 10,
      embeddedRuns: quick ? 2 : 5,
      phases: only,
    };
    const dbName = env.BENCH_DB ?? 'messenger_bench';
    if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) {
      throw new UsageError(`BENCH_DB: not a plain name: ${dbName}`);
    }
    const resultsDir = args.out ? resolve(args.out) : join(repoRoot, 'bench', 'results');
    return {
      options: {
        quick,
        profile: args.profile,
        only,
        partial,
        mode: quick ? 'quick' : partial || args.sizes ? 'custom' : 'default',
        settings,
        dbName,
        resultsDir,
        profileDir: join(resultsDir, 'profiles'),
        // Hard limit: whatever hangs, the run ends, cleans up and says so.
        // Search: seeding and indexing its own table (~150 s at 1M here), and 4 measurements.
        deadlineMs:
          (120 +
            settings.durationS * 36 +
            (Math.max(...sizes) / 1_000_000) * 120 +
            (only.includes('search')
              ? 30 + settings.durationS * 6 + (Math.max(...sizes) / 1_000_000) * 240
              : 0)) *
          1000,
      },
    };
  } catch (err) {
    if (err instanceof UsageError) return { error: err.message };
    throw err;
  }
}

/** Node's --cpu-prof flags for a process called `name`, when the run profiles (else none). */
export function profileArgs(options, name) {
  return options.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${options.profileDir}`,
        `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`,
      ]
    : [];
}
