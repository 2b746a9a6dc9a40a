#!/usr/bin/env node
// Runs the vitest suite, then prints one closing line `N passed, M failed, K skipped`.
// Under REQUIRE_POSTGRES=1 a skipped test fails the run: the PostgreSQL suite must not vanish silently.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const resultsFile = '.test-results/vitest.json';
rmSync(resultsFile, { force: true });
const vitest = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const run = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
});

let results;
try {
  results = JSON.parse(readFileSync(resultsFile, 'utf8'));
} catch {
  console.error(`test runner wrote no results (exit ${run.status ?? run.signal})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = results.numPassedTests;
const failed = results.numFailedTests;
const skipped = results.numPendingTests + (results.numTodoTests ?? 0);
let ok = run.status === 0 && results.success && failed === 0;
if (process.env.REQUIRE_POSTGRES === '1' && skipped > 0) {
  const names = results.testResults.flatMap((f) =>
    f.assertionResults
      .filter((a) => a.status !== 'passed' && a.status !== 'failed')
      .map((a) => a.fullName),
  );
  console.error(
    `REQUIRE_POSTGRES=1: ${skipped} skipped test(s) count as failures:\n  ${names.join('\n  ')}`,
  );
  ok = false;
}
if (passed === 0) {
  console.error('no test ran');
  ok = false;
}
// Errors outside any test (an unhandled rejection, a crashed worker) fail the run too: count them.
const failedCount = Math.max(failed, ok ? 0 : 1);
console.log(`${passed} passed, ${failedCount} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
