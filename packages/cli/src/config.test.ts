import { describe, expect, it } from 'vitest';
import { resolveTransport } from './config.js';
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
