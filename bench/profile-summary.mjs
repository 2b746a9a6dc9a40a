#!/usr/bin/env node
// Where a V8 .cpuprofile spent its time (node --cpu-prof; `npm run bench -- --profile` writes
// them to bench/results/profiles/).
// usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]
import { parseArgs } from 'node:util';
import { summarizeProfile } from './lib/cpu-profile.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1 || !(Number(values.top) > 0)) {
  process.stderr.write('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
process.stdout.write(`${summarizeProfile(positionals[0], Number(values.top))}\n`);
