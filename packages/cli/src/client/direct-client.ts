import {
  type ListOptions,
  type Message,
  type MessagePage,
  type Messenger,
  type MigrationReport,
  ValidationError,
  validateListOptions,
  validateSendInput,
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
    return (await this.#open()).send(request);
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
        lockTimeoutMs: this.#options.lockTimeoutMs,
        purpose: this.#options.purpose,
      }),
    );
    return this.#messenger;
  }
}
