import { CommandError } from './errors.js';

/**
 * Asks for a secret on the terminal without showing it: `prompt` on stderr, then what is
 * typed (or pasted) up to Enter, with the terminal in raw mode so nothing is echoed.
 * Backspace and Ctrl-U edit; Ctrl-C or Ctrl-D on an empty line cancel. Escape sequences
 * (arrow keys) are ignored. `input` must be a terminal.
 */
export function promptSecret(
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  // Echo off first: what is typed as soon as the prompt shows must not be echoed meanwhile.
  input.setRawMode(true);
  output.write(prompt);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    /** Inside an escape sequence: skip up to its final byte. */
    let inEscape = false;
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (inEscape) {
          // CSI: ESC [ parameters… final byte (@ to ~); a lone ESC x is two characters.
          if (ch !== '[' && ch >= '@' && ch <= '~') inEscape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && value === '')) {
          finish();
          reject(new CommandError('cancelled'));
          return;
        }
        if (ch === '\u001b') inEscape = true;
        else if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
