import { connect } from 'node:net';

/** An HTTP/1.1 response read off a raw socket. */
export interface RawResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A request written by hand over one socket, so that a test decides when each byte leaves. */
export interface RawRequest {
  /** Resolves once the socket is connected. */
  readonly connected: Promise<void>;
  /** Writes more bytes of the request. */
  write(bytes: string): void;
  /** The response, once its whole body (by Content-Length) has arrived; rejects on a reset or a close before that. */
  readonly response: Promise<RawResponse>;
  destroy(): void;
}

/** Opens a connection to 127.0.0.1:`port` and writes `head` (usually the headers and part of the body). */
export function rawRequest(port: number, head: string): RawRequest {
  const socket = connect({ port, host: '127.0.0.1' });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parseResponses(data)[0];
      if (parsed) resolve(parsed);
    });
    socket.on('error', reject);
    socket.on('close', () =>
      reject(
        new Error(`connection closed before a full response: ${JSON.stringify(String(data))}`),
      ),
    );
  });
  // The promise may be awaited only later; a rejection before then is still reported there.
  response.catch(() => {});
  socket.write(head);
  return {
    connected,
    write: (bytes) => {
      socket.write(bytes);
    },
    response,
    destroy: () => socket.destroy(),
  };
}

/** Resolves with the error code of a TCP connection attempt to 127.0.0.1:`port`, or `connected`. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

/** What came back for bytes written on one connection: every whole response, in order. */
export interface RawExchange {
  readonly responses: RawResponse[];
  /** Everything the server wrote. */
  readonly bytes: Buffer;
  /** The same, as Latin-1 text. */
  readonly text: string;
  /** The server ended the connection (rather than this side giving up waiting). */
  readonly closedByServer: boolean;
}

/**
 * Writes `bytes` on a fresh connection to 127.0.0.1:`port` and collects what comes back
 * until the server ends the connection, or `idleMs` after its last bytes (a kept-alive
 * connection), or `timeoutMs` with nothing. Then this side closes.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  { idleMs = 300, timeoutMs = 5_000 }: { idleMs?: number; timeoutMs?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(idle);
      socket.destroy();
      const all = Buffer.concat(chunks);
      resolve({
        responses: parseResponses(all),
        bytes: all,
        text: all.toString('latin1'),
        closedByServer,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), idleMs);
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.write(bytes);
  });
}

/** Whole HTTP/1.1 responses (framed by Content-Length) one after another in `data`. */
export function parseResponses(data: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return responses;
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.subarray(end + 4);
    if (!Number.isInteger(length) || body.length < length) return responses;
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    responses.push({ status, headers, body: body.subarray(0, length).toString('utf8') });
    rest = body.subarray(length);
  }
}
