import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ListOptions,
  type MarkReadOptions,
  type MarkReadResult,
  type Message,
  type MessagePage,
  type Messenger,
  type MigrationReport,
  type StreamEvent,
  type StreamOptions,
  ValidationError,
  validateListOptions,
  validateMarkRead,
  validateSendInput,
  validateStreamOptions,
} from '@messenger/core';
import type { MessengerClient, SendRequest } from './messenger-client.js';

/** Settings of the direct transport. */
export interface DirectClientOptions {
  /** PostgreSQL URL or embedded data directory. */
  readonly databaseUrl: string;
  /** Run migrations on open (the embedded database always does unless this is false). */
  readonly migrate?: boolean;
  readonly lockTimeoutMs: number;
  /** The command line, shown to a second process that finds the embedded database locked. */
  readonly purpose: string;
  /** Called before a new embedded database is created (see core's `EmbeddedOptions.onCreate`). */
  readonly onCreate?: ((dataDir: string) => (() => void) | undefined) | undefined;
}

/** Talks to the database through core. The database is opened on first use, not before. */
export class DirectClient implements MessengerClient {
  readonly #options: DirectClientOptions;
  #messenger: Promise<Messenger> | undefined;

  constructor(options: DirectClientOptions) {
    this.#options = options;
  }

  async send(request: SendRequest): Promise<Message> {
    // Validate before opening: bad input never waits for the database or its lock.
    const checked = validateSendInput(request);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const { idempotencyKey, ...message } = request;
    return (await this.#open()).send(message, { idempotencyKey });
  }

  async markRead(options: MarkReadOptions): Promise<MarkReadResult> {
    const checked = validateMarkRead(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    return (await this.#open()).markRead(options);
  }

  /**
   * On PostgreSQL: a live subscription (LISTEN/NOTIFY) until `signal` aborts. The
   * embedded database belongs to one process at a time, so holding it open would
   * lock every other `msg` out: there, watch looks every second, opening the database
   * only for that moment (ids are in commit order on it: one writer at a time).
   */
  async watch(
    options: StreamOptions,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const checked = validateStreamOptions(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const messenger = await this.#open();
    if (messenger.engine === 'postgres') {
      const subscription = await messenger.subscribe(options, onEvent);
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      subscription.close();
      return;
    }
    let last = checked.value.after?.kind === 'id' ? Number(checked.value.after.id) : undefined;
    if (last === undefined) {
      const newest = await messenger.list({
        recipient: options.recipient,
        sender: options.sender,
        limit: 1,
      });
      last = newest.messages[0]?.id ?? 0;
    }
    while (!signal.aborted) {
      const current = await this.#open();
      const page = await current.list({
        recipient: options.recipient,
        sender: options.sender,
        limit: 1000,
      });
      const fresh = page.messages.filter((m) => m.id > (last ?? 0)).sort((a, b) => a.id - b.id);
      await this.close();
      for (const message of fresh) {
        last = message.id;
        onEvent({ type: 'message', message, cursor: String(message.id) });
      }
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
  }

  async list(options: ListOptions): Promise<MessagePage> {
    const checked = validateListOptions(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    return (await this.#open()).list(options);
  }

  async migrate(): Promise<MigrationReport> {
    return (await this.#open(false)).migrate();
  }

  async close(): Promise<void> {
    const m = this.#messenger;
    this.#messenger = undefined;
    if (m) await (await m.catch(() => undefined))?.close();
  }

  #open(migrate?: boolean): Promise<Messenger> {
    this.#messenger ??= import('@messenger/core').then(({ openMessenger }) =>
      openMessenger({
        databaseUrl: this.#options.databaseUrl,
        migrate: migrate ?? this.#options.migrate,
        embedded: {
          lockTimeoutMs: this.#options.lockTimeoutMs,
          purpose: this.#options.purpose,
          onCreate: this.#options.onCreate,
        },
      }),
    );
    return this.#messenger;
  }
}
