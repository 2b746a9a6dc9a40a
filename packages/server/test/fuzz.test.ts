// Hostile input, generated: fast-check properties over the send body, the list query string and
// the headers through `app.inject`, and raw bytes (invalid UTF-8, malformed HTTP) over a real
// socket to the same app listening on 127.0.0.1. Whatever comes in: no answer >= 500, the server
// keeps answering, a rejected request writes no row, and an accepted one is stored exactly once.
import { connect } from 'node:net';
import {
  LIST_PARAMETERS,
  type Message,
  type Messenger,
  openMessenger,
  validateSendInput,
} from '@messenger/core';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

const SEND = '/api/messages/send/';
const LIST = '/api/messages/';
/** Runs per property; four properties, 1600 cases in all. */
const RUNS = { body: 600, query: 450, headers: 250, raw: 300 };
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
    app = await buildApp({ messenger });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  }, 60_000);

  afterAll(async () => {
    console.log(
      `fuzz: ${stats.cases} cases, ${stats.fiveHundreds} responses >= 500, ` +
        `${stats.rejectedWrites} rows written by rejected requests, ${stats.lost} lost, ${stats.duplicated} duplicated ` +
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
          const answer = await exchange(port, raw);
          const text = answer.bytes.toString('latin1');
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
          if (answer.timedOut && complete) {
            violations.push(`${what}: no answer and no close within ${EXCHANGE_TIMEOUT_MS} ms`);
            return false;
          }
          return ok;
        },
      ),
      params(RUNS.raw),
    );
    const health = await request(`http://127.0.0.1:${port}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
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
    expect(stats.cases).toBeGreaterThanOrEqual(1500);
    expect(stats).toMatchObject({ fiveHundreds: 0, rejectedWrites: 0, lost: 0, duplicated: 0 });
    expect(stats.accepted).toBeGreaterThan(50);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 60_000);
});

const EXCHANGE_TIMEOUT_MS = 5_000;

/**
 * Writes `raw` on a fresh connection; resolves with what came back once the server closes it, or
 * 300 ms after its last bytes (a kept-alive connection), or after EXCHANGE_TIMEOUT_MS with
 * nothing (`timedOut`).
 */
function exchange(port: number, raw: Buffer): Promise<{ bytes: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let done = false;
    let settle: NodeJS.Timeout | undefined;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(settle);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), timedOut });
    };
    const timer = setTimeout(() => finish(chunks.length === 0), EXCHANGE_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      clearTimeout(settle);
      settle = setTimeout(() => finish(false), 300);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.write(raw);
  });
}
