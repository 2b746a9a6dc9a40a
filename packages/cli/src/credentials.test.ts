import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  credentialsPath,
  readLogin,
  readPosition,
  removeLogin,
  saveLogin,
  savePosition,
} from './credentials.js';
import { CommandError } from './errors.js';

const A = 'http://127.0.0.1:8000/';
const B = 'https://m.example/messenger/';

describe('the credentials store', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'msg-credentials-'));
    path = join(dir, 'config', 'messenger', 'credentials.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in $XDG_CONFIG_HOME/messenger, else ~/.config/messenger', () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/x/cfg' })).toBe(
      '/x/cfg/messenger/credentials.json',
    );
    const fallback = join(homedir(), '.config', 'messenger', 'credentials.json');
    expect(credentialsPath({})).toBe(fallback);
    // A relative XDG_CONFIG_HOME is invalid (XDG Base Directory spec): ignored.
    expect(credentialsPath({ XDG_CONFIG_HOME: 'cfg' })).toBe(fallback);
  });

  it('keeps one login per server, in a 0600 file in a 0700 directory', () => {
    expect(readLogin(path, A)).toBeUndefined();
    saveLogin(path, A, { token: 'msg_a', name: 'alice' });
    saveLogin(path, B, { token: 'msg_b', name: 'bob' });
    expect(readLogin(path, A)).toEqual({ token: 'msg_a', name: 'alice' });
    expect(readLogin(path, B)).toEqual({ token: 'msg_b', name: 'bob' });
    expect(readLogin(path, 'http://127.0.0.1:8001/')).toBeUndefined();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config', 'messenger')).mode & 0o777).toBe(0o700);
    // Written whole and renamed: no temporary file is left beside it.
    expect(readdirSync(join(dir, 'config', 'messenger'))).toEqual(['credentials.json']);

    saveLogin(path, A, { token: 'msg_a2', name: 'alice' });
    expect(readLogin(path, A)?.token).toBe('msg_a2');
    expect(removeLogin(path, A)).toBe(true);
    expect(removeLogin(path, A)).toBe(false);
    expect(readLogin(path, A)).toBeUndefined();
    expect(readLogin(path, B)?.token).toBe('msg_b');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps the last write position per server beside the logins, each surviving the other', () => {
    expect(readPosition(path, A)).toBeUndefined();
    savePosition(path, A, '0/16B3748');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    saveLogin(path, A, { token: 'msg_a', name: 'alice' });
    savePosition(path, B, '1/0');
    savePosition(path, A, '0/16B3800');
    expect(readPosition(path, A)).toBe('0/16B3800');
    expect(readPosition(path, B)).toBe('1/0');
    expect(readLogin(path, A)).toEqual({ token: 'msg_a', name: 'alice' });
    expect(removeLogin(path, A)).toBe(true);
    expect(readPosition(path, A)).toBe('0/16B3800');
    expect(readPosition(path, 'toString')).toBeUndefined();
  });

  it('does not answer a key of Object.prototype as a login', () => {
    saveLogin(path, A, { token: 'msg_a', name: 'alice' });
    expect(readLogin(path, 'constructor')).toBeUndefined();
    expect(readLogin(path, '__proto__')).toBeUndefined();
  });

  it('refuses a file its group or others may read, naming the chmod, and changes nothing', () => {
    saveLogin(path, A, { token: 'msg_a', name: 'alice' });
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      const octal = mode.toString(8).padStart(4, '0');
      expect(() => readLogin(path, A)).toThrow(
        new CommandError(
          `${path} may be read by other users (mode ${octal}), and it holds tokens: run chmod 600 ${path}`,
        ),
      );
      expect(() => saveLogin(path, B, { token: 'msg_b', name: 'bob' })).toThrow(CommandError);
      expect(() => removeLogin(path, A)).toThrow(CommandError);
      expect(statSync(path).mode & 0o777).toBe(mode);
    }
    chmodSync(path, 0o600);
    expect(readLogin(path, B)).toBeUndefined();
    expect(readLogin(path, A)?.token).toBe('msg_a');
  });

  it('refuses a file that is not ours, rather than overwrite it', () => {
    saveLogin(path, A, { token: 'msg_a', name: 'alice' });
    for (const text of [
      'not json',
      '[]',
      '{"version": 2, "servers": {}}',
      '{"version": 1, "servers": {"x": {"token": 1}}}',
    ]) {
      writeFileSync(path, text, { mode: 0o600 });
      expect(() => readLogin(path, A)).toThrow(/is not a messenger credentials file/);
      expect(() => saveLogin(path, A, { token: 'msg_a', name: 'alice' })).toThrow(CommandError);
      expect(readFileSync(path, 'utf8')).toBe(text);
    }
  });
});
