// Setup: a fresh database, what the machine is, the migrated schema, then messenger-server, the
// bare reference and nginx in front of messenger-server, all on 127.0.0.1.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  nginxBinary,
  nginxVersion,
  repoRoot,
  runCommand,
  startLocalNginx,
  startProcess,
  waitUntilAnswering,
} from '@messenger/testing';
import { childPids } from '../lib/cpu-usage.mjs';
import { profileArgs } from '../lib/options.mjs';
import {
  adminUrl,
  databaseUrl,
  dropDatabase,
  recreateDatabase,
  serverVersion,
} from '../lib/postgres.mjs';

export const SERVER_BIN = join(repoRoot, 'packages/server/bin/messenger-server.js');

/** Whether nginx is installed (the package's {@link nginxBinary} throws when it is not). */
function hasNginx() {
  try {
    nginxBinary();
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the build, empties the profile directory (with --profile) and creates the bench
 * database afresh; `cleanup` drops it at the end. Returns its URL.
 */
export async function prepareDatabase(run, cleanup) {
  const { options } = run;
  for (const f of ['server', 'cli'].map((p) => join(repoRoot, 'packages', p, 'dist', 'main.js'))) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  if (options.profile) {
    mkdirSync(options.profileDir, { recursive: true });
    for (const f of readdirSync(options.profileDir)) {
      rmSync(join(options.profileDir, f), { force: true });
    }
  }
  const admin = adminUrl();
  await recreateDatabase(admin, options.dbName);
  cleanup.add(() => dropDatabase(admin, options.dbName));
  return databaseUrl(admin, options.dbName);
}

/** The machine the figures come from, for the report's first lines. */
export async function machineInfo(dbUrl) {
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
    nginx: hasNginx() ? nginxVersion() : 'nginx not installed',
    autocannon: require('autocannon/package.json').version,
  };
}

/** Starts a node server script on a free port and waits until `readyPath` answers 200. */
export async function startNodeServer(run, name, script, env, readyPath) {
  const port = await freePort();
  const proc = startProcess(name, process.execPath, [...profileArgs(run.options, name), script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(proc, `${url}${readyPath}`, { timeoutMs: 15_000 });
  return { url, port, process: proc };
}

/**
 * Migrates the database and starts the servers. Returns `{ dbUrl, server, reference, nginx,
 * nginxPids }`; `nginx` is undefined when nginx is not installed or did not start (recorded
 * as an error of phase "nginx"; its rows are skipped).
 */
export async function startServers(run, dbUrl, cleanup) {
  const { settings } = run.options;
  const migrate = await runCommand(process.execPath, [SERVER_BIN, 'migrate'], {
    env: { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: 'warn' },
    timeoutMs: 60_000,
  });
  if (migrate.code !== 0) throw new Error(`messenger-server migrate failed: ${migrate.stderr}`);

  // Open mode: the rows against the reference (which has no accounts) and the CLI and live
  // phases send as anyone; the auth phase measures token mode beside it.
  const serverEnv = {
    DATABASE_URL: dbUrl,
    LOG_LEVEL: 'warn',
    DB_POOL_MAX: String(settings.poolMax),
    AUTH: 'open',
  };
  const [server, reference] = await Promise.all([
    startNodeServer(run, 'messenger-server', SERVER_BIN, serverEnv, '/readyz'),
    startNodeServer(
      run,
      'reference',
      join(repoRoot, 'bench/reference-server.mjs'),
      serverEnv,
      '/api/messages/?recipient=nobody',
    ),
  ]);
  let nginx;
  if (hasNginx()) {
    nginx = await run.phase('nginx', async () => {
      // The rate limit is set so high that it never rejects: the bench measures the proxy.
      const started = await startLocalNginx({
        port: await freePort(),
        upstreams: [`127.0.0.1:${server.port}`],
        rateLimit: '1000000r/s',
        rateBurst: 1_000_000,
      });
      cleanup.add(() => started.stop());
      return started;
    });
  } else {
    run.errors.push({ phase: 'nginx', message: 'nginx not installed: its rows are skipped' });
  }
  // Through nginx, the server's CPU counts too: nginx's master, its worker, and messenger-server.
  const nginxPids = () => [server.process.pid, nginx.process.pid, ...childPids(nginx.process.pid)];
  run.log(
    `messenger-server ${server.url}, reference ${reference.url}${nginx ? `, nginx ${nginx.url}` : ''}`,
  );
  return { dbUrl, server, reference, nginx, nginxPids };
}
