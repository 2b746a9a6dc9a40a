import { setTimeout as sleep } from 'node:timers/promises';
import { backends } from '@messenger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/accounts/token.js';
import {
  ConflictError,
  ErrorCode,
  type IssuedToken,
  type Messenger,
  NotFoundError,
  TOKEN_PATTERN,
  UNAUTHENTICATED_MESSAGE,
  UnauthenticatedError,
  ValidationError,
} from '../src/index.js';
import {
  authenticates,
  eventually,
  failure,
  ISO_MICROS,
  openBackend,
  openRawBackend,
  type RawBackend,
  unique,
} from './support.js';

describe.each(backends())('accounts on $name', (backend) => {
  let b: RawBackend;
  let m: Messenger;
  const background: unknown[] = [];
  /** Every secret issued in this file: none may ever show up anywhere else. */
  const secrets: string[] = [];
  const issued = (t: IssuedToken) => {
    secrets.push(t.token);
    return t;
  };

  beforeAll(async () => {
    b = await openRawBackend(backend, 'UTC', { onBackgroundError: (e) => background.push(e) });
    m = b.messenger;
  });
  afterAll(async () => {
    // Nothing in the background failed, and no background error carries a secret.
    const text = background.map((e) => `${String(e)} ${JSON.stringify(e)}`).join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
    await b?.close();
  });

  const countRows = async (table: string) =>
    (await b.rows<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;

  describe('users', () => {
    it('addUser registers the name as given (NFC, trimmed) and issues a first token labelled initial', async () => {
      const name = unique('Alice');
      const { user, token } = await m.addUser(` ${name} `);
      issued(token);
      expect(user).toEqual({
        id: expect.any(Number),
        name,
        created_at: expect.stringMatching(ISO_MICROS),
        disabled_at: null,
      });
      expect(token).toEqual({
        id: expect.any(Number),
        user: name,
        label: 'initial',
        created_at: expect.stringMatching(ISO_MICROS),
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
        active: true,
        token: expect.stringMatching(TOKEN_PATTERN),
      });
      expect((await m.listUsers()).find((u) => u.id === user.id)).toEqual(user);
      const composed = await m.addUser(` zoe${unique('')}-e\u0301 `);
      issued(composed.token);
      expect(composed.user.name).toMatch(/^zoe-[0-9a-f]{8}-\u00e9$/);
    });

    it('stores only the hash of a token, never the token', async () => {
      const { token } = await m.addUser(unique('hash'));
      issued(token);
      const rows = await b.rows<{ token_hash: unknown }>(
        'select token_hash from api_tokens where id = $1',
        [token.id],
      );
      expect(Buffer.from(rows[0]?.token_hash as Uint8Array)).toEqual(tokenHash(token.token));
      const dump = JSON.stringify(
        await b.rows("select *, encode(token_hash, 'escape') as raw from api_tokens"),
      );
      expect(dump).not.toContain(token.token);
      expect(dump).not.toContain(token.token.slice(4));
    });

    it('a name taken in any case is a conflict, and nothing is written', async () => {
      const name = unique('Carol');
      issued((await m.addUser(name)).token);
      const [users, tokens] = [await countRows('users'), await countRows('api_tokens')];
      const err = await failure(m.addUser(name.toUpperCase()));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toBe(
        `name: a user named ${JSON.stringify(name.toUpperCase())} already exists (names are case-insensitive)`,
      );
      expect([await countRows('users'), await countRows('api_tokens')]).toEqual([users, tokens]);
    });

    it.each([
      ['', 'may not be blank'],
      ['a\u00a0b', 'may not contain spaces other than U+0020 (U+00A0)'],
      ['\u202egnp.exe', 'may not contain bidirectional control characters (U+202E)'],
      ['bo\u200bb', 'may not contain zero-width characters (U+200B)'],
      ['x'.repeat(51), 'at most 50 characters, got 51'],
    ])('addUser(%j) is refused naming the field and the rule', async (name, message) => {
      const users = await countRows('users');
      const err = await failure(m.addUser(name));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([{ field: 'name', message }]);
      expect(await countRows('users')).toBe(users);
    });

    it('the table refuses what core refuses, even written around core', async () => {
      for (const name of [' x', 'a  b', 'a\u200bb', 'a\u00a0b', 'e\u0301', 'a\u2028b']) {
        await expect(b.sql('insert into users (name) values ($1)', [name])).rejects.toThrow(
          /check constraint/,
        );
      }
    });

    it('disableUser is idempotent, ends every token of the user, and names an unknown user', async () => {
      const name = unique('dave');
      const { user, token } = await m.addUser(name);
      issued(token);
      expect(await authenticates(m, token.token)).toBe(true);
      const disabled = await m.disableUser(name.toUpperCase());
      expect(disabled).toEqual({ ...user, disabled_at: expect.stringMatching(ISO_MICROS) });
      // At once in this process: no cache stands in the way.
      expect(await authenticates(m, token.token)).toBe(false);
      expect(await m.disableUser(name)).toEqual(disabled);
      expect((await m.listTokens(name))[0]?.active).toBe(false);
      const err = await failure(m.disableUser(unique('nobody')));
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toMatch(/^no user named "nobody-[0-9a-f]{8}"$/);
      const created = await failure(m.createToken(name));
      expect(created).toBeInstanceOf(ConflictError);
      expect(created.message).toBe(`user ${JSON.stringify(name)} is disabled`);
    });
  });

  describe('tokens', () => {
    it('createToken takes a label and an expiry; listTokens shows everything but the secret', async () => {
      const name = unique('erin');
      issued((await m.addUser(name)).token);
      const expiresAt = new Date(Date.now() + 86_400_000);
      const t = issued(await m.createToken(name, { label: ' laptop ', expiresAt }));
      expect(t).toMatchObject({ user: name, label: 'laptop', active: true, revoked_at: null });
      expect(Date.parse(t.expires_at ?? '')).toBe(expiresAt.getTime());
      const list = await m.listTokens(name);
      expect(list.map((x) => x.label)).toEqual(['initial', 'laptop']);
      const { token: _secret, ...info } = t;
      expect(list[1]).toEqual(info);
      expect(await m.getToken(t.id)).toEqual(info);
      expect(await m.getToken(String(t.id))).toEqual(info);
      const all = await m.listTokens();
      expect(all.map((x) => x.id)).toEqual([...all.map((x) => x.id)].sort((x, y) => x - y));
      expect(all.some((x) => x.id === t.id)).toBe(true);
      const shown = JSON.stringify([list, all, await m.listUsers()]);
      for (const secret of secrets) expect(shown).not.toContain(secret);
      expect(shown).not.toMatch(/token_hash|msg_/);
    });

    it('refuses bad options, unknown users and unknown ids with the exact error; nothing is written', async () => {
      const name = unique('fred');
      issued((await m.addUser(name)).token);
      const tokens = await countRows('api_tokens');
      const bad = await failure(
        m.createToken(name, { label: 'x'.repeat(101), expiresAt: '2000-01-01T00:00:00Z' }),
      );
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).issues).toEqual([
        { field: 'label', message: 'at most 100 characters, got 101' },
        { field: 'expiresAt', message: 'must be in the future; got "2000-01-01T00:00:00Z"' },
      ]);
      const badName = await failure(m.createToken('a\u2028b'));
      expect((badName as ValidationError).issues).toEqual([
        { field: 'name', message: 'may not contain line or paragraph separators (U+2028)' },
      ]);
      const nobody = unique('nobody');
      for (const call of [() => m.createToken(nobody), () => m.listTokens(nobody)]) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(NotFoundError);
        expect(err.message).toBe(`no user named ${JSON.stringify(nobody)}`);
      }
      expect(await countRows('api_tokens')).toBe(tokens);
      for (const call of [() => m.getToken(9_000_000_000), () => m.revokeToken('9000000000')]) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(NotFoundError);
        expect(err.message).toBe('no token with id 9000000000');
      }
      const badId = await failure(m.revokeToken('x'));
      expect((badId as ValidationError).issues).toEqual([
        { field: 'id', message: 'must be a positive whole number (a token id); got "x"' },
      ]);
    });

    it('revokeToken is idempotent and ends the token at once in this process', async () => {
      const name = unique('gina');
      const { token } = await m.addUser(name);
      issued(token);
      const second = issued(await m.createToken(name, { label: 'second' }));
      expect(await authenticates(m, token.token)).toBe(true);
      expect(await authenticates(m, token.token)).toBe(true);
      const revoked = await m.revokeToken(token.id);
      expect(revoked).toMatchObject({
        id: token.id,
        active: false,
        revoked_at: expect.stringMatching(ISO_MICROS),
      });
      expect(await authenticates(m, token.token)).toBe(false);
      // A repeat keeps the first revocation (last_used_at may have been written meanwhile).
      expect(await m.revokeToken(token.id)).toMatchObject({
        id: token.id,
        active: false,
        revoked_at: revoked.revoked_at,
      });
      // The user's other token still works.
      expect(await authenticates(m, second.token)).toBe(true);
    });
  });

  describe('authenticate', () => {
    let name: string;
    let token: IssuedToken;
    beforeAll(async () => {
      name = unique('hank');
      token = issued((await m.addUser(name)).token);
    });

    it('answers who the token belongs to', async () => {
      const user = (await m.listUsers()).find((u) => u.name === name);
      expect(await m.authenticate(token.token)).toEqual({
        userId: user?.id,
        name,
        tokenId: token.id,
      });
    });

    it('fails with one message whatever the reason, and never says the token', async () => {
      const expired = issued(await m.createToken(name, { expiresAt: new Date(Date.now() + 600) }));
      const revoked = issued(await m.createToken(name));
      await m.revokeToken(revoked.id);
      const disabledUser = unique('ivan');
      const disabled = issued((await m.addUser(disabledUser)).token);
      await m.disableUser(disabledUser);
      await sleep(700);
      const unknown = `msg_${'A'.repeat(43)}`;
      const attempts: unknown[] = [
        undefined,
        null,
        '',
        42,
        { token: token.token },
        'garbage',
        `Bearer ${token.token}`,
        `${token.token} `,
        token.token.slice(0, -1),
        `${token.token}A`,
        token.token.replace('msg_', 'MSG_'),
        unknown,
        expired.token,
        revoked.token,
        disabled.token,
      ];
      for (const attempt of attempts) {
        const err = await failure(m.authenticate(attempt));
        expect(err, String(attempt)).toBeInstanceOf(UnauthenticatedError);
        expect(err.message).toBe(UNAUTHENTICATED_MESSAGE);
        expect((err as UnauthenticatedError).code).toBe(ErrorCode.unauthenticated);
        expect(err.cause).toBeUndefined();
        const shown = `${err.message} ${JSON.stringify(err)} ${err.stack}`;
        for (const secret of secrets) expect(shown).not.toContain(secret);
      }
    });

    it('is cached (a row changed behind its back still authenticates) for at most 5 s', async () => {
      const t = issued(await m.createToken(name, { label: 'cached' }));
      expect(await authenticates(m, t.token)).toBe(true);
      // Revoked without the announcement core would make: only the cache can still say yes.
      await b.sql('update api_tokens set revoked_at = now() where id = $1', [t.id]);
      expect(await authenticates(m, t.token)).toBe(true);
      const took = await eventually(
        'the cache to expire',
        async () => !(await authenticates(m, t.token)),
      );
      expect(took).toBeLessThanOrEqual(5_500);
    });

    it('is never cached past the expiry of the token', async () => {
      const t = issued(await m.createToken(name, { expiresAt: new Date(Date.now() + 1500) }));
      expect(await authenticates(m, t.token)).toBe(true);
      expect(await authenticates(m, t.token)).toBe(true);
      const expiry = Date.parse((await m.getToken(t.id)).expires_at ?? '');
      await sleep(Math.max(0, expiry - Date.now()) + 100);
      expect(await authenticates(m, t.token)).toBe(false);
      expect((await m.getToken(t.id)).active).toBe(false);
    });

    it('records last_used_at off the request path, at most once a minute', async () => {
      const t = issued(await m.createToken(name, { label: 'used' }));
      expect((await m.getToken(t.id)).last_used_at).toBeNull();
      await m.authenticate(t.token);
      await eventually('last_used_at', async () => (await m.getToken(t.id)).last_used_at !== null);
      const first = (await m.getToken(t.id)).last_used_at;
      await sleep(50);
      await m.authenticate(t.token);
      await m.mailbox(await m.authenticate(t.token)).list();
      await sleep(200);
      expect((await m.getToken(t.id)).last_used_at).toBe(first);
    });
  });

  it('checks the form of a token before the database: a closed messenger still says unauthenticated', async () => {
    const other = await openBackend(backend);
    await other.messenger.close();
    try {
      expect(await failure(other.messenger.authenticate('garbage'))).toBeInstanceOf(
        UnauthenticatedError,
      );
      // A token of the right form is looked up: that fails here, and not as unauthenticated.
      expect(
        await failure(other.messenger.authenticate(`msg_${'B'.repeat(43)}`)),
      ).not.toBeInstanceOf(UnauthenticatedError);
    } finally {
      await other.close().catch(() => {});
    }
  });
});
