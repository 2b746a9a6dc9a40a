// Hostile input, generated: fast-check properties over the send body, the list query string and
// the headers through `app.inject`, and raw bytes (invalid UTF-8, malformed HTTP) over a real
// socket to the same app listening on 127.0.0.1. Then one property per class of defect found by
// hand: instants with offsets in every spelling, deep nesting on every JSON route, upgrade headers
// on every route (real sockets, checked for leaks), pipelined requests, bad %-escapes in paths and
// in query strings. Whatever comes in: no answer >= 500, no socket left open, the server keeps
// answering, a rejected request writes no row, and an accepted one is stored exactly once.
import {
  LIST_PARAMETERS,
  type Message,
  type Messenger,
  openMessenger,
  validateSendInput,
} from '@messenger/core';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { rawExchange } from './helpers/raw-http.js';

const SEND = '/api/messages/send/';
const LIST = '/api/messages/';
/** Runs per property; ten properties, 2630 cases in all. */
const RUNS = {
  body: 600,
  query: 450,
  headers: 250,
  raw: 300,
  instants: 300,
  nesting: 80,
  upgrade: 150,
  pipelined: 100,
  paths: 200,
  escapes: 200,
};
const READ = '/api/messages/read/';
const STREAM = '/api/messages/stream';
const UPGRADE_HEADERS =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

/** What the run saw; printed at the end, whatever happened. */
const stats = {
  cases: 0,
  fiveHundreds: 0,
  rejectedWrites: 0,
  accepted: 0,
  replays: 0,
  lost: 0,
  duplicated: 0,
  /** Raw requests the server closed without an answer (it may, for garbage). */
  closedWithoutAnswer: 0,
  /** Connections still open on the server after their client was done with them. */
  leakedSockets: 0,
  statuses: {} as Record<string, number>,
};
const violations: string[] = [];

// ---- arbitraries --------------------------------------------------------------------------

const NAMES = ['bob', 'alice', ' carol ', 'Dave', 'ünï', '😀'];
/** Any UTF-16 code unit, lone surrogates included. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
  maxLength: 40,
});
const textish: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 2, arbitrary: codeUnits },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '   ',
      '\u0000',
      'a\u0000b',
      '\uD800',
      'x\uDFFFy',
      '\t\n',
      '\u200b',
      '\u202e',
      'bob\r\nX-Injected: 1',
      "'; drop table messages; --",
      '%00',
      '\\u0000',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', '😀', 'é', 'e\u0301'), fc.integer({ min: 45, max: 20_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);
/** Nested arrays or objects, up to a depth that still fits in 16 KiB. */
const deep = fc
  .tuple(fc.integer({ min: 1, max: 6000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  // Parsed nesting stays shallow enough for fast-check to print; deeper texts are in rawJson.
  fc
    .integer({ min: 1, max: 300 })
    .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
);
const field: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: textish },
  { weight: 1, arbitrary: wrongType },
);
const sendObject = fc
  .tuple(
    fc.record({ sender: field, recipient: field, message_content: field }, { requiredKeys: [] }),
    fc.dictionary(
      fc.constantFrom('id', 'is_read', 'sent_datetime', 'read_at', 'extra', ''),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 2 },
    ),
  )
  .map(([known, extra]) => ({ ...extra, ...known }));
const validSend = fc.record({
  sender: fc.constantFrom(...NAMES),
  recipient: fc.constantFrom(...NAMES),
  message_content: fc.oneof(
    fc.constantFrom('hi', ' hello ', '😀'),
    fc.string({ minLength: 1, maxLength: 40 }),
  ),
});

/** Raw JSON texts a serializer would never write. */
const rawJson: fc.Arbitrary<string> = fc.oneof(
  deep,
  fc.constant('{"sender":"bob","sender":"eve","recipient":"alice","message_content":"dup keys"}'),
  fc.constant(
    '{"__proto__":{"admin":true},"sender":"bob","recipient":"alice","message_content":"x"}',
  ),
  fc.constant(
    '{"constructor":{"prototype":{"x":1}},"sender":"bob","recipient":"a","message_content":"x"}',
  ),
  fc.constant('{"sender":"\\ud800","recipient":"alice","message_content":"lone"}'),
  fc.constant('{"sender":"bob","recipient":"alice","message_content":"nul \\u0000 inside"}'),
  fc.constant('\uFEFF{"sender":"bom","recipient":"alice","message_content":"with BOM"}'),
  fc.constantFrom(
    '',
    ' ',
    'null',
    '0',
    '"str"',
    '[]',
    '{}',
    'true',
    '{"a":1}garbage',
    '{,}',
    '{"a":}',
  ),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  // Valid JSON cut anywhere.
  fc.tuple(sendObject, fc.nat()).map(([o, n]) => {
    const t = JSON.stringify(o);
    return t.slice(0, n % (t.length + 1));
  }),
  fc.string({ maxLength: 200 }),
);
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/vnd.api+json',
  '*/*',
  ';',
  '',
];
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: headerValue(40) },
);
/** Values a Node client may put in a header: visible Latin-1, space and tab. */
function headerValue(maxLength: number): fc.Arbitrary<string> {
  return fc.string({
    unit: fc
      .oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0xa0, max: 0xff }),
        fc.constant(9),
      )
      .map((n) => String.fromCharCode(n)),
    maxLength,
  });
}
/** Idempotency keys: a small pool (so replays and reuse happen), random ones, bad ones. */
const idempotencyKey = fc.option(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('k-1', 'k-2', 'k-3', 'k-4') },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: headerValue(300) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', 'has space', 'x'.repeat(255), 'x'.repeat(256)),
    },
  ),
  { nil: undefined },
);

// ---- the app and what it stored -------------------------------------------------------------

describe('hostile input', () => {
  let messenger: Messenger;
  let app: FastifyInstance;
  let port = 0;
  /** Id of the newest stored message; a request that is not a new 201 must leave it alone. */
  let newest = 0;
  const acked = new Map<number, { sender: string; recipient: string; message_content: string }>();
  /** Idempotency key → the validated message first stored under it, and its id. */
  const keys = new Map<string, { hash: string; id: number }>();

  beforeAll(async () => {
    messenger = await openMessenger();
    app = await buildApp({ messenger, auth: { mode: 'open' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  }, 60_000);

  afterAll(async () => {
    console.log(
      `fuzz: ${stats.cases} cases, ${stats.fiveHundreds} responses >= 500, ` +
        `${stats.rejectedWrites} rows written by rejected requests, ${stats.lost} lost, ${stats.duplicated} duplicated, ` +
        `${stats.leakedSockets} sockets left open ` +
        `(${stats.accepted} sends accepted, ${stats.replays} replayed, ${stats.closedWithoutAnswer} raw requests closed unanswered; ` +
        `statuses ${JSON.stringify(stats.statuses)}; seed ${seed})`,
    );
    await app?.close();
  });

  async function newestId(): Promise<number> {
    return (await messenger.list({ limit: 1 })).messages[0]?.id ?? 0;
  }

  /**
   * Books one answer: counts it, and checks the database against it (a new 201 added exactly
   * its row; anything else added none). Returns false, with a note, when something is wrong.
   */
  async function book(what: string, status: number, body: string, replayed: boolean, key?: string) {
    stats.cases++;
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    const problems: string[] = [];
    if (status >= 500) {
      stats.fiveHundreds++;
      problems.push(`answered ${status}`);
    }
    const now = await newestId();
    if (status === 201) {
      const m = JSON.parse(body) as Message;
      const first = key === undefined ? undefined : keys.get(key);
      if (replayed) {
        stats.replays++;
        if (now !== newest) {
          stats.duplicated++;
          problems.push(`a replay stored a row (${now})`);
        }
        if (first !== undefined && first.id !== m.id) {
          problems.push(`replayed id ${m.id}, the key first stored ${first.id}`);
        }
      } else {
        if (key !== undefined) keys.set(key, { hash: hashOf(m), id: m.id });
        stats.accepted++;
        if (m.id !== now || now <= newest) problems.push(`201 with id ${m.id}, newest is ${now}`);
        acked.set(m.id, {
          sender: m.sender,
          recipient: m.recipient,
          message_content: m.message_content,
        });
      }
    } else if (now !== newest) {
      stats.rejectedWrites++;
      problems.push(`answered ${status} but stored row ${now}`);
    }
    newest = Math.max(newest, now);
    if (problems.length > 0) {
      violations.push(`${what}: ${problems.join('; ')}; body ${body.slice(0, 300)}`);
      return false;
    }
    return true;
  }

  /** What "the same request" is for an idempotency key: the validated fields. */
  function hashOf(m: { sender: string; recipient: string; message_content: string }): string {
    return JSON.stringify([m.sender, m.recipient, m.message_content]);
  }

  /** The API's one error shape. */
  function isErrorShape(body: string): boolean {
    try {
      const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
      return typeof e?.code === 'string' && typeof e.message === 'string';
    } catch {
      return false;
    }
  }

  const params = (runs: number) => ({ numRuns: runs, seed, endOnFailure: true });

  it('send bodies: JSON objects of every shape, raw JSON, form bodies, any content type and key', async () => {
    const bodyCase = fc.oneof(
      { weight: 4, arbitrary: sendObject.map((o) => ({ kind: 'object' as const, o })) },
      { weight: 3, arbitrary: validSend.map((o) => ({ kind: 'object' as const, o })) },
      { weight: 3, arbitrary: rawJson.map((text) => ({ kind: 'text' as const, text })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(sendObject, fc.uint8Array({ minLength: 1, maxLength: 8 }))
          .map(([o, bytes]) => ({ kind: 'bytes' as const, o, bytes })),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        bodyCase,
        fc.oneof(
          { weight: 4, arbitrary: fc.constant('application/json') },
          { weight: 2, arbitrary: contentType },
        ),
        idempotencyKey,
        fc.boolean(),
        async (c, type, key, again) => {
          let payload: string | Buffer;
          if (c.kind === 'object') {
            payload =
              type === 'application/x-www-form-urlencoded'
                ? new URLSearchParams(
                    Object.entries(c.o).map(([k, v]): [string, string] => [
                      k,
                      typeof v === 'string' ? v : (JSON.stringify(v) ?? ''),
                    ]),
                  ).toString()
                : JSON.stringify(c.o);
          } else if (c.kind === 'text') {
            payload = c.text;
          } else {
            // Invalid UTF-8 spliced into the middle of a JSON text.
            const t = JSON.stringify(c.o);
            const at = Math.floor(t.length / 2);
            payload = Buffer.concat([
              Buffer.from(t.slice(0, at)),
              Buffer.from([0xff, ...c.bytes, 0xc3, 0x28]),
              Buffer.from(t.slice(at)),
            ]);
          }
          const headers: Record<string, string> = {};
          if (type !== '') headers['content-type'] = type;
          if (key !== undefined) headers['idempotency-key'] = key;
          const prior = key === undefined ? undefined : keys.get(key);
          const res = await app.inject({ method: 'POST', url: SEND, headers, payload });
          const what = `POST ${type} key=${JSON.stringify(key)} ${String(payload).slice(0, 200)}`;
          const ok = await book(
            what,
            res.statusCode,
            res.body,
            res.headers['idempotent-replayed'] === 'true',
            key,
          );
          if (!ok) return false;
          if (res.statusCode >= 400 && !isErrorShape(res.body)) {
            violations.push(`${what}: ${res.statusCode} not in the error shape: ${res.body}`);
            return false;
          }
          // The oracle for JSON objects sent as JSON: accepted exactly when core's rules say so,
          // and a key behaves as documented (replay, or 422 for a different message).
          if (
            c.kind === 'object' &&
            type === 'application/json' &&
            Buffer.byteLength(payload) <= 16 * 1024
          ) {
            const v = validateSendInput(c.o);
            const keyOk = key === undefined || /^[\x21-\x7e]{1,255}$/.test(key);
            let expected: number[] = v.ok && keyOk ? [201] : [400];
            if (v.ok && keyOk && prior !== undefined) {
              if (prior.hash !== hashOf(v.value)) expected = [422];
              else if (res.statusCode === 201 && res.headers['idempotent-replayed'] !== 'true') {
                violations.push(`${what}: a repeat under key ${key} was not a replay`);
                return false;
              }
            }
            if (!expected.includes(res.statusCode)) {
              violations.push(
                `${what}: expected ${expected.join('/')}, got ${res.statusCode} ${res.body.slice(0, 200)}`,
              );
              return false;
            }
          }
          // Anything accepted passed core's rules.
          if (res.statusCode === 201) {
            const m = res.json<Message>();
            if (!validateSendInput(m).ok) {
              violations.push(`${what}: stored an invalid message ${res.body}`);
              return false;
            }
          }
          // The same request again under its key: the first answer, stored once.
          if (again && key !== undefined && res.statusCode === 201) {
            const repeat = await app.inject({ method: 'POST', url: SEND, headers, payload });
            const replayed = repeat.headers['idempotent-replayed'] === 'true';
            if (!(await book(`${what} (again)`, repeat.statusCode, repeat.body, replayed, key))) {
              return false;
            }
            if (repeat.statusCode !== 201 || !replayed || repeat.body !== res.body) {
              violations.push(`${what}: the repeat answered ${repeat.statusCode} ${repeat.body}`);
              return false;
            }
          }
          return true;
        },
      ),
      params(RUNS.body),
    );
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 40_000);

  it('list query strings: known and unknown parameters, repeated, percent-encoded bytes', async () => {
    const KEYS: readonly string[] = LIST_PARAMETERS;
    const encodedBytes = fc
      .uint8Array({ maxLength: 40 })
      .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0').toUpperCase()}`).join(''));
    const value = fc.oneof(
      fc.constantFrom(
        'bob',
        'alice',
        'true',
        'false',
        'T',
        '0',
        '1',
        'yes',
        '',
        '-1',
        '0',
        '1000',
        '1001',
        '1e3',
        '2024-01-01',
        '2024-13-45T25:61',
        '2024-01-01T00:00:00+99:99',
        'bob,alice',
        'bob?recipient=alice',
        'bWFs',
        'eyJ0IjoxfQ',
      ),
      textish.map((s) => encodeURIComponent(s.isWellFormed() ? s : s.toWellFormed())),
      encodedBytes,
      fc.string({ maxLength: 30 }).map((s) => s.replace(/[&#\s]/g, '')),
      fc.integer({ min: 1, max: 9000 }).map((n) => 'a'.repeat(n)),
    );
    const pair = fc.tuple(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...KEYS) },
        { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodeURIComponent) },
        // Names every plain object already has.
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '__proto__',
            'constructor',
            'toString',
            'valueOf',
            'hasOwnProperty',
          ),
        },
      ),
      value,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(pair, { maxLength: 6 }),
        fc.constantFrom('&', '&', '&', ';', '&&'),
        async (pairs, sep) => {
          const qs = pairs.map(([k, v]) => `${k}=${v}`).join(sep);
          const res = await app.inject({ method: 'GET', url: `${LIST}?${qs}` });
          const what = `GET ?${qs.slice(0, 300)}`;
          if (!(await book(what, res.statusCode, res.body, false))) return false;
          if (res.statusCode === 200) {
            if (!Array.isArray(res.json())) {
              violations.push(`${what}: 200 without a list`);
              return false;
            }
          } else if (res.statusCode !== 400 || !isErrorShape(res.body)) {
            violations.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
            return false;
          }
          return true;
        },
      ),
      params(RUNS.query),
    );
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 40_000);

  it('headers: request ids, keys, encodings, accept, methods and paths', async () => {
    const header = fc.tuple(
      fc.constantFrom(
        'x-request-id',
        'idempotency-key',
        'content-encoding',
        'accept',
        'accept-encoding',
        'x-forwarded-for',
        'x-forwarded-host',
        'origin',
        'cookie',
        'authorization',
        'expect',
        'if-none-match',
        'range',
      ),
      fc.oneof(
        headerValue(200),
        fc.constantFrom(
          'gzip',
          'br',
          'deflate',
          'identity',
          '100-continue',
          'bytes=0-1',
          '*/*',
          'text/html',
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.constantFrom(
          SEND,
          LIST,
          '/api/messages/send',
          '/api/messages',
          '/readyz',
          '/nope',
          '/api/messages/read/',
        ),
        fc.array(header, { maxLength: 5 }),
        fc.option(validSend, { nil: undefined }),
        async (method, url, hs, body) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of hs) headers[k] = v;
          const withBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
          if (withBody) headers['content-type'] = 'application/json';
          const res = await app.inject({
            method,
            url,
            headers,
            ...(withBody && { payload: JSON.stringify(body) }),
          });
          const what = `${method} ${url} ${JSON.stringify(headers).slice(0, 300)}`;
          return book(
            what,
            res.statusCode,
            res.body,
            res.headers['idempotent-replayed'] === 'true',
            headers['idempotency-key'],
          );
        },
      ),
      params(RUNS.headers),
    );
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 40_000);

  it('raw bytes on a real socket: invalid UTF-8, control bytes, malformed HTTP framing', async () => {
    const bytes = (max: number, min = 0) =>
      fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
    const latin1 = (s: string) => Buffer.from(s, 'latin1');
    const crlf = latin1('\r\n');
    /** A POST send with a given body, content type and key, framed correctly. */
    const framedSend = fc
      .tuple(
        fc.oneof(
          validSend.map((o) => Buffer.from(JSON.stringify(o))),
          fc.tuple(validSend, bytes(6)).map(([o, b]) => {
            const t = JSON.stringify(o);
            return Buffer.concat([
              latin1(t.slice(0, 12)),
              b,
              latin1('\xff\xfe'),
              latin1(t.slice(12)),
            ]);
          }),
          bytes(300),
        ),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'),
        fc.option(bytes(40), { nil: undefined }),
        fc.constantFrom('content-length', 'chunked'),
      )
      .map(([body, type, key, framing]) => {
        const head = [
          latin1(
            `POST ${SEND} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${type}\r\n`,
          ),
          ...(key ? [latin1('Idempotency-Key: '), key, crlf] : []),
          framing === 'chunked'
            ? latin1('Transfer-Encoding: chunked\r\n\r\n')
            : latin1(`Content-Length: ${body.length}\r\n\r\n`),
        ];
        const framed =
          framing === 'chunked'
            ? [latin1(`${body.length.toString(16)}\r\n`), body, latin1('\r\n0\r\n\r\n')]
            : [body];
        return Buffer.concat([...head, ...framed]);
      });
    /** A GET list whose target holds arbitrary bytes. */
    const rawTarget = bytes(80).map((b) =>
      Buffer.concat([
        latin1(`GET ${LIST}?sender=`),
        b,
        latin1(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ]),
    );
    /** Broken framing and syntax. */
    const malformed = fc.oneof(
      // Garbage may be a request's valid beginning that then waits for more: not a hang.
      bytes(200, 8).map((raw) => ({ raw, complete: false })),
      fc
        .constantFrom(
          'GET / HTTP/1.1\r\n\r\n',
          'GET /healthz HTTP/1.0\r\n\r\n',
          'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n',
          'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
          'GET /healthz\r\n\r\n',
          'get /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
          'GET /healthz HTTP/1.1\nHost: x\n\n',
          'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: x\r\n Folded: value\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n',
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n`,
          `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000\r\n\r\n`,
          `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\n`,
          `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
          '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
        )
        .map((t) => ({ raw: latin1(t), complete: true })),
      fc.tuple(bytes(30), bytes(30)).map(([name, value]) => ({
        raw: Buffer.concat([
          latin1('GET /healthz HTTP/1.1\r\nHost: x\r\n'),
          name,
          latin1(': '),
          value,
          latin1('\r\n\r\n'),
        ]),
        // CR or LF in the name or value reframes the request.
        complete:
          !name.includes(13) && !name.includes(10) && !value.includes(13) && !value.includes(10),
      })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          framedSend.map((raw) => ({ raw, complete: true })),
          rawTarget.map((raw) => ({ raw, complete: true })),
          malformed,
        ),
        async ({ raw, complete }) => {
          const answer = await rawExchange(port, raw, { timeoutMs: EXCHANGE_TIMEOUT_MS });
          const text = answer.text;
          const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
          if (statuses.length === 0) stats.closedWithoutAnswer++;
          const what = `raw ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`;
          let ok = true;
          // A pipelined second request may follow the first answer; book each answer.
          for (const status of statuses.length > 0 ? statuses : [0]) {
            const replayed = /idempotent-replayed: true/i.test(text);
            // Headers are Latin-1; a stored message comes back as UTF-8 JSON.
            const body =
              status === 201
                ? answer.bytes.subarray(answer.bytes.indexOf('\r\n\r\n') + 4).toString('utf8')
                : text;
            ok = (await book(what, status, body, replayed)) && ok;
          }
          if (answer.bytes.length === 0 && !answer.closedByServer && complete) {
            violations.push(`${what}: no answer and no close within ${EXCHANGE_TIMEOUT_MS} ms`);
            return false;
          }
          return ok;
        },
      ),
      params(RUNS.raw),
    );
    const health = await rawExchange(
      port,
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(health.responses.map((r) => r.status)).toEqual([200]);
  }, 40_000);

  /** Waits until the server holds no connection; books a leak when it still does after `ms`. */
  async function noSocketLeft(what: string, ms = 2_000): Promise<boolean> {
    const count = () =>
      new Promise<number>((resolve) => app.server.getConnections((_err, n) => resolve(n ?? 0)));
    const deadline = Date.now() + ms;
    let n = await count();
    while (n > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      n = await count();
    }
    if (n === 0) return true;
    stats.leakedSockets++;
    violations.push(`${what}: ${n} connection(s) still open on the server`);
    return false;
  }

  /** Statuses of every answer in what a raw exchange got back, in order (HEAD answers have no body). */
  const statusesOf = (text: string) =>
    [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));

  it('since and until: instants in every spelling, offsets up to ±23:59', async () => {
    const two = (n: number) => String(n).padStart(2, '0');
    const instant = fc.record({
      year: fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 1, max: 9999 })),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
      precision: fc.constantFrom('date', 'minute', 'second'),
      separator: fc.constantFrom('T', 't', ' '),
      offset: fc.oneof(
        fc.constantFrom('', 'Z', 'z'),
        fc
          .record({
            sign: fc.constantFrom('+', '-'),
            hours: fc.integer({ min: 0, max: 23 }),
            minutes: fc.integer({ min: 0, max: 59 }),
            form: fc.constantFrom('hh:mm', 'hhmm', 'hh'),
          })
          .map(({ sign, hours, minutes, form }) =>
            form === 'hh'
              ? `${sign}${two(hours)}`
              : `${sign}${two(hours)}${form === 'hh:mm' ? ':' : ''}${two(minutes)}`,
          ),
      ),
      pad: fc.constantFrom(['', ''], [' ', ''], ['', ' '], ['\t', ' ']),
      field: fc.constantFrom('since', 'until'),
      // A raw `+` in a query string is a space: the offset then reads as garbage (a 400).
      rawPlus: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(instant, async (i) => {
        const date = `${String(i.year).padStart(4, '0')}-${two(i.month)}-${two(i.day)}`;
        const time =
          i.precision === 'date'
            ? ''
            : `${i.separator}${two(i.hour)}:${two(i.minute)}${
                i.precision === 'second'
                  ? `:${two(i.second)}${i.fraction === undefined ? '' : `.${i.fraction}`}`
                  : ''
              }${i.offset}`;
        const text = `${i.pad[0]}${date}${time}${i.pad[1]}`;
        const encoded = i.rawPlus
          ? encodeURIComponent(text).replace(/%2B/g, '+')
          : encodeURIComponent(text);
        const res = await app.inject({ url: `${LIST}?${i.field}=${encoded}&limit=1` });
        const what = `GET ?${i.field}=${encoded}`;
        if (!(await book(what, res.statusCode, res.body, false))) return false;
        if (res.statusCode !== 200 && (res.statusCode !== 400 || !isErrorShape(res.body))) {
          violations.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          return false;
        }
        // A real date, an offset PostgreSQL takes (at most 15:59), spelled as sent: listed.
        const [, oh = '0', om = '0'] = /[+-](\d{2}):?(\d{2})?$/.exec(i.offset) ?? [];
        // (Years before 100 are left out: core refuses them today, with a 400.)
        const realDate =
          i.year >= 100 && new Date(Date.UTC(i.year, i.month - 1, i.day)).getUTCDate() === i.day;
        const plusLost = i.rawPlus && i.offset.startsWith('+') && i.precision !== 'date';
        // An hour-only offset (`+07`, ISO 8601 but not RFC 3339) is only held to "no 5xx".
        const hourOnly = /[+-]\d{2}$/.test(i.offset);
        const minutes = Number(oh) * 60 + Number(om);
        if (realDate && !plusLost && !hourOnly && minutes <= 15 * 60 + 59) {
          if (res.statusCode !== 200) {
            violations.push(`${what}: a valid instant answered ${res.statusCode} ${res.body}`);
            return false;
          }
        }
        return true;
      }),
      params(RUNS.instants),
    );
  }, 40_000);

  it('deep nesting on every route that takes JSON, in every field', async () => {
    const nested = fc
      .tuple(fc.integer({ min: 1, max: 8_000 }), fc.constantFrom('arrays', 'objects', 'mixed'))
      .map(([depth, kind]) => {
        if (kind === 'arrays') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
        if (kind === 'objects') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const half = Math.ceil(depth / 2);
        return `${'[{"a":'.repeat(half)}1${'}]'.repeat(half)}`;
      });
    const target = fc.constantFrom(
      { url: SEND, field: 'sender', rest: { recipient: 'alice', message_content: 'hi' } },
      { url: SEND, field: 'recipient', rest: { sender: 'bob', message_content: 'hi' } },
      { url: SEND, field: 'message_content', rest: { sender: 'bob', recipient: 'alice' } },
      { url: READ, field: 'ids', rest: {} },
      { url: READ, field: 'up_to', rest: { recipient: 'alice' } },
      { url: READ, field: 'recipient', rest: {} },
      { url: SEND, field: '', rest: {} },
      { url: READ, field: '', rest: {} },
    );
    await fc.assert(
      fc.asyncProperty(target, nested, async (t, value) => {
        // An empty field name: the whole body is the nested value.
        const prefix = JSON.stringify(t.rest).slice(0, -1);
        const payload =
          t.field === ''
            ? value
            : `${prefix}${prefix.length > 1 ? ',' : ''}${JSON.stringify(t.field)}:${value}}`;
        const res = await app.inject({
          method: 'POST',
          url: t.url,
          headers: { 'content-type': 'application/json' },
          payload,
        });
        const what = `POST ${t.url} ${t.field || 'body'} nested ${value.length} bytes`;
        if (!(await book(what, res.statusCode, res.body, false))) return false;
        if (![400, 413].includes(res.statusCode) || !isErrorShape(res.body)) {
          violations.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          return false;
        }
        return true;
      }),
      params(RUNS.nesting),
    );
  }, 40_000);

  it('WebSocket upgrade headers on every route: an answer, then the connection closes', async () => {
    const target = fc.constantFrom(
      'GET /healthz',
      'GET /readyz',
      'GET /api/docs',
      'GET /api/openapi.json',
      `GET ${LIST}?recipient=alice`,
      `GET ${LIST}?sender=%FF`,
      `GET ${LIST}?sender=bob?recipient=alice`,
      `POST ${SEND}`,
      `POST ${READ}`,
      `PUT ${SEND}`,
      `DELETE ${LIST}`,
      'GET /nope',
      'GET /api/messages/%zz',
      'HEAD /healthz',
      `GET ${STREAM}?recipient=alice`,
      `GET ${STREAM}?recipient=alice&after=1`,
      `GET ${STREAM}?recipient=x?after=1`,
      `GET ${STREAM}?recipient=%C0%AF`,
      `GET ${STREAM}?recipient=`,
      `GET ${STREAM}?recipient=a&nope=1`,
      `POST ${STREAM}?recipient=alice`,
      `HEAD ${STREAM}?recipient=alice`,
    );
    const upgrade = fc.constantFrom(
      UPGRADE_HEADERS,
      'Connection: Upgrade\r\nUpgrade: websocket\r\n',
      'Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n',
      'Connection: Upgrade\r\nUpgrade: h2c\r\n',
      'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n',
    );
    const body = fc.option(
      fc.oneof(
        validSend.map((o) => JSON.stringify(o)),
        fc.constant('{"ids":[1]}'),
        fc.string({ maxLength: 40 }),
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(target, upgrade, body, async (line, headers, payload) => {
        const length =
          payload === undefined
            ? ''
            : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`;
        const raw = `${line} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}${length}\r\n${payload ?? ''}`;
        const what = `upgrade ${JSON.stringify(raw.slice(0, 200))}`;
        const answer = await rawExchange(port, raw, {
          timeoutMs: EXCHANGE_TIMEOUT_MS,
          idleMs: 100,
        });
        const statuses = statusesOf(answer.text);
        let ok = true;
        if (statuses.length !== 1) {
          violations.push(
            `${what}: answers ${JSON.stringify(statuses)} ${answer.text.slice(0, 200)}`,
          );
          ok = false;
        }
        const status = statuses[0] ?? 0;
        if (status !== 101) {
          ok = (await book(what, status, answer.text, false)) && ok;
          if (!answer.closedByServer) {
            violations.push(`${what}: answered ${status} but kept the connection open`);
            ok = false;
          }
        }
        return (await noSocketLeft(what)) && ok;
      }),
      params(RUNS.upgrade),
    );
  }, 40_000);

  it('pipelined requests: every answer in order, the stored ones once, then the 400 of bad bytes', async () => {
    const valid = fc.oneof(
      validSend.map((o) => ({ kind: 'send' as const, body: JSON.stringify(o) })),
      fc.constant({ kind: 'list' as const, body: '' }),
      fc.constant({ kind: 'health' as const, body: '' }),
      fc.constant({ kind: 'read' as const, body: '{"ids":[1]}' }),
    );
    const tail = fc.option(
      fc.constantFrom(
        'GARBAGE\r\n\r\n',
        'GET /healthz HTTP/1.1\nHost: x\n\n',
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
        `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `POST ${SEND} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx`,
        'GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n',
      ),
      { nil: undefined },
    );
    const frame = (r: { kind: string; body: string }, last: boolean) => {
      const close = last ? 'Connection: close\r\n' : '';
      if (r.kind === 'list') return `GET ${LIST}?limit=1 HTTP/1.1\r\nHost: x\r\n${close}\r\n`;
      if (r.kind === 'health') return `GET /healthz HTTP/1.1\r\nHost: x\r\n${close}\r\n`;
      const url = r.kind === 'send' ? SEND : READ;
      return `POST ${url} HTTP/1.1\r\nHost: x\r\n${close}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(valid, { minLength: 1, maxLength: 4 }), tail, async (reqs, bad) => {
        const raw =
          reqs.map((r, i) => frame(r, bad === undefined && i === reqs.length - 1)).join('') +
          (bad ?? '');
        const what = `pipelined ${reqs.map((r) => r.kind).join(', ')}${bad ? ' + bad bytes' : ''}`;
        const answer = await rawExchange(port, raw, { timeoutMs: EXCHANGE_TIMEOUT_MS });
        const statuses = statusesOf(answer.text);
        const expected = reqs.map((r) => (r.kind === 'send' ? 201 : 200));
        stats.cases++;
        for (const st of statuses) stats.statuses[st] = (stats.statuses[st] ?? 0) + 1;
        const got = statuses.slice(0, reqs.length);
        let ok = true;
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          violations.push(
            `${what}: answered ${JSON.stringify(statuses)}, expected ${JSON.stringify(expected)} first`,
          );
          ok = false;
        }
        if (
          bad !== undefined &&
          !(
            statuses.length === reqs.length + 1 &&
            (statuses.at(-1) ?? 0) >= 400 &&
            (statuses.at(-1) ?? 500) < 500
          )
        ) {
          violations.push(
            `${what}: the bad bytes got ${JSON.stringify(statuses.slice(reqs.length))}`,
          );
          ok = false;
        }
        if (statuses.some((st) => st >= 500)) stats.fiveHundreds++;
        // Exactly the acknowledged sends were stored, each once.
        const ids = answer.responses
          .filter((r) => r.status === 201)
          .map((r) => (JSON.parse(r.body) as Message).id);
        const fresh = (await messenger.list({ limit: 1000 })).messages.filter((m) => m.id > newest);
        for (const m of fresh)
          acked.set(m.id, {
            sender: m.sender,
            recipient: m.recipient,
            message_content: m.message_content,
          });
        stats.accepted += ids.length;
        newest = Math.max(newest, ...fresh.map((m) => m.id));
        if (
          JSON.stringify(fresh.map((m) => m.id).sort((a, b) => a - b)) !==
          JSON.stringify(ids.sort((a, b) => a - b))
        ) {
          violations.push(
            `${what}: acknowledged ${JSON.stringify(ids)}, stored ${JSON.stringify(fresh.map((m) => m.id))}`,
          );
          ok = false;
        }
        if (!answer.closedByServer) {
          violations.push(`${what}: the connection stayed open`);
          ok = false;
        }
        return (await noSocketLeft(what)) && ok;
      }),
      params(RUNS.pipelined),
    );
  }, 40_000);

  it('paths with bad %-escapes: a 400 in the API shape, never the framework own', async () => {
    const badEscape = fc.oneof(
      fc.constantFrom(
        '%',
        '%z',
        '%zz',
        '%G0',
        '%C0%AF',
        '%E0%80%80',
        '%ED%A0%80',
        '%F8%88%80%80%80',
        '%FF',
        '%C3',
        '%25',
        '%2F',
        '%3F',
        '%20',
      ),
      fc
        .uint8Array({ minLength: 1, maxLength: 4 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/', '/api/', LIST, SEND, READ, `${STREAM}/`, '/healthz/'),
        fc.array(fc.oneof(badEscape, fc.constantFrom('a', 'messages', '.', '..')), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.constantFrom('GET', 'POST', 'DELETE'),
        fc.constantFrom('', '?recipient=alice', '?sender=%FF'),
        async (prefix, parts, method, query) => {
          const url = `${prefix}${parts.join('')}${query}`;
          const res = await app.inject({ method, url });
          const what = `${method} ${url}`;
          if (!(await book(what, res.statusCode, res.body, false))) return false;
          let decodes = true;
          try {
            decodeURIComponent(`${prefix}${parts.join('')}`);
          } catch {
            decodes = false;
          }
          if (res.statusCode >= 400 && !isErrorShape(res.body)) {
            violations.push(
              `${what}: ${res.statusCode} not in the API's shape: ${res.body.slice(0, 200)}`,
            );
            return false;
          }
          if (res.body.includes('FST_')) {
            violations.push(`${what}: the framework's own error: ${res.body.slice(0, 200)}`);
            return false;
          }
          if (!decodes && res.statusCode !== 400) {
            violations.push(`${what}: a path that is not URL encoding answered ${res.statusCode}`);
            return false;
          }
          return true;
        },
      ),
      params(RUNS.paths),
    );
  }, 40_000);

  it('query strings with bad %-escapes: a 400 naming the parameter, on listing and stream alike', async () => {
    const utf8 = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 4 })
      .map((t) => encodeURIComponent(t));
    const bytes = fc
      .uint8Array({ minLength: 1, maxLength: 6 })
      .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join(''));
    const broken = fc.constantFrom(
      '%',
      '%z',
      '%zz',
      '%4',
      '%C0%AF',
      '%ED%A0%80',
      '%FF%FE',
      '100%',
      'a%2',
    );
    const value = fc
      .array(fc.oneof(utf8, bytes, broken, fc.constantFrom('bob', '+', '%2B')), {
        minLength: 1,
        maxLength: 3,
      })
      .map((v) => v.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sender', 'recipient', 'cursor'),
        value,
        fc.boolean(),
        async (name, v, stream) => {
          let decodes = true;
          try {
            decodeURIComponent(v.replace(/\+/g, ' '));
          } catch {
            decodes = false;
          }
          const what = `${stream ? 'stream' : 'list'} ?${name}=${v}`;
          if (!stream) {
            const res = await app.inject({ url: `${LIST}?${name}=${v}` });
            if (!(await book(what, res.statusCode, res.body, false))) return false;
            const fields =
              (res.json() as { error?: { fields?: Record<string, unknown> } }).error?.fields ?? {};
            if (!decodes && (res.statusCode !== 400 || !(name in fields))) {
              violations.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
              return false;
            }
            return true;
          }
          const query =
            name === 'recipient'
              ? `recipient=${v}`
              : `recipient=alice&${name === 'cursor' ? 'after' : name}=${v}`;
          const answer = await rawExchange(
            port,
            `GET ${STREAM}?${query} HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}\r\n`,
            { timeoutMs: EXCHANGE_TIMEOUT_MS, idleMs: 100 },
          );
          const status = statusesOf(answer.text)[0] ?? 0;
          let ok = status === 101 || (await book(what, status, answer.text, false));
          if (!decodes && status !== 400) {
            violations.push(`${what}: answered ${status}, not 400 before the upgrade`);
            ok = false;
          }
          return (await noSocketLeft(what)) && ok;
        },
      ),
      params(RUNS.escapes),
    );
  }, 40_000);

  it('answered everything below 500, wrote nothing for a rejection, lost and doubled nothing', async () => {
    // Every acknowledged message is stored as acknowledged, and nothing else is.
    const stored = new Map<number, Message>();
    let cursor: string | null = null;
    do {
      const page = await messenger.list({ limit: 1000, cursor });
      for (const m of page.messages) stored.set(m.id, m);
      cursor = page.nextCursor;
    } while (cursor !== null);
    for (const [id, m] of acked) {
      const s = stored.get(id);
      if (!s || s.message_content !== m.message_content || s.sender !== m.sender) {
        stats.lost++;
        violations.push(
          `lost: acknowledged ${JSON.stringify(m)} as ${id}, stored ${JSON.stringify(s)}`,
        );
      }
    }
    stats.duplicated += [...stored.keys()].filter((id) => !acked.has(id)).length;
    expect(violations.slice(0, 10)).toEqual([]);
    expect(stats.cases).toBeGreaterThanOrEqual(2400);
    expect(stats).toMatchObject({
      fiveHundreds: 0,
      rejectedWrites: 0,
      lost: 0,
      duplicated: 0,
      leakedSockets: 0,
    });
    expect(await noSocketLeft('the whole run', 3_000)).toBe(true);
    expect(stats.accepted).toBeGreaterThan(50);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 60_000);
});

const EXCHANGE_TIMEOUT_MS = 5_000;
