import { type Kysely, sql, type Transaction } from 'kysely';
import { isoUtc } from './database/iso-utc.js';
import type { Database } from './message.table.js';
import type { MarkReadQuery } from './validation/receipts-input.js';

/** A change of read state, as announced to streams. */
export interface ReadReceipt {
  /** Who sent the messages that were read. */
  readonly sender: string;
  /** Who read them. */
  readonly recipient: string;
  readonly ids: number[];
  /** ISO-8601 UTC. */
  readonly read_at: string;
}

/** Outcome of marking messages read. */
export interface MarkReadResult {
  /** How many messages changed from unread to read (0 when all already were). */
  readonly updated: number;
  /** Their ids, ascending. */
  readonly ids: number[];
  /**
   * By recipient: true when this request stopped at its cap ({@link MAX_MARK_READ_PER_REQUEST})
   * and unread messages up to `up_to` remain; ask again with the same `recipient` and `up_to`.
   * Always false by ids.
   */
  readonly more: boolean;
  /**
   * By recipient: the bound used, the given `up_to` or, without one, the newest unread message
   * when the request began (messages arriving meanwhile are left unread); absent by ids, and
   * when there was nothing to mark.
   */
  readonly up_to?: number;
}

/** Channel of read-receipt notifications (JSON payloads below PostgreSQL's 8000-byte limit). */
export const READ_CHANNEL = 'messenger_read';
/** Ids per notification: 300 ids of up to 19 digits and two names stay far below 8000 bytes. */
const IDS_PER_NOTIFICATION = 300;

/**
 * Rows marked per transaction when marking by recipient: each batch is its own short
 * transaction, so that no transaction id is held long (live delivery waits for the oldest
 * running transaction) and no row lock is held longer than a batch.
 */
export const MARK_READ_BATCH = 500;

/** Most messages one mark-read request changes; past it the answer says `more: true`. */
export const MAX_MARK_READ_PER_REQUEST = 10_000;

/** Settings of {@link markRead}, for tests and tuning. */
export interface MarkReadLimits {
  readonly batch?: number | undefined;
  readonly perRequest?: number | undefined;
}

type MarkedRow = {
  id: number | bigint;
  sender: string;
  recipient: string;
  read_at_text: string;
  sender_key: string;
  recipient_key: string;
};

/**
 * Marks messages read, once: `read_at` is set only on messages still unread, so
 * repeating a request changes nothing and reports 0. Receipts are announced on
 * {@link READ_CHANNEL} in the same transaction (delivered at commit). With `onlyTo`, only
 * messages received by that name are touched; the others are left alone and not counted,
 * like ids that do not exist.
 *
 * By ids (at most 1000) it is one transaction. By recipient it works in batches of
 * {@link MARK_READ_BATCH}, oldest first, each its own transaction, up to `up_to` (or, without
 * one, the newest unread message at the start), and stops after
 * {@link MAX_MARK_READ_PER_REQUEST} with `more: true`.
 */
export async function markRead(
  db: Kysely<Database>,
  query: MarkReadQuery,
  onlyTo?: string,
  limits: MarkReadLimits = {},
): Promise<MarkReadResult> {
  if (query.kind === 'ids') {
    const rows = await db.transaction().execute(async (trx) => {
      let update = markUnread(trx).where(sql<boolean>`id = any(${sql.val(query.ids)}::bigint[])`);
      if (onlyTo !== undefined) {
        update = update.where(sql<boolean>`lower(recipient) = lower(${onlyTo})`);
      }
      const marked = await update.returning(MARKED_COLUMNS).execute();
      await announce(trx, marked);
      return marked;
    });
    return { updated: rows.length, ids: idsOf(rows), more: false };
  }
  // The mailbox passes its owner as both: one name filter is enough.
  const recipient = query.recipient;
  const others = onlyTo !== undefined && onlyTo !== recipient ? onlyTo : undefined;
  const unread = (q: Kysely<Database>) => {
    let select = q
      .selectFrom('messages')
      .where(sql<boolean>`lower(recipient) = lower(${recipient})`)
      .where(sql<boolean>`not is_read`);
    if (others !== undefined)
      select = select.where(sql<boolean>`lower(recipient) = lower(${others})`);
    return select;
  };
  let upTo = query.upTo;
  if (upTo === undefined) {
    // The newest unread message now (a backward scan of the unread index): what arrives later
    // stays unread.
    const newest = await unread(db).select(sql<string>`max(id)::text`.as('id')).executeTakeFirst();
    if (newest?.id == null) return { updated: 0, ids: [], more: false };
    upTo = newest.id;
  }
  const batch = Math.max(1, limits.batch ?? MARK_READ_BATCH);
  const cap = Math.max(1, limits.perRequest ?? MAX_MARK_READ_PER_REQUEST);
  const bound = upTo;
  const marked: MarkedRow[] = [];
  for (;;) {
    const want = Math.min(batch, cap - marked.length);
    const rows = await db.transaction().execute(async (trx) => {
      const rows = await markUnread(trx)
        .where(
          'id',
          'in',
          unread(trx)
            .select('id')
            .where(sql<boolean>`id <= ${bound}::bigint`)
            .orderBy('id')
            .limit(want),
        )
        .returning(MARKED_COLUMNS)
        .execute();
      await announce(trx, rows);
      return rows;
    });
    marked.push(...rows);
    if (rows.length < want) return result(marked, false, bound);
    if (marked.length >= cap) {
      const left = await unread(db)
        .select('id')
        .where(sql<boolean>`id <= ${bound}::bigint`)
        .limit(1)
        .executeTakeFirst();
      return result(marked, left !== undefined, bound);
    }
  }
}

const MARKED_COLUMNS = [
  'id',
  'sender',
  'recipient',
  isoUtc('read_at').as('read_at_text'),
  sql<string>`lower(sender)`.as('sender_key'),
  sql<string>`lower(recipient)`.as('recipient_key'),
] as const;

function markUnread(trx: Kysely<Database>) {
  return trx
    .updateTable('messages')
    .set({ is_read: true, read_at: sql`now()` })
    .where('is_read', '=', false);
}

function idsOf(rows: readonly MarkedRow[]): number[] {
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

function result(rows: readonly MarkedRow[], more: boolean, upTo: string): MarkReadResult {
  return { updated: rows.length, ids: idsOf(rows), more, up_to: Number(upTo) };
}

/**
 * A receipt as notified: the public receipt, and both names folded by PostgreSQL's lower()
 * so that streams match them exactly as their own (also folded) names.
 */
export interface ReceiptNotification {
  readonly receipt: ReadReceipt;
  readonly senderKey: string;
  readonly recipientKey: string;
}

async function announce(trx: Transaction<Database>, rows: readonly MarkedRow[]): Promise<void> {
  const groups = new Map<string, ReceiptNotification & { receipt: { ids: number[] } }>();
  for (const r of rows) {
    const key = `${r.sender}\n${r.recipient}`;
    const g = groups.get(key) ?? {
      receipt: { sender: r.sender, recipient: r.recipient, ids: [], read_at: r.read_at_text },
      senderKey: r.sender_key,
      recipientKey: r.recipient_key,
    };
    g.receipt.ids.push(Number(r.id));
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const ids = g.receipt.ids.sort((a, b) => a - b);
    for (let i = 0; i < ids.length; i += IDS_PER_NOTIFICATION) {
      const notification: ReceiptNotification = {
        ...g,
        receipt: { ...g.receipt, ids: ids.slice(i, i + IDS_PER_NOTIFICATION) },
      };
      await sql`select pg_notify(${READ_CHANNEL}, ${JSON.stringify(notification)})`.execute(trx);
    }
  }
}
