import type { NotificationBus } from '../database/notification-bus.js';
import type { Runner } from '../database/runner.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { orThrow } from '../result.js';
import { AccessFeed } from './access-feed.js';
import type { CreateTokenOptions, IssuedToken, NewUser, TokenInfo, User } from './account.js';
import * as repo from './accounts.repository.js';
import { parseTokenId, validateTokenOptions, validateUserName } from './accounts-input.js';
import { Authenticator } from './authenticator.js';
import { newToken, tokenHash } from './token.js';
import { UserDirectory } from './user-directory.js';

/** Label of the token that {@link Accounts.addUser} issues with a new user. */
export const INITIAL_TOKEN_LABEL = 'initial';

/**
 * The accounts domain behind the `Messenger` façade: the operator's operations on users and
 * tokens, and the parts that decide access ({@link Authenticator}, {@link UserDirectory}, both
 * kept current by one {@link AccessFeed}). Input is validated here; errors are the
 * messenger's own (`ValidationError`, `NotFoundError`, `ConflictError`).
 */
export class Accounts {
  readonly feed: AccessFeed;
  readonly authenticator: Authenticator;
  readonly directory: UserDirectory;
  readonly #run: Runner;

  constructor(run: Runner, bus: NotificationBus, where: string) {
    this.#run = run;
    this.feed = new AccessFeed(bus, run, where);
    this.authenticator = new Authenticator(run, this.feed);
    this.directory = new UserDirectory(run, this.feed);
  }

  async addUser(name: unknown): Promise<NewUser> {
    const valid = orThrow(validateUserName(name));
    const token = newToken();
    return this.#run.once((db) =>
      db.transaction().execute(async (trx) => {
        const user = await repo.insertUser(trx, valid);
        const info = await repo.insertToken(trx, user.id, tokenHash(token), {
          label: INITIAL_TOKEN_LABEL,
          expiresAt: null,
        });
        return { user, token: { ...info, token } };
      }),
    );
  }

  listUsers(): Promise<User[]> {
    return this.#run.retrySafe((db) => repo.listUsers(db));
  }

  async disableUser(name: unknown): Promise<User> {
    const valid = orThrow(validateUserName(name));
    const user = await this.#run.retrySafe((db) => repo.disableUser(db, valid));
    if (user === undefined) throw noUser(valid);
    this.feed.changed({ userId: user.id });
    return user;
  }

  async createToken(name: unknown, options: CreateTokenOptions = {}): Promise<IssuedToken> {
    const valid = validateUserName(name);
    const opts = validateTokenOptions(options);
    if (!valid.ok || !opts.ok) {
      throw new ValidationError([
        ...(valid.ok ? [] : valid.issues),
        ...(opts.ok ? [] : opts.issues),
      ]);
    }
    const token = newToken();
    const info = await this.#run.once((db) =>
      db.transaction().execute(async (trx) => {
        const user = await repo.findUser(trx, valid.value);
        if (user === undefined) throw noUser(valid.value);
        if (!user.active) {
          throw new ConflictError(`user ${JSON.stringify(user.name)} is disabled`);
        }
        return repo.insertToken(trx, user.id, tokenHash(token), opts.value);
      }),
    );
    return { ...info, token };
  }

  async listTokens(name?: unknown): Promise<TokenInfo[]> {
    if (name === undefined) return this.#run.retrySafe((db) => repo.listTokens(db));
    const valid = orThrow(validateUserName(name));
    return this.#run.retrySafe(async (db) => {
      const user = await repo.findUser(db, valid);
      if (user === undefined) throw noUser(valid);
      return repo.listTokens(db, user.id);
    });
  }

  async getToken(id: unknown): Promise<TokenInfo> {
    const valid = orThrow(parseTokenId(id));
    const token = await this.#run.retrySafe((db) => repo.getToken(db, valid));
    if (token === undefined) throw noToken(valid);
    return token;
  }

  async revokeToken(id: unknown): Promise<TokenInfo> {
    const valid = orThrow(parseTokenId(id));
    const token = await this.#run.retrySafe((db) => repo.revokeToken(db, valid));
    if (token === undefined) throw noToken(valid);
    this.feed.changed({ tokenId: token.id });
    return token;
  }

  async close(): Promise<void> {
    await this.authenticator.close();
    await this.feed.close();
  }
}

function noUser(name: string): NotFoundError {
  return new NotFoundError(`no user named ${JSON.stringify(name)}`);
}

function noToken(id: string): NotFoundError {
  return new NotFoundError(`no token with id ${id}`);
}
