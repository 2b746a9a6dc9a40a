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
}

/** Channel of read-receipt notifications (JSON payloads below PostgreSQL's 8000-byte limit). */
export const READ_CHANNEL = 'messenger_read';
/** Ids per notification: 300 ids of up to 19 digits and two names stay far below 8000 bytes. */
const IDS_PER_NOTIFICATION = 300;

/**
 * Marks messages read, once: `read_at` is set only on messages still unread, so
 * repeating a request changes nothing and reports 0. Receipts are announced on
 * {@link READ_CHANNEL} in the same transaction (delivered at commit). With `onlyTo`, only
 * messages received by that name are touched; the others are left alone and not counted,
 * like ids that do not exist.
 */
export async function markRead(
  db: Kysely<Database>,
  query: MarkReadQuery,
  onlyTo?: string,
): Promise<MarkReadResult> {
  return db.transaction().execute(async (trx) => {
    let update = trx
      .updateTable('messages')
      .set({ is_read: true, read_at: sql`now()` })
      .where('is_read', '=', false);
    if (query.kind === 'ids') {
      update = update.where(sql<boolean>`id = any(${sql.val(query.ids)}::bigint[])`);
    } else {
      update = update.where(sql<boolean>`lower(recipient) = lower(${query.recipient})`);
      if (query.upTo !== undefined)
        update = update.where(sql<boolean>`id <= ${query.upTo}::bigint`);
    }
    if (onlyTo !== undefined) {
      update = update.where(sql<boolean>`lower(recipient) = lower(${onlyTo})`);
    }
    const rows = await update
      .returning([
        'id',
        'sender',
        'recipient',
        isoUtc('read_at').as('read_at_text'),
        sql<string>`lower(sender)`.as('sender_key'),
        sql<string>`lower(recipient)`.as('recipient_key'),
      ])
      .execute();
    await announce(trx, rows);
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    return { updated: rows.length, ids };
  });
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

async function announce(
  trx: Transaction<Database>,
  rows: {
    id: number | bigint;
    sender: string;
    recipient: string;
    read_at_text: string;
    sender_key: string;
    recipient_key: string;
  }[],
): Promise<void> {
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
