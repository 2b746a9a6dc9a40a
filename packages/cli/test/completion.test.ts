import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processOutput } from '../src/output.js';
import { buildProgram } from '../src/program.js';
import { runMsg } from './run-msg.js';

const has = (shell: string) => spawnSync(shell, ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs `script` in `shell`, failing the test on a non-zero exit. */
function run(shell: string, args: string[]): string {
  const r = spawnSync(shell, args, { encoding: 'utf8', timeout: 20_000 });
  expect(r.status, `${shell} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('msg completion', () => {
  let dir: string;
  const scripts: Record<string, string> = {};
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'msg-completion-'));
    writeFileSync(join(dir, 'data.db-marker'), '');
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await runMsg(['completion', shell]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      scripts[shell] = join(dir, `msg.${shell}`);
      writeFileSync(scripts[shell], r.stdout);
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every command and flag of the program definition', async () => {
    const program = buildProgram({
      env: {},
      out: processOutput(),
      readStdin: async () => '',
      stdinIsTerminal: false,
      promptSecret: async () => '',
      version: '0',
    });
    const fish = (await runMsg(['completion', 'fish'])).stdout;
    const bash = (await runMsg(['completion', 'bash'])).stdout;
    const walk = (cmd: typeof program, path: string[]): void => {
      for (const o of cmd.options) {
        if (o.long) {
          expect(bash).toContain(o.long);
          expect(fish).toContain(`-l ${o.long.slice(2)}`);
        }
      }
      for (const c of cmd.commands) {
        // The words that lead to it (`'users add'`): bash dispatches on them.
        expect(bash).toContain(`'${[...path, c.name()].join(' ')}'`);
        expect(fish).toContain(`-a ${c.name()} `);
        walk(c, [...path, c.name()]);
      }
    };
    walk(program, []);
    expect(bash).toContain("'tokens revoke'");
  });

  it('refuses an unknown shell', async () => {
    const r = await runMsg(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish/,
    );
  });

  it('bash: parses, and completes commands, flags, choices and --db paths', () => {
    run('bash', ['-n', scripts.bash as string]);
    const complete = (...words: string[]) =>
      run('bash', [
        '-c',
        `source ${JSON.stringify(scripts.bash)}; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _msg_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'bash',
        ...words,
      ])
        .split('\n')
        .filter(Boolean);
    expect(complete('msg', 'li')).toEqual(['list']);
    expect(complete('msg', 'list', '--s')).toEqual(['--sender', '--since']);
    expect(complete('msg', '--db', '/x', 'db', '')).toEqual(['migrate']);
    expect(complete('msg', 'db', 'migrate', '--j')).toEqual(['--json']);
    expect(complete('msg', 'send', '-f', 'bob', 'hello', '--id')).toEqual(['--idempotency-key']);
    expect(complete('msg', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('msg', '--db', join(dir, 'data.'))).toEqual([join(dir, 'data.db-marker')]);
    expect(complete('msg', 'list', '--since', '')).toEqual([]);
  });

  it.runIf(has('zsh'))('zsh: parses, and completes commands, flags and --db paths', () => {
    run('zsh', ['-n', scripts.zsh as string]);
    // Outside a completion widget: stand-ins for zsh's _describe and _files print what they get.
    const complete = (...words: string[]) =>
      run('zsh', [
        '-c',
        `compdef() {}; _describe() { print -l -- "\${(@P)\${@[-1]}}" }; _files() { print FILES }
source ${JSON.stringify(scripts.zsh)}; words=("$@"); CURRENT=$#; _msg; true`,
        'zsh',
        ...words,
      ])
        .split('\n')
        .filter(Boolean);
    expect(complete('msg', 'li')).toContain(
      'list:List messages, newest first, one page at a time.',
    );
    expect(complete('msg', 'list', '--s').map((l) => l.split(':')[0])).toContain('--since');
    expect(complete('msg', 'db', 'migrate', '-').map((l) => l.split(':')[0])).toContain('--json');
    expect(complete('msg', '--db', '')).toEqual(['FILES']);
    expect(complete('msg', 'completion', '').map((l) => l.split(':')[0])).toEqual([
      'bash',
      'zsh',
      'fish',
    ]);
  });

  it.runIf(has('fish'))('fish: parses, and completes commands, flags and --db paths', () => {
    run('fish', ['-n', scripts.fish as string]);
    const complete = (line: string) =>
      run('fish', [
        '-c',
        `source ${JSON.stringify(scripts.fish)}; complete -C ${JSON.stringify(line)}`,
      ])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    expect(complete('msg li')).toEqual(['list']);
    expect(complete('msg list --s')).toEqual(['--sender', '--since']);
    expect(complete('msg db ')).toEqual(['migrate']);
    expect(complete('msg db migrate --j')).toEqual(['--json']);
    expect(complete(`msg --db ${join(dir, 'data.')}`)).toEqual([join(dir, 'data.db-marker')]);
    expect(complete('msg completion ')).toEqual(['bash', 'fish', 'zsh']);
  });

  it('zsh and fish scripts are well-formed even where those shells are missing', () => {
    const zsh = readFileSync(scripts.zsh as string, 'utf8');
    expect(zsh.startsWith('#compdef msg\n')).toBe(true);
    expect(zsh).toContain('compdef _msg msg');
    const fish = readFileSync(scripts.fish as string, 'utf8');
    expect(
      fish
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('#') || l.startsWith('complete -c msg')),
    ).toBe(true);
  });
});
