// The production topology on 127.0.0.1 for the fault tests: a schema of its own in the
// DATABASE_URL database, `messenger-server` replicas (the real bin) and the repository's nginx
// template rendered for them.
import { join } from 'node:path';
import {
  freePort,
  freshPostgresSchema,
  type PostgresSchema,
  type RunningNginx,
  type RunningProcess,
  repoRoot,
  startLocalNginx,
  startProcess,
  stopAll,
  waitUntilAnswering,
} from '@messenger/testing';
import pg from 'pg';
import { Agent } from 'undici';
import { afterAll, beforeAll } from 'vitest';

export const serverBin = join(repoRoot, 'packages/server/bin/messenger-server.js');

/** Replicas behind nginx, and a direct connection to their database. */
export interface Topology {
  readonly schema: PostgresSchema;
  readonly db: pg.Client;
  readonly nginx: RunningNginx;
  readonly ports: readonly number[];
  /** The process on each port (replaced by {@link Topology.startReplica}). */
  readonly replicas: RunningProcess[];
  /** Starts `messenger-server` on ports[i] and waits until its /readyz answers 200. */
  startReplica(i: number): Promise<RunningProcess>;
  /** `host:port` of replica i, as nginx's access log names it. */
  address(i: number): string;
  /** Stops everything and drops the schema; safe after a failed start. */
  close(): Promise<void>;
}

/**
 * Starts `count` replicas and nginx in front of them. The replicas run in open mode (the
 * fault tests send as anyone) unless `replicaEnv` says otherwise.
 */
export async function startTopology(
  count: number,
  replicaEnv: Record<string, string> = {},
): Promise<Topology> {
  const schema = await freshPostgresSchema();
  let db: pg.Client | undefined;
  let nginx: RunningNginx | undefined;
  const close = async () => {
    await nginx?.stop();
    await stopAll();
    await db?.end().catch(() => {});
    await schema.drop();
  };
  try {
    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...process.env,
      DATABASE_URL: schema.url,
      LOG_LEVEL: 'warn',
      DB_POOL_MAX: '4',
      AUTH: 'open',
      ...replicaEnv,
      ...extra,
    });
    const migrate = startProcess('migrate', process.execPath, [serverBin, 'migrate'], {
      env: env(),
    });
    const migrated = await migrate.exited;
    if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrate.output()}`);

    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const replicas: RunningProcess[] = [];
    const startReplica = async (i: number) => {
      const port = ports[i] as number;
      const replica = startProcess(`web:${port}`, process.execPath, [serverBin], {
        env: env({ PORT: String(port), HOST: '127.0.0.1' }),
      });
      replicas[i] = replica;
      await waitUntilAnswering(replica, `http://127.0.0.1:${port}/readyz`, {
        timeoutMs: 15_000,
        probeTimeoutMs: 500,
      });
      return replica;
    };
    await Promise.all(ports.map((_, i) => startReplica(i)));
    nginx = await startLocalNginx({
      upstreams: ports.map((p) => `127.0.0.1:${p}`),
      port: await freePort(),
    });
    db = new pg.Client({ connectionString: schema.url });
    await db.connect();
    return {
      schema,
      db,
      nginx,
      ports,
      replicas,
      startReplica,
      address: (i) => `127.0.0.1:${ports[i]}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A suite's topology, started before its first test and stopped after its last. */
export interface TopologySuite {
  /** The running topology; fails when called before `beforeAll` or after a failed start. */
  topology(): Topology;
  /** A client pool for the suite's load (16 connections), closed after the suite. */
  readonly agent: Agent;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that start {@link startTopology}`(count, env)` and
 * stop it.
 */
export function useTopology(count: number, env: Record<string, string> = {}): TopologySuite {
  let topology: Topology | undefined;
  const agent = new Agent({ connections: 16 });
  beforeAll(async () => {
    topology = await startTopology(count, env);
  }, 45_000);
  afterAll(async () => {
    await agent.close().catch(() => {});
    await topology?.close();
  });
  return {
    topology: () => {
      if (!topology) throw new Error('the topology is not running');
      return topology;
    },
    agent,
  };
}

/** How often each content is stored for `sender`: `content → ids`. */
export async function storedBySender(
  db: pg.Client,
  sender: string,
): Promise<Map<string, number[]>> {
  const { rows } = await db.query<{ message_content: string; ids: string[] }>(
    `select message_content, array_agg(id order by id) as ids from messages
      where sender = $1 group by message_content`,
    [sender],
  );
  return new Map(rows.map((r) => [r.message_content, r.ids.map(Number)]));
}
