/** Where a {@link startSpinner} draws: a terminal stream. */
export interface SpinnerStream {
  write(text: string): unknown;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Shows `text` after a spinner on one line of `stream` (a terminal) until the returned
 * function is called; then the line stays, without the spinner. The work it waits for
 * may block the event loop for a while (PGlite runs on this thread): the spinner then
 * pauses, which is still better than a silent terminal.
 */
export function startSpinner(stream: SpinnerStream, text: string, intervalMs = 80): () => void {
  let frame = 0;
  const draw = () => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${text}`);
  draw();
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    stream.write(`\r\x1b[2K${text}\n`);
  };
}
