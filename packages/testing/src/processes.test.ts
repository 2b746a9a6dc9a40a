import { afterAll, describe, expect, it } from 'vitest';
import { runCommand, startProcess, stopAll, waitFor, waitUntilAnswering } from './processes.js';
import { replyJson, startStubHttpServer } from './stub-http-server.js';

afterAll(() => stopAll());

describe('waitFor', () => {
  it('takes any value but undefined and false as done, 0 and the empty string included', async () => {
    expect(await waitFor('zero', () => 0)).toBe(0);
    expect(await waitFor('empty', () => '')).toBe('');
    let calls = 0;
    expect(await waitFor('third call', () => ++calls === 3 && 'done', { intervalMs: 1 })).toBe(
      'done',
    );
  });

  it('fails after the timeout, and at once when the check throws', async () => {
    await expect(waitFor('never', () => undefined, { timeoutMs: 30 })).rejects.toThrow(
      'timed out after 30 ms waiting for never',
    );
    const started = Date.now();
    await expect(
      waitFor(
        'a dead process',
        () => {
          throw new Error('it died');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('it died');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('runCommand', () => {
  it('feeds stdin and returns the exit, both outputs and the wall time', async () => {
    const r = await runCommand(
      process.execPath,
      [
        '-e',
        "process.stdin.pipe(process.stdout); process.stderr.write('err'); process.stdin.on('end', () => process.exit(3))",
      ],
      { input: 'hello' },
    );
    expect(r).toMatchObject({ code: 3, signal: null, stdout: 'hello', stderr: 'err' });
    expect(r.ms).toBeGreaterThan(0);
  });

  it('kills a command that outlives its timeout', async () => {
    const r = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
      timeoutMs: 200,
    });
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  it('rejects when the command cannot be started', async () => {
    await expect(runCommand('/nonexistent/command', [])).rejects.toThrow(/ENOENT/);
  });
});

describe('waitUntilAnswering', () => {
  it('resolves once the URL answers 200', async () => {
    const stub = await startStubHttpServer((_r, n, res) => replyJson(res, n < 3 ? 503 : 200, {}));
    try {
      const idle = startProcess('idle', process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
      await waitUntilAnswering(idle, `${stub.url}readyz`, { intervalMs: 5 });
      expect(stub.seen).toHaveLength(3);
      await idle.stop();
    } finally {
      await stub.close();
    }
  });

  it('fails at once, with its output, when the process exits first', async () => {
    const dying = startProcess('dying', process.execPath, [
      '-e',
      "console.error('cannot start'); process.exit(4)",
    ]);
    await expect(
      waitUntilAnswering(dying, 'http://127.0.0.1:9/readyz', { timeoutMs: 10_000 }),
    ).rejects.toThrow(/dying exited \(code 4\) before .*\n.*cannot start/s);
  });
});
