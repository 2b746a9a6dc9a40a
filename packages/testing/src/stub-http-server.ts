import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a {@link StubHttpServer} received, with its whole body. */
export interface StubRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Client port of the connection: equal ports mean a reused (kept-alive) connection. */
  readonly remotePort: number | undefined;
}

/** Answers request number `count` (1 for the first) once its body has arrived. */
export type StubHandler = (request: StubRequest, count: number, res: ServerResponse) => void;

/** An HTTP server on 127.0.0.1 that records what it was sent and answers through a handler. */
export interface StubHttpServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in order of arrival. */
  readonly seen: StubRequest[];
  /** Ends every connection (kept-alive ones too) and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a stand-in for the API (or a proxy, or an upstream) on 127.0.0.1: `port` 0 lets the OS
 * pick one. The caller closes it (`afterEach`/`afterAll`).
 */
export async function startStubHttpServer(
  handler: StubHandler,
  options: { port?: number; keepAliveTimeout?: number } = {},
): Promise<StubHttpServer> {
  const seen: StubRequest[] = [];
  const server = createServer(
    options.keepAliveTimeout === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeout },
    (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        const request: StubRequest = {
          method: req.method,
          url: req.url,
          headers: req.headers,
          body,
          remotePort: req.socket.remotePort,
        };
        seen.push(request);
        handler(request, seen.length, res);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    seen,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Answers `status` with `body` as JSON, plus `headers`. */
export function replyJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
