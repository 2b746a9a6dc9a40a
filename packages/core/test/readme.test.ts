import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('README', () => {
  it('library example runs as printed', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## The library'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain("from '@messenger/core'");
    // The example is plain JavaScript as well as TypeScript: run it as a module inside the repo.
    const file = `${root}packages/core/.readme-example-${process.pid}.mjs`;
    writeFileSync(file, code ?? '');
    try {
      const env = { ...process.env };
      delete env.DATABASE_URL;
      const r = spawnSync(process.execPath, [file], { env, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^1 \d{4}-\d\d-\d\dT[\d:.]+Z\nbob hello\n$/);
      expect(r.stderr).toContain('message_content: at most 160 characters, got 161');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
