import { createRequire } from 'node:module';

/**
 * This package's version. Read through the package's own name (a self-reference), which
 * works from `dist/` and from the chunks of the bundled `msg` alike.
 */
export const version: string = (
  createRequire(import.meta.url)('@messenger/cli/package.json') as { version: string }
).version;
