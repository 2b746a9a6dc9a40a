import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUndici } from './load-undici.js';

describe('loadUndici', () => {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  let origin: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // If this fails after an undici upgrade, the fast path's module paths moved: `msg`
  // still works (it falls back to the package) but starts ~50 ms slower. Fix the paths.
  it('loads only the parts it needs from this undici', async () => {
    expect((await loadUndici()).entry).toBe('parts');
  });

  for (const preferParts of [true, false]) {
    it(`makes a request (${preferParts ? 'parts' : 'package'})`, async () => {
      const { Agent, request } = await loadUndici(preferParts);
      const agent = new Agent();
      try {
        const res = await request(agent, { origin, path: '/x?y=1', method: 'GET' });
        expect(res.statusCode).toBe(200);
        expect(await res.body.json()).toEqual({ method: 'GET', url: '/x?y=1' });
      } finally {
        await agent.destroy();
      }
    });
  }
});
