#!/usr/bin/env node
// Builds dist/embedded-template-pglite-<version>.tar.gz: a PGlite data directory made by
// initdb, migrated with core's migrations and shut down cleanly. A new embedded database
// is unpacked from it (see src/database/embedded-template.ts) instead of running initdb
// on the user's machine. Run after `tsc` (it uses dist/migrate.js); skipped when the
// template is newer than the compiled migrations.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { TEMPLATE_FILE_PREFIX } = await import(join(dist, 'database', 'embedded-template.js'));
const { migrateToLatest } = await import(join(dist, 'migrate.js'));

const require = createRequire(import.meta.url);
const pgliteManifest = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
const { version } = JSON.parse(readFileSync(pgliteManifest, 'utf8'));
const target = join(dist, `${TEMPLATE_FILE_PREFIX}${version}.tar.gz`);

// The search index is built by migrate.js after the migrations (search/search-index.js).
const inputs = [
  join(dist, 'migrate.js'),
  ...listFiles(join(dist, 'migrations')),
  ...listFiles(join(dist, 'search')),
];
const newestInput = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
let current = false;
try {
  current = statSync(target).mtimeMs > newestInput;
} catch {
  // Not built yet.
}
if (current && !process.argv.includes('--force')) process.exit(0);

const { PGlite } = await import('@electric-sql/pglite');
const { Kysely } = await import('kysely');
const { PGliteDialect } = await import('kysely-pglite-dialect');
const work = mkdtempSync(join(tmpdir(), 'messenger-template-'));
try {
  const pgdata = join(work, 'pgdata');
  const pglite = await PGlite.create(pgdata);
  const db = new Kysely({ dialect: new PGliteDialect(pglite) });
  const { applied } = await migrateToLatest(db);
  await db.destroy(); // closes PGlite: a shutdown checkpoint, so no recovery on first open
  for (const f of readdirSync(dist)) {
    if (f.startsWith(TEMPLATE_FILE_PREFIX)) rmSync(join(dist, f));
  }
  writeFileSync(target, gzipSync(tar(pgdata), { level: 9 }));
  console.log(
    `${relative(process.cwd(), target)}: PGlite ${version}, migrations ${applied.join(', ')} (${(statSync(target).size / 1e6).toFixed(1)} MB)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

/** A ustar archive of the regular files and directories under `root`, in sorted order. */
function tar(root) {
  const blocks = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(dir, e.name);
      const name = relative(root, path);
      if (e.isDirectory()) {
        blocks.push(header(`${name}/`, 0, '5'));
        walk(path);
      } else if (e.isFile()) {
        const data = readFileSync(path);
        blocks.push(
          header(name, data.length, '0'),
          data,
          Buffer.alloc((512 - (data.length % 512)) % 512),
        );
      } else {
        throw new Error(`unexpected entry in the data directory: ${path}`);
      }
    }
  };
  walk(root);
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function header(name, size, type) {
  if (Buffer.byteLength(name) > 100) throw new Error(`path too long for the template: ${name}`);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(type === '5' ? '0000700\0' : '0000600\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}
