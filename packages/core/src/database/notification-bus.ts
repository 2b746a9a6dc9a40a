import { UnavailableError } from '../errors.js';
import type { Connection, Listener } from './connection.js';

type OnNotification = (channel: string, payload: string) => void;
type OnLost = (err: unknown) => void;

interface Registration {
  readonly channels: Set<string>;
  readonly onNotification: OnNotification;
  readonly onLost: OnLost;
  /** Its `listen` resolved: a loss is told through `onLost` (before, `listen` rejects). */
  installed: boolean;
  /** Closed, or ended by a loss: gets nothing more. */
  finished: boolean;
}

/** The one LISTEN connection of the moment, and the channels it listens to (or is adding). */
interface Shared {
  readonly ready: Promise<Listener>;
  readonly channels: Map<string, Promise<void>>;
  lost: boolean;
}

/**
 * One LISTEN connection per messenger, shared by everything in core that follows
 * notifications (live delivery, access revocation): PostgreSQL gives every LISTEN a
 * connection of its own, so two followers would otherwise hold two.
 *
 * Each follower registers the channels it needs with {@link NotificationBus.listen}, which
 * keeps the contract of `Connection.listen`: it resolves once those channels are listened
 * to, and when the shared connection is lost, every registration's `onLost` runs once and
 * that registration is finished — its owner listens again (opening a new shared connection)
 * and catches up by query, exactly as with a connection of its own. The connection opens
 * with the first registration and closes with the last.
 */
export class NotificationBus {
  readonly #conn: Connection;
  readonly #onError: (err: unknown) => void;
  readonly #registrations = new Set<Registration>();
  #shared: Shared | undefined;
  #closed = false;

  /** Whether {@link NotificationBus.close} was called: listening is over for good. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `onError` gets what a follower's callback throws (it is not allowed to stop the others). */
  constructor(conn: Connection, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Registers a follower of `channels`; see the class for the contract. */
  async listen(
    channels: readonly string[],
    onNotification: OnNotification,
    onLost: OnLost,
  ): Promise<Listener> {
    if (this.#closed) throw new UnavailableError('this messenger is closed');
    const reg: Registration = {
      channels: new Set(channels),
      onNotification,
      onLost,
      installed: false,
      finished: false,
    };
    this.#registrations.add(reg);
    try {
      await this.#attach(reg.channels);
      if (reg.finished) throw lostError();
      reg.installed = true;
    } catch (err) {
      reg.finished = true;
      this.#registrations.delete(reg);
      await this.#closeIfUnused();
      throw err;
    }
    return {
      add: async (more) => {
        if (reg.finished) throw lostError();
        for (const ch of more) reg.channels.add(ch);
        await this.#attach(new Set(more));
        if (reg.finished) throw lostError();
      },
      close: async () => {
        if (reg.finished) return;
        reg.finished = true;
        this.#registrations.delete(reg);
        await this.#closeIfUnused();
      },
    };
  }

  /** Closes the shared connection; registrations end without `onLost`. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const reg of this.#registrations) reg.finished = true;
    this.#registrations.clear();
    await this.#closeIfUnused();
  }

  /** Makes sure the shared connection (opening one if none is alive) listens to `channels`. */
  async #attach(channels: ReadonlySet<string>): Promise<void> {
    let shared = this.#shared;
    if (shared === undefined || shared.lost) {
      const wanted = new Set(channels);
      for (const reg of this.#registrations) for (const ch of reg.channels) wanted.add(ch);
      shared = this.#open([...wanted]);
    }
    const open = shared;
    const waits: Promise<void>[] = [];
    for (const ch of channels) {
      let listening = open.channels.get(ch);
      if (listening === undefined) {
        // Each channel is listened to once per connection: the embedded database would
        // otherwise call back twice for one notification.
        listening = open.ready.then((listener) => listener.add([ch]));
        open.channels.set(ch, listening);
        listening.catch(() => {
          if (open.channels.get(ch) === listening) open.channels.delete(ch);
        });
      }
      waits.push(listening);
    }
    await Promise.all(waits);
    if (open.lost) throw lostError();
  }

  #open(channels: string[]): Shared {
    const channelMap = new Map<string, Promise<void>>();
    const shared: Shared = {
      ready: this.#conn.listen(
        channels,
        (channel, payload) => this.#dispatch(channel, payload),
        (err) => this.#lost(shared, err),
      ),
      channels: channelMap,
      lost: false,
    };
    const ready = shared.ready.then(() => {});
    for (const ch of channels) channelMap.set(ch, ready);
    this.#shared = shared;
    shared.ready.catch(() => {
      shared.lost = true;
      if (this.#shared === shared) this.#shared = undefined;
    });
    return shared;
  }

  #dispatch(channel: string, payload: string): void {
    for (const reg of this.#registrations) {
      if (reg.finished || !reg.channels.has(channel)) continue;
      try {
        reg.onNotification(channel, payload);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  /** The shared connection died: every registration on it is finished and told. */
  #lost(shared: Shared, err: unknown): void {
    if (shared.lost) return;
    shared.lost = true;
    if (this.#shared === shared) this.#shared = undefined;
    for (const reg of [...this.#registrations]) {
      reg.finished = true;
      this.#registrations.delete(reg);
      if (!reg.installed) continue;
      try {
        reg.onLost(err);
      } catch (e) {
        this.#onError(e);
      }
    }
  }

  async #closeIfUnused(): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined || this.#registrations.size > 0) return;
    this.#shared = undefined;
    shared.lost = true;
    await shared.ready.then((listener) => listener.close()).catch(() => {});
  }
}

function lostError(): Error {
  return new Error('Connection terminated: the LISTEN connection ended');
}
