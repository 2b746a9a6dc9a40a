import type { Kysely } from 'kysely';
import type { Connection, Listener } from '../database/connection.js';
import type { Message } from '../message.js';
import type { Database } from '../message.table.js';
import {
  READ_CHANNEL,
  type ReadReceipt,
  type ReceiptNotification,
} from '../receipts.repository.js';
import {
  currentHorizon,
  type DeliveredRow,
  finalMessagesAfter,
  foldName,
} from './delivery.repository.js';
import { comparePositions, encodeStreamCursor, type StreamPosition } from './stream-cursor.js';

/** Channel the insert trigger notifies with each new message id. */
export const MESSAGE_CHANNEL = 'messenger_message';

/** One event of a live stream. */
export type StreamEvent =
  | {
      readonly type: 'message';
      readonly message: Message;
      /** Resume point: pass it back as `after` to continue right after this message. */
      readonly cursor: string;
    }
  | ({ readonly type: 'read' } & ReadReceipt);

/** A live subscription; {@link Subscription.close} stops it. */
export interface Subscription {
  close(): void;
}

interface Subscriber {
  readonly recipientKey: string;
  readonly senderKey: string | undefined;
  readonly emit: (event: StreamEvent) => void;
  /** Last position sent to this subscriber. */
  position: StreamPosition;
  /** Events that arrived while catching up; sent after it, those past `position` only. */
  buffer: DeliveredRow[] | undefined;
  closed: boolean;
}

const BATCH = 500;
/** While committed rows wait behind a running transaction, look again this soon (doubling up to the cap). */
const RECHECK_MIN_MS = 10;
const RECHECK_MAX_MS = 1000;
/** Even without notifications, look now and then (a lost notification costs at most this long). */
const SAFETY_POLL_MS = 10_000;

/**
 * Fans committed messages out to subscribers, exactly once each and in delivery
 * order `(txid, id)`, on every server process alike: one LISTEN per process wakes
 * it, and it reads from the table itself, so a message sent through any replica
 * reaches watchers on all of them. Notifications carry only the id.
 */
export class DeliveryHub {
  readonly #db: Kysely<Database>;
  readonly #conn: Connection;
  readonly #subscribers = new Set<Subscriber>();
  #position: StreamPosition | undefined;
  #listener: Listener | undefined;
  #starting: Promise<void> | undefined;
  #polling = false;
  #again = false;
  #recheck: NodeJS.Timeout | undefined;
  #recheckDelay = RECHECK_MIN_MS;
  #safety: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onError: (err: unknown) => void;

  constructor(conn: Connection, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#db = conn.db;
    this.#onError = onError;
  }

  /**
   * Follows messages to `recipient` (and from `sender`, if given). With `after`,
   * first sends every matching message after that point, then live ones.
   */
  async subscribe(
    filter: { recipient: string; sender?: string | undefined; after?: StreamPosition | undefined },
    emit: (event: StreamEvent) => void,
  ): Promise<Subscription> {
    await this.#start();
    const [recipientKey, senderKey] = await Promise.all([
      foldName(this.#db, filter.recipient),
      filter.sender === undefined ? undefined : foldName(this.#db, filter.sender),
    ]);
    const start = filter.after;
    const hubPosition = this.#position as StreamPosition;
    const sub: Subscriber = {
      recipientKey,
      senderKey,
      emit,
      position: start ?? hubPosition,
      buffer: start === undefined ? undefined : [],
      closed: false,
    };
    this.#subscribers.add(sub);
    this.#armSafetyPoll();
    const subscription = {
      close: () => {
        sub.closed = true;
        this.#subscribers.delete(sub);
      },
    };
    if (start !== undefined) {
      try {
        await this.#catchUp(sub, hubPosition);
      } catch (err) {
        subscription.close();
        throw err;
      }
    }
    return subscription;
  }

  /** Stops listening and drops every subscriber. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.clear();
    if (this.#recheck !== undefined) clearTimeout(this.#recheck);
    if (this.#safety !== undefined) clearInterval(this.#safety);
    await this.#starting?.catch(() => {});
    await this.#listener?.close();
  }

  async #catchUp(sub: Subscriber, upTo: StreamPosition): Promise<void> {
    for (;;) {
      const { rows } = await finalMessagesAfter(this.#db, sub.position, BATCH, {
        recipient: sub.recipientKey,
        sender: sub.senderKey,
        upTo,
      });
      for (const row of rows) this.#send(sub, row);
      if (rows.length < BATCH || sub.closed) break;
    }
    const buffered = sub.buffer ?? [];
    sub.buffer = undefined;
    for (const row of buffered) this.#send(sub, row);
  }

  #start(): Promise<void> {
    this.#starting ??= (async () => {
      // Listen first, then take the horizon: a message committed in between is past
      // the horizon and its notification is not missed.
      this.#listener = await this.#conn.listen(
        [MESSAGE_CHANNEL, READ_CHANNEL],
        (channel, payload) => {
          if (channel === READ_CHANNEL) this.#receipt(payload);
          else this.poll();
        },
        () => this.poll(),
      );
      this.#position = await currentHorizon(this.#db);
    })();
    return this.#starting;
  }

  /** Reads every newly final message and hands it to its subscribers. Coalesces concurrent calls. */
  poll(): void {
    if (this.#closed || this.#position === undefined) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    this.#polling = true;
    void this.#drain()
      .catch((err) => {
        this.#onError(err);
        this.#scheduleRecheck();
      })
      .finally(() => {
        this.#polling = false;
        if (this.#again) {
          this.#again = false;
          this.poll();
        }
      });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const from = this.#position as StreamPosition;
      const { rows, pending } = await finalMessagesAfter(this.#db, from, BATCH);
      for (const row of rows) {
        this.#position = row.position;
        this.#dispatch(row);
      }
      if (pending) this.#scheduleRecheck();
      else this.#recheckDelay = RECHECK_MIN_MS;
      if (rows.length < BATCH) return;
    }
  }

  #dispatch(row: DeliveredRow): void {
    for (const sub of this.#subscribers) {
      if (sub.recipientKey !== row.recipientKey) continue;
      if (sub.senderKey !== undefined && sub.senderKey !== row.senderKey) continue;
      if (sub.buffer !== undefined) sub.buffer.push(row);
      else this.#send(sub, row);
    }
  }

  #send(sub: Subscriber, row: DeliveredRow): void {
    if (sub.closed || comparePositions(row.position, sub.position) <= 0) return;
    sub.position = row.position;
    try {
      sub.emit({ type: 'message', message: row.message, cursor: encodeStreamCursor(row.position) });
    } catch (err) {
      this.#onError(err);
    }
  }

  #receipt(payload: string): void {
    let notification: ReceiptNotification;
    try {
      notification = JSON.parse(payload) as ReceiptNotification;
    } catch {
      return;
    }
    const { receipt, senderKey, recipientKey } = notification;
    for (const sub of this.#subscribers) {
      // The sender learns their messages were read; the reader's other devices see it too.
      if (sub.recipientKey !== senderKey && sub.recipientKey !== recipientKey) continue;
      try {
        sub.emit({ type: 'read', ...receipt });
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== undefined || this.#closed) return;
    const delay = this.#recheckDelay;
    this.#recheckDelay = Math.min(delay * 2, RECHECK_MAX_MS);
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined;
      this.poll();
    }, delay);
    this.#recheck.unref();
  }

  #armSafetyPoll(): void {
    if (this.#safety !== undefined) return;
    this.#safety = setInterval(() => {
      if (this.#subscribers.size > 0) this.poll();
    }, SAFETY_POLL_MS);
    this.#safety.unref();
  }
}
