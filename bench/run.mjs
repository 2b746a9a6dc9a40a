#!/usr/bin/env node
// npm run bench [-- --quick]: messenger-server on PostgreSQL against a bare Fastify + pg
// reference started in the same run, through nginx, as the table grows, live delivery, and
// `msg` wall time. Everything runs on 127.0.0.1, is bounded in time, and every process and
// database it makes is removed at the end, on error, on SIGINT/SIGTERM and at its deadline.
// Results: stdout, bench/results/latest.{md,json}, bench/results/list-latency.svg.
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureCli } from './lib/cli-timing.mjs';
import { summarizeProfile } from './lib/cpu-profile.mjs';
import { childPids } from './lib/cpu-usage.mjs';
import { measureLiveDelivery } from './lib/live.mjs';
import { compare, stopLoad } from './lib/load.mjs';
import { nginxBinary, nginxVersion, startNginx } from './lib/nginx.mjs';
import {
  adminUrl,
  countRows,
  databaseUrl,
  dropDatabase,
  explain,
  lastStatements,
  recreateDatabase,
  SEEDED_RECIPIENTS,
  seedMessages,
  serverVersion,
} from './lib/postgres.mjs';
import {
  canConnect,
  cleanUp,
  freePort,
  onCleanUp,
  repoRoot,
  runTimed,
  startProcess,
  waitFor,
} from './lib/processes.mjs';
import { INSERT_SQL, LIST_SQL } from './lib/reference-sql.mjs';
import { evaluateTargets, toMarkdown } from './lib/report.mjs';
import { listLatencySvg } from './lib/svg.mjs';

const PHASES = ['list', 'send', 'live', 'cli'];
const USAGE = `usage: npm run bench -- [--quick] [--profile] [--only PHASES] [--sizes SIZES]
                          [--connections N] [--duration S]

  --quick          under a minute: 2 s per measurement, tables of 10k and 100k rows, fewer CLI runs
  --profile        run messenger-server, the reference and one \`msg send\` under --cpu-prof;
                   profiles and their summary (summary.txt) go to bench/results/profiles/
  --only PHASES    some of ${PHASES.join(',')} (a partial run prints its table but does not
                   replace bench/results/latest.*)
  --sizes SIZES    table sizes of the list phase, e.g. 10k,1M (default 10k,100k,1M; quick 10k,100k)
  --connections N  concurrent keep-alive connections of the load generator (default 32)
  --duration S     measured seconds per row (default 10, quick 2)

Environment: BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres; loopback only),
BENCH_DB (default messenger_bench: dropped and created for each run, dropped at the end),
NGINX_BIN (default /usr/sbin/nginx or nginx on the PATH; without nginx its rows are skipped).
Build first (npm run build); npm run bench does.`;

function usageError(message) {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      only: { type: 'string' },
      sizes: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  usageError(err.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const whole = (name, raw, fallback, max) => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    usageError(`--${name} must be a whole number from 1 to ${max}, got ${raw}`);
  }
  return n;
};
const parseSizes = (raw) =>
  raw.split(',').map((s) => {
    const m = /^(\d+)([kKmM]?)$/.exec(s.trim());
    const n = m ? Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]] : Number.NaN;
    if (!(n >= 100 && n <= 5_000_000)) usageError(`--sizes: ${s} is not a size from 100 to 5M`);
    return n;
  });

const quick = args.quick;
const only = args.only === undefined ? PHASES : args.only.split(',').map((p) => p.trim());
for (const p of only) if (!PHASES.includes(p)) usageError(`--only: unknown phase ${p}`);
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
// Hard limit: whatever hangs, the run ends, cleans up and says so.
const deadlineMs = (120 + settings.durationS * 30 + (Math.max(...sizes) / 1_000_000) * 120) * 1000;

const dbName = process.env.BENCH_DB ?? 'messenger_bench';
if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) usageError(`BENCH_DB: not a plain name: ${dbName}`);
const resultsDir = join(repoRoot, 'bench', 'results');
const profileDir = join(resultsDir, 'profiles');
const started = Date.now();
const log = (msg) =>
  process.stderr.write(
    `[${String(Math.round((Date.now() - started) / 1000)).padStart(3)}s] ${msg}\n`,
  );

let interrupted = false;
async function abort(why, code) {
  if (interrupted) return;
  interrupted = true;
  log(`${why}: stopping and cleaning up`);
  stopLoad();
  await cleanUp();
  process.exit(code);
}
process.on('SIGINT', () => void abort('interrupted', 130));
process.on('SIGTERM', () => void abort('terminated', 143));
const deadline = setTimeout(
  () => void abort(`deadline of ${deadlineMs / 1000} s reached`, 124),
  deadlineMs,
);
deadline.unref();

const results = {
  generated: new Date().toISOString(),
  mode: quick ? 'quick' : partial || args.sizes ? 'custom' : 'default',
  machine: {},
  settings,
  // The 1-minute load average before and after: other work on the machine skews every figure.
  loadAverage: { start: +loadavg()[0].toFixed(2), end: undefined },
  http: {},
  growth: [],
  live: null,
  cli: [],
  targets: [],
  errors: [],
};

/** Runs one phase; a failure is recorded and the run goes on with the next phase. */
async function phase(name, fn) {
  if (interrupted) return undefined;
  try {
    return await fn();
  } catch (err) {
    results.errors.push({ phase: name, message: err.message });
    log(`${name} FAILED: ${err.message}`);
    return undefined;
  }
}

const describe = (r) =>
  `${Math.round(r.rps).toLocaleString('en-US')} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.ok ? '' : ` (errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx})`}`;

async function machineInfo(dbUrl, nginx) {
  const require = createRequire(import.meta.url);
  let os = `Linux ${release()}`;
  try {
    const pretty = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m);
    if (pretty) os = pretty[1];
  } catch {}
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    node: process.version,
    postgres: await serverVersion(dbUrl),
    nginx: nginx ? await nginxVersion(nginx) : 'nginx not installed',
    autocannon: require('autocannon/package.json').version,
  };
}

const profileArgs = (name) =>
  args.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${profileDir}`,
        `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`,
      ]
    : [];

/** Starts a node server script on a free port and waits until `readyPath` answers 200. */
async function startNodeServer(name, script, env, readyPath) {
  const port = await freePort();
  const proc = startProcess(name, process.execPath, [...profileArgs(name), script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} on port ${port}`, async () => {
    if (proc.exit()) {
      const exit = JSON.stringify(proc.exit());
      throw new Error(`${name} exited (${exit}): ${proc.output().slice(-2000)}`);
    }
    if (!(await canConnect(port))) return false;
    const res = await fetch(`${url}${readyPath}`).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200;
  });
  return { url, port, process: proc };
}

const sendRequest = () => {
  let n = 0;
  return () => ({
    method: 'POST',
    path: '/api/messages/send/',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sender: `bench-${n % 50}`,
      recipient: `sink-${n++ % 100}`,
      message_content: 'a benchmark message of a typical length, about sixty characters',
    }),
  });
};
const listRequest = () => {
  let n = 0;
  return () => ({
    method: 'GET',
    path: `/api/messages/?recipient=user-${n++ % SEEDED_RECIPIENTS}&limit=100`,
  });
};

/** Measures targets ({ key, url, request }) taking turns; logs each result. */
function compareTargets(label, targets, tableRows) {
  return compare(targets, {
    connections: settings.connections,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    rounds: settings.rounds,
    database: dbName,
    onResult: (key, r) => {
      r.tableRows = tableRows;
      log(`${label} ${key}: ${describe(r)}`);
    },
  });
}

/**
 * The reference must run messenger's own SQL: compares the statement messenger-server's
 * sessions ran last (pg_stat_activity, application_name "messenger") with the reference's.
 */
async function checkSameSql(dbUrl, verb, referenceSql) {
  const ours = (await lastStatements(dbUrl, 'messenger')).filter((q) =>
    q.trimStart().toLowerCase().startsWith(verb),
  );
  if (ours.length === 0) {
    log(`same SQL (${verb}): no statement of messenger-server seen; not checked`);
    return;
  }
  if (!ours.includes(referenceSql)) {
    throw new Error(
      `messenger now sends different SQL; update bench/lib/reference-sql.mjs to match:\n  messenger: ${ours[0]}\n  reference: ${referenceSql}`,
    );
  }
  log(`same SQL (${verb}): the reference runs messenger's statement`);
}

async function main() {
  if (args.profile) {
    mkdirSync(profileDir, { recursive: true });
    for (const f of readdirSync(profileDir)) rmSync(join(profileDir, f), { force: true });
  }
  const admin = adminUrl();
  const dbUrl = databaseUrl(admin, dbName);
  for (const f of ['server', 'cli'].map((p) => join(repoRoot, 'packages', p, 'dist', 'main.js'))) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  log(
    `${results.mode} run (${only.join(', ')}): database ${dbName}, ${settings.connections} connections, ${settings.durationS} s per measurement`,
  );

  await recreateDatabase(admin, dbName);
  onCleanUp(() => dropDatabase(admin, dbName));
  const nginxBin = nginxBinary();
  results.machine = await machineInfo(dbUrl, nginxBin);
  log(`machine: ${JSON.stringify(results.machine)}`);

  const migrate = await runTimed(
    process.execPath,
    [join(repoRoot, 'packages/server/bin/messenger-server.js'), 'migrate'],
    { env: { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: 'warn' }, timeoutMs: 60_000 },
  );
  if (migrate.code !== 0) throw new Error(`messenger-server migrate failed: ${migrate.stderr}`);

  const serverEnv = {
    DATABASE_URL: dbUrl,
    LOG_LEVEL: 'warn',
    DB_POOL_MAX: String(settings.poolMax),
  };
  const [server, reference] = await Promise.all([
    startNodeServer(
      'messenger-server',
      join(repoRoot, 'packages/server/bin/messenger-server.js'),
      serverEnv,
      '/readyz',
    ),
    startNodeServer(
      'reference',
      join(repoRoot, 'bench/reference-server.mjs'),
      serverEnv,
      '/api/messages/?recipient=nobody',
    ),
  ]);
  let nginx;
  if (nginxBin) {
    nginx = await phase('nginx', async () =>
      startNginx(nginxBin, { port: await freePort(), upstream: `127.0.0.1:${server.port}` }),
    );
  } else {
    results.errors.push({ phase: 'nginx', message: 'nginx not installed: its rows are skipped' });
  }
  // Through nginx, the server's CPU counts too: nginx's master, its worker, and messenger-server.
  const nginxPids = () => [server.process.pid, nginx.process.pid, ...childPids(nginx.process.pid)];
  log(
    `messenger-server ${server.url}, reference ${reference.url}${nginx ? `, nginx ${nginx.url}` : ''}`,
  );

  // List as the table grows. At the first (smallest) size the query is cheapest, so the
  // servers' own cost shows most: nginx is measured there too, and that row is the headline.
  if (only.includes('list')) {
    let rows = 0;
    for (const [i, size] of sizes.entries()) {
      const seeded = await phase(`seed ${size} rows`, () => seedMessages(dbUrl, rows, size));
      if (!seeded) break;
      log(
        `seeded to ${seeded.rows.toLocaleString('en-US')} rows in ${(seeded.ms / 1000).toFixed(1)} s`,
      );
      rows = size;
      // The reference runs messenger's SQL, so this is messenger's plan: an index scan in
      // (sent_datetime, id) order stays flat as the table grows; sorting the recipient's rows does not.
      const plan = await phase('explain', () => explain(dbUrl, LIST_SQL, ['user-1', 101]));
      const targets = [
        { key: 'messenger', url: server.url, pids: [server.process.pid], request: listRequest() },
        {
          key: 'reference',
          url: reference.url,
          pids: [reference.process.pid],
          request: listRequest(),
        },
      ];
      if (i === 0 && nginx)
        targets.push({ key: 'nginx', url: nginx.url, pids: nginxPids(), request: listRequest() });
      const r = await phase(`list at ${size} rows`, () =>
        compareTargets(`list @${seeded.rows}`, targets, seeded.rows),
      );
      results.growth.push({
        rows: seeded.rows,
        seedMs: seeded.ms,
        plan,
        messenger: r?.messenger,
        reference: r?.reference,
      });
      if (i === 0 && r) for (const [k, v] of Object.entries(r)) results.http[`list/${k}`] = v;
      if (i === 0) await phase('same SQL (list)', () => checkSameSql(dbUrl, 'select', LIST_SQL));
    }
  }

  if (only.includes('send')) {
    const tableRows = await countRows(dbUrl);
    const sends = await phase('send', () =>
      compareTargets(
        'send',
        [
          { key: 'messenger', url: server.url, pids: [server.process.pid], request: sendRequest() },
          {
            key: 'reference',
            url: reference.url,
            pids: [reference.process.pid],
            request: sendRequest(),
          },
          ...(nginx
            ? [{ key: 'nginx', url: nginx.url, pids: nginxPids(), request: sendRequest() }]
            : []),
        ],
        tableRows,
      ),
    );
    for (const [k, v] of Object.entries(sends ?? {})) results.http[`send/${k}`] = v;
    await phase('same SQL (send)', () => checkSameSql(dbUrl, 'insert', INSERT_SQL));
  }

  // The reference is done; stop it so it does not share the CPU with what follows.
  await reference.process.stop();

  if (only.includes('live')) {
    results.live = await phase('live delivery', async () => {
      const l = await measureLiveDelivery(server.url, settings.liveCount);
      log(
        `live delivery: p50 ${l.delivery.p50.toFixed(2)} ms, p99 ${l.delivery.p99.toFixed(2)} ms over ${l.count}`,
      );
      return l;
    });
  }

  if (only.includes('cli')) {
    results.cli =
      (await phase('CLI', async () => {
        const c = await measureCli(server.url, {
          runs: settings.cliRuns,
          embeddedRuns: settings.embeddedRuns,
        });
        for (const x of c) log(`${x.label}: median ${x.median.toFixed(0)} ms`);
        return c;
      })) ?? [];
    if (args.profile) {
      await phase('CLI profile', async () => {
        const msg = join(repoRoot, 'packages/cli/bin/msg.js');
        const to = `profile-${randomUUID().slice(0, 8)}`;
        const r = await runTimed(
          process.execPath,
          [
            ...profileArgs('msg-send-http'),
            msg,
            '--api',
            server.url,
            'send',
            '-f',
            'p',
            '-t',
            to,
            'x',
          ],
          { env: { ...process.env, NO_COLOR: '1' } },
        );
        if (r.code !== 0) throw new Error(r.stderr);
      });
    }
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  results.errors.push({ phase: 'setup', message: err.message });
  log(`FAILED: ${err.stack ?? err.message}`);
} finally {
  if (!interrupted) {
    log('stopping servers and dropping the bench database');
    await cleanUp();
  }
}
if (interrupted) await new Promise(() => {}); // abort() is exiting

results.loadAverage.end = +loadavg()[0].toFixed(2);
results.targets = evaluateTargets(results);
results.elapsedS = Math.round((Date.now() - started) / 1000);
const markdown = toMarkdown(results);
process.stdout.write(`\n${markdown}\n`);

const write = (dir, name, text) => {
  const tmp = join(dir, `${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
};
if (args.profile) {
  // Profiles are written as the processes exit, which cleanUp() has waited for.
  const summaries = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summarizeProfile(join(profileDir, f), 20));
  write(profileDir, 'summary.txt', summaries.join('\n\n'));
  log('profiles and summary.txt in bench/results/profiles/');
}
if (partial) {
  log(`done in ${results.elapsedS} s (partial run: bench/results/latest.* left as they were)`);
} else {
  mkdirSync(resultsDir, { recursive: true });
  write(resultsDir, 'latest.json', `${JSON.stringify(results, null, 2)}\n`);
  write(resultsDir, 'latest.md', markdown);
  if (results.growth.length > 0) write(resultsDir, 'list-latency.svg', listLatencySvg(results));
  log(`done in ${results.elapsedS} s; results in bench/results/`);
}
clearTimeout(deadline);
process.exitCode = failed || results.errors.length > 0 ? 1 : 0;
