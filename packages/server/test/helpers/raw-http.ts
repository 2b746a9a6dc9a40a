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
    const tryParse = (): RawResponse | undefined => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? Number.NaN);
      const body = data.subarray(end + 4);
      if (!Number.isInteger(length) || body.length < length) return undefined;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
      return { status, headers, body: body.subarray(0, length).toString('utf8') };
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = tryParse();
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
