// Cross-site browser requests: a page on another site may make the browser POST a form or open
// a WebSocket to the server (neither asks CORS first). Both are refused unless their Origin is
// the server's own or allowed; requests without Origin (programs) pass.
import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';
import { rawHandshake } from './helpers/ws.js';

const ALLOWED = 'https://app.example';

describe.each(backends())('Origin checks on $name', (backend) => {
  const open = useApp(backend, { auth: { mode: 'open', allowedOrigins: [ALLOWED] } });
  const proxied = useApp(backend, { auth: { mode: 'open' }, trustProxy: true });
  const token = useApp(backend, { auth: { mode: 'token', rateLimit: 'off' } });
  let base: string;
  let self: string;
  let proxiedBase: string;
  let tokenBase: string;

  beforeAll(async () => {
    base = await open.app.listen({ port: 0, host: '127.0.0.1' });
    self = new URL(base).origin;
    proxiedBase = await proxied.app.listen({ port: 0, host: '127.0.0.1' });
    tokenBase = await token.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const count = async () =>
    (await open.messenger.list({ recipient: 'origin-test' })).messages.length;

  const postForm = (url: string, headers: Record<string, string>) =>
    request(`${url}/api/messages/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'sender=page&recipient=origin-test&message_content=hi',
    });

  it('refuses a form POST from another origin (403, nothing written); passes its own, allowed ones and none', async () => {
    const port = new URL(base).port;
    const rows: [string, Record<string, string>, number][] = [
      ['another site', { origin: 'https://evil.example' }, 403],
      ['the allowed origin with a path', { origin: `${ALLOWED}/x` }, 403],
      ['the same host on another port', { origin: `http://127.0.0.1:${Number(port) + 1}` }, 403],
      ['https instead of http', { origin: `https://127.0.0.1:${port}` }, 403],
      ['an opaque origin', { origin: 'null' }, 403],
      ['garbage', { origin: '::::' }, 403],
      ['its own origin', { origin: self }, 201],
      ['its own origin, upper case', { origin: self.toUpperCase() }, 201],
      ['an allowed origin', { origin: ALLOWED }, 201],
      ['no Origin (curl, msg)', {}, 201],
    ];
    for (const [name, headers, status] of rows) {
      const before = await count();
      const r = await postForm(base, headers);
      const body = (await r.body.json()) as Message & { error: { code: string; message: string } };
      expect(r.statusCode, name).toBe(status);
      expect(await count(), name).toBe(before + (status === 201 ? 1 : 0));
      if (status === 403) {
        expect(body.error.code, name).toBe('forbidden');
        expect(body.error.message, name).toMatch(/^Origin .* may not use this server/);
      }
    }
    // JSON from another origin too (a browser asks CORS first; nothing else sends one).
    const json = await request(`${base}/api/messages/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ sender: 'page', recipient: 'origin-test', message_content: 'x' }),
    });
    expect(json.statusCode).toBe(403);
    await json.body.dump();
    // Reads are not checked: the browser keeps a cross-site answer from the page.
    const read = await request(`${base}/api/messages/?recipient=origin-test`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(read.statusCode).toBe(200);
    await read.body.dump();
  });

  it('refuses a WebSocket upgrade from another origin before upgrading; passes its own, allowed ones and none', async () => {
    const path = '/api/messages/stream?recipient=origin-test';
    for (const [name, headers, answer] of [
      ['another site', { origin: 'https://evil.example' }, 403],
      ['its own origin', { origin: self }, 101],
      ['an allowed origin', { origin: ALLOWED }, 101],
      ['no Origin', {}, 101],
    ] as const) {
      const r = await rawHandshake(base, path, { headers });
      expect(r.head, name).toMatch(new RegExp(`^HTTP/1\\.1 ${answer} `));
      if (answer === 403) {
        expect((JSON.parse(r.body) as { error: { code: string } }).error.code).toBe('forbidden');
      }
    }
  });

  it('sees its own origin as the proxy forwards it when the proxy is trusted', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'msg.example' };
    const trusted = await postForm(proxiedBase, { ...forwarded, origin: 'https://msg.example' });
    expect(trusted.statusCode).toBe(201);
    await trusted.body.dump();
    // Not trusted: the forwarded headers are ignored, so that origin is another site's.
    const untrusted = await postForm(base, { ...forwarded, origin: 'https://msg.example' });
    expect(untrusted.statusCode).toBe(403);
    await untrusted.body.dump();
  });

  it('checks Origin before the token in token mode: a page learns nothing, not even 401', async () => {
    const { token: alice } = await token.messenger.addUser('origin-alice');
    const withToken: Record<string, string>[] = [{}, { authorization: `Bearer ${alice.token}` }];
    for (const headers of withToken) {
      const r = await postForm(tokenBase, { ...headers, origin: 'https://evil.example' });
      expect(r.statusCode).toBe(403);
      await r.body.dump();
      const ws = await rawHandshake(tokenBase, '/api/messages/stream', {
        headers: { ...headers, origin: 'https://evil.example' },
      });
      expect(ws.head).toMatch(/^HTTP\/1\.1 403 /);
    }
    const own = await rawHandshake(tokenBase, '/api/messages/stream', {
      headers: { authorization: `Bearer ${alice.token}`, origin: new URL(tokenBase).origin },
    });
    expect(own.head).toMatch(/^HTTP\/1\.1 101 /);
  });
});
