import type { Message } from '@messenger/core';
import { backends } from '@messenger/testing';
import { describe, expect, it } from 'vitest';
import { useApp } from './helpers/app.js';

const LIST = '/api/messages/';

interface ErrorJson {
  error: { code: string; message: string; fields?: Record<string, string[]> };
}

describe.each(backends())('GET /api/messages/?q= on $name (open mode)', (backend) => {
  const t = useApp(backend, { auth: { mode: 'open' } });
  const get = (query: string) => t.app.inject({ url: `${LIST}?${query}` });

  it('finds by words with highlights, and pages with a Link that keeps q and order', async () => {
    for (const text of ['Lunch at the Café', 'lunch booking done', 'dinner plans', 'LUNCH?']) {
      await t.messenger.send({
        sender: 'srch-bob',
        recipient: 'srch-alice',
        message_content: text,
      });
    }
    const r = await get(`sender=srch-bob&q=${encodeURIComponent('-booking lunc')}&limit=1`);
    expect(r.statusCode, r.body).toBe(200);
    const [first] = r.json<Message[]>();
    expect(first?.message_content).toBe('LUNCH?');
    expect(first?.highlight).toBe('\uE000LUNCH\uE001?');
    const link = String(r.headers.link);
    expect(link).toMatch(/q=-booking\+lunc/);
    const next = await t.app.inject({ url: link.slice(1, link.indexOf('>')) });
    expect(next.json<Message[]>().map((m) => m.highlight)).toEqual([
      '\uE000Lunch\uE001 at the Café',
    ]);
    expect(next.headers.link).toBeUndefined();

    const ranked = await get('sender=srch-bob&q=lunch+or+cafe&order=relevance&limit=1');
    expect(ranked.json<Message[]>()[0]?.message_content).toBe('Lunch at the Café');
    const rankedLink = String(ranked.headers.link);
    expect(rankedLink).toMatch(/order=relevance/);
    const after = await t.app.inject({ url: rankedLink.slice(1, rankedLink.indexOf('>')) });
    expect(after.statusCode).toBe(200);
    expect(after.json<Message[]>()).toHaveLength(1);
  });

  it.each([
    ['q=', 'q', /^q: must not be empty/],
    ['q=%20%20', 'q', /^q: must not be empty/],
    [`q=${encodeURIComponent('🍕 !!')}`, 'q', /^q: has no word to find/],
    ['q=-lunch', 'q', /^q: has no word to find/],
    [`q=${'a'.repeat(201)}`, 'q', /^q: at most 200 characters/],
    ['q=a&q=b', 'q', /^q: may be given only once/],
    ['q=a&order=oldest', 'order', /^order: must be newest or relevance/],
    ['order=relevance', 'order', /^order: relevance needs q/],
  ])('GET ?%s is a 400 naming %s', async (query, field, message) => {
    const r = await get(query);
    expect(r.statusCode, r.body).toBe(400);
    const body = r.json<ErrorJson>();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toMatch(message);
    expect(Object.keys(body.error.fields ?? {})).toContain(field);
  });

  it('the API document describes q, order and highlight', async () => {
    const doc = (await t.app.inject({ url: '/api/openapi.json' })).json();
    const params = doc.paths['/api/messages/'].get.parameters as { name: string }[];
    expect(params.map((p) => p.name)).toEqual(expect.arrayContaining(['q', 'order']));
    expect(JSON.stringify(doc)).toMatch(/U\+E000/);
  });
});

describe.each(backends())('search in token mode on $name', (backend) => {
  const t = useApp(backend, { auth: { mode: 'token', rateLimit: 'off' } });

  it("finds only the caller's mail, with any filter", async () => {
    const m = t.messenger;
    const tokens: Record<string, string> = {};
    for (const name of ['sa', 'sb', 'sc']) tokens[name] = (await m.addUser(name)).token.token;
    await m.send({ sender: 'sb', recipient: 'sa', message_content: 'the secret word' });
    await m.send({ sender: 'sb', recipient: 'sc', message_content: 'another secret word' });
    await m.send({ sender: 'sc', recipient: 'sb', message_content: 'secret reply' });
    const as = async (who: string, query: string) => {
      const r = await t.app.inject({
        url: `${LIST}?${query}`,
        headers: { authorization: `Bearer ${tokens[who]}` },
      });
      expect(r.statusCode, r.body).toBe(200);
      return r.json<Message[]>().map((x) => x.message_content);
    };
    expect(await as('sa', 'q=secret')).toEqual(['the secret word']);
    expect(await as('sa', 'q=secret&sender=sc')).toEqual([]);
    expect(await as('sa', 'q=secret&conversation=sb,sc')).toEqual([]);
    expect(await as('sa', 'q=secret&order=relevance')).toEqual(['the secret word']);
    expect(await as('sc', 'q=secret')).toEqual(['secret reply', 'another secret word']);
  });
});
