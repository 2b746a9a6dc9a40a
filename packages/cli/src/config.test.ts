import { describe, expect, it } from 'vitest';
import {
  databaseHint,
  resolveDatabase,
  resolveToken,
  resolveTransport,
  tokenExposure,
} from './config.js';
import { ConfigError, UsageError } from './errors.js';

const API = 'http://127.0.0.1:8000/';

describe('resolveTransport', () => {
  it('uses the database when no API is configured', () => {
    expect(resolveTransport({}, { DATABASE_URL: 'postgres://h/db' })).toEqual({
      kind: 'direct',
      database: { databaseUrl: 'postgres://h/db', lockTimeoutMs: 10_000 },
    });
  });

  it('uses the API from --api or MSG_API_URL, with defaults', () => {
    const expected = {
      kind: 'http',
      api: { baseUrl: API, connectTimeoutMs: 5_000, requestTimeoutMs: 30_000, retries: 2 },
    };
    expect(resolveTransport({ api: 'http://127.0.0.1:8000' }, {})).toEqual(expected);
    expect(resolveTransport({}, { MSG_API_URL: API })).toEqual(expected);
  });

  it('lets flags win over the environment', () => {
    const env = { MSG_API_URL: API, DATABASE_URL: 'postgres://h/db' };
    expect(resolveTransport({ db: '/tmp/d' }, env)).toMatchObject({
      kind: 'direct',
      database: { databaseUrl: '/tmp/d' },
    });
    expect(resolveTransport({ api: 'https://m.example/x' }, env)).toMatchObject({
      kind: 'http',
      api: { baseUrl: 'https://m.example/x/' },
    });
    // DATABASE_URL does not hide MSG_API_URL: only the --db flag does.
    expect(resolveTransport({}, env)).toMatchObject({ kind: 'http' });
    expect(() => resolveTransport({ api: API, db: '/tmp/d' }, {})).toThrow(
      new UsageError('--api and --db cannot be used together'),
    );
  });

  it('reads timeouts and retries, --timeout over MSG_REQUEST_TIMEOUT_MS', () => {
    const env = {
      MSG_API_URL: API,
      MSG_CONNECT_TIMEOUT_MS: '250',
      MSG_REQUEST_TIMEOUT_MS: '900',
      MSG_RETRIES: '0',
    };
    expect(resolveTransport({}, env)).toMatchObject({
      api: { connectTimeoutMs: 250, requestTimeoutMs: 900, retries: 0 },
    });
    expect(resolveTransport({ timeout: '1500' }, env)).toMatchObject({
      api: { requestTimeoutMs: 1500 },
    });
  });

  it('rejects malformed settings naming them', () => {
    const cases: [Parameters<typeof resolveTransport>, Error][] = [
      [
        [{ api: 'ftp://x' }, {}],
        new UsageError('--api: must be an http:// or https:// URL, got "ftp://x"'),
      ],
      [
        [{}, { MSG_API_URL: 'localhost:8000' }],
        new ConfigError('MSG_API_URL: must be an http:// or https:// URL, got "localhost:8000"'),
      ],
      [
        [{ api: 'http://u:p@h/' }, {}],
        new UsageError('--api: must not contain a user or password, got "http://u:p@h/"'),
      ],
      [
        [{ api: 'http://h/?a=1' }, {}],
        new UsageError('--api: must not have a query or fragment, got "http://h/?a=1"'),
      ],
      [
        [{ api: API, timeout: '1s' }, {}],
        new UsageError('--timeout: must be a whole number of milliseconds, got "1s"'),
      ],
      [
        [{}, { MSG_API_URL: API, MSG_RETRIES: '11' }],
        new ConfigError('MSG_RETRIES: must be a whole number from 0 to 10, got "11"'),
      ],
      [
        [{}, { MSG_API_URL: API, MSG_CONNECT_TIMEOUT_MS: '-1' }],
        new ConfigError('MSG_CONNECT_TIMEOUT_MS: must be a whole number of milliseconds, got "-1"'),
      ],
    ];
    for (const [args, error] of cases) expect(() => resolveTransport(...args)).toThrow(error);
  });

  it('ignores the HTTP settings when the database is used', () => {
    expect(resolveTransport({}, { MSG_DATA_DIR: '/d', MSG_RETRIES: 'x' })).toMatchObject({
      kind: 'direct',
    });
  });
});

describe('resolveToken', () => {
  const stored = () => 'msg_stored';
  it('takes --token, else MSG_TOKEN, else the stored token, and says which', () => {
    expect(resolveToken({ token: ' msg_flag ' }, { MSG_TOKEN: 'msg_env' }, stored)).toEqual({
      token: 'msg_flag',
      source: 'flag',
    });
    expect(resolveToken({}, { MSG_TOKEN: 'msg_env' }, stored)).toEqual({
      token: 'msg_env',
      source: 'env',
    });
    expect(resolveToken({}, { MSG_TOKEN: ' ' }, stored)).toEqual({
      token: 'msg_stored',
      source: 'stored',
    });
    expect(resolveToken({}, {}, () => undefined)).toEqual({ token: undefined, source: 'none' });
  });

  it('does not read the store when a token is given', () => {
    const never = () => {
      throw new Error('read the store');
    };
    expect(resolveToken({ token: 'msg_a' }, {}, never).source).toBe('flag');
    expect(resolveToken({}, { MSG_TOKEN: 'msg_a' }, never).source).toBe('env');
  });

  it('refuses what cannot be a header, naming the source and never echoing it', () => {
    expect(() => resolveToken({ token: 'msg_a b' }, {}, stored)).toThrow(UsageError);
    expect(() => resolveToken({}, { MSG_TOKEN: 'msg_\u0007secret' }, stored)).toThrow(ConfigError);
    expect(() => resolveToken({}, { MSG_TOKEN: 'msg_é' }, stored)).toThrow(
      /^MSG_TOKEN: must be a token/,
    );
    try {
      resolveToken({}, { MSG_TOKEN: 'msg_\nsecret' }, stored);
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });
});

describe('tokenExposure', () => {
  it('lets a token go over https:// anywhere and over http:// to this machine', () => {
    for (const url of [
      'https://m.example/',
      'http://127.0.0.1:8000/',
      'http://127.1.2.3/',
      'http://localhost:8000/',
      'http://api.localhost/',
      'http://[::1]:8000/',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      expect(tokenExposure(url), url).toBeUndefined();
    }
  });

  it('refuses plain http:// to any other host, naming it', () => {
    for (const url of [
      'http://m.example:8000/',
      'http://10.0.0.1/',
      'http://128.0.0.1/',
      'http://[::2]/',
      'http://localhost.example/',
      'http://0.0.0.0:8000/',
    ]) {
      expect(tokenExposure(url), url).toMatch(/^refusing to send a token over plain http:\/\/ to /);
    }
    expect(tokenExposure('http://m.example:8000/')).toContain('m.example:8000');
  });
});

describe('databaseHint (what msg serve tells to run in another terminal)', () => {
  const hint = (flags: { db?: string }, env: NodeJS.ProcessEnv) =>
    databaseHint(flags, env, resolveDatabase(flags, env));
  it('names no database for the default one', () => {
    expect(hint({}, {})).toBeUndefined();
    expect(hint({}, { XDG_DATA_HOME: '/x/data' })).toBeUndefined();
  });
  it('names the directory of --db or MSG_DATA_DIR, absolute and quoted for a shell', () => {
    expect(hint({ db: '/srv/msg' }, {})).toBe('/srv/msg');
    expect(hint({}, { MSG_DATA_DIR: '/srv/my data' })).toBe("'/srv/my data'");
    expect(hint({ db: "/srv/it's" }, {})).toBe("'/srv/it'\\''s'");
    expect(hint({ db: 'rel/dir' }, {})).toBe(`${process.cwd()}/rel/dir`);
  });
  it('never prints a password: DATABASE_URL stays a variable, a --db URL is masked', () => {
    expect(hint({}, { DATABASE_URL: 'postgres://u:secret@h/db' })).toBe('"$DATABASE_URL"');
    expect(hint({ db: 'postgres://u:secret@h:5432/db' }, {})).toBe("'postgres://u:****@h:5432/db'");
    expect(hint({ db: 'postgres://u@h/db' }, {})).toBe('postgres://u@h/db');
  });
});
