import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the first TypeScript example after `heading` in the README, as printed. */
function runExample(heading: string) {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const start = readme.indexOf(heading);
  expect(start, heading).toBeGreaterThan(-1);
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  expect(code).toContain("from '@messenger/core'");
  // The example is plain JavaScript as well as TypeScript: run it as a module inside the repo.
  const file = `${root}packages/core/.readme-example-${process.pid}.mjs`;
  writeFileSync(file, code ?? '');
  try {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const r = spawnSync(process.execPath, [file], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return r;
  } finally {
    rmSync(file, { force: true });
  }
}

describe('README', () => {
  it('library example runs as printed', () => {
    const r = runExample('## The library');
    expect(r.stdout).toMatch(/^1 \d{4}-\d\d-\d\dT[\d:.]+Z\nbob hello\n$/);
    expect(r.stderr).toContain('message_content: at most 160 characters, got 161');
  });

  it('search example runs as printed', () => {
    const r = runExample('## Search');
    expect(r.stdout).toBe('[Lunch] at the [Café]?\nnull\n');
    expect(r.stderr).toBe('');
  });

  it('security example (accounts, tokens, the mailbox) runs as printed', () => {
    const r = runExample('### The mailbox');
    expect(r.stdout).toBe(
      [
        'bob -> alice',
        'forbidden sender: you may only send as yourself (bob)',
        'bob: hi alice',
        'unauthenticated',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
  });
});
