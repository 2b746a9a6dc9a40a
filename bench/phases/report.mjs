// Report: the results object every phase fills in, and at the end the markdown on stdout, and
// latest.{md,json} and list-latency.svg (and profiles/summary.txt) in the results directory.
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { summarizeProfile } from '../lib/cpu-profile.mjs';
import { evaluateTargets, toMarkdown } from '../lib/report.mjs';
import { listLatencySvg } from '../lib/svg.mjs';

/** The results of a run that has not measured anything yet (the layout of latest.json). */
export function emptyResults(options) {
  return {
    generated: new Date().toISOString(),
    mode: options.mode,
    machine: {},
    settings: options.settings,
    // The 1-minute load average before and after: other work on the machine skews every figure.
    loadAverage: { start: +loadavg()[0].toFixed(2), end: undefined },
    http: {},
    growth: [],
    writePath: null,
    live: null,
    search: null,
    cli: [],
    targets: [],
    errors: [],
  };
}

/** `dir` as the log shows it: relative to the working directory when it lies below it. */
const shown = (dir) => {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
};

const write = (dir, name, text) => {
  const tmp = join(dir, `${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
};

/**
 * Completes `results` (load average, targets, elapsed time), prints the markdown and writes
 * the files; a partial run (--only) writes none but the profile summary.
 */
export function writeReport(run, results, started) {
  const { options, log } = run;
  results.loadAverage.end = +loadavg()[0].toFixed(2);
  results.targets = evaluateTargets(results);
  results.elapsedS = Math.round((Date.now() - started) / 1000);
  const markdown = toMarkdown(results);
  process.stdout.write(`\n${markdown}\n`);

  if (options.profile) {
    // Profiles are written as the processes exit, which the clean-up has waited for.
    const summaries = readdirSync(options.profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .map((f) => summarizeProfile(join(options.profileDir, f), 20));
    write(options.profileDir, 'summary.txt', summaries.join('\n\n'));
    log(`profiles and summary.txt in ${shown(options.profileDir)}/`);
  }
  if (options.partial) {
    log(
      `done in ${results.elapsedS} s (partial run: ${shown(options.resultsDir)}/latest.* left as they were)`,
    );
    return;
  }
  mkdirSync(options.resultsDir, { recursive: true });
  write(options.resultsDir, 'latest.json', `${JSON.stringify(results, null, 2)}\n`);
  write(options.resultsDir, 'latest.md', markdown);
  if (results.growth.length > 0) {
    write(options.resultsDir, 'list-latency.svg', listLatencySvg(results));
  }
  log(`done in ${results.elapsedS} s; results in ${shown(options.resultsDir)}/`);
}
