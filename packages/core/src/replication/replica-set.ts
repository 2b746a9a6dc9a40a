import { type Kysely, sql } from 'kysely';
import type { Connection } from '../database/connection.js';
import type { Database } from '../message.table.js';
import { formatWalPosition, parseWalPosition } from './wal-position.js';

/** Read-replica settings of {@link openMessenger} (`readUrls`). Every field is optional. */
export interface ReplicationOptions {
  /** A replica further behind the primary than this, in ms, takes no reads until it catches up (default 5000). */
  readonly maxLagMs?: number | undefined;
  /**
   * How long a read that asks for a position waits for a replica to replay that far before it
   * goes to the primary, in ms (default 50).
   */
  readonly readWaitMs?: number | undefined;
  /** How often each replica's replay position and the primary's position are read, in ms (default 200). */
  readonly checkIntervalMs?: number | undefined;
}

/**
 * One read replica as the process sees it, from its last health check:
 * - `starting`: not checked yet (takes no reads);
 * - `up`: answering, at most `maxLagMs` behind: takes reads;
 * - `lagging`: answering, but further behind than `maxLagMs`, or its replay is paused: no reads;
 * - `down`: not answering, or not a standby (a read there failed, or the check did).
 */
export interface ReplicaStatus {
  /** `host:port/database`, without credentials. */
  readonly where: string;
  readonly state: 'starting' | 'up' | 'lagging' | 'down';
  /** How far behind the primary it is, in ms (`null` while unknown). */
  readonly lagMs: number | null;
  /** The WAL position it has replayed (`pg_last_wal_replay_lsn()`), `null` while unknown. */
  readonly replayPosition: string | null;
  /** Reads it has served since the process started. */
  readonly reads: number;
  /** Why it is `down` or `lagging`. */
  readonly reason?: string | undefined;
}

interface Replica {
  readonly conn: Connection;
  state: ReplicaStatus['state'];
  replay: bigint | undefined;
  lagMs: number | null;
  reads: number;
  reason: string | undefined;
  checking: boolean;
}

/** The primary's position at a moment: how a replica's lag is measured without clocks. */
interface Sample {
  readonly at: number;
  readonly position: bigint;
}

const DEFAULTS = { maxLagMs: 5000, readWaitMs: 50, checkIntervalMs: 200 };
/** A check that takes longer than this counts as a replica down. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * Routes reads between PostgreSQL streaming replicas and the primary. Each replica's replay
 * position is read on a timer (one query per replica per interval, never one per request),
 * along with the primary's current position; a replica's lag is how long ago the primary
 * first reached a position the replica has not replayed. Writes, migrations and LISTEN never
 * come here: they stay on the primary (a standby cannot LISTEN, and NOTIFY is not replicated).
 */
export class ReplicaSet {
  readonly #primary: Kysely<Database>;
  readonly #replicas: Replica[];
  readonly #onError: (err: unknown) => void;
  readonly #maxLagMs: number;
  readonly #readWaitMs: number;
  readonly #samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;
  #next = 0;
  /** The check in flight, shared by every read waiting for a replica to catch up. */
  #checking: Promise<void> | undefined;
  #closed = false;

  constructor(
    primary: Connection,
    replicas: readonly Connection[],
    options: ReplicationOptions,
    onError: (err: unknown) => void,
  ) {
    this.#primary = primary.db;
    this.#replicas = replicas.map((conn) => ({
      conn,
      state: 'starting',
      replay: undefined,
      lagMs: null,
      reads: 0,
      reason: undefined,
      checking: false,
    }));
    this.#onError = onError;
    this.#maxLagMs = options.maxLagMs ?? DEFAULTS.maxLagMs;
    this.#readWaitMs = options.readWaitMs ?? DEFAULTS.readWaitMs;
    const interval = options.checkIntervalMs ?? DEFAULTS.checkIntervalMs;
    this.#timer = setInterval(() => void this.check(), interval);
    this.#timer.unref();
    void this.check();
  }

  /** Each replica's state, lag and replay position, as of the last check. */
  status(): ReplicaStatus[] {
    return this.#replicas.map((r) => ({
      where: r.conn.where,
      state: r.state,
      lagMs: r.lagMs,
      replayPosition: r.replay === undefined ? null : formatWalPosition(r.replay),
      reads: r.reads,
      ...(r.reason !== undefined && { reason: r.reason }),
    }));
  }

  /**
   * Runs a read on a replica that is up and, when `position` is given, has replayed at least
   * that far (waiting up to `readWaitMs` for one to get there); otherwise, or when the replica
   * fails, through `onPrimary`. A failing replica is taken out until a check finds it well:
   * the caller sees no error from it.
   */
  async read<T>(
    fn: (db: Kysely<Database>) => Promise<T>,
    position: bigint | undefined,
    onPrimary: (fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>,
  ): Promise<T> {
    const replica = this.#pick(position) ?? (await this.#waitFor(position));
    if (replica !== undefined) {
      try {
        const result = await fn(replica.conn.db);
        replica.reads++;
        return result;
      } catch (err) {
        this.#markDown(replica, err);
      }
    }
    return onPrimary(fn);
  }

  /** Reads the primary's position and every replica's replay position once. */
  check(): Promise<void> {
    this.#checking ??= this.#checkAll().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#checking?.catch(() => {});
    await Promise.all(this.#replicas.map((r) => r.conn.close().catch(() => {})));
  }

  #pick(position: bigint | undefined): Replica | undefined {
    const n = this.#replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.#replicas[(this.#next + i) % n] as Replica;
      if (r.state !== 'up') continue;
      if (position !== undefined && (r.replay === undefined || r.replay < position)) continue;
      this.#next = (this.#next + i + 1) % n;
      return r;
    }
    return undefined;
  }

  /** A replica that has replayed `position`, if one gets there within `readWaitMs`. */
  async #waitFor(position: bigint | undefined): Promise<Replica | undefined> {
    if (position === undefined || this.#readWaitMs <= 0) return undefined;
    if (!this.#replicas.some((r) => r.state === 'up')) return undefined;
    const deadline = Date.now() + this.#readWaitMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.check(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
      const replica = this.#pick(position);
      if (replica !== undefined) return replica;
    }
  }

  async #checkAll(): Promise<void> {
    if (this.#closed) return;
    await this.#samplePrimary();
    await Promise.all(this.#replicas.map((r) => this.#checkReplica(r)));
  }

  async #samplePrimary(): Promise<void> {
    try {
      const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(
        this.#primary,
      );
      const parsed = parseWalPosition(rows[0]?.lsn, 'pg_current_wal_lsn');
      if (!parsed.ok) return;
      const now = Date.now();
      this.#samples.push({ at: now, position: parsed.value });
      // Older samples can only tell that a replica is further behind than maxLagMs, which the
      // oldest kept sample tells as well.
      while (this.#samples.length > 2 && (this.#samples[1] as Sample).at < now - this.#maxLagMs * 2)
        this.#samples.shift();
    } catch {
      // The primary is down: lag cannot be measured now; the replicas keep their last state.
    }
  }

  async #checkReplica(r: Replica): Promise<void> {
    if (r.checking) return;
    r.checking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const { rows } = await Promise.race([
        sql<{
          standby: boolean;
          lsn: string | null;
        }>`select pg_is_in_recovery() as standby, pg_last_wal_replay_lsn()::text as lsn`.execute(
          r.conn.db,
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
            CHECK_TIMEOUT_MS,
          );
        }),
      ]);
      const row = rows[0];
      if (!row?.standby) {
        this.#set(r, 'down', undefined, null, 'not a standby (pg_is_in_recovery() is false)');
        return;
      }
      const parsed = parseWalPosition(row.lsn, 'pg_last_wal_replay_lsn');
      const replay = parsed.ok ? parsed.value : undefined;
      const lagMs = replay === undefined ? null : this.#lagOf(replay);
      if (replay === undefined) this.#set(r, 'lagging', replay, lagMs, 'nothing replayed yet');
      else if (lagMs !== null && lagMs > this.#maxLagMs)
        this.#set(r, 'lagging', replay, lagMs, `more than ${this.#maxLagMs} ms behind`);
      else this.#set(r, 'up', replay, lagMs, undefined);
    } catch (err) {
      this.#markDown(r, err);
    } finally {
      clearTimeout(timer);
      r.checking = false;
    }
  }

  /** How long ago the primary first reached a position past `replay` (0 when it has not). */
  #lagOf(replay: bigint): number | null {
    if (this.#samples.length === 0) return null;
    const behind = this.#samples.find((s) => s.position > replay);
    return behind === undefined ? 0 : Date.now() - behind.at;
  }

  #set(
    r: Replica,
    state: ReplicaStatus['state'],
    replay: bigint | undefined,
    lagMs: number | null,
    reason: string | undefined,
  ): void {
    r.state = state;
    r.replay = replay;
    r.lagMs = lagMs;
    r.reason = reason;
  }

  #markDown(r: Replica, err: unknown): void {
    const wasUp = r.state !== 'down';
    // The driver's text (hosts, addresses) goes to the log, not to readiness answers.
    this.#set(r, 'down', r.replay, r.lagMs, 'not answering');
    if (wasUp) this.#onError(err);
  }
}
