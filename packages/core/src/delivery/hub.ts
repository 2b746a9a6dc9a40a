import type { Kysely } from 'kysely';
import { abortable } from '../abortable.js';
import { withCancellation } from '../database/cancellable.js';
import type { Connection, Listener } from '../database/connection.js';
import { ListenAttempts } from '../database/listen-attempts.js';
import type { NotificationBus } from '../database/notification-bus.js';
import { UnavailableError } from '../errors.js';
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
import {
  comparePositions,
  encodeResumeCursor,
  encodeStreamCursor,
  type StreamPosition,
} from './stream-cursor.js';

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

/** A live subscription; {@link Subscription.close} stops it (closing twice does nothing). */
export interface Subscription {
  close(): void;
  /**
   * Where to resume: a cursor to pass back as `after` that continues right after the last
   * event handed over (or, before any, right where the subscription began), so that a new
   * subscription from it misses and repeats nothing. A server closing a stream gives it to
   * the client.
   */
  cursor(): string;
}

/**
 * Where a {@link DeliveryHub} is in its life:
 * - `stopped`: nobody has subscribed yet; nothing is listening.
 * - `starting`: the first LISTEN is being set up.
 * - `running`: listening; messages are delivered as they commit.
 * - `failed`: the LISTEN could not be set up, or its connection was lost. Retries run in the
 *   background with backoff, and a subscribe tries at once; subscribers already there stay and
 *   miss nothing (the hub catches up by query once it listens again).
 * - `closed`: {@link DeliveryHub.close} was called.
 */
export type HubState = 'stopped' | 'starting' | 'running' | 'failed' | 'closed';

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
 * order `(txid, id)`, on every server process alike: one LISTEN per process (the
 * messenger's {@link NotificationBus}) wakes it, and it reads from the table itself, so a message sent through any replica
 * reaches watchers on all of them. Notifications carry only the id.
 *
 * Its life is a small state machine ({@link HubState}): the first subscribe starts it; a
 * failed start or a lost LISTEN connection makes it `failed` and it retries with backoff
 * until it listens again, then reads what was committed meanwhile. Nothing is left behind
 * by a failure: a later subscribe (or the next retry) starts afresh.
 */
export class DeliveryHub {
  readonly #db: Kysely<Database>;
  readonly #conn: Connection;
  readonly #bus: NotificationBus;
  /** Subscribers by folded recipient: a message or receipt looks up its own, never scans all. */
  readonly #byRecipient = new Map<string, Set<Subscriber>>();
  #subscriberCount = 0;
  readonly #onError: (err: unknown) => void;
  #state: HubState = 'stopped';
  /** Why the hub is `failed`. */
  #failure: unknown;
  /** Start attempts: the one in flight is shared by every subscribe that waits for it. */
  readonly #attempts = new ListenAttempts(() => this.#listen());
  #position: StreamPosition | undefined;
  #listener: Listener | undefined;
  #polling = false;
  #again = false;
  #recheck: NodeJS.Timeout | undefined;
  #recheckDelay = RECHECK_MIN_MS;
  #safety: NodeJS.Timeout | undefined;

  /** Listens through `bus`, the messenger's one LISTEN connection, shared with other followers. */
  constructor(conn: Connection, bus: NotificationBus, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#bus = bus;
    this.#db = conn.db;
    this.#onError = onError;
  }

  /** Where the hub is in its life. */
  get state(): HubState {
    return this.#state;
  }

  /**
   * Throws when live delivery was started and cannot listen now (the database is down, or the
   * LISTEN connection was lost and is not back yet). A hub that was never started is fine.
   * @throws {UnavailableError}
   */
  assertListening(): void {
    if (this.#state !== 'failed') return;
    throw new UnavailableError(
      `database at ${this.#conn.where}: live delivery cannot listen for new messages; retrying`,
      { cause: this.#failure },
    );
  }

  /**
   * Follows messages to `recipient` (and from `sender`, if given). With `after`,
   * first sends every matching message after that point, then live ones. The subscriber
   * exists from the start: aborting `signal` at any time closes it, and during catch-up
   * stops paging (cancelling the running query on PostgreSQL) and rejects with
   * `signal.reason`.
   */
  async subscribe(
    filter: { recipient: string; sender?: string | undefined; after?: StreamPosition | undefined },
    emit: (event: StreamEvent) => void,
    signal?: AbortSignal,
  ): Promise<Subscription> {
    await abortable(this.#ready(), signal);
    const [recipientKey, senderKey] = await abortable(
      Promise.all([
        foldName(this.#db, filter.recipient),
        filter.sender === undefined ? undefined : foldName(this.#db, filter.sender),
      ]),
      signal,
    );
    if (this.#state === 'closed') throw closedError();
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
    const onAbort = () => subscription.close();
    const subscription: Subscription = {
      close: () => {
        if (!sub.closed) this.#remove(sub);
        sub.closed = true;
        signal?.removeEventListener('abort', onAbort);
      },
      // Past the hub's own position nothing for this subscriber is left unsent (unless it is
      // still catching up): resuming there spares the next catch-up from scanning the gap.
      cursor: () => {
        const hub = this.#position;
        const ahead =
          sub.buffer === undefined && hub !== undefined && comparePositions(hub, sub.position) > 0;
        return encodeResumeCursor(ahead ? hub : sub.position);
      },
    };
    this.#add(sub);
    this.#armSafetyPoll();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) subscription.close();
    if (start !== undefined) {
      try {
        await this.#catchUp(sub, hubPosition, signal);
      } catch (err) {
        subscription.close();
        throw signal?.aborted ? signal.reason : err;
      }
    }
    if (sub.closed && signal?.aborted) throw signal.reason;
    return subscription;
  }

  /** Stops listening and drops every subscriber. */
  async close(): Promise<void> {
    this.#state = 'closed';
    this.#byRecipient.clear();
    this.#subscriberCount = 0;
    if (this.#recheck !== undefined) clearTimeout(this.#recheck);
    if (this.#safety !== undefined) clearInterval(this.#safety);
    await this.#attempts.stop();
    await this.#listener?.close();
    this.#listener = undefined;
  }

  #add(sub: Subscriber): void {
    let set = this.#byRecipient.get(sub.recipientKey);
    if (set === undefined) {
      set = new Set();
      this.#byRecipient.set(sub.recipientKey, set);
    }
    set.add(sub);
    this.#subscriberCount++;
  }

  #remove(sub: Subscriber): void {
    const set = this.#byRecipient.get(sub.recipientKey);
    if (set === undefined || !set.delete(sub)) return;
    this.#subscriberCount--;
    if (set.size === 0) this.#byRecipient.delete(sub.recipientKey);
  }

  async #catchUp(sub: Subscriber, upTo: StreamPosition, signal: AbortSignal | undefined) {
    while (!sub.closed) {
      // One cancellable statement per page: the pooled connection is given back between pages,
      // so a storm of catch-ups does not hold the pool that sends need.
      const { rows } = await withCancellation(this.#conn, signal, (db) =>
        finalMessagesAfter(db, sub.position, BATCH, {
          recipient: sub.recipientKey,
          sender: sub.senderKey,
          upTo,
        }),
      );
      for (const row of rows) this.#send(sub, row);
      if (rows.length < BATCH) break;
    }
    const buffered = sub.buffer ?? [];
    sub.buffer = undefined;
    for (const row of buffered) this.#send(sub, row);
  }

  /** Resolves once the hub listens; starts (or retries) it now if it does not. */
  #ready(): Promise<void> {
    switch (this.#state) {
      case 'running':
        return Promise.resolve();
      case 'closed':
        return Promise.reject(closedError());
      default:
        return this.#attempts.start();
    }
  }

  /** One attempt to listen (see {@link ListenAttempts}). */
  async #listen(): Promise<void> {
    if (this.#state === 'stopped') this.#state = 'starting';
    let listener: Listener | undefined;
    let installed = false;
    let lostEarly = false;
    try {
      // Listen first, then read: a message committed in between is past the horizon (or
      // past the position) and its notification is not missed.
      listener = await this.#bus.listen(
        [MESSAGE_CHANNEL, READ_CHANNEL],
        (channel, payload) => {
          if (channel === READ_CHANNEL) this.#receipt(payload);
          else this.poll();
        },
        (err) => {
          if (installed) this.#lost(listener, err);
          else lostEarly = true;
        },
      );
      const resuming = this.#position !== undefined;
      if (!resuming) this.#position = await currentHorizon(this.#db);
      if (lostEarly) throw new Error('Connection terminated: the LISTEN connection ended');
      if ((this.#state as HubState) === 'closed') {
        await listener.close();
        return;
      }
      installed = true;
      this.#listener = listener;
      this.#state = 'running';
      this.#failure = undefined;
      this.#attempts.succeeded();
      // Notifications sent while the hub was not listening are gone: read what they announced.
      if (resuming) this.poll();
    } catch (err) {
      await listener?.close();
      this.#fail(err);
      throw err;
    }
  }

  /** The LISTEN connection of a running hub died: say so, and listen again. */
  #lost(listener: Listener | undefined, err: unknown): void {
    if (this.#listener !== listener || this.#state !== 'running') return;
    this.#listener = undefined;
    this.#fail(err);
  }

  #fail(err: unknown): void {
    if ((this.#state as HubState) === 'closed') return;
    if (this.#state !== 'failed') {
      this.#onError(
        new UnavailableError(
          `database at ${this.#conn.where}: live delivery cannot listen for new messages; retrying`,
          { cause: err },
        ),
      );
    }
    this.#state = 'failed';
    this.#failure = err;
    this.#attempts.retryLater();
  }

  /** Reads every newly final message and hands it to its subscribers. Coalesces concurrent calls. */
  poll(): void {
    if (this.#state === 'closed' || this.#position === undefined) return;
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
    const subs = this.#byRecipient.get(row.recipientKey);
    if (subs === undefined) return;
    for (const sub of subs) {
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
    // The sender learns their messages were read; the reader's other devices see it too.
    const subs = [
      ...(this.#byRecipient.get(senderKey) ?? []),
      ...(senderKey === recipientKey ? [] : (this.#byRecipient.get(recipientKey) ?? [])),
    ];
    for (const sub of subs) {
      try {
        sub.emit({ type: 'read', ...receipt });
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== undefined || this.#state === 'closed') return;
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
      if (this.#subscriberCount > 0) this.poll();
    }, SAFETY_POLL_MS);
    this.#safety.unref();
  }
}

function closedError(): UnavailableError {
  return new UnavailableError('this messenger is closed');
}
