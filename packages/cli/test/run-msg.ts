import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, freshPostgresSchema, runCommand } from '@messenger/testing';

/** The built `msg` binary, as users run it. */
export const MSG_BIN = fileURLToPath(new URL('../bin/msg.js', import.meta.url));

export interface MsgResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A clean environment for `msg` (no DATABASE_URL, no MSG_API_URL leaking from the test
 * runner: only PATH, HOME, TMPDIR and LANG; XDG_CONFIG_HOME where no credentials are, so
 * that no login of the person running the tests is used) plus `vars`.
 */
export function msgEnv(vars: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    XDG_CONFIG_HOME: join(tmpdir(), `msg-test-no-config-${process.pid}`),
  };
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `msg` to completion in a child process with {@link msgEnv}`(env)`. */
export async function runMsg(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    timeoutMs?: number;
    /** Another Node.js script to run the same way (a copy of the bundle, an example). */
    script?: string;
  } = {},
): Promise<MsgResult> {
  const script = options.script ?? MSG_BIN;
  const { code, stdout, stderr } = await runCommand(process.execPath, [script, ...args], {
    env: msgEnv(options.env),
    input: options.input ?? '',
    timeoutMs: options.timeoutMs ?? 90_000,
  });
  return { code, stdout, stderr };
}

/** A database of a suite's own for `msg`, and the environment that points `msg` at it. */
export interface MsgDatabase {
  readonly env: Record<string, string>;
  /** The first `msg db migrate` (PostgreSQL; the embedded database migrates itself). */
  readonly migrated: MsgResult | undefined;
  /** Drops the schema or removes the data directory. */
  close(): Promise<void>;
}

/**
 * On PostgreSQL a fresh schema, migrated by `msg db migrate`; on PGlite an empty data directory
 * (MSG_DATA_DIR) that the first `msg` creates.
 */
export async function openMsgDatabase(backend: Backend): Promise<MsgDatabase> {
  if (backend.name === 'postgres') {
    const schema = await freshPostgresSchema();
    const env = { DATABASE_URL: schema.url };
    return { env, migrated: await runMsg(['db', 'migrate'], { env }), close: () => schema.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'msg-data-'));
  return {
    env: { MSG_DATA_DIR: dir },
    migrated: undefined,
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * What may differ between two runs of the same command on two databases: the time
 * a message was stored, and the cursor (which encodes that time). Ids do not: both
 * databases start empty and get the same sends in the same order.
 */
export function normalise(r: MsgResult): MsgResult {
  const n = (s: string) =>
    s
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g, '<time>')
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<time>')
      .replace(/("next_cursor": )"[^"]+"/g, '$1"<cursor>"')
      .replace(/--cursor \S+/g, '--cursor <cursor>');
  return { code: r.code, stdout: n(r.stdout), stderr: n(r.stderr) };
}
