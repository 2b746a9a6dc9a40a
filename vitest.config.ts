import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Generous: CLI tests spawn processes that open PGlite (seconds each on a loaded 2-core machine).
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // PGlite takes ~350 MB and a few seconds per instance; two cores.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
