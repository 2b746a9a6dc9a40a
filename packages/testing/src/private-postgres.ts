import { execFile } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { freePort, type RunningProcess, startProcess, waitFor } from './processes.js';

/**
 * The directory of PostgreSQL's server programs (`initdb`, `postgres`, `pg_ctl`): `$PG_BIN`, else
 * the newest Debian `/usr/lib/postgresql/<version>/bin`, else the directory on the PATH that has
 * `initdb`. `undefined` when there is none.
 */
export function postgresBinDir(): string | undefined {
  const debian = (() => {
    try {
      return readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join('/usr/lib/postgresql', v, 'bin'));
    } catch {
      return [];
    }
  })();
  const candidates = [process.env.PG_BIN, ...debian, ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      for (const program of ['initdb', 'postgres', 'pg_ctl'])
        accessSync(join(dir, program), constants.X_OK);
      return dir;
    } catch {}
  }
  return undefined;
}

/** A PostgreSQL cluster of the test's own: its own data directory, port and socket directory. */
export interface PrivatePostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string;
  readonly dataDir: string;
  /** Whether the postmaster is running. */
  running(): boolean;
  /** `pg_ctl stop -m <mode>`: waits until the postmaster has exited. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** Starts the postmaster again on the same port and data; waits until it accepts queries. */
  start(): Promise<void>;
  /** What the postmasters printed so far. */
  log(): string;
  /** Stops it (immediately) and deletes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * How to run PostgreSQL's programs: as they are, or (as root, which PostgreSQL refuses) through
 * `setpriv` as the `postgres` OS user. setpriv execs in place, so signals reach the program itself.
 */
function asPostgresUser(): {
  wrap: (program: string, args: readonly string[]) => [string, string[]];
  uid?: number;
  gid?: number;
} {
  if (process.getuid?.() !== 0) return { wrap: (program, args) => [program, [...args]] };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root, and there is no "postgres" OS user to run PostgreSQL as');
  }
  return {
    wrap: (program, args) => [
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', program, ...args],
    ],
    uid: Number(uid),
    gid: Number(gid),
  };
}

/**
 * initdb's a throw-away cluster in a temporary directory and starts its postmaster on a free
 * port of 127.0.0.1 (fsync off: nothing here must survive an OS crash). PostgreSQL refuses to
 * run as root: as root, every program runs as the `postgres` OS user. The machine's shared
 * cluster is never touched, so a test may stop and start this one at will.
 */
export async function startPrivatePostgres(
  options: { binDir?: string; settings?: Readonly<Record<string, string>> } = {},
): Promise<PrivatePostgres> {
  return startCluster(options, (run, dataDir) =>
    run(
      'initdb',
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      30_000,
    ),
  );
}

/**
 * A streaming standby of a private `primary` (PostgreSQL's own replication: `pg_basebackup -R`
 * copies it and writes the standby settings), on its own port, answering read-only queries
 * (hot standby). The primary needs `wal_level` replica or more (PostgreSQL's default) and
 * allows replication connections from 127.0.0.1 (initdb's default with trust authentication).
 * `pg_wal_replay_pause()` / `pg_wal_replay_resume()` on it make lag on demand.
 */
export async function startPrivateStandby(
  primary: PrivatePostgres,
  options: { binDir?: string; settings?: Readonly<Record<string, string>> } = {},
): Promise<PrivatePostgres> {
  return startCluster(options, (run, dataDir) =>
    run(
      'pg_basebackup',
      [
        ...['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'],
        ...['-D', dataDir, '-R', '-X', 'stream', '--no-sync', '-c', 'fast'],
      ],
      60_000,
    ),
  );
}

type RunProgram = (program: string, args: readonly string[], timeoutMs: number) => Promise<string>;

async function startCluster(
  options: { binDir?: string; settings?: Readonly<Record<string, string>> },
  create: (run: RunProgram, dataDir: string) => Promise<unknown>,
): Promise<PrivatePostgres> {
  const bin = options.binDir ?? postgresBinDir();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL server programs (initdb, postgres, pg_ctl) not found: install Debian package postgresql (or set PG_BIN)',
    );
  }
  const user = asPostgresUser();
  const root = mkdtempSync(join(tmpdir(), 'messenger-pg-'));
  if (user.uid !== undefined && user.gid !== undefined) chownSync(root, user.uid, user.gid);
  const dataDir = join(root, 'data');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' };

  const run: RunProgram = (program, args, timeoutMs) =>
    new Promise<string>((resolve, reject) => {
      const [command, argv] = user.wrap(join(bin, program), args);
      execFile(command, argv, { cwd: root, env, timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${program} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(`${stdout}${stderr}`);
      });
    });

  let port = 0;
  let postmaster: RunningProcess | undefined;
  let history = '';
  const launch = async () => {
    if (postmaster) history += postmaster.output();
    const settings = {
      fsync: 'off',
      full_page_writes: 'off',
      listen_addresses: '127.0.0.1',
      unix_socket_directories: root,
      max_connections: '50',
      ...options.settings,
    };
    const [command, argv] = user.wrap(join(bin, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ]);
    postmaster = startProcess(`postgres:${port}`, command, argv, {
      env,
      cwd: root,
      exitSignal: 'SIGQUIT',
    });
    const proc = postmaster;
    await waitFor(
      `PostgreSQL on port ${port}`,
      async () => {
        if (proc.exit()) throw new Error(`postgres exited:\n${proc.output()}`);
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('select 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  };

  let url = '';
  try {
    await create(run, dataDir);
    port = await freePort();
    url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await launch();
  } catch (err) {
    await postmaster?.stop('SIGQUIT', 2_000);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  let destroyed = false;
  return {
    port,
    url,
    dataDir,
    running: () => postmaster !== undefined && postmaster.exit() === undefined,
    async stop(mode = 'fast') {
      const proc = postmaster;
      if (!proc || proc.exit()) return;
      await run('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '20'], 25_000);
      await proc.exited;
    },
    async start() {
      if (postmaster && !postmaster.exit()) throw new Error('PostgreSQL is already running');
      await launch();
    },
    log: () => history + (postmaster?.output() ?? ''),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      // SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL after the grace period.
      await postmaster?.stop('SIGQUIT', 3_000);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
