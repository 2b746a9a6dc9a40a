#!/usr/bin/env node
// npm run bench [-- --quick]: messenger-server on PostgreSQL against a bare Fastify + pg
// reference started in the same run, through nginx, as the table grows, token mode against
// open mode, full-text search, live delivery, and `msg` wall time. Everything runs on 127.0.0.1, is bounded in
// time, and every process and database it makes is removed at the end, on error, on
// SIGINT/SIGTERM and at its deadline.
// Results: stdout, bench/results/latest.{md,json}, bench/results/list-latency.svg.
//
// This entry runs the phases (bench/phases/) in order, hands each the state it needs, and alone
// decides the exit code: 0 when every phase succeeded, 1 when any failed, 2 on a usage error,
// 124 at the deadline, 130/143 when interrupted.
import { createCleanup } from './lib/cleanup.mjs';
import { stopLoad } from './lib/load.mjs';
import { parseOptions, USAGE } from './lib/options.mjs';
import { createLog, createRun } from './lib/phase-runner.mjs';
import { measureAuth } from './phases/auth.mjs';
import { measureCliPhase } from './phases/cli.mjs';
import { measureListGrowth } from './phases/list-growth.mjs';
import { measureLive } from './phases/live-delivery.mjs';
import { emptyResults, writeReport } from './phases/report.mjs';
import { measureSearch } from './phases/search.mjs';
import { measureSend } from './phases/send.mjs';
import { machineInfo, prepareDatabase, startServers } from './phases/setup.mjs';
import { measureWritePath } from './phases/write-path.mjs';

/** Runs the bench; resolves to the exit code (or never, when `exit` ended the process). */
async function main(argv, exit) {
  const parsed = parseOptions(argv);
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.error) {
    process.stderr.write(`bench: ${parsed.error}\n${USAGE}\n`);
    return 2;
  }
  const { options } = parsed;
  const { settings, only } = options;
  const started = Date.now();
  const log = createLog(started);
  const results = emptyResults(options);
  const run = createRun(options, results.errors, log);
  const cleanup = createCleanup(log);

  const abort = async (why, code) => {
    if (run.interrupted) return;
    run.interrupt();
    log(`${why}: stopping and cleaning up`);
    stopLoad();
    await cleanup.run();
    exit(code);
  };
  process.on('SIGINT', () => void abort('interrupted', 130));
  process.on('SIGTERM', () => void abort('terminated', 143));
  const deadline = setTimeout(
    () => void abort(`deadline of ${options.deadlineMs / 1000} s reached`, 124),
    options.deadlineMs,
  );
  deadline.unref();

  let failed = false;
  try {
    log(
      `${results.mode} run (${only.join(', ')}): database ${options.dbName}, ${settings.connections} connections, ${settings.durationS} s per measurement`,
    );
    const dbUrl = await prepareDatabase(run, cleanup);
    results.machine = await machineInfo(dbUrl);
    log(`machine: ${JSON.stringify(results.machine)}`);
    const servers = await startServers(run, dbUrl, cleanup);

    if (only.includes('list')) {
      const { growth, http } = await measureListGrowth(run, servers);
      results.growth = growth;
      Object.assign(results.http, http);
    }
    if (only.includes('send')) Object.assign(results.http, await measureSend(run, servers));
    // The reference is done; stop it so it does not share the CPU with what follows.
    await servers.reference.process.stop();
    if (only.includes('write')) results.writePath = await measureWritePath(run, servers, cleanup);
    if (only.includes('auth')) Object.assign(results.http, await measureAuth(run, servers));
    if (only.includes('search')) {
      const search = await measureSearch(run, cleanup);
      if (search) {
        const { http, ...rest } = search;
        Object.assign(results.http, http);
        results.search = rest;
      }
    }
    if (only.includes('live')) results.live = (await measureLive(run, servers)) ?? null;
    if (only.includes('cli')) results.cli = await measureCliPhase(run, servers, cleanup);
  } catch (err) {
    failed = true;
    results.errors.push({ phase: 'setup', message: err.message });
    log(`FAILED: ${err.stack ?? err.message}`);
  } finally {
    if (!run.interrupted) {
      log('stopping servers and dropping the bench database');
      await cleanup.run();
    }
  }
  if (run.interrupted) await new Promise(() => {}); // abort() is exiting

  writeReport(run, results, started);
  clearTimeout(deadline);
  return failed || results.errors.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2), (code) => process.exit(code));
