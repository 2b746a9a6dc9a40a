import { type Kysely, sql } from 'kysely';
import type { Message } from '../message.js';
import { messageColumns, toMessage } from '../message.repository.js';
import type { Database } from '../message.table.js';
import type { StreamPosition } from './stream-cursor.js';

/** A committed message that no earlier transaction can still precede, with its delivery position. */
export interface DeliveredRow {
  readonly message: Message;
  readonly position: StreamPosition;
  /** lower(recipient) and lower(sender), as PostgreSQL folds them. */
  readonly recipientKey: string;
  readonly senderKey: string;
}

/** The delivery horizon now: every transaction below it has finished. */
export async function currentHorizon(db: Kysely<Database>): Promise<StreamPosition> {
  const { rows } = await sql<{ xmin: string }>`
    select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
  return { txid: rows[0]?.xmin ?? '0', id: '0' };
}

/**
 * Final messages after `after`, in delivery order `(txid, id)`. Only rows of
 * transactions older than the oldest running one are returned: a transaction that
 * is still running can commit a smaller id later, but never a smaller `txid`.
 * `pending` tells whether committed rows past the horizon are waiting.
 */
export async function finalMessagesAfter(
  db: Kysely<Database>,
  after: StreamPosition,
  limit: number,
  filter?: { recipient: string; sender?: string | undefined; upTo?: StreamPosition },
): Promise<{ rows: DeliveredRow[]; pending: boolean }> {
  let q = db
    .selectFrom('messages')
    .select([
      ...messageColumns,
      sql<string>`txid::text`.as('txid_text'),
      sql<string>`lower(recipient)`.as('recipient_key'),
      sql<string>`lower(sender)`.as('sender_key'),
      sql<boolean>`txid >= pg_snapshot_xmin(pg_current_snapshot())`.as('pending'),
    ])
    .where(sql<boolean>`(txid, id) > (${after.txid}::xid8, ${after.id}::bigint)`);
  if (filter !== undefined) {
    q = q.where(sql<boolean>`lower(recipient) = lower(${filter.recipient})`);
    if (filter.sender !== undefined)
      q = q.where(sql<boolean>`lower(sender) = lower(${filter.sender})`);
    if (filter.upTo !== undefined) {
      q = q.where(
        sql<boolean>`(txid, id) <= (${filter.upTo.txid}::xid8, ${filter.upTo.id}::bigint)`,
      );
    }
  }
  const raw = await q
    .orderBy(sql`txid`)
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  const rows: DeliveredRow[] = [];
  let pending = false;
  for (const r of raw) {
    // Delivery stops at the first row that is not final yet: later ones wait behind it.
    if (r.pending) {
      pending = true;
      break;
    }
    if (rows.length === limit) break;
    rows.push({
      message: toMessage(r),
      position: { txid: r.txid_text, id: String(r.id) },
      recipientKey: r.recipient_key,
      senderKey: r.sender_key,
    });
  }
  return { rows, pending };
}

/**
 * The delivery position of message `id`, or undefined when there is none — or, with
 * `visibleTo`, when that name neither sent nor received it (someone else's message is
 * indistinguishable from one that does not exist).
 */
export async function positionOf(
  db: Kysely<Database>,
  id: string,
  visibleTo?: string,
): Promise<StreamPosition | undefined> {
  let q = db
    .selectFrom('messages')
    .select(sql<string>`txid::text`.as('txid'))
    .where(sql<boolean>`id = ${id}::bigint`);
  if (visibleTo !== undefined) {
    q = q.where(
      sql<boolean>`(lower(sender) = lower(${visibleTo}) or lower(recipient) = lower(${visibleTo}))`,
    );
  }
  const row = await q.executeTakeFirst();
  return row === undefined ? undefined : { txid: row.txid, id };
}

/** PostgreSQL's lower() of a name, so that live matching folds case exactly as queries do. */
export async function foldName(db: Kysely<Database>, name: string): Promise<string> {
  const { rows } = await sql<{ key: string }>`select lower(${name}) as key`.execute(db);
  return rows[0]?.key ?? name.toLowerCase();
}
