import {
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncReturns,
  spawnSync,
} from 'node:child_process';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { canConnect, type RunningProcess, repoRoot, startProcess, waitFor } from './processes.js';

/** The repository's nginx template: the one source of the proxy configuration. */
export const nginxTemplatePath: string = join(repoRoot, 'nginx', 'messenger.conf.template');

/** Values of the template's `${MESSENGER_…}` placeholders; a list repeats its line once per item. */
export type NginxValues = Readonly<Record<string, string | readonly string[]>>;

const PLACEHOLDER = /\$\{(MESSENGER_[A-Z0-9_]+)\}/g;

/**
 * Renders the template as the nginx image's envsubst does for docker-compose (only
 * `${MESSENGER_…}` placeholders; nginx's own `$variables` stay), with one addition for local
 * upstreams: a line whose placeholder has a list of values is repeated once per value. Fails on a
 * placeholder without a value, so a renamed placeholder cannot slip through.
 */
export function renderNginxTemplate(template: string, values: NginxValues): string {
  const lines: string[] = [];
  for (const line of template.split('\n')) {
    const names = [...line.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
    for (const name of names) {
      if (!(name in values)) throw new Error(`nginx template: no value for \${${name}}`);
    }
    const listName = names.find((n) => Array.isArray(values[n]));
    const items = listName === undefined ? [undefined] : (values[listName] as readonly string[]);
    if (items.length === 0) throw new Error(`nginx template: empty list for \${${listName}}`);
    for (const item of items) {
      lines.push(
        line.replace(PLACEHOLDER, (_, name: string) => {
          const value = values[name];
          return name === listName ? (item as string) : String(value);
        }),
      );
    }
  }
  return lines.join('\n');
}

/** The nginx binary: `$NGINX_BIN`, else Debian's `/usr/sbin/nginx`, else `nginx` on the PATH. */
export function nginxBinary(): string {
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
  throw new Error('nginx not found: install Debian package nginx (or set NGINX_BIN)');
}

/** `nginx -v` of {@link nginxBinary}, e.g. `nginx/1.22.1`. */
export function nginxVersion(): string {
  const run = spawnSync(nginxBinary(), ['-v'], { encoding: 'utf8', timeout: 5_000 });
  return /nginx\/\S+/.exec(run.stderr ?? '')?.[0] ?? 'unknown';
}

/** Settings of a local nginx in front of local replicas. */
export interface LocalNginxOptions {
  /** `host:port` of each replica (the write pool, and the read pool unless `readUpstreams`). */
  readonly upstreams: readonly string[];
  /** `host:port` of each replica of the read pool (`ROLE=read`); default `upstreams`. */
  readonly readUpstreams?: readonly string[];
  /** Port to listen on, on 127.0.0.1. */
  readonly port: number;
  readonly rateLimit?: string;
  readonly rateBurst?: number;
}

/** Placeholder values for nginx on 127.0.0.1 in front of local replicas. */
export function localNginxValues(dir: string, options: LocalNginxOptions): NginxValues {
  return {
    MESSENGER_LISTEN: `127.0.0.1:${options.port}`,
    MESSENGER_WRITE_UPSTREAM_SERVER: options.upstreams,
    MESSENGER_READ_UPSTREAM_SERVER: options.readUpstreams ?? options.upstreams,
    MESSENGER_ACCESS_LOG: join(dir, 'access.log'),
    // Tests send bursts from one address; the rate limit itself is tested with low values.
    MESSENGER_RATE_LIMIT: options.rateLimit ?? '1000r/s',
    MESSENGER_RATE_BURST: String(options.rateBurst ?? 1000),
  };
}

/**
 * Writes `nginx.conf` into `dir`: a minimal main configuration (pid, error log and temporary
 * files all in `dir`) whose `http` block includes `site` (the rendered template), as the nginx
 * image's own nginx.conf includes conf.d/. Returns the path of nginx.conf.
 */
export function writeNginxConf(dir: string, site: string): string {
  // Workers run as `nobody` when nginx starts as root: they must reach the temp directories.
  chmodSync(dir, 0o755);
  const sitePath = join(dir, 'messenger.conf');
  writeFileSync(sitePath, site);
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(
    confPath,
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} notice;`,
      // As many as a default open-file limit (1024) allows: the bench's load generator opens dozens.
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
  return confPath;
}

/** Result of `nginx -t`. */
export interface NginxTestResult {
  readonly status: number | null;
  readonly output: string;
}

/**
 * `nginx -t` on `confPath`. With `hosts`, it runs in a private mount namespace whose /etc/hosts
 * is replaced by those lines, so names that only exist elsewhere (docker's `web`) resolve.
 */
export function nginxConfigTest(
  confPath: string,
  dir: string,
  options: { hosts?: readonly string[] } = {},
): NginxTestResult {
  const nginxArgs = ['-t', '-q', '-e', 'stderr', '-p', dir, '-c', confPath];
  // stdout is a file: nginx opens /dev/stdout (compose's access log), which fails on a socket.
  const stdout = openSync(join(dir, 'stdout'), 'w');
  const spawnOptions: SpawnSyncOptionsWithStringEncoding = {
    encoding: 'utf8',
    timeout: 15_000,
    stdio: ['ignore', stdout, 'pipe'],
  };
  let run: SpawnSyncReturns<string>;
  if (options.hosts) {
    const hostsFile = join(dir, 'hosts');
    writeFileSync(hostsFile, `127.0.0.1 localhost\n${options.hosts.join('\n')}\n`);
    run = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$0" /etc/hosts && exec "$@"',
        hostsFile,
        nginxBinary(),
        ...nginxArgs,
      ],
      spawnOptions,
    );
  } else {
    run = spawnSync(nginxBinary(), nginxArgs, spawnOptions);
  }
  closeSync(stdout);
  return { status: run.status, output: `${run.stderr ?? ''}${run.error ? String(run.error) : ''}` };
}

/** One line of the JSON access log (`log_format messenger_json`). */
export interface AccessLogEntry {
  time: string;
  request_id: string;
  method: string;
  uri: string;
  status: number;
  upstream_addr: string;
  upstream_status: string;
  [key: string]: unknown;
}

/** nginx running in the foreground from a temporary directory. */
export interface RunningNginx {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly process: RunningProcess;
  /** Every access log entry so far. */
  accessLog(): AccessLogEntry[];
  /** The error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Renders the repository's template for local upstreams, checks it with `nginx -t`, starts
 * `nginx -g 'daemon off;'` and waits until it answers on `127.0.0.1:port`.
 */
export async function startLocalNginx(options: LocalNginxOptions): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'messenger-nginx-'));
  const site = renderNginxTemplate(
    readFileSync(nginxTemplatePath, 'utf8'),
    localNginxValues(dir, options),
  );
  const conf = writeNginxConf(dir, site);
  const checked = nginxConfigTest(conf, dir);
  if (checked.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx -t failed:\n${checked.output}`);
  }
  const proc = startProcess(
    'nginx',
    nginxBinary(),
    ['-e', 'stderr', '-p', dir, '-c', conf, '-g', 'daemon off;'],
    { exitSignal: 'SIGTERM' },
  );
  const url = `http://127.0.0.1:${options.port}`;
  const readLog = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  try {
    await waitFor(
      `nginx on port ${options.port}`,
      async () => {
        if (proc.exit()) throw new Error('nginx exited');
        return canConnect(options.port);
      },
      { timeoutMs: 10_000 },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.output()}${readLog('error.log')}`);
  }
  return {
    port: options.port,
    url,
    dir,
    process: proc,
    // Only whole lines: nginx may be writing the last one while it is read (a CI run once read
    // half a line), so what follows the last newline is left for the next read.
    accessLog: () =>
      readLog('access.log')
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as AccessLogEntry),
    errorLog: () => readLog('error.log'),
    stop: async () => {
      // SIGTERM, nginx's fast shutdown: the master ends its workers, then itself. (A SIGKILLed
      // master would leave its workers running.)
      await proc.stop('SIGTERM', 5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
