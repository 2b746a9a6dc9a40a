import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * A new embedded database is not made with initdb (≈ 2.5–3 s in PGlite) but copied
 * from a template: a PGlite data directory made when core was built, migrated, shut
 * down cleanly and packed as a gzip'd tar (≈ 4 MB) in `dist/`. Its name carries the
 * PGlite version that made it; any other PGlite ignores it and runs initdb as before.
 * Migrations added after the template was made are applied on open, as for any
 * existing database.
 */
export const TEMPLATE_FILE_PREFIX = 'embedded-template-pglite-';

/** The template for the installed PGlite, or `undefined` when there is none. */
export function findEmbeddedTemplate(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pgliteEntry = require.resolve('@electric-sql/pglite');
    const manifest = join(dirname(pgliteEntry), '..', 'package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? templatePath(version) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the template for PGlite `version` is: in `dist/` beside this module, or,
 * when core is bundled into another program (the `msg` command), in the installed
 * `@messenger/core` package.
 */
function templatePath(version: string): string | undefined {
  const name = `${TEMPLATE_FILE_PREFIX}${version}.tar.gz`;
  const here = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (existsSync(join(here, name))) return join(here, name);
  try {
    const core = dirname(createRequire(import.meta.url).resolve('@messenger/core'));
    if (existsSync(join(core, name))) return join(core, name);
  } catch {
    // Not installed as a package: no template.
  }
  return undefined;
}

/**
 * Unpacks a gzip'd ustar archive of regular files and directories into `dir`, which
 * must not exist yet or be empty. Anything else in the archive (links, devices,
 * paths that leave `dir`) is refused: the archive is ours, but unpacking stays safe.
 */
export function extractTarGz(archive: Buffer, dir: string): void {
  const tar = gunzipSync(archive);
  mkdirSync(dir, { recursive: true });
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const path = normalize(prefix ? `${prefix}/${name}` : name).replace(/^(\.\/|\/)+/, '');
    if (path === '' || path === '.' || path.split(sep).includes('..') || Number.isNaN(size)) {
      throw new Error(`embedded template: bad entry ${JSON.stringify(name)}`);
    }
    const body = offset + 512;
    if (type === '5') mkdirSync(join(dir, path), { recursive: true });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeSparse(join(dir, path), tar.subarray(body, body + size));
    } else {
      throw new Error(`embedded template: unsupported entry type ${JSON.stringify(type)}`);
    }
    offset = body + Math.ceil(size / 512) * 512;
  }
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/**
 * Writes `data`, leaving its trailing zeros as a hole that reads back as zeros: the
 * 16 MB WAL segment is mostly zeros, as are the ends of many relation files (about a
 * third of the template's 39 MB), and a first run need not write them.
 */
function writeSparse(path: string, data: Buffer): void {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  writeFileSync(path, data.subarray(0, end), { mode: 0o600 });
  if (end < data.length) truncateSync(path, data.length);
}
