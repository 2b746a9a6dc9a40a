#!/usr/bin/env node
// Bundles the `msg` command (dist/main.js, compiled by tsc) into dist/msg.js plus lazy chunks,
// so that a run loads a handful of files instead of resolving and reading several hundred
// (kysely alone ships ~400 ES modules). What each transport needs stays in its own chunk:
// `msg --api …` never loads the database drivers, the embedded database never loads undici.
// PGlite stays outside (it finds its WebAssembly and data files beside itself), and so does
// @messenger/server (`msg serve` only).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * undici's Agent and `request` without the rest of undici (see src/client/undici-http.ts and
 * scripts/undici-http.bundle.js): the bundle uses the stand-in, taken from inside the one undici
 * version that package.json pins. The build fails, rather than a user's run, when the installed
 * undici is another version or its modules have moved.
 */
function undiciParts() {
  const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies.undici;
  const require = createRequire(join(root, 'package.json'));
  const undiciDir = dirname(require.resolve('undici/package.json'));
  const installed = JSON.parse(readFileSync(join(undiciDir, 'package.json'), 'utf8')).version;
  if (installed !== pinned) {
    throw new Error(
      `bundle: undici ${installed} is installed but package.json pins ${JSON.stringify(pinned)}; the bundle takes undici's parts from the pinned version only`,
    );
  }
  for (const part of [
    'lib/dispatcher/agent.js',
    'lib/api/api-request.js',
    'lib/dispatcher/client-h2.js',
  ]) {
    if (!existsSync(join(undiciDir, part))) {
      throw new Error(
        `bundle: undici ${installed} has no ${part}: update scripts/undici-http.bundle.js`,
      );
    }
  }
  const standIn = join(root, 'scripts', 'undici-http.bundle.js');
  return {
    name: 'undici-parts',
    setup(b) {
      b.onResolve({ filter: /^\.\/undici-http\.js$/ }, () => ({ path: standIn }));
      // HTTP/2: undici loads node:http2 (and with it tls and crypto) up front for it, and
      // uses it only for a dispatcher made with `allowH2`, which msg never makes.
      b.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/ }, () => ({
        contents:
          "module.exports = function connectH2() { throw new Error('msg does not use HTTP/2'); };",
        loader: 'js',
      }));
    },
  };
}

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
  plugins: [undiciParts()],
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
