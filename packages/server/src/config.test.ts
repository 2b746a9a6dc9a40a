import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const load = (env: Record<string, string>) => loadConfig({ DATABASE_URL: '/data', ...env });

describe('loadConfig: authentication settings', () => {
  it('is secure by default: token mode, 20/s with bursts of 40, no other origin', () => {
    const c = load({});
    expect(c.auth).toBe('token');
    expect(c.rateLimit).toEqual({ perSecond: 20, burst: 40 });
    expect(c.allowedOrigins).toEqual([]);
  });

  it('reads AUTH, RATE_LIMIT, RATE_BURST and ALLOWED_ORIGINS', () => {
    expect(load({ AUTH: 'open' }).auth).toBe('open');
    expect(load({ AUTH: ' Token ' }).auth).toBe('token');
    expect(load({ RATE_LIMIT: '5/s' }).rateLimit).toEqual({ perSecond: 5, burst: 10 });
    expect(load({ RATE_LIMIT: '1200/m' }).rateLimit).toEqual({ perSecond: 20, burst: 40 });
    expect(load({ RATE_LIMIT: '30/m' }).rateLimit).toEqual({ perSecond: 0.5, burst: 1 });
    expect(load({ RATE_LIMIT: '20/s', RATE_BURST: '7' }).rateLimit).toEqual({
      perSecond: 20,
      burst: 7,
    });
    expect(load({ RATE_LIMIT: 'OFF', RATE_BURST: '7' }).rateLimit).toBe('off');
    expect(
      load({
        ALLOWED_ORIGINS: ' https://App.Example , http://localhost:5173,https://b.example:443/',
      }).allowedOrigins,
    ).toEqual(['https://app.example', 'http://localhost:5173', 'https://b.example']);
  });

  it('names the variable and what it takes when a value is bad', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ AUTH: 'none' }, /^AUTH: must be token .* or open .*; got "none"$/],
      [{ RATE_LIMIT: '20' }, /^RATE_LIMIT: .*e\.g\. 20\/s or 1200\/m, or off; got "20"$/],
      [{ RATE_LIMIT: '0/s' }, /^RATE_LIMIT: /],
      [{ RATE_LIMIT: '20/h' }, /^RATE_LIMIT: /],
      [{ RATE_BURST: '0' }, /^RATE_BURST: must be a whole number from 1 to 1000000; got "0"$/],
      [{ ALLOWED_ORIGINS: '*' }, /^ALLOWED_ORIGINS: "\*" is not an origin/],
      [{ ALLOWED_ORIGINS: 'https://a.example/app' }, /^ALLOWED_ORIGINS: .*without a path/],
      [{ ALLOWED_ORIGINS: 'null' }, /^ALLOWED_ORIGINS: "null" is not an origin/],
      [{ ALLOWED_ORIGINS: 'ftp://a.example' }, /^ALLOWED_ORIGINS: .*not an http or https origin/],
    ];
    for (const [env, message] of cases) {
      expect(() => load(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => load(env), JSON.stringify(env)).toThrow(message);
    }
  });

  it('reads DATABASE_READ_URLS, MAX_REPLICA_LAG_MS and READ_WAIT_MS; none means no replicas', () => {
    expect(load({}).readUrls).toEqual([]);
    expect(load({}).replication).toEqual({ maxLagMs: 5000, readWaitMs: 50 });
    const c = load({
      DATABASE_URL: 'postgres://db/m',
      DATABASE_READ_URLS: ' postgres://r1/m, postgresql://r2/m ,',
      MAX_REPLICA_LAG_MS: '2000',
      READ_WAIT_MS: '0',
    });
    expect(c.readUrls).toEqual(['postgres://r1/m', 'postgresql://r2/m']);
    expect(c.replication).toEqual({ maxLagMs: 2000, readWaitMs: 0 });
    expect(() => load({ DATABASE_READ_URLS: 'postgres://r1/m' })).toThrow(
      /^DATABASE_READ_URLS: read replicas need DATABASE_URL to be PostgreSQL/,
    );
    expect(() => load({ DATABASE_URL: 'postgres://db/m', DATABASE_READ_URLS: 'r1:5432' })).toThrow(
      /^DATABASE_READ_URLS: each must be a postgres:\/\/ URL/,
    );
    expect(() => load({ MAX_REPLICA_LAG_MS: 'soon' })).toThrow(/^MAX_REPLICA_LAG_MS: /);
  });
});

describe('loadConfig: stream budgets', () => {
  it('has defaults, reads each variable (the lifetime in seconds), and 0 turns one off', () => {
    expect(load({}).streams).toEqual({
      maxPerAddress: 50,
      maxPerUser: 10,
      maxTotal: 2000,
      maxLifetimeMs: 3_600_000,
    });
    expect(
      load({
        STREAM_MAX_PER_ADDRESS: '5',
        STREAM_MAX_PER_USER: ' 0 ',
        STREAM_MAX_TOTAL: '100',
        STREAM_MAX_LIFETIME_S: '600',
      }).streams,
    ).toEqual({ maxPerAddress: 5, maxPerUser: 0, maxTotal: 100, maxLifetimeMs: 600_000 });
  });

  it('names the variable and what it takes when a value is bad', () => {
    expect(() => load({ STREAM_MAX_TOTAL: '-1' })).toThrow(
      /^STREAM_MAX_TOTAL: must be a whole number from 0 \(off\) to 1000000; got "-1"$/,
    );
    expect(() => load({ STREAM_MAX_LIFETIME_S: '1h' })).toThrow(
      /^STREAM_MAX_LIFETIME_S: must be a whole number from 0 \(off\) to 604800 \(seconds\); got "1h"$/,
    );
  });
});

describe('loadConfig: database timeouts', () => {
  it('defaults to 30 s for statements, 5 s for listings, 10 s idle in a transaction', () => {
    const c = load({});
    expect([c.statementTimeoutMs, c.listTimeoutMs, c.idleInTransactionTimeoutMs]).toEqual([
      30_000, 5000, 10_000,
    ]);
    const set = load({
      DB_STATEMENT_TIMEOUT_MS: '20000',
      DB_LIST_TIMEOUT_MS: '2000',
      DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '3000',
    });
    expect([set.statementTimeoutMs, set.listTimeoutMs, set.idleInTransactionTimeoutMs]).toEqual([
      20_000, 2000, 3000,
    ]);
    expect(() => load({ DB_LIST_TIMEOUT_MS: '0' })).toThrow(
      'DB_LIST_TIMEOUT_MS: must be a whole number',
    );
  });
});

describe('loadConfig: secrets from files', () => {
  const PRIMARY = 'postgres://app:pw@db:5432/messenger';
  it('reads DATABASE_URL_FILE and DATABASE_READ_URLS_FILE (one URL a line or comma-separated)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-secrets-'));
    try {
      writeFileSync(join(dir, 'url'), `${PRIMARY}\n`);
      writeFileSync(join(dir, 'read'), 'postgres://app:pw@r1/m\npostgres://app:pw@r2/m\n');
      const c = loadConfig({
        DATABASE_URL_FILE: join(dir, 'url'),
        DATABASE_READ_URLS_FILE: join(dir, 'read'),
      });
      expect(c.databaseUrl).toBe(PRIMARY);
      expect(c.readUrls).toEqual(['postgres://app:pw@r1/m', 'postgres://app:pw@r2/m']);
      expect(() => loadConfig({ DATABASE_URL_FILE: join(dir, 'nope') })).toThrow(
        /^DATABASE_URL_FILE: cannot read ".*nope" \(ENOENT\)$/,
      );
      expect(() =>
        loadConfig({ DATABASE_URL: PRIMARY, DATABASE_URL_FILE: join(dir, 'url') }),
      ).toThrow(/^DATABASE_URL and DATABASE_URL_FILE are both set: set one$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
