import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { STATUS_OF } from '../src/index.js';

const README = new URL('../../../README.md', import.meta.url);
const NGINX_TEMPLATE = new URL('../../../nginx/messenger.conf.template', import.meta.url);

/** The README's error-codes table: code → its HTTP column. */
async function readmeTable(): Promise<Map<string, string>> {
  const text = await readFile(README, 'utf8');
  const start = text.indexOf('## Error codes');
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`([a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code !== undefined) rows.set(code, cells[4] ?? '');
  }
  return rows;
}

it("lists every code of the API in the README's table, with the status it is answered with", async () => {
  const table = await readmeTable();
  for (const [code, status] of Object.entries(STATUS_OF)) {
    expect(table.get(code), `README row of ${code}`).toBe(String(status));
  }
  // nginx answers in the same shape with codes of its own: listed too.
  const template = await readFile(NGINX_TEMPLATE, 'utf8');
  const nginxCodes = [...template.matchAll(/"code":"([a-z_]+)"/g)].map((m) => m[1] ?? '');
  expect(nginxCodes.length).toBeGreaterThan(0);
  for (const code of nginxCodes) expect(table.has(code), `README row of ${code}`).toBe(true);
});
