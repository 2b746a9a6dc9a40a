import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backends, freshPostgresSchema, type PostgresSchema } from '@messenger/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/database/connection.js';
import { NotificationBus } from '../src/database/notification-bus.js';
import { openPglite } from '../src/database/open-pglite.js';
import { openPostgres } from '../src/database/open-postgres.js';
import { eventually } from './support.js';

describe.each(backends())('notification bus on $name', (backend) => {
  let conn: Connection;
  let schema: PostgresSchema | undefined;
  /** Channels of this run only (the database may be shared with other tests): `bus_<run>_<name>`. */
  const run = randomBytes(4).toString('hex');
  const channel = (name: string) => `bus_${run}_${name}`;
  const nameOf = (ch: string) => ch.slice(`bus_${run}_`.length);
  const notify = (ch: string, payload: string) =>
    sql`select pg_notify(${ch}, ${payload})`.execute(conn.db);
  /** Backends listening to channels of this run, found by the text of the last LISTEN they ran. */
  const listeners = async () => {
    const { rows } = await sql<{ pid: number }>`
      select pid from pg_stat_activity
       where application_name = 'messenger-listen' and query like ${`listen "bus_${run}_%`}`.execute(
      conn.db,
    );
    return rows.map((r) => r.pid);
  };

  beforeAll(async () => {
    schema = backend.name === 'postgres' ? await freshPostgresSchema() : undefined;
    conn = schema ? await openPostgres(schema.url) : await openPglite(undefined);
  });
  afterAll(async () => {
    await conn?.close();
    await schema?.drop();
  });

  it('routes each notification to the registrations of its channel, once each', async () => {
    const bus = new NotificationBus(conn, (err) => {
      throw err;
    });
    const [x, y] = [channel('x'), channel('y')];
    const got: string[] = [];
    const a = await bus.listen(
      [x],
      (ch, p) => got.push(`a ${nameOf(ch)} ${p}`),
      () => {},
    );
    const b = await bus.listen(
      [x, y],
      (ch, p) => got.push(`b ${nameOf(ch)} ${p}`),
      () => {},
    );
    await notify(x, '1');
    await notify(y, '2');
    await eventually('three deliveries', () => got.length >= 3);
    await sleep(100);
    expect(got.sort()).toEqual(['a x 1', 'b x 1', 'b y 2']);
    // A channel added later to one registration is listened to once.
    const z = channel('z');
    await a.add([z]);
    await b.add([z]);
    got.length = 0;
    await notify(z, '3');
    await eventually('two deliveries', () => got.length >= 2);
    await sleep(100);
    expect(got.sort()).toEqual(['a z 3', 'b z 3']);
    await b.close();
    got.length = 0;
    await notify(x, '4');
    await notify(y, '5');
    await eventually('one delivery', () => got.length >= 1);
    await sleep(100);
    expect(got).toEqual(['a x 4']);
    await a.close();
    await bus.close();
  });

  if (backend.name !== 'postgres') return;

  it('holds one connection for all, ends every registration once when it is lost, and opens a new one for the next', async () => {
    const bus = new NotificationBus(conn, () => {});
    const x = channel('lx');
    const lost: string[] = [];
    await bus.listen(
      [x],
      () => {},
      () => lost.push('a'),
    );
    await bus.listen(
      [x, channel('y')],
      () => {},
      () => lost.push('b'),
    );
    const pids = await listeners();
    expect(pids).toHaveLength(1);
    await sql`select pg_terminate_backend(${pids[0]}::int)`.execute(conn.db);
    await eventually('both registrations to be told', () => lost.length === 2);
    await sleep(100);
    expect(lost.sort()).toEqual(['a', 'b']);
    const got: string[] = [];
    const again = await bus.listen(
      [x],
      (_ch, p) => got.push(p),
      () => {},
    );
    expect(await listeners()).toHaveLength(1);
    expect((await listeners())[0]).not.toBe(pids[0]);
    await notify(x, 'back');
    await eventually('a delivery on the new connection', () => got.length === 1);
    await again.close();
    expect(await listeners()).toHaveLength(0);
    await bus.close();
  });
});
