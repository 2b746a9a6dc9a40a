#!/usr/bin/env node
// Bundles the `msg` command (dist/main.js, compiled by tsc) into dist/msg.js plus lazy chunks,
// so that a run loads a handful of files instead of resolving and reading several hundred
// (kysely alone ships ~400 ES modules). What each transport needs stays in its own chunk:
// `msg --api …` never loads the database drivers, the embedded database never loads undici.
// PGlite stays outside (it finds its WebAssembly and data files beside itself), and so does
// @messenger/server (`msg serve` only).
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

rmSync(join(root, 'dist', 'chunks'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { msg: 'dist/main.js' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: ['@electric-sql/pglite', '@messenger/server', 'pg-native'],
  // CommonJS dependencies (pg, undici, commander) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __msgCreateRequire } from 'node:module'; const require = __msgCreateRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});
// Which chunk holds which module: the bundle's own test reads it (not published).
writeFileSync(join(root, 'dist', 'msg.meta.json'), JSON.stringify(result.metafile));
if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile));
}
