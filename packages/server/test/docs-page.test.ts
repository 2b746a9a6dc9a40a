import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_LIST_LIMIT,
  MARK_READ_BATCH,
  MAX_CONTENT_LENGTH,
  MAX_LIST_LIMIT,
  MAX_MARK_READ_IDS,
  MAX_MARK_READ_PER_REQUEST,
  MAX_NAME_LENGTH,
} from '@messenger/core';
import { startProcess, waitFor } from '@messenger/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, DEFAULT_HEARTBEAT_MS, type RunningServer, startServer } from '../src/index.js';

// The human docs page at /api/docs, loaded in a real browser, and the OpenAPI document behind it.
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

interface Operation {
  readonly method: string;
  readonly path: string;
}

/** Runs headless Chromium on `url` with `extra` flags; returns its stdout. */
async function chromium(url: string, extra: readonly string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'messenger-chromium-'));
  const browser = startProcess('chromium', CHROMIUM, [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--virtual-time-budget=10000',
    ...extra,
    url,
  ]);
  try {
    const { code } = await waitFor('chromium to exit', () => browser.exit(), {
      timeoutMs: 25_000,
      intervalMs: 100,
    });
    if (code !== 0) throw new Error(`chromium exited ${code}: ${browser.output().slice(-2000)}`);
    return browser.stdout();
  } finally {
    await browser.stop('SIGKILL', 1000);
    await rm(profile, { recursive: true, force: true });
  }
}

/** The operations the page shows, in order: the method badge and the path of each endpoint. */
function renderedOperations(dom: string): Operation[] {
  return dom
    .split('<section class="endpoint"')
    .slice(1)
    .flatMap((section) => {
      const method = /<span class="method [a-z]+">([A-Z]+)</.exec(section)?.[1];
      const path = /<code class="path">([^<]+)</.exec(section)?.[1];
      return method && path ? [{ method, path }] : [];
    });
}

/** The text of the endpoint section for `path` (tags stripped). */
function sectionText(dom: string, path: string): string {
  const section = dom
    .split('<section class="endpoint"')
    .find((s) => s.includes(`<code class="path">${path}<`));
  return (section ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: undefined,
    migrate: true,
    logger: false,
    auth: 'token',
  });
});

afterAll(async () => {
  await server?.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('docs page in headless Chromium', () => {
  let shots: string;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    shots = await mkdtemp(join(tmpdir(), 'messenger-docs-'));
  });

  afterAll(async () => {
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it('lists both message endpoints with the rules of their inputs', async () => {
    const dom = await chromium(`${server.url}/api/docs`, ['--dump-dom']);
    // Checked as booleans: a failure should not print the whole page.
    expect(/<h1>messenger API<\/h1>/.test(dom), 'title rendered').toBe(true);
    const operations = renderedOperations(dom);
    expect(operations).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/api/messages/send/' },
        { method: 'GET', path: '/api/messages/' },
      ]),
    );
    expect(operations.map((o) => o.path)).not.toContain('/api/openapi.json');

    // What a reader needs to call them, taken from the route schemas.
    const send = sectionText(dom, '/api/messages/send/');
    expect(send).toContain('message_content required; string; min length 1; max length 160');
    // Token mode: the sender is the caller unless given.
    expect(send).toContain('sender string; min length 1; max length 50');
    expect(send).toMatch(/201 .*400 .*401 .*403 .*413 .*415 .*429 .*503 /);
    expect(send).toContain('Requires Authorization: Bearer &lt;token&gt;');
    expect(sectionText(dom, '/healthz')).not.toContain('Requires');
    expect(dom).toContain('<h2>Authentication</h2>');
    const list = sectionText(dom, '/api/messages/');
    for (const name of ['sender', 'recipient', 'is_read', 'since', 'until', 'limit', 'cursor']) {
      expect(list).toContain(` ${name} query;`);
    }
    expect(dom).toContain('href="/api/openapi.json"');
  });

  it('renders the same when reached under another host name (as behind nginx)', async () => {
    // The browser resolves the name to 127.0.0.1: the page must not depend on being on localhost
    // (a CSP with upgrade-insecure-requests, or absolute links to the server's own address).
    const port = new URL(server.url).port;
    const dom = await chromium(`http://docs.messenger.test:${port}/api/docs`, [
      '--host-resolver-rules=MAP docs.messenger.test 127.0.0.1',
      '--dump-dom',
    ]);
    expect(renderedOperations(dom).map((o) => o.path)).toEqual(
      expect.arrayContaining(['/api/messages/send/', '/api/messages/']),
    );
  });

  it('takes a screenshot of a rendered page, not an empty one', async () => {
    const png = join(shots, 'docs.png');
    await chromium(`${server.url}/api/docs`, ['--window-size=1280,1600', `--screenshot=${png}`]);
    const bytes = await readFile(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // IHDR: width and height, big-endian, right after the signature and the chunk header.
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1280, 1600]);
    // A 1280×1600 page with one line of text (an error page) is ~12 KB.
    expect(bytes.length).toBeGreaterThan(30 * 1024);
  });
});

describe('docs page over HTTP', () => {
  it('is a self-contained HTML page under a strict CSP', async () => {
    const res = await request(`${server.url}/api/docs`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const html = await res.body.text();
    expect(html).not.toMatch(/<script|<link[^>]+stylesheet|src="http/);
  });
});

describe('docs page over HTTP: where each input goes', () => {
  it('shows Idempotency-Key and Messenger-Position under Headers and the list parameters under Query parameters', async () => {
    const html = await (await request(`${server.url}/api/docs`)).body.text();
    const send = sectionText(html, '/api/messages/send/');
    expect(send).toMatch(/ Headers name rule meaning Idempotency-Key header; string /);
    expect(send).not.toContain('Query parameters');
    const list = sectionText(html, '/api/messages/');
    expect(list).toContain(' Query parameters ');
    expect(list).toMatch(/ Headers name rule meaning Messenger-Position header; string /);
    expect(list).toContain(' is_read query; string ');
    const read = sectionText(html, '/api/messages/read/');
    expect(read).toContain(
      ' ids array; at least 1 items; at most 1000 items; items: integer; ≥ 1, or string ',
    );
  });
});

describe('OpenAPI document', () => {
  it('states the limits core and the server enforce, from their constants', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking an arbitrary JSON document
    const doc = (await (await request(`${server.url}/api/openapi.json`)).body.json()) as any;
    const text = JSON.stringify(doc);
    const send = doc.paths['/api/messages/send/'].post;
    const sendBody = send.requestBody.content['application/json'].schema;
    for (const name of ['sender', 'recipient']) {
      expect(sendBody.properties[name].maxLength, name).toBe(MAX_NAME_LENGTH);
    }
    expect(sendBody.properties.message_content.maxLength).toBe(MAX_CONTENT_LENGTH);
    expect(send.description).toContain(`at most ${MAX_CONTENT_LENGTH} characters`);
    expect(send.responses['413'].description).toContain(`${BODY_LIMIT / 1024} KiB`);
    expect(doc.components.schemas.Message.properties.message_content.maxLength).toBe(
      MAX_CONTENT_LENGTH,
    );

    const list = doc.paths['/api/messages/'].get;
    const param = (name: string) =>
      list.parameters.find((p: { name: string }) => p.name === name).schema;
    expect(param('limit')).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: MAX_LIST_LIMIT,
      default: DEFAULT_LIST_LIMIT,
    });
    for (const name of ['sender', 'recipient', 'with']) {
      expect(param(name).maxLength, name).toBe(MAX_NAME_LENGTH);
    }
    // is_read: what core accepts, in any case; the pattern says so, and only that.
    const isRead = new RegExp(param('is_read').pattern);
    for (const yes of ['true', 'False', 'TRUE', 'T', 'f', '1', '0', ' true ']) {
      expect(isRead.test(yes), yes).toBe(true);
    }
    for (const no of ['yes', 'no', 'truee', '2', '']) expect(isRead.test(no), no).toBe(false);
    expect(param('is_read').enum).toBeUndefined();

    // ids and up_to: numbers or decimal strings, as core takes them.
    const read =
      doc.paths['/api/messages/read/'].post.requestBody.content['application/json'].schema;
    expect(read.properties.ids.maxItems).toBe(MAX_MARK_READ_IDS);
    for (const schema of [read.properties.ids.items, read.properties.up_to]) {
      expect(schema.oneOf.map((s: { type: string }) => s.type)).toEqual(['integer', 'string']);
      const digits = new RegExp(schema.oneOf[1].pattern);
      expect(['42', ' 7 ', '9223372036854775807'].every((s) => digits.test(s))).toBe(true);
      expect(['0', '-1', '1.5', 'x', '1e3'].some((s) => digits.test(s))).toBe(false);
    }

    const stream = doc.paths['/api/messages/stream'].get;
    expect(stream.description).toContain(`every ${DEFAULT_HEARTBEAT_MS / 1000} s`);
    expect(Object.keys(stream.responses)).toEqual(
      expect.arrayContaining(['400', '426', '429', '503']),
    );

    // No limit is written as a literal that could drift: every number said in a description
    // is one of the constants.
    const said = [...text.matchAll(/(?:at most|up to|every|over) (\d+)/g)].map((m) => Number(m[1]));
    const constants = [
      MAX_NAME_LENGTH,
      MAX_CONTENT_LENGTH,
      MAX_LIST_LIMIT,
      MAX_MARK_READ_IDS,
      MAX_MARK_READ_PER_REQUEST,
      MARK_READ_BATCH,
      BODY_LIMIT / 1024,
      DEFAULT_HEARTBEAT_MS / 1000,
    ];
    expect(said.length).toBeGreaterThan(0);
    for (const n of said) expect(constants, `${n} in a description`).toContain(n);
  });

  it('is OpenAPI 3 generated from the route schemas', async () => {
    const res = await request(`${server.url}/api/openapi.json`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // biome-ignore lint/suspicious/noExplicitAny: walking an arbitrary JSON document
    const doc = (await res.body.json()) as any;

    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('messenger API');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/messages/send/', '/api/messages/']),
    );
    expect(Object.keys(doc.paths)).not.toContain('/api/openapi.json');
    expect(Object.keys(doc.paths['/api/messages/send/'])).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/messages/'])).toEqual(['get']);

    // The send body is the route's own schema: required fields and their limits.
    const send = doc.paths['/api/messages/send/'].post;
    const body = send.requestBody.content['application/json'].schema;
    expect([...body.required].sort()).toEqual(['message_content', 'recipient']);
    expect(body.properties.sender.maxLength).toBe(50);
    expect(body.properties.recipient.maxLength).toBe(50);
    expect(body.properties.message_content.maxLength).toBe(160);
    expect(send.responses['201'].content['application/json'].schema).toMatchObject({
      $ref: '#/components/schemas/Message',
    });
    expect(send.responses['400'].content['application/json'].schema).toMatchObject({
      $ref: '#/components/schemas/Error',
    });

    // The list query parameters come from the route's querystring schema.
    const list = doc.paths['/api/messages/'].get;
    const params = list.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`);
    expect(params).toEqual(
      expect.arrayContaining(
        ['sender', 'recipient', 'is_read', 'since', 'until', 'limit', 'cursor'].map(
          (n) => `query:${n}`,
        ),
      ),
    );
    const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 });
    expect(list.responses['200'].content['application/json'].schema).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/Message' },
    });

    const message = doc.components.schemas.Message;
    expect(message.type).toBe('object');
    expect([...message.required].sort()).toEqual(
      [
        'id',
        'is_read',
        'message_content',
        'read_at',
        'recipient',
        'sender',
        'sent_datetime',
      ].sort(),
    );
    expect(message.properties.message_content.maxLength).toBe(160);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);

    // Token mode: a bearer scheme on every route but the probes, with its refusals listed.
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.stringContaining('Bearer') },
    });
    for (const [path, ops] of Object.entries(doc.paths)) {
      // biome-ignore lint/suspicious/noExplicitAny: walking an arbitrary JSON document
      for (const [method, op] of Object.entries(ops as Record<string, any>)) {
        const where = `${method} ${path}`;
        if (path === '/healthz' || path === '/readyz') {
          expect(op.security, where).toBeUndefined();
          continue;
        }
        expect(op.security, where).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['401', '429']));
        expect(op.responses['401'].description, where).toContain('unauthenticated');
        expect(op.responses['429'].description, where).toContain('rate_limited');
      }
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/me']));
    for (const op of [send, doc.paths['/api/messages/read/'].post]) {
      expect(op.responses['403'].description).toContain('forbidden');
    }
  });
});
