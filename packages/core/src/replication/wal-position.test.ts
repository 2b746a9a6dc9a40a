import { describe, expect, it } from 'vitest';
import { formatWalPosition, parseWalPosition } from './wal-position.js';

describe('WAL positions', () => {
  it('parse as PostgreSQL prints them, ordered as PostgreSQL orders them, and print back', () => {
    const at = (text: string) => {
      const r = parseWalPosition(text, 'p');
      if (!r.ok) throw new Error(text);
      return r.value;
    };
    expect(at('0/16B3748')).toBe(0x16b3748n);
    expect(at('1/0')).toBeGreaterThan(at('0/FFFFFFFF'));
    expect(at('a/b')).toBe(at('A/B'));
    expect(formatWalPosition(at('16/b374d848'))).toBe('16/B374D848');
    expect(formatWalPosition(at('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
  });

  it('refuse anything else, naming the field', () => {
    for (const bad of ['', '0', '0/', '/1', '0/G', '123456789/0', '0/1/2', ' 0 /1', 1, null]) {
      const r = parseWalPosition(bad, 'Messenger-Position');
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect(r.issues[0]?.field).toBe('Messenger-Position');
    }
  });
});
