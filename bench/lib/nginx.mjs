// nginx in front of one messenger-server, from the repository's own template
// (nginx/messenger.conf.template). The renderer and the minimal main nginx.conf mirror
// packages/testing/src/nginx.ts (TypeScript source, which plain `node` cannot import).
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { canConnect, onCleanUp, repoRoot, runTimed, startProcess, waitFor } from './processes.mjs';

const PLACEHOLDER = /\$\{(MESSENGER_[A-Z0-9_]+)\}/g;

/** `${MESSENGER_…}` substitution; a line whose placeholder has a list repeats once per item. */
export function renderTemplate(template, values) {
  const lines = [];
  for (const line of template.split('\n')) {
    const names = [...line.matchAll(PLACEHOLDER)].map((m) => m[1]);
    for (const name of names) {
      if (!(name in values)) throw new Error(`nginx template: no value for \${${name}}`);
    }
    const listName = names.find((n) => Array.isArray(values[n]));
    const items = listName === undefined ? [undefined] : values[listName];
    for (const item of items) {
      lines.push(line.replace(PLACEHOLDER, (_, n) => (n === listName ? item : String(values[n]))));
    }
  }
  return lines.join('\n');
}

/** `$NGINX_BIN`, Debian's /usr/sbin/nginx, or nginx on the PATH; undefined when there is none. */
export function nginxBinary() {
  const candidates = [
    process.env.NGINX_BIN,
    '/usr/sbin/nginx',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nginx')),
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

/** `nginx -v`, e.g. `nginx/1.22.1`. */
export async function nginxVersion(bin) {
  const r = await runTimed(bin, ['-v'], { timeoutMs: 5000 });
  return (r.stderr.match(/nginx\/\S+/) ?? ['unknown'])[0];
}

/**
 * Starts nginx on 127.0.0.1:port in front of `upstream` (`127.0.0.1:port`), with the template's
 * every directive (keep-alive upstream, JSON access log, request ids, rate limiting). The rate
 * limit is set so high that it never rejects: the bench measures the proxy, not the limit.
 */
export async function startNginx(bin, { port, upstream }) {
  const dir = mkdtempSync(join(tmpdir(), 'messenger-bench-nginx-'));
  onCleanUp(() => rmSync(dir, { recursive: true, force: true }));
  // Workers run as `nobody` when nginx starts as root: they must reach the temporary directories.
  chmodSync(dir, 0o755);
  const site = renderTemplate(
    readFileSync(join(repoRoot, 'nginx', 'messenger.conf.template'), 'utf8'),
    {
      MESSENGER_LISTEN: `127.0.0.1:${port}`,
      MESSENGER_UPSTREAM_SERVER: [upstream],
      MESSENGER_ACCESS_LOG: join(dir, 'access.log'),
      MESSENGER_RATE_LIMIT: '1000000r/s',
      MESSENGER_RATE_BURST: '1000000',
    },
  );
  const sitePath = join(dir, 'messenger.conf');
  writeFileSync(sitePath, site);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      `    client_body_temp_path ${join(dir, 'client_body')};`,
      `    proxy_temp_path ${join(dir, 'proxy')};`,
      `    fastcgi_temp_path ${join(dir, 'fastcgi')};`,
      `    uwsgi_temp_path ${join(dir, 'uwsgi')};`,
      `    scgi_temp_path ${join(dir, 'scgi')};`,
      '    default_type application/octet-stream;',
      `    include ${sitePath};`,
      '}',
      '',
    ].join('\n'),
  );
  const proc = startProcess(
    'nginx',
    bin,
    ['-e', 'stderr', '-p', dir, '-c', conf, '-g', 'daemon off;'],
    {
      stopSignal: 'SIGTERM',
    },
  );
  try {
    await waitFor(`nginx on port ${port}`, async () => {
      if (proc.exit()) throw new Error(`nginx exited: ${proc.output()}`);
      return canConnect(port);
    });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, process: proc, dir };
}
